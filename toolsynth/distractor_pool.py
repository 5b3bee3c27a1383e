"""The program's own pool of unrelated functions: distractors when a seed's other scenarios offer too few.

Everyday functions of domains the demo model does not know, so that a task rarely needs one of them. A
`ButtonProgram(distractor_pool=...)` replaces this pool with your own.
"""

from __future__ import annotations

from typing import Any

from toolsynth.types import FunctionSpec


def _spec(name: str, description: str, params: dict[str, tuple[str, str]], returns: dict[str, str]) -> FunctionSpec:
    def schema(fields: dict[str, Any], required: bool) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "object", "properties": fields}
        if required:
            out["required"] = list(fields)
        return out

    return FunctionSpec(
        name=name,
        description=description,
        parameters=schema({k: {"type": t, "description": d} for k, (t, d) in params.items()}, True),
        returns=schema({k: {"type": t} for k, t in returns.items()}, True),
    )


DISTRACTOR_POOL: tuple[FunctionSpec, ...] = (
    _spec(
        "get_time_zone",
        "Look up the time zone and current UTC offset of a place.",
        {"place": ("string", "City or region name")},
        {"time_zone": "string", "utc_offset": "string"},
    ),
    _spec(
        "convert_units",
        "Convert a quantity between units of length, mass or volume.",
        {
            "value": ("number", "The quantity to convert"),
            "from_unit": ("string", "Unit of the value, e.g. km"),
            "to_unit": ("string", "Unit to convert to, e.g. mi"),
        },
        {"value": "number", "unit": "string"},
    ),
    _spec(
        "define_word",
        "Give the dictionary definition of an English word.",
        {"word": ("string", "The word to define")},
        {"word": "string", "definition": "string"},
    ),
    _spec(
        "set_reminder",
        "Set a phone reminder with a message at a given date and time.",
        {"message": ("string", "What to be reminded of"), "when": ("string", "Date and time, ISO 8601")},
        {"reminder_id": "string", "scheduled_for": "string"},
    ),
    _spec(
        "track_package",
        "Track a parcel by its carrier tracking number.",
        {"tracking_number": ("string", "The carrier's tracking number")},
        {"status": "string", "last_location": "string", "expected_delivery": "string"},
    ),
    _spec(
        "find_parking",
        "Find parking garages with free spaces near an address.",
        {"address": ("string", "Street address or landmark"), "radius_m": ("integer", "Search radius in metres")},
        {"garage": "string", "free_spaces": "integer", "hourly_rate": "number"},
    ),
    _spec(
        "check_air_quality",
        "Get the current air quality index of a city.",
        {"city": ("string", "City name")},
        {"aqi": "integer", "category": "string"},
    ),
    _spec(
        "lookup_public_holidays",
        "List the public holidays of a country in a year.",
        {"country_code": ("string", "ISO 3166-1 alpha-2 country code"), "year": ("integer", "Calendar year")},
        {"holidays": "array", "count": "integer"},
    ),
    _spec(
        "get_pharmacy_hours",
        "Get the opening hours of the nearest pharmacy to an address.",
        {"address": ("string", "Street address")},
        {"pharmacy": "string", "opens": "string", "closes": "string"},
    ),
    _spec(
        "estimate_taxi_fare",
        "Estimate the taxi fare between two addresses.",
        {"pickup": ("string", "Pickup address"), "dropoff": ("string", "Drop-off address")},
        {"fare": "number", "currency": "string", "duration_min": "integer"},
    ),
    _spec(
        "count_words",
        "Count the words and characters of a text.",
        {"text": ("string", "The text to count")},
        {"words": "integer", "characters": "integer"},
    ),
    _spec(
        "get_moon_phase",
        "Give the moon phase on a date.",
        {"date": ("string", "Date, YYYY-MM-DD")},
        {"phase": "string", "illumination": "number"},
    ),
)
