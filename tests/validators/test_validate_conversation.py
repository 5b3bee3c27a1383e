"""Conversation order and call/answer pairing: one test per code."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.validators.rows import (
    PACKING,
    WEATHER,
    WEATHER_RETURNS,
    assistant_calls,
    call,
    result,
    sequential_row,
    tool,
)
from toolsynth.validators import Finding, check_conversation, codes

TOOLS = [tool({**WEATHER, "returns": WEATHER_RETURNS}), tool(PACKING)]


def messages() -> list[dict[str, Any]]:
    return copy.deepcopy(sequential_row()["messages"])


def check(msgs: Any, tools: Any = TOOLS) -> list[tuple[str, str]]:
    return [(f.code, f.path) for f in check_conversation(msgs, tools)]


def test_a_good_conversation_has_no_findings() -> None:
    assert check(messages()) == []
    assert check(messages()[1:]) == []  # the system message is optional


def edit(change: Callable[[list[Any]], Any]) -> list[dict[str, Any]]:
    msgs = messages()
    change(msgs)
    return msgs


def _set(i: int, key: str, value: Any) -> Callable[[list[Any]], Any]:
    def change(msgs: list[dict[str, Any]]) -> None:
        msgs[i][key] = value

    return change


def _call_set(i: int, key: str, value: Any) -> Callable[[list[Any]], Any]:
    def change(msgs: list[dict[str, Any]]) -> None:
        msgs[i]["tool_calls"][0]["function"][key] = value

    return change


CASES: list[tuple[str, Callable[[list[Any]], Any], tuple[str, str]]] = [
    ("not an object", lambda m: m.insert(2, "hello"), ("message_not_object", "messages[2]")),
    ("unknown role", _set(1, "role", "human"), ("role_invalid", "messages[1].role")),
    ("assistant first", lambda m: m.pop(1), ("first_message_not_user", "messages[1]")),
    ("late system", lambda m: m.insert(2, {"role": "system", "content": "x"}), ("role_order_invalid", "messages[2]")),
    ("user twice", lambda m: m.insert(2, {"role": "user", "content": "and?"}), ("role_order_invalid", "messages[2]")),
    (
        "user after results",
        lambda m: m.insert(4, {"role": "user", "content": "so?"}),
        ("role_order_invalid", "messages[4]"),
    ),
    ("dict content", _set(1, "content", {"text": "hi"}), ("content_invalid", "messages[1].content")),
    ("silent user", _set(1, "content", " "), ("user_message_empty", "messages[1].content")),
    (
        "empty assistant",
        lambda m: m.insert(2, {"role": "assistant", "content": ""}),
        ("assistant_message_empty", "messages[2]"),
    ),
    ("calls not a list", _set(2, "tool_calls", {"id": "x"}), ("tool_calls_invalid", "messages[2].tool_calls")),
    (
        "call not an object",
        _set(2, "tool_calls", ["get_weather(Paris)"]),
        ("tool_call_invalid", "messages[2].tool_calls[0]"),
    ),
    (
        "call type",
        lambda m: m[2]["tool_calls"][0].update(type="code"),
        ("tool_call_invalid", "messages[2].tool_calls[0].type"),
    ),
    ("call without name", _call_set(2, "name", None), ("tool_call_invalid", "messages[2].tool_calls[0].function.name")),
    (
        "call without id",
        lambda m: m[2]["tool_calls"][0].pop("id"),
        ("tool_call_id_missing", "messages[2].tool_calls[0].id"),
    ),
    (
        "duplicate id",
        lambda m: m[4]["tool_calls"][0].update(id="call_1"),
        ("tool_call_id_duplicate", "messages[4].tool_calls[0].id"),
    ),
    (
        "unknown function",
        _call_set(2, "name", "get_wether"),
        ("call_unknown_function", "messages[2].tool_calls[0].function.name"),
    ),
    (
        "no arguments",
        lambda m: m[2]["tool_calls"][0]["function"].pop("arguments"),
        ("arguments_not_object", "messages[2].tool_calls[0].function.arguments"),
    ),
    (
        "dict arguments",
        _call_set(2, "arguments", {"city": "Paris"}),
        ("arguments_not_string", "messages[2].tool_calls[0].function.arguments"),
    ),
    (
        "bad arguments",
        _call_set(2, "arguments", '{"city": 5}'),
        ("arguments_schema_violation", "messages[2].tool_calls[0].function.arguments.city"),
    ),
    (
        "answered twice",
        lambda m: m.insert(4, copy.deepcopy(m[3])),
        ("tool_call_answered_twice", "messages[4].tool_call_id"),
    ),
    (
        "orphan",
        lambda m: m.insert(4, result("call_9", "get_weather", {"temperature_c": 1})),
        ("tool_message_orphan", "messages[4].tool_call_id"),
    ),
    (
        "tool message without id",
        lambda m: m[3].pop("tool_call_id"),
        ("tool_call_id_missing", "messages[3].tool_call_id"),
    ),
    ("unanswered", lambda m: m.pop(3), ("tool_call_unanswered", "messages[2].tool_calls[0]")),
    ("name mismatch", _set(3, "name", "suggest_packing"), ("tool_name_mismatch", "messages[3].name")),
    ("name missing", lambda m: m[3].pop("name"), ("tool_name_missing", "messages[3].name")),
    ("empty result", _set(3, "content", ""), ("tool_result_empty", "messages[3].content")),
    ("result not json", _set(3, "content", "sunny"), ("result_invalid_json", "messages[3].content")),
    (
        "result violates returns",
        _set(3, "content", '{"temperature_c": "warm"}'),
        ("result_schema_violation", "messages[3].content.temperature_c"),
    ),
    ("ends with a call", lambda m: m.pop(), ("conversation_not_finished", "messages[5]")),
    (
        "ends with calls",
        lambda m: m[-1].update(tool_calls=[call("call_3", "get_weather", {"city": "Rome"})]),
        ("conversation_not_finished", "messages[6]"),
    ),
    (
        "ends with user",
        lambda m: m.append({"role": "user", "content": "thanks"}),
        ("conversation_not_finished", "messages[7]"),
    ),
]


@pytest.mark.parametrize(("change", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_problem_has_its_code_and_path(change: Callable[[list[Any]], Any], expected: tuple[str, str]) -> None:
    assert expected in check(edit(change))


def test_conversation_level_codes() -> None:
    assert check("hi") == [("messages_not_list", "messages")]
    assert check([]) == [("conversation_empty", "messages")]
    assert ("tools_missing", "messages[2].tool_calls[0]") in check(messages(), tools=None)
    assert ("tools_missing", "messages[2].tool_calls[0]") in check(messages(), tools=[])


def test_an_orphan_answering_a_call_from_an_earlier_turn_says_so() -> None:
    msgs = messages()
    late = msgs.pop(3)
    msgs.insert(4, late)  # the answer arrives after the next assistant message
    found = check_conversation(msgs, TOOLS)
    assert ("tool_call_unanswered", "messages[2].tool_calls[0]") in [(f.code, f.path) for f in found]
    orphan = next(f for f in found if f.code == "tool_message_orphan")
    assert "messages[2].tool_calls[0]" in orphan.message


def test_parallel_calls_may_be_answered_in_any_order() -> None:
    msgs = [
        {"role": "user", "content": "Paris and Rome?"},
        assistant_calls(call("a", "get_weather", {"city": "Paris"}), call("b", "get_weather", {"city": "Rome"})),
        result("b", "get_weather", {"temperature_c": 25}),
        result("a", "get_weather", {"temperature_c": 21}),
        {"role": "assistant", "content": "Paris 21 °C, Rome 25 °C."},
    ]
    assert check(msgs) == []
    assert codes(check_conversation(msgs[:3] + msgs[4:], TOOLS)) == ["tool_call_unanswered"]


def test_content_parts_and_unused_tools_are_fine() -> None:
    msgs = messages()
    msgs[1]["content"] = [{"type": "text", "text": "What is the weather in Paris?"}]
    assert check(msgs, [*TOOLS, tool({**WEATHER, "name": "unused"})]) == []


def test_returns_on_the_tool_are_used_and_absent_returns_allow_free_text() -> None:
    msgs = messages()
    msgs[5]["content"] = "Pack sunglasses."  # suggest_packing declares no returns here
    assert check(msgs) == []


def test_a_finding_carries_its_location_as_a_loc_tuple_and_shows_it_as_a_path() -> None:
    row = sequential_row()
    row["messages"][2]["tool_calls"][0]["function"]["arguments"] = json.dumps({"city": 3})
    [finding] = check_conversation(row["messages"], row["tools"])
    assert finding.loc == ("messages", 2, "tool_calls", 0, "function", "arguments", "city")
    assert finding.path == "messages[2].tool_calls[0].function.arguments.city"
    assert finding.to_dict() == {
        "code": "arguments_schema_violation",
        "severity": "error",
        "path": "messages[2].tool_calls[0].function.arguments.city",
        "message": "3 is not of type 'string'",
    }
    odd = Finding("x", "error", 'tools[0].function.parameters.patternProperties["^x-"].type', "m")
    assert odd.loc == ("tools", 0, "function", "parameters", "patternProperties", "^x-", "type")
    assert Finding("x", "error", "", "m").loc == ()
