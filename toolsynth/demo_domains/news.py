"""Demo domain — News: top headlines by country and category, article summaries."""

from __future__ import annotations

import random
from typing import Any

from toolsynth.demo_domains.base import (
    Capability,
    Domain,
    Lang,
    Reasoning,
    Result,
    Slot,
    _n,
    _obj,
    _s,
    _t,
)

_COUNTRY_NAMES = {
    "en": {
        "us": "the United States",
        "gb": "the United Kingdom",
        "de": "Germany",
        "jp": "Japan",
        "in": "India",
        "br": "Brazil",
        "ca": "Canada",
        "fr": "France",
        "cn": "China",
    },
    "zh": {
        "cn": "中国",
        "us": "美国",
        "jp": "日本",
        "gb": "英国",
        "fr": "法国",
        "de": "德国",
        "in": "印度",
        "br": "巴西",
        "ca": "加拿大",
    },
}
_COUNTRY = Slot(
    {"en": ("us", "gb", "de", "jp", "in", "br", "ca"), "zh": ("cn", "us", "jp", "gb", "fr", "de")}, _COUNTRY_NAMES
)
_CATEGORIES = ("business", "technology", "science", "health", "entertainment")
_CATEGORY = Slot(
    {"en": _CATEGORIES, "zh": _CATEGORIES},
    {"zh": {"business": "财经", "technology": "科技", "science": "科学", "health": "健康", "entertainment": "娱乐"}},
)
_HEADLINES = {
    "business": (
        "Central bank holds interest rates steady",
        "Retail sales rise for a third straight month",
        "Carmaker announces new battery plant",
        "Port strike delays container shipments",
        "Grocery chain agrees to merge with regional rival",
    ),
    "technology": (
        "Chipmaker unveils faster low-power processor",
        "Regulators open review of app store fees",
        "Start-up launches satellite broadband service",
        "Major outage disrupts cloud email service",
        "New privacy rules take effect for smart devices",
    ),
    "science": (
        "Telescope captures sharpest image of distant galaxy",
        "Researchers map ancient river delta",
        "Deep-sea survey finds new coral species",
        "Study links sleep patterns to memory",
        "Lunar lander returns first soil samples",
    ),
    "health": (
        "Hospitals expand evening clinic hours",
        "Trial shows promise for new migraine drug",
        "Health agency updates flu vaccine advice",
        "Survey finds more adults walking to work",
        "Nurses' union reaches pay agreement",
    ),
    "entertainment": (
        "Film festival announces its opening-night picture",
        "Streaming series renewed for a fourth season",
        "Concert tour adds stadium dates",
        "Museum opens major retrospective exhibition",
        "Award nominations spark debate among critics",
    ),
}
_SOURCES = ("Daily Ledger", "Morning Wire", "Global Dispatch", "City Herald", "Metro Times")


def _country_name(code: str, lang: Lang) -> str:
    return _COUNTRY_NAMES[lang].get(code, code)


def _headlines(args: dict[str, Any], rng: random.Random) -> Result:
    country, category = str(args["country"]), str(args["category"])
    pool = _HEADLINES.get(category, _HEADLINES["business"])
    titles = rng.sample(pool, rng.randint(3, 4))
    items = [
        {
            "article_id": f"{country}-{category[:4]}-{rng.randint(10000, 99999)}",
            "title": title,
            "source": rng.choice(_SOURCES),
        }
        for title in titles
    ]
    return {
        "country": country,
        "category": category,
        "total_results": rng.randint(18, 160),
        "article_id": items[0]["article_id"],
        "headlines": items,
    }


def _headlines_text(args: dict[str, Any], r: Result, lang: Lang) -> str:
    where = _country_name(r["country"], lang)
    titles = "; ".join(f"{h['title']} ({h['source']})" for h in r["headlines"])
    titles_zh = "；".join(f"{h['title']}（{h['source']}）" for h in r["headlines"])
    cat = _CATEGORY.render(r["category"], lang)
    return _t(
        lang,
        f"Top {cat} headlines in {where} ({r['total_results']} stories today): {titles}.",
        f"{where}的{cat}头条（今天共{r['total_results']}篇报道）：{titles_zh}。",
    )


_SUMMARY_SENTENCES = (
    "The report sets out what happened and who is affected.",
    "Officials expect the change to take effect within weeks.",
    "Critics argue the plan leaves key questions unanswered.",
    "Analysts say the impact will depend on how the next months unfold.",
    "Local groups have welcomed the announcement.",
    "A follow-up statement is expected later this week.",
)


def _summary(args: dict[str, Any], rng: random.Random) -> Result:
    count = max(1, min(int(args["max_sentences"]), len(_SUMMARY_SENTENCES)))
    return {
        "article_id": str(args["article_id"]),
        "summary": " ".join(rng.sample(_SUMMARY_SENTENCES, count)),
        "sentence_count": count,
        "word_count": rng.randint(380, 1400),
    }


def _summary_text(args: dict[str, Any], r: Result, lang: Lang) -> str:
    return _t(
        lang,
        f"Summary of article {r['article_id']} ({r['word_count']} words, {r['sentence_count']} "
        f"sentences): {r['summary']}",
        f"文章{r['article_id']}（全文{r['word_count']}词）的{r['sentence_count']}句摘要：{r['summary']}",
    )


def _more_stories(results: list[Result], lang: Lang) -> str:
    a, b = results[0], results[1]
    if a["total_results"] == b["total_results"]:
        return _t(
            lang,
            f"Both feeds have the same number of stories today: {a['total_results']}.",
            f"两个新闻源今天的报道数量相同，都是{a['total_results']}篇。",
        )
    more, less = (a, b) if a["total_results"] > b["total_results"] else (b, a)

    def label(r: Result) -> str:
        cat = _CATEGORY.render(r["category"], lang)
        where = _country_name(r["country"], lang)
        return _t(lang, f"the {cat} feed for {where}", f"{where}的{cat}新闻")

    return _t(
        lang,
        f"{label(more)[:1].upper()}{label(more)[1:]} has more stories today: {more['total_results']} "
        f"versus {less['total_results']} in {label(less)}.",
        f"{label(more)}今天的报道更多：{more['total_results']}篇，而{label(less)}有{less['total_results']}篇。",
    )


NEWS = Domain(
    name="news",
    keywords=("news", "headline", "breaking story", "journalist", "新闻", "头条", "报道", "资讯"),
    scenarios={
        "en": (
            "A reader catches up on the day's top news headlines for a country.",
            "A busy professional wants short summaries of the most important news stories.",
            "A media analyst compares how much news coverage different countries and topics get.",
            "A commuter skims the morning headlines on the way to work.",
        ),
        "zh": (
            "想快速浏览某个国家今日头条新闻的读者。",
            "没时间读长文、希望看到重要新闻报道摘要的上班族。",
            "比较不同国家和话题新闻报道数量的媒体分析师。",
            "上班路上浏览早间新闻头条的通勤族。",
        ),
    },
    capabilities=(
        Capability(
            name="get_top_headlines",
            description="Get today's top news headlines for a country and news category.",
            parameters=_obj(
                {
                    "country": _s("Country, as a lowercase ISO 3166-1 alpha-2 code such as us", pattern="^[a-z]{2}$"),
                    "category": _s("News category", enum=list(_CATEGORIES)),
                }
            ),
            returns=_obj(
                {
                    "country": _s("Country code the headlines are for"),
                    "category": _s("News category", enum=list(_CATEGORIES)),
                    "total_results": _n("Number of stories published today in this feed", "integer", minimum=0),
                    "article_id": _s("Identifier of the top story (the first headline)"),
                    "headlines": {
                        "type": "array",
                        "description": "Top headlines, most important first",
                        "items": _obj(
                            {"article_id": _s("Article identifier"), "title": _s("Headline"), "source": _s("Publisher")}
                        ),
                    },
                }
            ),
            clause={
                "en": "get the top {category} headlines in {country}",
                "zh": "获取{country}今天的{category}头条新闻",
            },
            slots={"category": _CATEGORY, "country": _COUNTRY},
            simulate=_headlines,
            summarize=_headlines_text,
        ),
        Capability(
            name="summarize_article",
            description="Summarize a news article in a given number of sentences.",
            parameters=_obj(
                {
                    "article_id": _s("Identifier of the article to summarize"),
                    "max_sentences": _n("Maximum number of sentences in the summary", "integer", minimum=1, maximum=6),
                }
            ),
            returns=_obj(
                {
                    "article_id": _s("The summarized article"),
                    "summary": _s("The summary text"),
                    "sentence_count": _n("Sentences in the summary", "integer", minimum=1),
                    "word_count": _n("Length of the full article in words", "integer", minimum=0),
                }
            ),
            clause={
                "en": "summarize the top story in {max_sentences} sentences",
                "zh": "用{max_sentences}句话概括排在第一的那篇报道",
            },
            slots={"max_sentences": Slot({"en": ("2", "3", "4"), "zh": ("2", "3", "4")})},
            simulate=_summary,
            summarize=_summary_text,
            consumes=("article_id",),
        ),
    ),
    sequential=(("get_top_headlines", "summarize_article"),),
    parallel=(
        (
            "get_top_headlines",
            "get_top_headlines",
            Reasoning(
                {
                    "en": "tell me which of the two news feeds has more stories today",
                    "zh": "告诉我哪个新闻源今天的报道更多",
                },
                _more_stories,
            ),
        ),
    ),
)
