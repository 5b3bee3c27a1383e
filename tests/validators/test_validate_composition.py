"""Composition: the conversation carries out meta.subtasks in order, in parallel, with data flowing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.validators.rows import assistant_calls, call, parallel_row, result, sequential_row
from toolsynth.validators import check_composition, codes
from toolsynth.validators.composition import (
    assign_calls,
    collect_calls,
    dependents,
    final_answer,
    function_dependencies,
    read_subtasks,
    text_uses,
    values_flow,
)


def check(row: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(f.code, f.severity, f.path) for f in check_composition(row["messages"], row["meta"], row["tools"])]


def test_good_rows_have_no_findings() -> None:
    assert check(sequential_row()) == []
    assert check(parallel_row()) == []


def test_rows_without_meta_are_not_checked() -> None:
    row = sequential_row()
    assert check_composition(row["messages"], None) == []
    assert check_composition(row["messages"], {"scenario": "x"}) == []
    assert check_composition("garbage", {"scenario": "x"}) == []


@pytest.mark.parametrize(
    "subtasks",
    [
        "nope",
        [{"id": "one"}],
        [{"id": 1, "depends_on": [7]}],
        [{"id": 1, "depends_on": [1]}],
        [{"id": 1, "depends_on": [2]}, {"id": 2, "depends_on": [1]}],
        [{"id": 1}, {"id": 1}],
        [{"id": 1, "function": 3}],
        [{"id": i} for i in range(500)],
    ],
)
def test_malformed_subtasks(subtasks: Any) -> None:
    row = sequential_row()
    assert set(codes(check_composition(row["messages"], {"subtasks": subtasks}))) == {"meta_invalid"}


def test_subtask_not_served() -> None:
    row = sequential_row()
    del row["messages"][4:6]  # the packing call and its result
    assert ("subtask_not_served", "error", "meta.subtasks[1]") in check(row)


def test_the_same_call_repeated_is_an_error_another_city_is_not() -> None:
    row = sequential_row()
    again = [assistant_calls(call("call_9", "get_weather", {"city": "Paris"})), result("call_9", "get_weather", {})]
    row["messages"][4:4] = again  # the weather call once more, before the packing call
    assert ("call_repeated", "error", "messages[4].tool_calls[0]") in check(row)
    other = sequential_row()
    other["messages"][4:4] = [
        assistant_calls(call("call_9", "get_weather", {"city": "Lyon"})),
        result("call_9", "get_weather", {"city": "Lyon", "temperature_c": 18}),
    ]
    assert "call_repeated" not in {code for code, _, _ in check(other)}


def test_subtask_function_unknown() -> None:
    row = sequential_row()
    row["meta"]["subtasks"][1]["function"] = "book_flight"
    assert ("subtask_function_unknown", "error", "meta.subtasks[1].function") in check(row)


def test_dependency_order_violated_when_the_dependent_call_is_issued_with_its_dependency() -> None:
    row = sequential_row()
    m = row["messages"]
    m[2:6] = [
        assistant_calls(
            call("call_1", "get_weather", {"city": "Paris"}), call("call_2", "suggest_packing", {"temperature_c": 21})
        ),
        result("call_1", "get_weather", {"city": "Paris", "temperature_c": 21}),
        result("call_2", "suggest_packing", {"items": ["sunglasses"]}),
    ]
    assert ("dependency_order_violated", "error", "messages[2].tool_calls[1]") in check(row)


def test_dependency_order_violated_when_the_dependent_call_comes_first() -> None:
    row = sequential_row()
    m = row["messages"]
    m[2:6] = [m[4], m[5], m[2], m[3]]
    assert ("dependency_order_violated", "error", "messages[2].tool_calls[0]") in check(row)


def test_dependency_through_a_reasoning_subtask() -> None:
    row = sequential_row()
    row["meta"]["subtasks"] = [
        {"id": 1, "instruction": "weather", "depends_on": [], "function": "get_weather"},
        {"id": 2, "instruction": "convert to F", "depends_on": [1], "function": None},
        {"id": 3, "instruction": "pack", "depends_on": [2], "function": "suggest_packing"},
    ]
    assert check(row) == []
    m = row["messages"]
    m[2:6] = [m[4], m[5], m[2], m[3]]
    assert "dependency_order_violated" in [c for c, _, _ in check(row)]


def test_data_flow_missing_is_a_heuristic_warning() -> None:
    row = sequential_row()
    row["messages"][4] = assistant_calls(call("call_2", "suggest_packing", {"temperature_c": 35}))
    [finding] = check_composition(row["messages"], row["meta"], row["tools"])
    assert (finding.code, finding.severity, finding.path) == (
        "data_flow_missing",
        "warning",
        "messages[4].tool_calls[0].function.arguments",
    )
    assert "heuristic" in finding.message


def test_parallel_not_grouped() -> None:
    row = parallel_row()
    m = row["messages"]
    first, second = m[1]["tool_calls"]
    m[1:4] = [assistant_calls(first), m[2], assistant_calls(second), m[3]]
    assert check(row) == [("parallel_not_grouped", "warning", "messages[1].tool_calls[0]")]
    row["meta"]["strategy"] = "sequential"
    assert check(row) == []


def test_final_answer_ignores_results() -> None:
    row = sequential_row()
    row["messages"][-1]["content"] = "Have a nice trip!"
    assert check(row) == [("final_answer_ignores_results", "warning", "messages[6].content")]


@pytest.mark.parametrize(
    ("source", "target", "flows"),
    [
        ({"temperature_c": 21}, {"t": 21.0}, True),
        ({"id": "ORD-123"}, {"order": "ord-123"}, True),
        ({"city": "Paris"}, {"query": "hotels in Paris"}, True),
        ({"price": 12.5}, {"note": "price 12.5"}, True),
        ({"count": "7"}, {"n": 7}, True),
        ({"ok": True, "n": 3}, {"x": 4, "flag": True}, False),
        ({"city": "Paris"}, {"city": "Rome"}, False),
    ],
)
def test_value_flow_heuristic(source: Any, target: Any, flows: bool) -> None:
    assert values_flow(source, target) is flows


@pytest.mark.parametrize(
    ("text", "value", "uses"),
    [
        ("It is 21 °C.", {"t": 21}, True),
        ("About 21.4 degrees.", {"t": 21.37}, True),
        ("Total: 1,234 items.", {"n": 1234}, True),
        ("Pack a light jacket.", {"items": ["Light jacket"]}, True),
        ("Have fun!", {"t": 21, "items": ["jacket"]}, False),
    ],
)
def test_final_answer_heuristic(text: str, value: Any, uses: bool) -> None:
    assert text_uses(text, value) is uses


def test_repeated_function_serves_subtasks_in_order() -> None:
    row = parallel_row()
    row["messages"][1]["tool_calls"].pop()
    row["messages"].pop(3)
    assert check(row) == []  # one call may serve both subtasks: not proven unserved
    row["meta"]["subtasks"][0]["function"] = None
    row["meta"]["subtasks"][1]["function"] = None
    assert check(row) == []


def test_which_call_serves_which_subtask_and_what_depends_on_it() -> None:
    row = parallel_row()
    subtasks, problems = read_subtasks(row["meta"])
    calls = collect_calls(row["messages"])
    assert problems == [] and [s.instruction for s in subtasks][:1] == ["Weather in Paris."]
    served = assign_calls(subtasks, calls)
    assert {sid: c.arguments for sid, c in served.items()} == {1: {"city": "Paris"}, 2: {"city": "London"}}
    del row["messages"][1]["tool_calls"][1]  # one call left for two subtasks using get_weather: it serves both
    shared = assign_calls(subtasks, collect_calls(row["messages"]))
    assert shared.keys() == {1, 2} and shared[1] is shared[2] and shared[1].arguments == {"city": "Paris"}
    by_id = {s.id: s for s in subtasks}
    assert function_dependencies(by_id[3], by_id) == {1, 2}
    assert dependents(by_id[1], subtasks) == []  # subtask 3 reasons over it, no call consumes it
    steps = sequential_row()["meta"]
    steps["subtasks"].insert(1, {"id": 3, "instruction": "Think.", "depends_on": [1], "function": None})
    steps["subtasks"][2]["depends_on"] = [3]  # packing depends on the weather through a reasoning step
    chain, _ = read_subtasks(steps)
    assert [s.id for s in dependents(chain[0], chain)] == [2]


def test_the_final_answer_is_the_last_assistant_text_without_calls() -> None:
    messages = sequential_row()["messages"]
    assert final_answer(messages) == "It is 21 °C in Paris: pack sunglasses and a light jacket."
    assert final_answer([*messages[:-1], {"role": "assistant", "content": [{"type": "text", "text": "Done."}]}]) == (
        "Done."
    )
    assert final_answer(messages[:-1]) is None and final_answer([]) is None
    assert final_answer([*messages[:-1], {"role": "assistant", "content": " "}]) is None
