"""Demo domain — Calendar: finding free time and scheduling events."""

from __future__ import annotations

import random
from typing import Any

from toolsynth.demo_domains.base import (
    Capability,
    Domain,
    Lang,
    Nesting,
    Reasoning,
    Result,
    Slot,
    _n,
    _obj,
    _s,
    _t,
)

_DATE = Slot(
    {
        "en": ("2026-11-03", "2026-11-05", "2026-12-08", "2027-01-12"),
        "zh": ("2026-11-04", "2026-12-09", "2027-01-13", "2027-02-24"),
    }
)
_DAY_START, _DAY_END, _STEP = 9 * 60, 18 * 60, 30  # working hours 09:00–18:00, in 30-minute blocks


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def _free_slots(args: dict[str, Any], rng: random.Random) -> Result:
    duration = int(args["duration_minutes"])
    blocks = (_DAY_END - _DAY_START) // _STEP
    busy = [rng.random() < 0.55 for _ in range(blocks)]
    need = min(blocks, -(-duration // _STEP))
    if not any(not any(busy[i : i + need]) for i in range(blocks - need + 1)):
        first = rng.randrange(0, blocks - need + 1)  # keep the day bookable: clear a block of time
        busy[first : first + need] = [False] * need
    return _free_slots_from(args, busy, duration)


def _free_slots_from(args: dict[str, Any], busy: list[bool], duration: int) -> Result:
    slots, start = [], None
    for i, b in enumerate([*busy, True]):
        if not b and start is None:
            start = i
        elif b and start is not None:
            slots.append({"start": _hhmm(_DAY_START + start * _STEP), "end": _hhmm(_DAY_START + i * _STEP)})
            start = None
    fit = next(s for s in slots if _minutes(s["end"]) - _minutes(s["start"]) >= duration)
    total = sum(_minutes(s["end"]) - _minutes(s["start"]) for s in slots)
    return {
        "date": str(args["date"]),
        "duration_minutes": duration,
        "start_time": fit["start"],
        "end_time": _hhmm(_minutes(fit["start"]) + duration),
        "total_free_minutes": total,
        "free_slots": slots,
    }


def _free_text(args: dict[str, Any], r: Result, lang: Lang) -> str:
    free = ", ".join(f"{s['start']}–{s['end']}" for s in r["free_slots"])
    free_zh = "、".join(f"{s['start']}–{s['end']}" for s in r["free_slots"])
    return _t(
        lang,
        f"On {r['date']} the first free {r['duration_minutes']}-minute slot is {r['start_time']}–"
        f"{r['end_time']}; free periods: {free} ({r['total_free_minutes']} minutes in total).",
        f"{r['date']}第一个{r['duration_minutes']}分钟的空闲时段是{r['start_time']}–{r['end_time']}；"
        f"全天空闲时段：{free_zh}（共{r['total_free_minutes']}分钟）。",
    )


def _create(args: dict[str, Any], rng: random.Random) -> Result:
    start = str(args["start_time"])
    return {
        "event_id": f"evt_{rng.randint(100000, 999999)}",
        "title": str(args["title"]),
        "date": str(args["date"]),
        "start_time": start,
        "end_time": _hhmm(_minutes(start) + int(args["duration_minutes"])),
        "status": "confirmed",
    }


def _create_text(args: dict[str, Any], r: Result, lang: Lang) -> str:
    return _t(
        lang,
        f'"{r["title"]}" is on your calendar for {r["date"]} from {r["start_time"]} to {r["end_time"]} '
        f"(event {r['event_id']}).",
        f"已在日历中添加“{r['title']}”：{r['date']} {r['start_time']}–{r['end_time']}（事件{r['event_id']}）。",
    )


def _more_free(results: list[Result], lang: Lang) -> str:
    a, b = results[0], results[1]
    if a["total_free_minutes"] == b["total_free_minutes"]:
        return _t(
            lang,
            f"Both days have {a['total_free_minutes']} free minutes.",
            f"两天的空闲时间相同，都是{a['total_free_minutes']}分钟。",
        )
    more, less = (a, b) if a["total_free_minutes"] > b["total_free_minutes"] else (b, a)
    return _t(
        lang,
        f"{more['date']} has more free time: {more['total_free_minutes']} minutes versus "
        f"{less['total_free_minutes']} on {less['date']}.",
        f"{more['date']}的空闲时间更多：{more['total_free_minutes']}分钟，而{less['date']}只有"
        f"{less['total_free_minutes']}分钟。",
    )


_HHMM = "^([01][0-9]|2[0-3]):[0-5][0-9]$"

CALENDAR = Domain(
    name="calendar",
    keywords=("calendar", "meeting", "appointment", "schedule", "agenda", "日历", "日程", "会议", "约个时间"),
    scenarios={
        "en": (
            "A team lead finds a free slot in their calendar and schedules a meeting.",
            "A freelancer books client appointments around an already busy schedule.",
            "An assistant compares two days' calendars to see which has more free time.",
            "A freelancer checks the calendar for a free slot and schedules a client meeting.",
        ),
        "zh": (
            "在日历里找空闲时段并安排会议的团队负责人。",
            "在繁忙日程中见缝插针安排客户会面的自由职业者。",
            "比较两天日程、看哪天空闲更多的助理。",
            "在日历里找空档、安排客户会议的自由职业者。",
        ),
    },
    capabilities=(
        Capability(
            name="find_free_time_slot",
            description="Find the first free time slot of a given length on a date in the user's calendar, "
            "within working hours (09:00–18:00).",
            parameters=_obj(
                {
                    "date": _s("Date to search, YYYY-MM-DD", format="date"),
                    "duration_minutes": _n("Length of the slot needed in minutes", "integer", minimum=15, maximum=480),
                }
            ),
            returns=_obj(
                {
                    "date": _s("YYYY-MM-DD"),
                    "duration_minutes": _n("Requested length in minutes", "integer"),
                    "start_time": _s("Start of the first slot that fits, HH:MM", pattern=_HHMM),
                    "end_time": _s("Start time plus the requested length, HH:MM", pattern=_HHMM),
                    "total_free_minutes": _n("Free minutes in working hours that day", "integer", minimum=0),
                    "free_slots": {
                        "type": "array",
                        "description": "All free periods that day",
                        "items": _obj({"start": _s("HH:MM", pattern=_HHMM), "end": _s("HH:MM", pattern=_HHMM)}),
                    },
                }
            ),
            clause={
                "en": "find a free {duration_minutes}-minute slot in my calendar on {date}",
                "zh": "在我的日历里找{date}一个{duration_minutes}分钟的空闲时段",
            },
            slots={
                "duration_minutes": Slot({"en": ("30", "45", "60", "90"), "zh": ("30", "45", "60", "90")}),
                "date": _DATE,
            },
            simulate=_free_slots,
            summarize=_free_text,
        ),
        Capability(
            name="create_calendar_event",
            description="Create an event in the user's calendar.",
            parameters=_obj(
                {
                    "title": _s("Event title"),
                    "date": _s("Date, YYYY-MM-DD", format="date"),
                    "start_time": _s("Start time, HH:MM", pattern=_HHMM),
                    "duration_minutes": _n("Length in minutes", "integer", minimum=5, maximum=720),
                }
            ),
            returns=_obj(
                {
                    "event_id": _s("Event identifier"),
                    "title": _s("Event title"),
                    "date": _s("YYYY-MM-DD"),
                    "start_time": _s("HH:MM", pattern=_HHMM),
                    "end_time": _s("HH:MM", pattern=_HHMM),
                    "status": _s("Event status", enum=["confirmed", "tentative"]),
                }
            ),
            clause={
                "en": "schedule a meeting called {title} in that slot",
                "zh": "在这个时段安排一个名为“{title}”的会议",
            },
            slots={
                "title": Slot(
                    {
                        "en": ("Quarterly review", "Design sync", "Budget check-in", "Hiring debrief"),
                        "zh": ("季度复盘", "项目周会", "预算评审", "招聘讨论"),
                    }
                )
            },
            simulate=_create,
            summarize=_create_text,
            consumes=("date", "start_time", "duration_minutes"),
            nesting=Nesting("when", "When the event takes place", ("date", "start_time", "duration_minutes")),
        ),
    ),
    sequential=(("find_free_time_slot", "create_calendar_event"),),
    parallel=(
        (
            "find_free_time_slot",
            "find_free_time_slot",
            Reasoning(
                {"en": "tell me which of the two days has more free time", "zh": "告诉我哪一天的空闲时间更多"},
                _more_free,
            ),
        ),
    ),
)
