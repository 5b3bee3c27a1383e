"""Demo domain — Fitness: estimating calories burned and logging workouts."""

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

# Metabolic equivalents (MET) of each activity at a moderate pace.
_MET = {"running": 9.8, "cycling": 7.5, "swimming": 8.0, "rowing": 7.0, "yoga": 3.0, "hiking": 6.0}
_ACTIVITIES = list(_MET)
_ACTIVITY = Slot(
    {"en": tuple(_ACTIVITIES), "zh": tuple(_ACTIVITIES)},
    {
        "zh": {
            "running": "跑步",
            "cycling": "骑行",
            "swimming": "游泳",
            "rowing": "划船",
            "yoga": "瑜伽",
            "hiking": "徒步",
        }
    },
)
_DATE = Slot({"en": ("2026-10-12", "2026-10-14", "2026-10-17"), "zh": ("2026-10-12", "2026-10-15", "2026-10-18")})


def _estimate(args: dict[str, Any], rng: random.Random) -> Result:
    activity = str(args["activity"])
    minutes = int(args["duration_minutes"])
    weight = float(args.get("weight_kg", 70))
    met = _MET.get(activity, 5.0)
    return {
        "activity": activity,
        "duration_minutes": minutes,
        "weight_kg": weight,
        "met": met,
        "calories_burned": round(met * weight * minutes / 60),
    }


def _estimate_text(args: dict[str, Any], r: Result, lang: Lang) -> str:
    act = _ACTIVITY.render(r["activity"], lang)
    return _t(
        lang,
        f"{r['duration_minutes']} minutes of {act} burns about {r['calories_burned']} kcal "
        f"(MET {r['met']}, body weight {r['weight_kg']:g} kg).",
        f"{act}{r['duration_minutes']}分钟大约消耗{r['calories_burned']}千卡（MET {r['met']}，"
        f"体重{r['weight_kg']:g}公斤）。",
    )


def _log(args: dict[str, Any], rng: random.Random) -> Result:
    calories = round(float(args["calories_burned"]))
    return {
        "workout_id": f"wk_{rng.randint(10**5, 10**6 - 1)}",
        "date": str(args["date"]),
        "activity": str(args["activity"]),
        "duration_minutes": int(args["duration_minutes"]),
        "calories_burned": calories,
        "weekly_total_calories": calories + rng.randint(0, 2400),
    }


def _log_text(args: dict[str, Any], r: Result, lang: Lang) -> str:
    act = _ACTIVITY.render(r["activity"], lang)
    return _t(
        lang,
        f"Logged {r['duration_minutes']} minutes of {act} ({r['calories_burned']} kcal) on {r['date']}; "
        f"this week's total is {r['weekly_total_calories']} kcal.",
        f"已记录{r['date']}的{act}{r['duration_minutes']}分钟（{r['calories_burned']}千卡），"
        f"本周累计{r['weekly_total_calories']}千卡。",
    )


def _more_calories(results: list[Result], lang: Lang) -> str:
    a, b = results[0], results[1]
    if a["calories_burned"] == b["calories_burned"]:
        return _t(
            lang,
            f"Both workouts burn about {a['calories_burned']} kcal.",
            f"两项运动消耗的热量相同，约{a['calories_burned']}千卡。",
        )
    hi, lo = (a, b) if a["calories_burned"] > b["calories_burned"] else (b, a)
    hi_act, lo_act = _ACTIVITY.render(hi["activity"], lang), _ACTIVITY.render(lo["activity"], lang)
    return _t(
        lang,
        f"{hi['duration_minutes']} minutes of {hi_act} burns more: {hi['calories_burned']} kcal versus "
        f"{lo['calories_burned']} kcal for {lo['duration_minutes']} minutes of {lo_act}.",
        f"{hi_act}{hi['duration_minutes']}分钟消耗更多：{hi['calories_burned']}千卡，"
        f"而{lo_act}{lo['duration_minutes']}分钟为{lo['calories_burned']}千卡。",
    )


FITNESS = Domain(
    name="fitness",
    keywords=("workout", "exercise", "calorie", "fitness", "gym", "kcal", "锻炼", "健身", "卡路里", "热量", "运动日志"),
    scenarios={
        "en": (
            "A gym-goer estimates how many calories a workout burns and logs it.",
            "Someone trying to lose weight keeps a daily exercise diary.",
            "A beginner compares the calorie burn of two kinds of exercise.",
            "Someone returning to exercise tracks the calories of each session.",
        ),
        "zh": (
            "估算一次锻炼消耗多少热量并记录下来的健身爱好者。",
            "为了减重每天记录锻炼情况的人。",
            "比较两种运动消耗卡路里多少的健身新手。",
            "重新开始锻炼、记录每次运动热量的人。",
        ),
    },
    capabilities=(
        Capability(
            name="estimate_calories_burned",
            description="Estimate the calories burned by an activity from its duration and the person's weight "
            "(MET method).",
            parameters=_obj(
                {
                    "activity": _s("Type of exercise", enum=_ACTIVITIES),
                    "duration_minutes": _n("Duration in minutes", "integer", minimum=1, maximum=600),
                    "weight_kg": _n("Body weight in kilograms; defaults to 70", minimum=20, maximum=300),
                },
                required=["activity", "duration_minutes"],
            ),
            returns=_obj(
                {
                    "activity": _s("Type of exercise", enum=_ACTIVITIES),
                    "duration_minutes": _n("Duration in minutes", "integer", minimum=1),
                    "weight_kg": _n("Body weight used", minimum=0),
                    "met": _n("Metabolic equivalent of the activity", minimum=0),
                    "calories_burned": _n("Estimated energy in kcal", "integer", minimum=0),
                }
            ),
            clause={
                "en": "estimate the calories burned by {duration_minutes} minutes of {activity}",
                "zh": "估算{duration_minutes}分钟{activity}消耗的热量",
            },
            slots={
                "duration_minutes": Slot({"en": ("30", "45", "60", "90"), "zh": ("30", "40", "60", "90")}),
                "activity": _ACTIVITY,
            },
            simulate=_estimate,
            summarize=_estimate_text,
        ),
        Capability(
            name="log_workout",
            description="Add a workout to the user's fitness diary.",
            parameters=_obj(
                {
                    "date": _s("Date of the workout, YYYY-MM-DD", format="date"),
                    "activity": _s("Type of exercise", enum=_ACTIVITIES),
                    "duration_minutes": _n("Duration in minutes", "integer", minimum=1, maximum=600),
                    "calories_burned": _n("Energy burned in kcal", "integer", minimum=0),
                }
            ),
            returns=_obj(
                {
                    "workout_id": _s("Diary entry identifier"),
                    "date": _s("YYYY-MM-DD"),
                    "activity": _s("Type of exercise", enum=_ACTIVITIES),
                    "duration_minutes": _n("Duration in minutes", "integer", minimum=1),
                    "calories_burned": _n("Energy burned in kcal", "integer", minimum=0),
                    "weekly_total_calories": _n("Calories logged this week so far", "integer", minimum=0),
                }
            ),
            clause={
                "en": "log that workout in my fitness diary for {date}",
                "zh": "把这次锻炼记到我{date}的运动日志里",
            },
            slots={"date": _DATE},
            simulate=_log,
            summarize=_log_text,
            consumes=("activity", "duration_minutes", "calories_burned"),
        ),
    ),
    sequential=(("estimate_calories_burned", "log_workout"),),
    parallel=(
        (
            "estimate_calories_burned",
            "estimate_calories_burned",
            Reasoning(
                {"en": "tell me which of the two workouts burns more calories", "zh": "告诉我哪项运动消耗的热量更多"},
                _more_calories,
                rank=lambda r: float(r["calories_burned"]),
                many={
                    "en": "tell me which of the three workouts burns the most calories",
                    "zh": "告诉我哪项运动消耗的热量最多",
                },
            ),
        ),
    ),
)
