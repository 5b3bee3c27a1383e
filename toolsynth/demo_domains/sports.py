"""Demo domain — Sports: football match results and match statistics."""

from __future__ import annotations

import datetime as dt
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

_TEAMS_EN = ("Arsenal", "Bayern Munich", "Inter Milan", "Ajax", "Benfica", "Celtic", "Porto", "Sevilla")
_TEAMS_ZH = ("上海海港", "山东泰山", "北京国安", "成都蓉城", "浙江队", "上海申花", "天津津门虎", "武汉三镇")
_TEAM = Slot({"en": _TEAMS_EN[:6], "zh": _TEAMS_ZH[:5]})
_OUTCOMES = ["win", "draw", "loss"]
_OUTCOME_ZH = {"win": "胜", "draw": "平", "loss": "负"}


def _latest(args: dict[str, Any], rng: random.Random) -> Result:
    team = str(args["team"])
    chinese = bool(_CJK.search(team))
    opponent = rng.choice([t for t in (_TEAMS_ZH if chinese else _TEAMS_EN) if t != team])
    goals, against = rng.randint(0, 4), rng.randint(0, 3)
    outcome = "win" if goals > against else "draw" if goals == against else "loss"
    played = dt.date(2026, 10, 4) + dt.timedelta(days=rng.randint(0, 20))
    return {
        "match_id": f"m{rng.randint(10**6, 10**7 - 1)}",
        "team": team,
        "opponent": opponent,
        "competition": "中超联赛" if chinese else rng.choice(["League", "Champions League", "Cup"]),
        "date": played.isoformat(),
        "home": rng.random() < 0.5,
        "team_goals": goals,
        "opponent_goals": against,
        "outcome": outcome,
    }


def _latest_text(args: dict[str, Any], r: Result, lang: Lang) -> str:
    where = _t(lang, "at home" if r["home"] else "away", "主场" if r["home"] else "客场")
    return _t(
        lang,
        f"{r['team']} {r['team_goals']}–{r['opponent_goals']} {r['opponent']} ({r['competition']}, "
        f"{r['date']}, {where}): a {r['outcome']} for {r['team']} (match {r['match_id']}).",
        f"{r['date']}{r['competition']}，{r['team']}{where}{r['team_goals']}比{r['opponent_goals']}对阵"
        f"{r['opponent']}，结果为{_OUTCOME_ZH.get(r['outcome'], r['outcome'])}（比赛编号{r['match_id']}）。",
    )


def _stats(args: dict[str, Any], rng: random.Random) -> Result:
    possession = rng.randint(32, 68)
    shots = rng.randint(4, 22)
    return {
        "match_id": str(args["match_id"]),
        "team": str(args["team"]),
        "possession_percent": possession,
        "shots": shots,
        "shots_on_target": rng.randint(1, shots),
        "corners": rng.randint(0, 11),
        "fouls": rng.randint(5, 18),
        "pass_accuracy_percent": rng.randint(68, 92),
    }


def _stats_text(args: dict[str, Any], r: Result, lang: Lang) -> str:
    return _t(
        lang,
        f"{r['team']} in match {r['match_id']}: {r['possession_percent']}% possession, {r['shots']} shots "
        f"({r['shots_on_target']} on target), {r['corners']} corners, {r['fouls']} fouls, "
        f"{r['pass_accuracy_percent']}% pass accuracy.",
        f"{r['team']}在比赛{r['match_id']}中：控球率{r['possession_percent']}%，射门{r['shots']}次"
        f"（射正{r['shots_on_target']}次），角球{r['corners']}个，犯规{r['fouls']}次，"
        f"传球成功率{r['pass_accuracy_percent']}%。",
    )


def _more_goals(results: list[Result], lang: Lang) -> str:
    a, b = results[0], results[1]
    if a["team_goals"] == b["team_goals"]:
        return _t(
            lang,
            f"{a['team']} and {b['team']} each scored {a['team_goals']} in their latest match.",
            f"{a['team']}和{b['team']}最近一场比赛都进了{a['team_goals']}球。",
        )
    hi, lo = (a, b) if a["team_goals"] > b["team_goals"] else (b, a)
    return _t(
        lang,
        f"{hi['team']} scored more: {hi['team_goals']} goals versus {lo['team_goals']} for {lo['team']}.",
        f"{hi['team']}进球更多：{hi['team_goals']}球，而{lo['team']}进了{lo['team_goals']}球。",
    )


SPORTS = Domain(
    name="sports",
    keywords=(
        "football",
        "soccer",
        "basketball",
        "league",
        "fixture",
        "match result",
        "球队",
        "比赛",
        "联赛",
        "比分",
        "足球",
        "进球",
    ),
    scenarios={
        "en": (
            "A football fan checks how their team did in its latest match.",
            "A fantasy football player digs into detailed match data after the weekend's league games.",
            "Two friends compare how their favourite football teams performed.",
            "A fantasy league player checks match results and player statistics.",
        ),
        "zh": (
            "想知道支持的球队最近一场比赛结果的足球迷。",
            "周末比赛后查看详细比赛数据的球迷。",
            "比较各自支持球队最近表现的两位朋友。",
            "查看比赛结果和球员数据的梦幻联赛玩家。",
        ),
    },
    capabilities=(
        Capability(
            name="get_latest_match_result",
            description="Get the result of a football team's most recent match.",
            parameters=_obj({"team": _s("Team name, e.g. Arsenal")}),
            returns=_obj(
                {
                    "match_id": _s("Match identifier"),
                    "team": _s("The team asked about"),
                    "opponent": _s("Opposing team"),
                    "competition": _s("Competition"),
                    "date": _s("YYYY-MM-DD"),
                    "home": {"type": "boolean", "description": "Whether the team played at home"},
                    "team_goals": _n("Goals scored by the team", "integer", minimum=0),
                    "opponent_goals": _n("Goals scored by the opponent", "integer", minimum=0),
                    "outcome": _s("Result for the team", enum=_OUTCOMES),
                }
            ),
            clause={"en": "get the result of {team}'s latest match", "zh": "查询{team}最近一场比赛的比分"},
            slots={"team": _TEAM},
            simulate=_latest,
            summarize=_latest_text,
        ),
        Capability(
            name="get_match_statistics",
            description="Get one team's statistics for a match: possession, shots, corners, fouls, passing.",
            parameters=_obj(
                {
                    "match_id": _s("Match identifier"),
                    "team": _s("Team whose statistics to return"),
                }
            ),
            returns=_obj(
                {
                    "match_id": _s("Match identifier"),
                    "team": _s("Team"),
                    "possession_percent": _n("Share of possession", "integer", minimum=0, maximum=100),
                    "shots": _n("Total shots", "integer", minimum=0),
                    "shots_on_target": _n("Shots on target", "integer", minimum=0),
                    "corners": _n("Corner kicks", "integer", minimum=0),
                    "fouls": _n("Fouls committed", "integer", minimum=0),
                    "pass_accuracy_percent": _n("Completed passes in percent", "integer", minimum=0, maximum=100),
                }
            ),
            clause={"en": "pull up the team's detailed stats for that game", "zh": "获取这场比赛该队的详细技术数据"},
            slots={},
            simulate=_stats,
            summarize=_stats_text,
            consumes=("match_id", "team"),
        ),
    ),
    sequential=(("get_latest_match_result", "get_match_statistics"),),
    parallel=(
        (
            "get_latest_match_result",
            "get_latest_match_result",
            Reasoning(
                {
                    "en": "tell me which of the two teams scored more goals in its latest match",
                    "zh": "告诉我哪支球队最近一场比赛进球更多",
                },
                _more_goals,
            ),
        ),
    ),
)
