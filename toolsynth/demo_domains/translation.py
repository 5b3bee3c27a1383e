"""Demo domain — Translation: translating short phrases and saving them to a phrasebook."""

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
from toolsynth.language import CJK as _CJK

_LANGUAGES = ["en", "fr", "es", "de", "it", "ja", "ko"]
_TARGET = Slot(
    {"en": ("fr", "es", "de", "it"), "zh": ("en", "ja", "fr", "ko")},
    {
        "en": {
            "fr": "French",
            "es": "Spanish",
            "de": "German",
            "it": "Italian",
            "en": "English",
            "ja": "Japanese",
            "ko": "Korean",
        },
        "zh": {
            "en": "英语",
            "ja": "日语",
            "fr": "法语",
            "ko": "韩语",
            "es": "西班牙语",
            "de": "德语",
            "it": "意大利语",
        },
    },
)
_TRANSLATIONS: dict[str, dict[str, str]] = {
    "Where is the nearest pharmacy": {
        "fr": "Où est la pharmacie la plus proche ?",
        "es": "¿Dónde está la farmacia más cercana?",
        "de": "Wo ist die nächste Apotheke?",
        "it": "Dov'è la farmacia più vicina?",
    },
    "Could we have the bill please": {
        "fr": "Pourrions-nous avoir l'addition, s'il vous plaît ?",
        "es": "¿Nos trae la cuenta, por favor?",
        "de": "Könnten wir bitte die Rechnung haben?",
        "it": "Potremmo avere il conto, per favore?",
    },
    "My luggage did not arrive": {
        "fr": "Mes bagages ne sont pas arrivés.",
        "es": "Mi equipaje no ha llegado.",
        "de": "Mein Gepäck ist nicht angekommen.",
        "it": "Il mio bagaglio non è arrivato.",
    },
    "Is breakfast included": {
        "fr": "Le petit-déjeuner est-il inclus ?",
        "es": "¿Está incluido el desayuno?",
        "de": "Ist das Frühstück inbegriffen?",
        "it": "La colazione è inclusa?",
    },
    "请问洗手间在哪里": {
        "en": "Excuse me, where is the restroom?",
        "ja": "すみません、お手洗いはどこですか？",
        "fr": "Excusez-moi, où sont les toilettes ?",
        "ko": "실례지만 화장실이 어디예요?",
    },
    "我对花生过敏": {
        "en": "I am allergic to peanuts.",
        "ja": "私はピーナッツアレルギーです。",
        "fr": "Je suis allergique aux arachides.",
        "ko": "저는 땅콩 알레르기가 있어요.",
    },
    "这个多少钱": {
        "en": "How much is this?",
        "ja": "これはいくらですか？",
        "fr": "Combien ça coûte ?",
        "ko": "이거 얼마예요?",
    },
    "可以刷卡吗": {
        "en": "Can I pay by card?",
        "ja": "カードで払えますか？",
        "fr": "Puis-je payer par carte ?",
        "ko": "카드로 결제할 수 있어요?",
    },
}
_TEXT = Slot(
    {
        "en": tuple(t for t in _TRANSLATIONS if not _CJK.search(t)),
        "zh": tuple(t for t in _TRANSLATIONS if _CJK.search(t)),
    }
)


def _translate(args: dict[str, Any], rng: random.Random) -> Result:
    text, target = str(args["text"]), str(args["target_language"])
    source = "zh" if _CJK.search(text) else "en"
    translated = _TRANSLATIONS.get(text, {}).get(target) or (text if target == source else f"[{target}] {text}")
    return {
        "source_text": text,
        "detected_source_language": source,
        "target_language": target,
        "translated_text": translated,
        "confidence": round(rng.uniform(0.9, 0.99), 2),
    }


def _translate_text(args: dict[str, Any], r: Result, lang: Lang) -> str:
    target = _TARGET.render(r["target_language"], lang)
    return _t(
        lang,
        f'"{r["source_text"]}" in {target} is: {r["translated_text"]}',
        f"“{r['source_text']}”的{target}译文是：{r['translated_text']}",
    )


def _save(args: dict[str, Any], rng: random.Random) -> Result:
    return {
        "entry_id": f"pb_{rng.randint(10**5, 10**6 - 1)}",
        "phrasebook": str(args["phrasebook"]),
        "source_text": str(args["source_text"]),
        "translated_text": str(args["translated_text"]),
        "entry_count": rng.randint(3, 120),
    }


def _save_text(args: dict[str, Any], r: Result, lang: Lang) -> str:
    return _t(
        lang,
        f'Saved "{r["translated_text"]}" to your {r["phrasebook"]} phrasebook as entry {r["entry_id"]}; '
        f"it now holds {r['entry_count']} phrases.",
        f"已把“{r['translated_text']}”保存到“{r['phrasebook']}”短语本（条目{r['entry_id']}），"
        f"现在共有{r['entry_count']}条。",
    )


def _shorter(results: list[Result], lang: Lang) -> str:
    a, b = results[0], results[1]
    la, lb = len(a["translated_text"]), len(b["translated_text"])
    if la == lb:
        return _t(
            lang,
            f'"{a["translated_text"]}" and "{b["translated_text"]}" are equally long ({la} characters).',
            f"“{a['translated_text']}”和“{b['translated_text']}”一样长，都是{la}个字符。",
        )
    short = a if la < lb else b
    ls, ll = min(la, lb), max(la, lb)
    return _t(
        lang,
        f'The shorter translation is "{short["translated_text"]}" ({ls} characters versus {ll}).',
        f"更短的译文是“{short['translated_text']}”（{ls}个字符，另一个{ll}个字符）。",
    )


TRANSLATION = Domain(
    name="translation",
    keywords=("translate", "translation", "phrasebook", "in french", "in spanish", "翻译", "译文", "译成", "短语本"),
    scenarios={
        "en": (
            "A traveller translates useful phrases before visiting a country where they don't speak the language.",
            "A language learner saves translations of everyday phrases to study later.",
            "Someone compares translations of two phrases in different languages.",
            "A small shop owner translates product notes for foreign customers.",
        ),
        "zh": (
            "出国前把常用语翻译成当地语言的游客。",
            "把日常用语的翻译保存下来以便复习的语言学习者。",
            "比较两句话不同语言译文的人。",
            "为外国顾客翻译常用语的小店主。",
        ),
    },
    capabilities=(
        Capability(
            name="translate_text",
            description="Translate a short text into a target language, detecting the source language.",
            parameters=_obj(
                {
                    "text": _s("Text to translate", minLength=1, maxLength=500),
                    "target_language": _s("ISO 639-1 code of the language to translate into", enum=_LANGUAGES),
                }
            ),
            returns=_obj(
                {
                    "source_text": _s("The original text"),
                    "detected_source_language": _s(
                        "ISO 639-1 code of the detected source language", pattern="^[a-z]{2}$"
                    ),
                    "target_language": _s("ISO 639-1 code of the translation", enum=_LANGUAGES),
                    "translated_text": _s("The translation"),
                    "confidence": _n("Confidence of the translation, 0 to 1", minimum=0, maximum=1),
                }
            ),
            clause={"en": 'translate "{text}" into {target_language}', "zh": "把“{text}”翻译成{target_language}"},
            slots={"text": _TEXT, "target_language": _TARGET},
            simulate=_translate,
            summarize=_translate_text,
        ),
        Capability(
            name="save_to_phrasebook",
            description="Save a phrase and its translation to one of the user's phrasebooks.",
            parameters=_obj(
                {
                    "phrasebook": _s("Name of the phrasebook"),
                    "source_text": _s("The original phrase"),
                    "translated_text": _s("Its translation"),
                    "target_language": _s("ISO 639-1 code of the translation", enum=_LANGUAGES),
                }
            ),
            returns=_obj(
                {
                    "entry_id": _s("Identifier of the new entry"),
                    "phrasebook": _s("Phrasebook name"),
                    "source_text": _s("The original phrase"),
                    "translated_text": _s("The saved translation"),
                    "entry_count": _n("Phrases in the phrasebook now", "integer", minimum=1),
                }
            ),
            clause={
                "en": "save that translation to my {phrasebook} phrasebook",
                "zh": "把这条译文保存到我的“{phrasebook}”短语本",
            },
            slots={
                "phrasebook": Slot(
                    {"en": ("Travel", "Restaurant", "Business", "Emergencies"), "zh": ("旅行", "点餐", "购物", "应急")}
                )
            },
            simulate=_save,
            summarize=_save_text,
            consumes=("source_text", "translated_text", "target_language"),
        ),
    ),
    sequential=(("translate_text", "save_to_phrasebook"),),
    parallel=(
        (
            "translate_text",
            "translate_text",
            Reasoning({"en": "tell me which of the two translations is shorter", "zh": "告诉我哪个译文更短"}, _shorter),
        ),
    ),
)
