"""Behaviour checks: what meta.behaviour says a row teaches, distractors never called, near-misses really different."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from tests.validators.rows import PACKING, PACKING_RETURNS, WEATHER, WEATHER_RETURNS
from toolsynth.validators.behaviour import check_behaviour, check_near_misses
from toolsynth.validators.composition import check_composition
from toolsynth.validators.sample import check_sample

HISTORY: dict[str, Any] = {
    "name": "get_weather_history",
    "description": "Past weather records of a city over a date range (no current data).",
    "parameters": {
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": "City name"},
            "start_date": {"type": "string", "description": "First day"},
        },
        "required": ["city", "start_date"],
    },
}


def _call(cid: str, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {"id": cid, "type": "function", "function": {"name": name, "arguments": json.dumps(arguments)}}


def _tool(cid: str, name: str, result: dict[str, Any]) -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": cid, "name": name, "content": json.dumps(result)}


def _row(messages: list[dict[str, Any]], behaviour: str, **meta: Any) -> dict[str, Any]:
    return {
        "id": "r",
        "messages": [{"role": "system", "content": "You help."}, *messages],
        "tools": [{"type": "function", "function": f} for f in (WEATHER, PACKING, HISTORY)],
        "meta": {
            "behaviour": behaviour,
            "strategy": "sequential",
            "subtasks": [
                {"id": 1, "instruction": "Weather in Oslo", "depends_on": [], "function": "get_weather"},
                {"id": 2, "instruction": "Packing for it", "depends_on": [1], "function": "suggest_packing"},
            ],
            "distractors": [{"name": "get_weather_history", "kind": "near_miss", "resembles": "get_weather"}],
            "function_returns": {
                "get_weather": WEATHER_RETURNS,
                "suggest_packing": PACKING_RETURNS,
                "get_weather_history": {"type": "object", "properties": {"records": {"type": "array"}}},
            },
            **meta,
        },
    }


CALLS = [
    {"role": "assistant", "content": None, "tool_calls": [_call("c1", "get_weather", {"city": "Oslo"})]},
    _tool("c1", "get_weather", {"city": "Oslo", "temperature_c": 4}),
    {"role": "assistant", "content": None, "tool_calls": [_call("c2", "suggest_packing", {"temperature_c": 4})]},
    _tool("c2", "suggest_packing", {"items": ["coat", "scarf"]}),
    {"role": "assistant", "content": "It is 4 °C in Oslo: pack a coat and a scarf."},
]


def _codes(row: dict[str, Any]) -> list[str]:
    return [f.code for f in check_sample(row)]


def test_a_call_sample_with_an_uncalled_distractor_is_clean() -> None:
    assert _codes(_row([{"role": "user", "content": "Weather in Oslo, and what to pack?"}, *CALLS], "call")) == []


def test_calling_a_distractor_is_an_error() -> None:
    messages = copy.deepcopy(CALLS)
    messages[0]["tool_calls"] = [_call("c1", "get_weather_history", {"city": "Oslo", "start_date": "2024-01-01"})]
    messages[1] = _tool("c1", "get_weather_history", {"records": []})
    codes = _codes(_row([{"role": "user", "content": "Weather in Oslo?"}, *messages], "call"))
    assert "distractor_called" in codes


def test_no_call_sample_calls_nothing() -> None:
    refusal = {"role": "assistant", "content": "I can't look up live weather; I only have past records."}
    clean = _row([{"role": "user", "content": "Weather in Oslo?"}, refusal], "no_call")
    assert _codes(clean) == []  # its subtasks are unavailable, so composition does not ask for calls
    called = _row([{"role": "user", "content": "Weather in Oslo?"}, *CALLS], "no_call")
    assert _codes(called).count("no_call_has_call") == 2


def test_clarify_sample_asks_before_its_first_call() -> None:
    asked = [
        {"role": "user", "content": "What should I pack for the weather in my city?"},
        {"role": "assistant", "content": "Sure, which city?"},
        {"role": "user", "content": "Oslo."},
        *CALLS,
    ]
    assert _codes(_row(asked, "clarify", clarify={"parameter": "city"})) == []
    not_asked = _row([{"role": "user", "content": "Packing for my city?"}, *CALLS], "clarify")
    assert "clarify_not_asked" in _codes(not_asked)
    given = [{**asked[0], "content": "What should I pack for the weather in Oslo?"}, *asked[1:]]
    assert "clarify_value_given" in _codes(_row(given, "clarify", clarify={"parameter": "city"}))


def test_follow_up_sample_has_two_answered_requests() -> None:
    first = [
        {"role": "user", "content": "Weather in Oslo?"},
        *CALLS[:2],
        {"role": "assistant", "content": "4 °C in Oslo."},
    ]
    second = [{"role": "user", "content": "Then what should I pack for that?"}, *CALLS[2:]]
    assert _codes(_row(first + second, "follow_up")) == []
    assert "follow_up_missing" in _codes(_row([{"role": "user", "content": "Weather?"}, *CALLS], "follow_up"))
    unanswered = [
        *first,
        {"role": "user", "content": "And packing?"},
        {"role": "user", "content": "Hello?"},
        *CALLS[2:],
    ]
    assert "request_unanswered" in [f.code for f in check_behaviour(unanswered, {"behaviour": "follow_up"})]


def test_missing_function_exempts_what_needs_it_and_must_not_be_offered() -> None:
    done = [
        {"role": "user", "content": "Weather in Oslo, and what to pack?"},
        *CALLS[:2],
        {"role": "assistant", "content": "4 °C in Oslo. I can't suggest what to pack with the tools I have."},
    ]
    row = _row(done, "missing_function", missing_functions=["suggest_packing"])
    row["tools"] = [t for t in row["tools"] if t["function"]["name"] != "suggest_packing"]
    del row["meta"]["function_returns"]["suggest_packing"]
    assert _codes(row) == []
    meta = {**row["meta"], "behaviour": "call", "missing_functions": []}
    assert "subtask_not_served" in [f.code for f in check_composition(done, meta, row["tools"])]
    offered = _row(done, "missing_function", missing_functions=["suggest_packing"])
    assert "missing_function_offered" in _codes(offered)


def test_unknown_behaviour() -> None:
    assert "behaviour_unknown" in _codes(_row([{"role": "user", "content": "Hi"}, *CALLS], "chat"))


@pytest.mark.parametrize(
    ("near", "resembles", "code"),
    [
        ({**WEATHER, "name": "Get_Weather"}, "get_weather", "near_miss_same_name"),
        ({**WEATHER, "name": "fetch_weather"}, "get_weather", "near_miss_same_function"),
        ({**HISTORY, "returns": {"type": "object"}}, "weather", "near_miss_resembles_unknown"),
        ({**HISTORY, "name": "9 bad name", "returns": {"type": "object"}}, "get_weather", "function_name_invalid"),
    ],
)
def test_near_miss_checks(near: dict[str, Any], resembles: str, code: str) -> None:
    given = [{**WEATHER, "returns": WEATHER_RETURNS}]
    near = {"returns": WEATHER_RETURNS, **near}
    assert code in [f.code for f in check_near_misses([near], [resembles], given)]


def test_a_real_near_miss_passes() -> None:
    given = [{**WEATHER, "returns": WEATHER_RETURNS}]
    assert check_near_misses([{**HISTORY, "returns": {"type": "object"}}], ["get_weather"], given) == []


@pytest.mark.parametrize(
    ("behaviour", "answer", "stated"),
    [
        ("no_call", "I can't look up live weather; I only have past records.", True),
        ("no_call", "Unfortunately no tool here gives current conditions.", True),
        ("no_call", "抱歉，我现有的工具无法查询实时天气。", True),
        ("no_call", "It is sunny and 21 °C in Oslo today.", False),
        ("missing_function", "4 °C in Oslo. Pack a coat.", False),
    ],
)
def test_a_no_call_or_missing_function_answer_states_what_cannot_be_done(
    behaviour: str, answer: str, stated: bool
) -> None:
    messages = [{"role": "user", "content": "Weather in Oslo?"}, {"role": "assistant", "content": answer}]
    found = [f.code for f in check_behaviour(messages, {"behaviour": behaviour})]
    assert ("limitation_not_stated" not in found) is stated


def test_a_follow_up_builds_on_the_earlier_results() -> None:
    first = [
        {"role": "user", "content": "Weather in Oslo?"},
        *CALLS[:2],
        {"role": "assistant", "content": "4 °C in Oslo."},
    ]
    reuses = [{"role": "user", "content": "Then what should I pack for that?"}, *CALLS[2:]]
    assert [f.code for f in check_behaviour(first + reuses, {"behaviour": "follow_up"})] == []
    fresh = [
        {"role": "user", "content": "And what should I pack for a beach holiday?"},
        {"role": "assistant", "content": None, "tool_calls": [_call("c2", "suggest_packing", {"temperature_c": 30})]},
        _tool("c2", "suggest_packing", {"items": ["swimsuit"]}),
        {"role": "assistant", "content": "Pack a swimsuit."},
    ]
    found = check_behaviour(first + fresh, {"behaviour": "follow_up"})
    assert [(f.code, f.path) for f in found] == [("follow_up_ignores_earlier_results", "messages[4]")]
