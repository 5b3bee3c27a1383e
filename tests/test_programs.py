"""Stage programs and ButtonProgram on the demo model and on scripted (often broken) LMs."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import dspy
import pytest

from tests.support import demo_unless, scripted_lm, stage_of
from toolsynth.adapter import StageAdapter
from toolsynth.demo_model import reply_to
from toolsynth.execution import RetryPolicy, running_with
from toolsynth.programs import ButtonProgram
from toolsynth.programs.generate_functions import GenerateFunctionsStage
from toolsynth.programs.stage import StageRejected, run_sync
from toolsynth.readers import read_seeds
from toolsynth.signatures import ExpandScenario
from toolsynth.types import Subtask
from toolsynth.validators.findings import errors
from toolsynth.validators.sample import check_sample

WEATHER_CHAT = "USER: What's the weather like in Paris right now?\n\nASSISTANT: It is 18 °C and sunny in Paris."
CURRENCY_CHAT = "USER: 美元兑欧元的汇率是多少？\n\nASSISTANT: 1 美元约等于 0.92 欧元。"


def run(program: ButtonProgram, lm: dspy.LM, **kwargs: Any) -> Any:
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
        return program(**kwargs)


def tool_calls(sample: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for m in sample["messages"] for c in m.get("tool_calls") or []]


@pytest.mark.parametrize("ratio", [0.0, 1.0])
def test_demo_samples_are_valid_multi_turn_tool_conversations(demo: dspy.LM, ratio: float) -> None:
    result = ButtonProgram(expand=1, tasks_per_scenario=2, parallel_ratio=ratio)(chat=WEATHER_CHAT, source_id="w")
    assert result.rejections == []
    assert len(result.samples) == 4
    for sample in result.samples:
        row = sample.to_openai()
        assert errors(check_sample(row)) == []
        assert len(tool_calls(row)) >= 2
        assert row["meta"]["strategy"] == ("sequential" if ratio == 0.0 else "parallel_then_sequential")
        assert all(t["type"] == "function" and "returns" not in t["function"] for t in row["tools"])
        assert set(row["meta"]["function_returns"]) == {t["function"]["name"] for t in row["tools"]}
        # The system message carries no simulation instructions, plan or subtasks.
        system = row["messages"][0]["content"]
        assert all(s["instruction"] not in system for s in row["meta"]["subtasks"])
        assert row["messages"][1]["role"] == "user" and row["messages"][-1]["role"] == "assistant"
        assert row["meta"]["provenance"]["demo"] is True
        if ratio == 1.0:
            assert any(len(m.get("tool_calls") or []) >= 2 for m in row["messages"])


def test_weather_seed_gives_weather_functions_and_results_the_answer_uses(demo: dspy.LM) -> None:
    sample = ButtonProgram(expand=0)(chat=WEATHER_CHAT, source_id="w").samples[0].to_openai()
    assert any("weather" in t["function"]["name"] for t in sample["tools"])
    results = [json.loads(m["content"]) for m in sample["messages"] if m["role"] == "tool"]
    final = sample["messages"][-1]["content"]
    assert any(str(r.get("city")) in final for r in results)


def test_chinese_seed_keeps_its_language(demo: dspy.LM) -> None:
    result = ButtonProgram(expand=0, tasks_per_scenario=2)(chat=CURRENCY_CHAT, source_id="zh")
    assert result.samples and not result.rejections
    for sample in result.samples:
        user = sample.messages[1].content or ""
        assert re.search(r"[\u4e00-\u9fff]", user), user
        assert sample.meta["language"] == "zh"


def test_language_override(demo: dspy.LM) -> None:
    result = ButtonProgram(expand=0, language="zh")(chat=WEATHER_CHAT, source_id="w")
    assert re.search(r"[\u4e00-\u9fff]", result.samples[0].messages[1].content or "")


def test_same_seed_same_samples_other_seed_other_choices(demo: dspy.LM) -> None:
    first = ButtonProgram(expand=1, tasks_per_scenario=2, seed=1)(chat=WEATHER_CHAT, source_id="w")
    again = ButtonProgram(expand=1, tasks_per_scenario=2, seed=1)(chat=WEATHER_CHAT, source_id="w")
    assert [s.to_openai() for s in first.samples] == [s.to_openai() for s in again.samples]
    strategies = {seed: [ButtonProgram(seed=seed).strategy_for(f"w-s0-t{i}") for i in range(20)] for seed in (1, 2)}
    assert strategies[1] != strategies[2]


def test_scenario_input_skips_extraction(demo: dspy.LM) -> None:
    result = ButtonProgram(expand=0)(scenario="A traveller looks for and books flights for an upcoming trip.")
    assert result.samples and result.samples[0].meta["scenario"].startswith("A traveller")


def test_malformed_replies_end_as_rejections_not_exceptions() -> None:
    lm, _ = scripted_lm(demo_unless(lambda m: "this is not json {" if stage_of(m) == "GenerateFunctions" else None))
    result = run(ButtonProgram(expand=0, max_attempts=2), lm, chat=WEATHER_CHAT, source_id="x")
    assert result.samples == []
    [rejection] = result.rejections
    assert rejection.stage == "GenerateFunctions"
    assert rejection.codes == ["output_unparseable"]
    assert rejection.source_id == "x"


def test_findings_are_fed_back_and_a_repair_is_accepted() -> None:
    prompts: list[str] = []

    def broken(messages: list[dict[str, Any]]) -> str | None:
        if stage_of(messages) != "GenerateFunctions":
            return None
        prompts.append(messages[-1]["content"])
        good = json.loads(reply_to(messages))
        if len(prompts) == 1:  # first answer: `required` names a property that does not exist
            good["functions"][0]["parameters"]["required"].append("nonexistent")
            return json.dumps(good)
        return json.dumps(good)

    lm, _ = scripted_lm(demo_unless(broken))
    result = run(ButtonProgram(expand=0), lm, chat=WEATHER_CHAT, source_id="x")
    assert len(result.samples) == 1, result.rejections
    assert len(prompts) == 2
    assert "nonexistent" in prompts[1] and "feedback" in prompts[1]


def test_assistant_calling_unknown_tool_is_rejected_with_its_code() -> None:
    def broken(messages: list[dict[str, Any]]) -> str | None:
        if stage_of(messages) == "AssistantTurn":
            return json.dumps({"content": "", "tool_calls": [{"name": "launch_rocket", "arguments": {}}]})
        return None

    lm, _ = scripted_lm(demo_unless(broken))
    result = run(ButtonProgram(expand=0, max_attempts=2), lm, chat=WEATHER_CHAT)
    [rejection] = result.rejections
    assert rejection.stage == "AssistantTurn" and "call_unknown_function" in rejection.codes


def test_conversation_at_turn_limit_is_rejected() -> None:
    def stalling(messages: list[dict[str, Any]]) -> str | None:
        if stage_of(messages) == "AssistantTurn":
            return json.dumps({"content": "Could you say that again?", "tool_calls": []})
        if stage_of(messages) == "SimulateUser" and "[[ ## conversation ## ]]\n[]" not in messages[-1]["content"]:
            return json.dumps({"message": "I already told you.", "task_complete": False})
        return None

    lm, _ = scripted_lm(demo_unless(stalling))
    result = run(ButtonProgram(expand=0, max_turns=3), lm, chat=WEATHER_CHAT)
    [rejection] = result.rejections
    assert rejection.codes == ["max_turns_reached"] and rejection.stage == "Conversation"


def test_infeasible_verdict_is_a_rejection_with_reasons_after_a_revised_composition() -> None:
    verdict = json.dumps({"reasons": "The second step does not need the first.", "feasible": False})
    compose_prompts: list[str] = []

    def script(messages: list[dict[str, Any]]) -> str | None:
        if stage_of(messages) == "ComposeSequential":
            compose_prompts.append(messages[-1]["content"])
        return verdict if stage_of(messages) == "JudgeComposition" else None

    lm, _ = scripted_lm(demo_unless(script))
    result = run(ButtonProgram(expand=0, parallel_ratio=0.0, compose_rounds=2), lm, chat=WEATHER_CHAT)
    [rejection] = result.rejections
    assert rejection.stage == "JudgeComposition" and rejection.codes == ["infeasible"]
    assert "does not need" in rejection.message
    assert len(compose_prompts) == 2 and "does not need the first" in compose_prompts[1]
    assert "Your previous answer" in compose_prompts[1] and "does not need" not in compose_prompts[0]


def test_a_composite_revised_after_the_judges_reasons_can_become_a_sample() -> None:
    verdicts = iter([json.dumps({"reasons": "Step 2 ignores step 1.", "feasible": False})])

    def script(messages: list[dict[str, Any]]) -> str | None:
        return next(verdicts, None) if stage_of(messages) == "JudgeComposition" else None

    lm, _ = scripted_lm(demo_unless(script))
    result = run(ButtonProgram(expand=0), lm, chat=WEATHER_CHAT)
    assert len(result.samples) == 1 and result.rejections == []


def test_tool_result_violating_returns_is_rejected() -> None:
    lm, _ = scripted_lm(
        demo_unless(
            lambda m: json.dumps({"result": {"temperature": "warm-ish"}}) if stage_of(m) == "SimulateTool" else None
        )
    )
    result = run(ButtonProgram(expand=0, max_attempts=2), lm, chat=WEATHER_CHAT)
    [rejection] = result.rejections
    assert rejection.stage == "SimulateTool"
    assert "result_schema_violation" in rejection.codes


def test_transient_lm_errors_become_lm_error_rejections_and_permanent_ones_raise() -> None:
    def fail(kind: type[dspy.LMError]) -> Any:
        def script(messages: list[dict[str, Any]]) -> str:
            if stage_of(messages) == "GenerateAtomicTask":
                raise kind("provider says no", model="scripted/test")
            return reply_to(messages)

        return script

    lm, engine = scripted_lm(fail(dspy.LMRateLimitError))
    with running_with(retry=RetryPolicy(retries=2, base_seconds=0.001)):
        result = run(ButtonProgram(expand=0), lm, chat=WEATHER_CHAT, source_id="r")
    [rejection] = result.rejections
    assert rejection.codes == ["lm_error"] and rejection.stage == "GenerateAtomicTask"
    assert engine.calls == 1 + 3  # extract, then three attempts at the tasks

    lm, _ = scripted_lm(fail(dspy.LMAuthError))
    with pytest.raises(dspy.LMAuthError):
        run(ButtonProgram(expand=0), lm, chat=WEATHER_CHAT)


@pytest.mark.parametrize(
    ("refusal", "code"),
    [(dspy.ContextWindowExceededError, "context_window_exceeded"), (dspy.LMInvalidRequestError, "lm_request_refused")],
)
def test_a_request_the_provider_refuses_rejects_that_record_with_its_code(
    refusal: type[dspy.LMError], code: str
) -> None:
    def script(messages: list[dict[str, Any]]) -> str:
        if stage_of(messages) == "GenerateAtomicTask":
            raise refusal(model="scripted/test", message="the provider refuses this request")
        return reply_to(messages)

    lm, engine = scripted_lm(script)
    [rejection] = run(ButtonProgram(expand=0), lm, chat=WEATHER_CHAT, source_id="c").rejections
    assert (rejection.stage, rejection.codes) == ("GenerateAtomicTask", [code])
    assert engine.calls == 2  # extract, then the one refused request: a refusal is not retried


def test_stage_alone_checks_data_flow_between_functions(demo: dspy.LM) -> None:
    stage = GenerateFunctionsStage(max_attempts=1)
    subtasks = [
        Subtask(id=1, instruction="Check the current weather in Paris in Celsius."),
        Subtask(id=2, instruction="Suggest what I should pack for that weather.", depends_on=[1]),
    ]
    prediction = run_sync(stage.run(composite_instruction="x", subtasks=subtasks, nested_parameters=False))
    names = [f.name for f in prediction.functions]
    assert names == ["get_current_weather", "suggest_packing_list"]
    assert [p.function for p in prediction.subtask_functions] == names
    unwired = [
        Subtask(id=1, instruction="Check the current weather in Paris in Celsius."),
        Subtask(id=2, instruction="Find the exchange rate from USD to EUR.", depends_on=[1]),
    ]
    with pytest.raises(StageRejected) as caught:
        run_sync(stage.run(composite_instruction="x", subtasks=unwired, nested_parameters=False))
    assert caught.value.codes == ["data_flow_unwired"]


def test_program_needs_a_seed() -> None:
    with pytest.raises(ValueError, match="chat"):
        ButtonProgram()()


def test_semantic_judge_gate_records_its_verdict(demo: dspy.LM) -> None:
    result = ButtonProgram(expand=0, judge_samples=True)(chat=WEATHER_CHAT, source_id="j")
    [sample] = result.samples
    assert sample.meta["sample_judge"]["accomplished"] and sample.meta["sample_judge"]["faithful"]

    verdict = json.dumps(
        {"reasons": "Message 5 states a temperature no tool returned.", "accomplished": True, "faithful": False}
    )
    lm, _ = scripted_lm(demo_unless(lambda m: verdict if stage_of(m) == "JudgeSample" else None))
    result = run(ButtonProgram(expand=0, judge_samples=True), lm, chat=WEATHER_CHAT, source_id="j")
    [rejection] = result.rejections
    assert rejection.stage == "JudgeSample" and rejection.codes == ["judge_unfaithful"]
    assert "Message 5" in rejection.message and rejection.meta["sample_judge"]["faithful"] is False

    verdict = json.dumps({"reasons": "The packing list was never given.", "accomplished": False, "faithful": False})
    lm, _ = scripted_lm(demo_unless(lambda m: verdict if stage_of(m) == "JudgeSample" else None))
    [rejection] = run(ButtonProgram(expand=0, judge_samples=True), lm, chat=WEATHER_CHAT, source_id="j").rejections
    assert rejection.codes == ["judge_task_incomplete", "judge_unfaithful"]


def test_only_accepted_attempts_reach_the_trace_optimizers_learn_from() -> None:
    def broken(messages: list[dict[str, Any]]) -> str | None:
        if stage_of(messages) != "GenerateFunctions" or "feedback" in messages[-1]["content"]:
            return None
        good = json.loads(reply_to(messages))
        good["functions"][0]["name"] += "!!"
        return json.dumps(good)

    lm, _ = scripted_lm(demo_unless(broken))
    program = ButtonProgram(expand=0)
    trace: list[Any] = []
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter(), trace=trace):
        result = program(chat=WEATHER_CHAT)
    assert result.samples
    traced = [(p, i, o) for p, i, o in trace if p is program.generate_functions.predict]
    assert len(traced) == 1
    _, inputs, outputs = traced[0]
    assert "feedback" not in inputs
    assert all("!!" not in f.name for f in outputs.functions)
    assert {p for p, _, _ in trace} <= set(dict(program.named_predictors()).values())


def test_message_lists_are_rendered_like_the_seed_reader_renders_them(tmp_path: Path) -> None:
    messages = [
        {"role": "user", "content": "What's the weather in Paris?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}],
        },
        {"role": "tool", "tool_call_id": "c1", "content": '{"temp_c": 18}'},
        {"role": "assistant", "content": [{"type": "text", "text": "18 °C."}, {"type": "image_url"}]},
    ]
    seeds = tmp_path / "seeds.jsonl"
    seeds.write_text(json.dumps({"messages": messages}) + "\n", encoding="utf-8")
    (seed,) = read_seeds(seeds)
    prompts: list[str] = []

    def record_extraction(prompt: list[dict[str, Any]]) -> str | None:
        if stage_of(prompt) == "ExtractScenario":
            prompts.append(prompt[-1]["content"])
        return None

    lm, _ = scripted_lm(demo_unless(record_extraction))
    run(ButtonProgram(expand=0), lm, chat=messages, source_id="m")
    assert seed.chat and prompts and seed.chat in prompts[0]
    assert seed.chat.endswith('FUNCTION RESPONSE: {"temp_c": 18}\n\nASSISTANT: 18 °C.')


@pytest.mark.parametrize("value", ["1" + "2" * 5_000, "[" * 5_000 + "]" * 5_000], ids=["5000-digits", "5000-deep"])
def test_the_demo_model_answers_inputs_python_will_not_parse_as_json(value: str) -> None:
    """A bad reply accepted as text (json_repair reads a 5,000-digit number as a string) reaches the next prompt;
    the demo model (also behind the test server) must answer it, not fail the request."""
    messages = StageAdapter().format(ExpandScenario, demos=[], inputs={"scenario": value, "count": 1})
    assert json.loads(reply_to(messages))["scenarios"]
