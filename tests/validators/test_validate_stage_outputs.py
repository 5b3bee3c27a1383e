"""The stages' own checks: scenarios, tasks and composites (`tasks`), the function plan (`plan`), the user's and
the assistant's turns (`turns`). Each code once, with its path."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.validators.rows import PACKING, PACKING_RETURNS, WEATHER, WEATHER_RETURNS, tool
from toolsynth.types import Subtask
from toolsynth.validators.findings import Finding
from toolsynth.validators.plan import check_function_plan
from toolsynth.validators.tasks import check_atomic_tasks, check_scenario, check_scenarios, check_subtasks
from toolsynth.validators.turns import check_assistant_turn, check_user_turn


def found(findings: list[Finding]) -> list[tuple[str, str, str]]:
    return [(f.code, f.severity, f.path) for f in findings]


# --- scenarios, atomic tasks, composites ---------------------------------------------------------------


def test_scenarios() -> None:
    assert check_scenario("A traveller plans a weekend in Lisbon.") == []
    assert found(check_scenario("  ")) == [("text_empty", "error", "scenario")]
    assert found(check_scenario("word " * 130)) == [("text_too_long", "error", "scenario")]
    assert found(check_scenario("word " * 70)) == [("text_long", "warning", "scenario")]
    assert found(check_scenarios("one scenario", "x")) == [("not_a_list", "error", "scenarios")]
    assert found(check_scenarios([], "x")) == [("scenarios_missing", "error", "scenarios")]
    assert found(check_scenarios(["A trip to Lisbon."], "a trip to lisbon")) == [
        ("text_duplicate", "error", "scenarios[0]")
    ]


def test_atomic_tasks() -> None:
    assert check_atomic_tasks(["Check the weather in Lisbon."]) == []
    assert found(check_atomic_tasks([])) == [("tasks_missing", "error", "tasks")]
    assert found(check_atomic_tasks(["Call get_weather(Lisbon)."], ["get_weather"])) == [
        ("task_names_tool", "error", "tasks[0]"),
        ("task_names_tool", "error", "tasks[0]"),
    ]


def test_composites() -> None:
    first, second = Subtask(id=1, instruction="Check the weather."), Subtask(id=2, instruction="Pack for it.")
    assert found(check_subtasks([first, second.model_copy(update={"depends_on": [1]})], "Weather, then pack.")) == []
    assert found(check_subtasks([first], "Weather.")) == [("composite_too_small", "error", "composite.subtasks")]
    assert found(check_subtasks([first, second], "Weather, then pack.")) == [
        ("composite_not_compositional", "warning", "composite.subtasks")
    ]
    backwards = [first.model_copy(update={"depends_on": [2]}), second]
    assert ("dependency_invalid", "error", "composite.subtasks[0].depends_on") in found(check_subtasks(backwards, "x"))


# --- the function plan ----------------------------------------------------------------------------------


def planned() -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    functions = [{**WEATHER, "returns": WEATHER_RETURNS}, {**PACKING, "returns": PACKING_RETURNS}]
    plan = [{"subtask": 1, "function": "get_weather"}, {"subtask": 2, "function": "suggest_packing"}]
    subtasks = [{"id": 1, "depends_on": []}, {"id": 2, "depends_on": [1]}]
    return functions, plan, subtasks


def test_a_plan_whose_functions_serve_and_wire_the_subtasks_passes() -> None:
    assert check_function_plan(*planned()) == []


def test_plan_faults() -> None:
    functions, plan, subtasks = planned()
    assert found(check_function_plan([], [], [])) == [("functions_missing", "error", "functions")]
    assert found(check_function_plan(functions, [*plan[:1], {"subtask": 2, "function": "book"}], subtasks)) == [
        ("plan_unknown_function", "error", "subtask_functions[1].function")
    ]
    assert found(check_function_plan(functions, plan[:1], subtasks)) == [
        ("subtask_unmapped", "error", "subtask_functions")
    ]
    unwired = copy.deepcopy(functions)
    unwired[1]["parameters"]["properties"] = {"season": {"type": "string", "description": "s"}}
    unwired[1]["parameters"]["required"] = ["season"]
    assert found(check_function_plan(unwired, plan, subtasks)) == [
        ("data_flow_unwired", "error", "functions[1].parameters")
    ]


@pytest.mark.parametrize("garbage", [None, "x", [1, {"subtask": [1], "function": {}}], [{"id": [2]}]])
def test_the_plan_check_never_raises(garbage: Any) -> None:
    functions, plan, subtasks = planned()
    for args in ((garbage, plan, subtasks), (functions, garbage, subtasks), (functions, plan, garbage)):
        assert isinstance(check_function_plan(*args), list)


# --- turns ------------------------------------------------------------------------------------------------


def test_user_turns() -> None:
    assert check_user_turn("What is the weather in Lisbon?", False, ["get_weather"]) == []
    assert check_user_turn("", True, ["get_weather"]) == []  # a satisfied user says nothing more
    assert found(check_user_turn(" ", False)) == [("user_message_empty", "error", "message")]
    assert found(check_user_turn("Run get_weather for Lisbon.", False, ["get_weather"])) == [
        ("user_names_tool", "error", "message")
    ]


def test_assistant_turns() -> None:
    tools = [tool(WEATHER)]
    weather = {"name": "get_weather", "arguments": {"city": "Lisbon"}}
    assert check_assistant_turn("", [weather], tools) == []
    assert check_assistant_turn("It is sunny.", [], tools) == []
    assert found(check_assistant_turn(" ", [], tools)) == [("assistant_message_empty", "error", "content")]
    assert found(check_assistant_turn("", [{"name": "get_wether", "arguments": {}}], tools)) == [
        ("call_unknown_function", "error", "tool_calls[0].name")
    ]
    assert found(check_assistant_turn("", [{"name": "get_weather", "arguments": {"city": 3}}], tools)) == [
        ("arguments_schema_violation", "error", "tool_calls[0].arguments.city")
    ]
    assert found(check_assistant_turn("", [weather] * 65, tools)) == [("tool_calls_too_many", "error", "tool_calls")]


def test_a_turn_and_a_conversation_say_the_same_for_the_same_fault() -> None:
    from toolsynth.validators.conversation import check_conversation

    messages = [{"role": "user", "content": " "}, {"role": "assistant", "content": ""}]
    in_conversation = {f.code: f.message for f in check_conversation(messages, [tool(WEATHER)])}
    assert in_conversation["user_message_empty"] == check_user_turn(" ", False)[0].message
    assert in_conversation["assistant_message_empty"] == check_assistant_turn("", [], [])[0].message
