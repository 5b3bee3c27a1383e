"""Demo domain — Flights: search and booking."""

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

_AIRPORT = Slot(
    {"en": ("JFK", "LHR", "CDG", "SFO", "NRT", "SYD", "FRA", "YYZ"), "zh": ("PEK", "PVG", "CAN", "CTU", "SZX", "HGH")}
)
_DATE = Slot(
    {"en": ("2026-12-03", "2026-12-14", "2027-01-09", "2027-02-20"), "zh": ("2026-12-05", "2027-01-18", "2027-02-11")}
)


def _search_flights(args: dict[str, Any], rng: random.Random) -> Result:
    carrier = rng.choice(["SkyJet", "AeroLink", "BlueWing", "NorthAir"])
    number = f"{carrier[:2].upper()}{rng.randint(100, 999)}"
    return {
        "origin": args["origin"],
        "destination": args["destination"],
        "date": args["date"],
        "flight_id": f"{number}-{args['date']}",
        "airline": carrier,
        "departure_time": f"{rng.randint(6, 21):02d}:{rng.choice(['05', '20', '35', '50'])}",
        "price_usd": rng.randint(180, 1400),
    }


def _search_text(args: dict[str, Any], r: Result, lang: Lang) -> str:
    return _t(
        lang,
        f"The cheapest {r['origin']}→{r['destination']} flight on {r['date']} is {r['flight_id']} "
        f"({r['airline']}, departs {r['departure_time']}) for ${r['price_usd']}.",
        f"{r['date']} {r['origin']}→{r['destination']}最便宜的航班是{r['flight_id']}（{r['airline']}，"
        f"{r['departure_time']}起飞），价格{r['price_usd']}美元。",
    )


def _book(args: dict[str, Any], rng: random.Random) -> Result:
    code = "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(6))
    return {
        "flight_id": args["flight_id"],
        "passenger_name": args["passenger_name"],
        "confirmation_code": code,
        "status": "confirmed",
    }


def _book_text(args: dict[str, Any], r: Result, lang: Lang) -> str:
    return _t(
        lang,
        f"Flight {r['flight_id']} is booked for {r['passenger_name']}; confirmation code {r['confirmation_code']}.",
        f"已为{r['passenger_name']}预订航班{r['flight_id']}，确认码{r['confirmation_code']}。",
    )


def _cheaper(results: list[Result], lang: Lang) -> str:
    a, b = results[0], results[1]
    best = a if a["price_usd"] <= b["price_usd"] else b
    return _t(
        lang,
        f"The cheaper option is {best['flight_id']} to {best['destination']} at ${best['price_usd']}.",
        f"更便宜的是飞往{best['destination']}的{best['flight_id']}，{best['price_usd']}美元。",
    )


FLIGHTS = Domain(
    name="flights",
    keywords=("flight", "airport", "airline", "fly", "booking", "ticket", "航班", "机票", "飞往", "机场"),
    scenarios={
        "en": (
            "A traveller looks for and books flights for an upcoming trip.",
            "An assistant to a busy executive arranges air travel between meetings.",
            "A family compares flight options for a holiday.",
            "A family compares fares to visit relatives over the holidays.",
        ),
        "zh": (
            "为即将到来的旅行查找并预订机票的旅客。",
            "为忙碌的高管安排出差航班的助理。",
            "为假期比较不同航班选择的家庭。",
            "假期要去探亲、正在比较机票价格的一家人。",
        ),
    },
    capabilities=(
        Capability(
            name="search_cheapest_flight",
            description="Find the cheapest direct flight between two airports on a date.",
            parameters=_obj(
                {
                    "origin": _s("IATA code of the departure airport", pattern="^[A-Z]{3}$"),
                    "destination": _s("IATA code of the arrival airport", pattern="^[A-Z]{3}$"),
                    "date": _s("Departure date, YYYY-MM-DD", format="date"),
                }
            ),
            returns=_obj(
                {
                    "origin": _s("IATA code"),
                    "destination": _s("IATA code"),
                    "date": _s("YYYY-MM-DD"),
                    "flight_id": _s("Identifier to book the flight with"),
                    "airline": _s("Carrier"),
                    "departure_time": _s("Local time HH:MM"),
                    "price_usd": _n("Fare in USD"),
                }
            ),
            clause={
                "en": "find the cheapest flight from {origin} to {destination} on {date}",
                "zh": "查找{date}从{origin}飞往{destination}最便宜的航班",
            },
            slots={"origin": _AIRPORT, "destination": _AIRPORT, "date": _DATE},
            nesting=Nesting("itinerary", "Where and when to fly", ("origin", "destination", "date")),
            simulate=_search_flights,
            summarize=_search_text,
        ),
        Capability(
            name="book_flight",
            description="Book a seat on a flight for a passenger.",
            parameters=_obj(
                {
                    "flight_id": _s("Identifier of the flight from a search"),
                    "passenger_name": _s("Full name of the passenger"),
                }
            ),
            returns=_obj(
                {
                    "flight_id": _s("The booked flight"),
                    "passenger_name": _s("Passenger"),
                    "confirmation_code": _s("Booking reference"),
                    "status": _s("Booking status", enum=["confirmed", "waitlisted"]),
                }
            ),
            clause={"en": "book that flight for {passenger_name}", "zh": "为{passenger_name}预订这个航班"},
            slots={
                "passenger_name": Slot(
                    {
                        "en": ("Maria Lopez", "Tom Becker", "Aisha Khan", "Leo Martin"),
                        "zh": ("王芳", "李雷", "张伟", "陈静"),
                    }
                )
            },
            simulate=_book,
            summarize=_book_text,
            consumes=("flight_id",),
        ),
    ),
    sequential=(("search_cheapest_flight", "book_flight"),),
    parallel=(
        (
            "search_cheapest_flight",
            "search_cheapest_flight",
            Reasoning(
                {"en": "tell me which of the two flights is cheaper", "zh": "告诉我哪个航班更便宜"},
                _cheaper,
                rank=lambda r: -float(r["price_usd"]),
                many={"en": "tell me which of the three flights is cheapest", "zh": "告诉我哪个航班最便宜"},
            ),
        ),
    ),
)
