"""Small valid rows and specs the validator tests mutate one thing at a time."""

from __future__ import annotations

import copy
import json
from typing import Any

WEATHER: dict[str, Any] = {
    "name": "get_weather",
    "description": "Current weather for a city.",
    "parameters": {
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": "City name"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "description": "Temperature unit"},
        },
        "required": ["city"],
    },
}
WEATHER_RETURNS: dict[str, Any] = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "temperature_c": {"type": "number"}},
    "required": ["temperature_c"],
}
PACKING: dict[str, Any] = {
    "name": "suggest_packing",
    "description": "What to pack for a temperature.",
    "parameters": {
        "type": "object",
        "properties": {"temperature_c": {"type": "number", "description": "Temperature in °C"}},
        "required": ["temperature_c"],
    },
}
PACKING_RETURNS: dict[str, Any] = {
    "type": "object",
    "properties": {"items": {"type": "array", "items": {"type": "string"}}},
    "required": ["items"],
}


def spec(**changes: Any) -> dict[str, Any]:
    """A copy of the weather spec with top-level keys replaced (``None`` removes a key)."""
    out = copy.deepcopy(WEATHER)
    for key, value in changes.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def params(**properties: Any) -> dict[str, Any]:
    """A weather spec whose parameters have exactly these property schemas (no required)."""
    return spec(parameters={"type": "object", "properties": properties})


def tool(function: dict[str, Any]) -> dict[str, Any]:
    return {"type": "function", "function": copy.deepcopy(function)}


def call(call_id: str, name: str, arguments: Any) -> dict[str, Any]:
    text = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": text}}


def assistant_calls(*calls: dict[str, Any]) -> dict[str, Any]:
    return {"role": "assistant", "content": None, "tool_calls": list(calls)}


def result(call_id: str, name: str, content: Any) -> dict[str, Any]:
    text = content if isinstance(content, str) else json.dumps(content)
    return {"role": "tool", "tool_call_id": call_id, "name": name, "content": text}


def sequential_row() -> dict[str, Any]:
    """Weather in Paris, then packing advice from its temperature; returns kept in meta."""
    return copy.deepcopy(
        {
            "id": "s1",
            "source_id": "seed-1",
            "messages": [
                {"role": "system", "content": "You are a helpful assistant."},
                {"role": "user", "content": "What is the weather in Paris, and what should I pack?"},
                assistant_calls(call("call_1", "get_weather", {"city": "Paris"})),
                result("call_1", "get_weather", {"city": "Paris", "temperature_c": 21}),
                assistant_calls(call("call_2", "suggest_packing", {"temperature_c": 21})),
                result("call_2", "suggest_packing", {"items": ["sunglasses", "light jacket"]}),
                {"role": "assistant", "content": "It is 21 °C in Paris: pack sunglasses and a light jacket."},
            ],
            "tools": [tool(WEATHER), tool(PACKING)],
            "meta": {
                "scenario": "Travel",
                "composite_task": "Check the weather in Paris, then suggest what to pack.",
                "strategy": "sequential",
                "subtasks": [
                    {
                        "id": 1,
                        "instruction": "Check the weather in Paris.",
                        "depends_on": [],
                        "function": "get_weather",
                    },
                    {"id": 2, "instruction": "Suggest what to pack.", "depends_on": [1], "function": "suggest_packing"},
                ],
                "function_returns": {"get_weather": WEATHER_RETURNS, "suggest_packing": PACKING_RETURNS},
            },
        }
    )


def parallel_row() -> dict[str, Any]:
    """Weather in Paris and London in parallel, then a comparison by reasoning (function null)."""
    return copy.deepcopy(
        {
            "id": "p1",
            "source_id": "seed-2",
            "messages": [
                {"role": "user", "content": "Which is warmer right now, Paris or London?"},
                assistant_calls(
                    call("call_1", "get_weather", {"city": "Paris"}), call("call_2", "get_weather", {"city": "London"})
                ),
                result("call_1", "get_weather", {"city": "Paris", "temperature_c": 21}),
                result("call_2", "get_weather", {"city": "London", "temperature_c": 17.5}),
                {"role": "assistant", "content": "Paris (21 °C) is warmer than London (17.5 °C)."},
            ],
            "tools": [tool({**WEATHER, "returns": WEATHER_RETURNS})],
            "meta": {
                "composite_task": "Compare the weather in Paris and London.",
                "strategy": "parallel_then_sequential",
                "subtasks": [
                    {"id": 1, "instruction": "Weather in Paris.", "depends_on": [], "function": "get_weather"},
                    {"id": 2, "instruction": "Weather in London.", "depends_on": [], "function": "get_weather"},
                    {"id": 3, "instruction": "Say which is warmer.", "depends_on": [1, 2], "function": None},
                ],
            },
        }
    )
