"""Demo domain — Movies: cinema showtimes and seat reservations."""

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

_MOVIE = Slot(
    {
        "en": ("Oppenheimer", "Dune: Part Two", "The Wild Robot", "Past Lives", "Top Gun: Maverick"),
        "zh": ("流浪地球2", "热辣滚烫", "哪吒之魔童闹海", "封神第一部", "长安三万里"),
    }
)
_CITY = Slot(
    {"en": ("Lyon", "Manchester", "Melbourne", "Austin", "Dublin"), "zh": ("武汉", "长沙", "天津", "郑州", "宁波")}
)
_DATE = Slot({"en": ("2026-11-06", "2026-11-07", "2026-12-19"), "zh": ("2026-11-07", "2026-12-20", "2027-01-01")})
_CINEMAS_EN = ("Odeon Central", "Lumière Cinema", "Palace Picturehouse", "Riverside Screens")
_CINEMAS_ZH = ("万达影城", "大地影院", "CGV影城", "星美国际影城")


def _showtimes(args: dict[str, Any], rng: random.Random) -> Result:
    city = str(args["city"])
    chinese = bool(_CJK.search(city))
    return {
        "showtime_id": f"st_{rng.randint(10**6, 10**7 - 1)}",
        "movie_title": str(args["movie_title"]),
        "cinema": rng.choice(_CINEMAS_ZH if chinese else _CINEMAS_EN),
        "city": city,
        "date": str(args["date"]),
        "start_time": f"{rng.randint(13, 22):02d}:{rng.choice(['00', '15', '30', '45'])}",
        "ticket_price": rng.randint(35, 90) if chinese else round(rng.uniform(9, 19), 2),
        "currency": "CNY" if chinese else "USD",
        "seats_available": rng.randint(4, 160),
    }


def _showtimes_text(args: dict[str, Any], r: Result, lang: Lang) -> str:
    return _t(
        lang,
        f"{r['movie_title']} plays at {r['cinema']} in {r['city']} on {r['date']} at {r['start_time']} "
        f"(showing {r['showtime_id']}): {r['ticket_price']} {r['currency']} per ticket, "
        f"{r['seats_available']} seats left.",
        f"《{r['movie_title']}》{r['date']} {r['start_time']}在{r['city']}{r['cinema']}放映（场次"
        f"{r['showtime_id']}）：票价{r['ticket_price']} {r['currency']}，剩余{r['seats_available']}个座位。",
    )


def _reserve(args: dict[str, Any], rng: random.Random) -> Result:
    seats = int(args["seats"])
    row = rng.choice("DEFGHJ")
    first = rng.randint(1, 14)
    return {
        "reservation_id": f"MV{rng.randint(100000, 999999)}",
        "showtime_id": str(args["showtime_id"]),
        "seats": seats,
        "seat_numbers": [f"{row}{first + i}" for i in range(seats)],
        "status": "confirmed",
    }


def _reserve_text(args: dict[str, Any], r: Result, lang: Lang) -> str:
    seats = ", ".join(r["seat_numbers"])
    return _t(
        lang,
        f"Reserved {r['seats']} seats ({seats}) for showing {r['showtime_id']}; reservation {r['reservation_id']}.",
        f"已为场次{r['showtime_id']}预订{r['seats']}个座位（{seats}），订单号{r['reservation_id']}。",
    )


def _more_seats(results: list[Result], lang: Lang) -> str:
    a, b = results[0], results[1]
    if a["seats_available"] == b["seats_available"]:
        return _t(
            lang,
            f"Both showings ({a['showtime_id']} and {b['showtime_id']}) have {a['seats_available']} seats left.",
            f"两场（{a['showtime_id']}和{b['showtime_id']}）剩余座位一样多，都是{a['seats_available']}个。",
        )
    more, less = (a, b) if a["seats_available"] > b["seats_available"] else (b, a)
    return _t(
        lang,
        f"The {more['movie_title']} showing in {more['city']} has more seats left: "
        f"{more['seats_available']} versus {less['seats_available']}.",
        f"{more['city']}的《{more['movie_title']}》剩余座位更多：{more['seats_available']}个，"
        f"另一场只有{less['seats_available']}个。",
    )


MOVIES = Domain(
    name="movies",
    keywords=("movie", "film", "cinema", "showtime", "screening", "电影", "影院", "影城", "影片", "场次"),
    scenarios={
        "en": (
            "A film fan looks up cinema showtimes and reserves seats for friends.",
            "Someone planning a movie night checks when a film is showing nearby.",
            "A moviegoer compares two screenings to find one with seats left.",
            "A couple picks a film for the weekend and books seats together.",
        ),
        "zh": (
            "查询影院排片并为朋友订座的电影爱好者。",
            "计划看电影、想知道附近影城场次的人。",
            "比较两场电影放映、寻找还有余座场次的观众。",
            "挑选周末电影并一起订座的情侣。",
        ),
    },
    capabilities=(
        Capability(
            name="find_movie_showtimes",
            description="Find the next showing of a movie in a city on a date.",
            parameters=_obj(
                {
                    "movie_title": _s("Title of the movie"),
                    "city": _s("City to search cinemas in"),
                    "date": _s("Date of the showing, YYYY-MM-DD", format="date"),
                }
            ),
            returns=_obj(
                {
                    "showtime_id": _s("Identifier of the showing"),
                    "movie_title": _s("Movie title"),
                    "cinema": _s("Cinema name"),
                    "city": _s("City"),
                    "date": _s("YYYY-MM-DD"),
                    "start_time": _s("Local start time, HH:MM"),
                    "ticket_price": _n("Price per ticket", minimum=0),
                    "currency": _s("ISO 4217 currency", pattern="^[A-Z]{3}$"),
                    "seats_available": _n("Seats still free", "integer", minimum=0),
                }
            ),
            clause={
                "en": "find showtimes for {movie_title} in {city} on {date}",
                "zh": "查询{date}在{city}上映的《{movie_title}》场次",
            },
            slots={"movie_title": _MOVIE, "city": _CITY, "date": _DATE},
            simulate=_showtimes,
            summarize=_showtimes_text,
        ),
        Capability(
            name="reserve_movie_seats",
            description="Reserve adjacent seats for a movie showing.",
            parameters=_obj(
                {
                    "showtime_id": _s("Identifier of the showing"),
                    "seats": _n("Number of seats to reserve", "integer", minimum=1, maximum=10),
                }
            ),
            returns=_obj(
                {
                    "reservation_id": _s("Reservation reference"),
                    "showtime_id": _s("The showing"),
                    "seats": _n("Number of seats reserved", "integer", minimum=1),
                    "seat_numbers": {"type": "array", "items": {"type": "string"}, "description": "Seat labels"},
                    "status": _s("Reservation status", enum=["confirmed", "pending"]),
                }
            ),
            clause={"en": "reserve {seats} seats for that showing", "zh": "为这一场预订{seats}个座位"},
            slots={"seats": Slot({"en": ("2", "3", "4"), "zh": ("2", "3", "4")})},
            simulate=_reserve,
            summarize=_reserve_text,
            consumes=("showtime_id",),
        ),
    ),
    sequential=(("find_movie_showtimes", "reserve_movie_seats"),),
    parallel=(
        (
            "find_movie_showtimes",
            "find_movie_showtimes",
            Reasoning(
                {"en": "tell me which of the two showings has more seats left", "zh": "告诉我哪一场的剩余座位更多"},
                _more_seats,
                rank=lambda r: float(r["seats_available"]),
                many={
                    "en": "tell me which of the three showings has the most seats left",
                    "zh": "告诉我哪一场剩余座位最多",
                },
            ),
        ),
    ),
)
