"""Each stage program alone, on the demo model: typed outputs that pass the stage's own checks."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import dspy
import pytest

from tests.support import scripted_lm
from toolsynth.programs.assistant_turn import AssistantTurnStage
from toolsynth.programs.compose_parallel import ComposeParallelThenSequentialStage
from toolsynth.programs.compose_sequential import ComposeSequentialStage
from toolsynth.programs.expand_scenario import ExpandScenarioStage
from toolsynth.programs.extract_scenario import ExtractScenarioStage
from toolsynth.programs.generate_atomic_task import GenerateAtomicTaskStage
from toolsynth.programs.judge_composition import JudgeCompositionStage
from toolsynth.programs.simulate_tool import SimulateToolStage
from toolsynth.programs.simulate_user import SimulateUserStage
from toolsynth.programs.stage import Stage, StageRejected, run_sync
from toolsynth.signatures import (
    AssistantTurn,
    ComposeParallelThenSequential,
    ComposeSequential,
    ExpandScenario,
    ExtractScenario,
    GenerateAtomicTask,
    GenerateFunctions,
    JudgeComposition,
    JudgeSample,
    SimulateTool,
    SimulateUser,
)
from toolsynth.types import FunctionSpec, Subtask, SubtaskFunction, render_steps
from toolsynth.validators.plan import check_function_plan

TASK = "Check the current weather in Lisbon in Celsius."
WEATHER = FunctionSpec(
    name="get_current_weather",
    description="Get the current weather conditions for a city.",
    parameters={
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": "City"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "description": "Unit"},
        },
        "required": ["city", "unit"],
    },
    returns={
        "type": "object",
        "properties": {"city": {"type": "string"}, "temperature": {"type": "number"}},
        "required": ["city", "temperature"],
    },
)


def run(stage: Stage, **inputs: Any) -> dspy.Prediction:
    return run_sync(stage.run(**inputs))


def test_every_signature_has_an_instruction_and_typed_outputs() -> None:
    signatures = [
        ExtractScenario,
        ExpandScenario,
        GenerateAtomicTask,
        ComposeSequential,
        ComposeParallelThenSequential,
        JudgeComposition,
        GenerateFunctions,
        SimulateUser,
        AssistantTurn,
        SimulateTool,
        JudgeSample,
    ]
    for signature in signatures:
        assert len(signature.instructions.split()) >= 25, signature.__name__
        text = signature.instructions.lower()
        noise = ("respond with", "json format", "output format", "valid json", "[[ ##")
        assert not any(n in text for n in noise), "the reply format is the adapter's business"
        assert signature.output_fields


def test_extract_and_expand(demo: dspy.LM) -> None:
    scenario = run(ExtractScenarioStage(), chat="USER: Will it rain in Oslo tomorrow?\n\nASSISTANT: Likely.").scenario
    assert isinstance(scenario, str) and scenario
    expanded = run(ExpandScenarioStage(), scenario=scenario, count=2).scenarios
    assert len(expanded) == 2 and scenario not in expanded and len(set(expanded)) == 2


def test_atomic_tasks_are_short_and_distinct(demo: dspy.LM) -> None:
    scenario = "A traveller checks current conditions before heading out in a city."
    tasks = run(GenerateAtomicTaskStage(), scenario=scenario, count=3, language="English").tasks
    assert len(tasks) == 3 and len(set(tasks)) == 3
    assert all(len(t.split()) <= 30 for t in tasks)


def test_compositions(demo: dspy.LM) -> None:
    sequential = run(ComposeSequentialStage(), task=TASK, language="English")
    assert sequential.subsequent_task and TASK.rstrip(".").lower() in sequential.composite_instruction.lower()
    parallel = run(ComposeParallelThenSequentialStage(), task=TASK, language="English")
    assert parallel.parallel_task != TASK and parallel.subsequent_task and parallel.composite_instruction


def test_judge_composition(demo: dspy.LM) -> None:
    subtasks = [Subtask(id=1, instruction=TASK), Subtask(id=2, instruction="Make me a sandwich.", depends_on=[1])]
    verdict = run(JudgeCompositionStage(), composite_instruction="x", steps=render_steps(subtasks))
    assert verdict.feasible is False and verdict.reasons


def test_conversation_agents(demo: dspy.LM) -> None:
    opening = run(
        SimulateUserStage(),
        composite_task=f"Please {TASK[0].lower()}{TASK[1:]}",
        withheld="",
        follow_up="",
        conversation=[],
        language="English",
    )
    assert opening.message and opening.task_complete is False
    tools = [WEATHER.to_openai_tool()]
    conversation = [{"role": "user", "content": "Please check the current weather in Lisbon in Celsius."}]
    reply = run(AssistantTurnStage(), tools=tools, conversation=conversation, language="English")
    assert reply.content == ""
    assert [(c.name, c.arguments) for c in reply.tool_calls] == [
        ("get_current_weather", {"city": "Lisbon", "unit": "celsius"})
    ]
    result = run(
        SimulateToolStage(), function=WEATHER, arguments={"city": "Lisbon", "unit": "celsius"}, earlier_results=[]
    ).result
    assert result["city"] == "Lisbon"
    again = run(
        SimulateToolStage(),
        function=WEATHER,
        arguments={"city": "Lisbon", "unit": "celsius"},
        earlier_results=[
            {
                "name": WEATHER.name,
                "arguments": {"city": "Lisbon", "unit": "celsius"},
                "result": {"city": "Lisbon", "temperature": 99},
            }
        ],
    ).result
    assert again["temperature"] == 99  # stateful: the same call gets the same answer within a conversation


def test_assistant_arguments_are_checked_against_the_schema() -> None:
    bad = json.dumps(
        {
            "content": "",
            "tool_calls": [{"name": "get_current_weather", "arguments": {"city": "Lisbon", "unit": "kelvin"}}],
        }
    )
    rejected, calls = assistant_rejected(lambda messages: bad)
    assert rejected.codes == ["arguments_schema_violation"] and calls == 2
    assert "unit" in rejected.message


def assistant_rejected(script: Callable[[list[dict[str, Any]]], str]) -> tuple[StageRejected, int]:
    """The rejection of an assistant turn given two attempts, and how many LM calls it took."""
    lm, engine = scripted_lm(script)
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()), pytest.raises(StageRejected) as caught:
        run(
            AssistantTurnStage(max_attempts=2),
            tools=[WEATHER.to_openai_tool()],
            conversation=[{"role": "user", "content": "hi"}],
            language="English",
        )
    return caught.value, engine.calls


def test_a_tool_result_with_nan_is_rejected_not_accepted() -> None:
    """Python's json (and so DSPy's adapter) reads a bare NaN; the stage check refuses it and asks again."""
    lm, engine = scripted_lm(lambda messages: '{"result": {"city": "Lisbon", "temperature": NaN}}')
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()), pytest.raises(StageRejected) as caught:
        run(
            SimulateToolStage(max_attempts=2),
            function=WEATHER,
            arguments={"city": "Lisbon", "unit": "celsius"},
            earlier_results=[],
        )
    assert caught.value.codes == ["number_not_finite"] and engine.calls == 2
    assert "result.temperature" in caught.value.message


def test_assistant_arguments_with_infinity_and_a_flood_of_parallel_calls_are_rejected() -> None:
    flood = [{"name": "get_current_weather", "arguments": {"city": "Lisbon", "unit": "celsius"}}] * 65
    replies = iter(
        [
            '{"content": "", "tool_calls": [{"name": "get_current_weather", '
            '"arguments": {"city": "Lisbon", "unit": "celsius", "lat": Infinity}}]}',
            json.dumps({"content": "", "tool_calls": flood}),
        ]
    )
    rejected, calls = assistant_rejected(lambda messages: next(replies))
    assert rejected.codes == ["tool_calls_too_many"] and calls == 2  # the first attempt was refused too


def test_generated_functions_with_nan_in_a_schema_are_rejected() -> None:
    bad = WEATHER.model_copy(deep=True)
    bad.returns["properties"]["temperature"]["maximum"] = float("nan")
    findings = check_function_plan(
        [bad.model_dump()], [{"subtask": 1, "function": bad.name}], [{"id": 1, "instruction": TASK, "depends_on": []}]
    )
    assert [(f.code, f.path) for f in findings] == [
        ("number_not_finite", "functions[0].returns.properties.temperature.maximum")
    ]


def test_the_judge_reads_steps_as_plain_numbered_text() -> None:
    subtasks = [
        Subtask(id=1, instruction="Get the weather in Oslo."),
        Subtask(id=2, instruction="Get the weather in Rome. "),
        Subtask(id=3, instruction="Say which city is warmer.", depends_on=[1, 2]),
    ]
    assert render_steps(subtasks) == (
        "1. Get the weather in Oslo.\n2. Get the weather in Rome.\n"
        "3. Say which city is warmer. (uses the results of steps 1 and 2)"
    )


@pytest.mark.parametrize("properties", [[{"city": {"type": "string"}}], "city", 7], ids=["list", "text", "number"])
def test_a_dependency_between_functions_with_malformed_properties_is_a_finding_not_an_exception(
    properties: Any,
) -> None:
    """Found by fuzzing: `properties` as a list of objects (a wrong shape) made the data-flow check raise, which
    rejected the whole seed as `internal_error` instead of asking the model again."""
    producer = WEATHER.model_copy(deep=True, update={"name": "get_weather"})
    producer.returns["properties"] = properties
    consumer = WEATHER.model_copy(deep=True, update={"name": "plan_outfit"})
    plan = [SubtaskFunction(subtask=1, function="get_weather"), SubtaskFunction(subtask=2, function="plan_outfit")]
    subtasks = [Subtask(id=1, instruction=TASK), Subtask(id=2, instruction="Plan an outfit.", depends_on=[1])]
    codes = {
        f.code
        for f in check_function_plan(
            [f.model_dump() for f in (producer, consumer)],
            [p.model_dump() for p in plan],
            [s.model_dump() for s in subtasks],
        )
        if f.severity == "error"
    }
    assert "data_flow_unwired" in codes and len(codes) > 1  # the schema itself is reported as well
