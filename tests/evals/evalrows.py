"""Hand-built sample rows for the metric tests: a sequential weather → packing task and its faults."""

from __future__ import annotations

import copy
import json
from typing import Any

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather of a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "description": "City name"}},
            "required": ["city"],
        },
    },
}
PACKING = {
    "type": "function",
    "function": {
        "name": "suggest_packing",
        "description": "What to pack for a weather condition.",
        "parameters": {
            "type": "object",
            "properties": {"condition": {"type": "string", "description": "e.g. rain"}},
            "required": ["condition"],
        },
    },
}
RETURNS = {
    "get_weather": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "temperature": {"type": "number"}, "condition": {"type": "string"}},
    },
    "suggest_packing": {"type": "object", "properties": {"items": {"type": "array", "items": {"type": "string"}}}},
}
WEATHER_RESULT = {"city": "Lisbon", "temperature": 14, "condition": "rain"}
PACKING_RESULT = {"items": ["umbrella", "raincoat"]}


def call(call_id: str, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": json.dumps(arguments)}}


def tool(call_id: str, name: str, result: dict[str, Any]) -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": call_id, "name": name, "content": json.dumps(result)}


def complete_row() -> dict[str, Any]:
    """Weather in Lisbon, then what to pack for it: both calls valid, results used, answer on topic.

    A fresh deep copy each time: tests change rows in place, and must never change the module's specs."""
    return copy.deepcopy(_complete_row())


def _complete_row() -> dict[str, Any]:
    return {
        "id": "row-1",
        "source_id": "seed-1",
        "messages": [
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "Check the weather in Lisbon, then tell me what to pack for it."},
            {"role": "assistant", "content": None, "tool_calls": [call("c1", "get_weather", {"city": "Lisbon"})]},
            tool("c1", "get_weather", WEATHER_RESULT),
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [call("c2", "suggest_packing", {"condition": "rain"})],
            },
            tool("c2", "suggest_packing", PACKING_RESULT),
            {"role": "assistant", "content": "Lisbon has rain at 14 °C, so pack an umbrella and a raincoat."},
        ],
        "tools": [WEATHER, PACKING],
        "meta": {
            "strategy": "sequential",
            "composite_task": "Check the weather in Lisbon, then tell me what to pack for it.",
            "scenario": "A traveller packing for a trip.",
            "subtasks": [
                {"id": 1, "instruction": "Check the weather in Lisbon.", "depends_on": [], "function": "get_weather"},
                {
                    "id": 2,
                    "instruction": "Suggest what to pack for that weather.",
                    "depends_on": [1],
                    "function": "suggest_packing",
                },
            ],
            "function_returns": RETURNS,
        },
    }


def missing_subtask_row() -> dict[str, Any]:
    """The packing call never happens; the answer only reports the weather."""
    row = complete_row()
    row["messages"] = [*row["messages"][:4], {"role": "assistant", "content": "Lisbon has rain at 14 °C."}]
    return row


def out_of_order_row() -> dict[str, Any]:
    """The dependent packing call is issued together with the weather call, before its result exists."""
    row = complete_row()
    both = [call("c1", "get_weather", {"city": "Lisbon"}), call("c2", "suggest_packing", {"condition": "rain"})]
    row["messages"] = [
        *row["messages"][:2],
        {"role": "assistant", "content": None, "tool_calls": both},
        tool("c1", "get_weather", WEATHER_RESULT),
        tool("c2", "suggest_packing", PACKING_RESULT),
        row["messages"][-1],
    ]
    return row


def unused_result_row() -> dict[str, Any]:
    """The packing result never reaches the final answer (nor any later call)."""
    row = copy.deepcopy(complete_row())
    row["messages"][-1] = {"role": "assistant", "content": "Lisbon has rain at 14 °C; have a good trip to Lisbon."}
    return row
