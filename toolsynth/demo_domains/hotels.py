"""Demo domain — Hotels: finding a well-rated hotel and reserving a room."""

from __future__ import annotations

import datetime as dt
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
from toolsynth.language import CJK as _CJK

_CITY = Slot(
    {
        "en": ("Barcelona", "Vienna", "Kyoto", "Chicago", "Istanbul", "Edinburgh"),
        "zh": ("厦门", "青岛", "三亚", "重庆", "苏州", "大理"),
    }
)
_CHECK_IN = Slot(
    {
        "en": ("2026-10-02", "2026-11-14", "2027-03-06", "2027-04-17"),
        "zh": ("2026-10-01", "2027-01-28", "2027-05-01", "2027-07-15"),
    }
)
_ROOM_TYPES = ["standard", "deluxe", "executive"]
_ROOM = Slot(
    {"en": tuple(_ROOM_TYPES), "zh": tuple(_ROOM_TYPES)},
    {"zh": {"standard": "标准间", "deluxe": "豪华间", "executive": "行政间"}},
)
_NAMES_EN = ("Hotel Miramar", "The Linden House", "Casa Alba", "Grand Harbour Hotel", "The Atrium Suites")
_NAMES_ZH = ("海景花园酒店", "悦榕轩酒店", "云栖精品酒店", "锦江湾大酒店", "梧桐里酒店")


def _search(args: dict[str, Any], rng: random.Random) -> Result:
    city = str(args["city"])
    chinese = bool(_CJK.search(city))
    nights = int(args["nights"])
    per_night = rng.randint(380, 1600) if chinese else rng.randint(95, 420)
    return {
        "hotel_id": f"H{rng.randint(100000, 999999)}",
        "name": rng.choice(_NAMES_ZH if chinese else _NAMES_EN),
        "city": city,
        "check_in": str(args["check_in"]),
        "nights": nights,
        "rating": round(rng.uniform(4.2, 4.9), 1),
        "price_per_night": per_night,
        "total_price": per_night * nights,
        "currency": "CNY" if chinese else "USD",
    }


def _search_text(args: dict[str, Any], r: Result, lang: Lang) -> str:
    return _t(
        lang,
        f"The best-rated hotel in {r['city']} is {r['name']} (rating {r['rating']}, id {r['hotel_id']}): "
        f"{r['price_per_night']} {r['currency']} per night, {r['total_price']} {r['currency']} for "
        f"{r['nights']} nights from {r['check_in']}.",
        f"{r['city']}评分最高的酒店是{r['name']}（评分{r['rating']}，编号{r['hotel_id']}）："
        f"每晚{r['price_per_night']} {r['currency']}，自{r['check_in']}起住{r['nights']}晚共"
        f"{r['total_price']} {r['currency']}。",
    )


def _book(args: dict[str, Any], rng: random.Random) -> Result:
    check_in = dt.date.fromisoformat(str(args["check_in"]))
    check_out = check_in + dt.timedelta(days=int(args["nights"]))
    return {
        "reservation_id": "R" + "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(7)),
        "hotel_id": str(args["hotel_id"]),
        "guest_name": str(args["guest_name"]),
        "room_type": str(args["room_type"]),
        "check_in": check_in.isoformat(),
        "check_out": check_out.isoformat(),
        "status": "confirmed",
    }


def _book_text(args: dict[str, Any], r: Result, lang: Lang) -> str:
    room = _ROOM.render(r["room_type"], lang)
    return _t(
        lang,
        f"Reserved a {room} room at hotel {r['hotel_id']} for {r['guest_name']} from {r['check_in']} to "
        f"{r['check_out']}; reservation {r['reservation_id']} is {r['status']}.",
        f"已为{r['guest_name']}在酒店{r['hotel_id']}预订{room}，{r['check_in']}入住、{r['check_out']}退房，"
        f"预订号{r['reservation_id']}。",
    )


def _cheaper_stay(results: list[Result], lang: Lang) -> str:
    a, b = results[0], results[1]
    if a["currency"] == b["currency"] and a["total_price"] == b["total_price"]:
        return _t(
            lang,
            f"Both stays cost the same: {a['total_price']} {a['currency']}.",
            f"两处住宿总价相同，都是{a['total_price']} {a['currency']}。",
        )
    lo, hi = (a, b) if a["total_price"] < b["total_price"] else (b, a)
    return _t(
        lang,
        f"{lo['name']} in {lo['city']} costs less in total: {lo['total_price']} {lo['currency']} "
        f"versus {hi['total_price']} {hi['currency']} at {hi['name']} in {hi['city']}.",
        f"{lo['city']}的{lo['name']}总价更低：{lo['total_price']} {lo['currency']}，"
        f"而{hi['city']}的{hi['name']}为{hi['total_price']} {hi['currency']}。",
    )


HOTELS = Domain(
    name="hotels",
    keywords=("hotel", "check-in", "accommodation", "resort", "guest house", "酒店", "宾馆", "住宿", "入住", "民宿"),
    scenarios={
        "en": (
            "A traveller looks for a well-reviewed hotel and reserves a room for their stay.",
            "A conference attendee arranges accommodation close to the venue.",
            "A couple compares hotel costs in two cities before choosing where to stay.",
            "A conference attendee books a hotel near the venue for a few nights.",
        ),
        "zh": (
            "为出行寻找口碑好的酒店并预订房间的旅客。",
            "为参加会议安排住宿的参会者。",
            "在两座城市之间比较酒店住宿费用的情侣。",
            "为参加会议在会场附近预订几晚酒店的参会者。",
        ),
    },
    capabilities=(
        Capability(
            name="search_hotels",
            description="Find the best-rated available hotel in a city for given dates.",
            parameters=_obj(
                {
                    "city": _s("City to stay in"),
                    "check_in": _s("Check-in date, YYYY-MM-DD", format="date"),
                    "nights": _n("Number of nights", "integer", minimum=1, maximum=30),
                }
            ),
            returns=_obj(
                {
                    "hotel_id": _s("Identifier to reserve a room with"),
                    "name": _s("Hotel name"),
                    "city": _s("City"),
                    "check_in": _s("Check-in date, YYYY-MM-DD"),
                    "nights": _n("Number of nights", "integer", minimum=1),
                    "rating": _n("Guest rating out of 5", minimum=0, maximum=5),
                    "price_per_night": _n("Nightly rate", minimum=0),
                    "total_price": _n("Rate times nights", minimum=0),
                    "currency": _s("ISO 4217 currency", pattern="^[A-Z]{3}$"),
                }
            ),
            clause={
                "en": "find the best-rated hotel in {city} for {nights} nights from {check_in}",
                "zh": "查找{check_in}起在{city}住{nights}晚评分最高的酒店",
            },
            slots={
                "city": _CITY,
                "nights": Slot({"en": ("2", "3", "4", "6"), "zh": ("2", "3", "4", "5")}),
                "check_in": _CHECK_IN,
            },
            simulate=_search,
            summarize=_search_text,
        ),
        Capability(
            name="reserve_hotel_room",
            description="Reserve a room at a hotel for a guest and a stay.",
            parameters=_obj(
                {
                    "hotel_id": _s("Identifier of the hotel from a search"),
                    "check_in": _s("Check-in date, YYYY-MM-DD", format="date"),
                    "nights": _n("Number of nights", "integer", minimum=1, maximum=30),
                    "room_type": _s("Room category", enum=_ROOM_TYPES),
                    "guest_name": _s("Full name of the guest"),
                }
            ),
            returns=_obj(
                {
                    "reservation_id": _s("Reservation reference"),
                    "hotel_id": _s("Hotel"),
                    "guest_name": _s("Guest"),
                    "room_type": _s("Room category", enum=_ROOM_TYPES),
                    "check_in": _s("YYYY-MM-DD"),
                    "check_out": _s("YYYY-MM-DD"),
                    "status": _s("Reservation status", enum=["confirmed", "pending"]),
                }
            ),
            clause={
                "en": "reserve a {room_type} room at that hotel for {guest_name}",
                "zh": "在那家酒店为{guest_name}预订一间{room_type}",
            },
            slots={
                "room_type": _ROOM,
                "guest_name": Slot(
                    {
                        "en": ("Priya Nair", "Daniel Kim", "Sofia Rossi", "Omar Haddad"),
                        "zh": ("刘洋", "赵敏", "孙丽", "周凯"),
                    }
                ),
            },
            simulate=_book,
            summarize=_book_text,
            consumes=("hotel_id", "check_in", "nights"),
            nesting=Nesting("stay", "The stay to reserve: dates and room", ("check_in", "nights", "room_type")),
        ),
    ),
    sequential=(("search_hotels", "reserve_hotel_room"),),
    parallel=(
        (
            "search_hotels",
            "search_hotels",
            Reasoning(
                {
                    "en": "tell me which of the two hotel stays costs less in total",
                    "zh": "告诉我哪家酒店的住宿总价更低",
                },
                _cheaper_stay,
            ),
        ),
    ),
)
