"""The offline demo model knows which toolsynth signature a prompt is for, and fails loudly where it cannot answer."""

from __future__ import annotations

import importlib
import json
from typing import Any

import dspy
import pytest

from tests.support import scripted_lm, stage_of
from toolsynth.demo_model import STAGE_HANDLERS, DemoModelError, reply_to, signature_of
from toolsynth.programs import ButtonProgram
from toolsynth.signatures import ExtractScenario

signatures = importlib.import_module("toolsynth.signatures")
SIGNATURES: list[type[dspy.Signature]] = [getattr(signatures, name) for name in signatures.__all__]
WEATHER_CHAT = "USER: What's the weather like in Paris right now?\n\nASSISTANT: It is 18 °C and sunny in Paris."
FEEDBACK = dspy.InputField(desc="problems found in your previous answer")


def prompt(signature: type[dspy.Signature], adapter: dspy.Adapter | None = None, **values: Any) -> list[dict[str, Any]]:
    """The messages `adapter` (default: JSON) builds for `signature`, every input not given set to "x"."""
    inputs = {name: values.get(name, "x") for name in signature.input_fields}
    return (adapter or dspy.JSONAdapter()).format(signature, demos=[], inputs=inputs)


def as_chain_of_thought(signature: type[dspy.Signature]) -> type[dspy.Signature]:
    return dspy.ChainOfThought(signature).predict.signature


def test_every_toolsynth_signature_has_a_handler() -> None:
    assert set(STAGE_HANDLERS) == set(SIGNATURES)


VARIANTS = {
    "plain": lambda s: s,
    "repair": lambda s: s.append("feedback", FEEDBACK),
    "chain_of_thought": as_chain_of_thought,
    "chain_of_thought_repair": lambda s: as_chain_of_thought(s).append("feedback", FEEDBACK),
}


@pytest.mark.parametrize("adapter", [dspy.JSONAdapter(), dspy.ChatAdapter()], ids=["json", "chat"])
@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("signature", SIGNATURES, ids=[s.__name__ for s in SIGNATURES])
def test_a_prompt_is_recognised_as_its_signatures_also_extended(
    signature: type[dspy.Signature], variant: str, adapter: dspy.Adapter
) -> None:
    assert signature_of(prompt(VARIANTS[variant](signature), adapter)) is signature


def test_other_programs_prompts_are_not_toolsynth_signatures_and_get_typed_placeholders() -> None:
    messages = prompt(dspy.Signature("question -> answer: str, count: int, ok: bool"), question="Why?")
    assert signature_of(messages) is None
    assert json.loads(reply_to(messages)) == {"answer": "Why?", "count": 1, "ok": True}
    other = {frozenset({"answer", "count", "ok"}): lambda inputs, seed: {"answer": "42", "count": 2, "ok": False}}
    assert json.loads(reply_to(messages, other_signatures=other)) == {"answer": "42", "count": 2, "ok": False}


def test_a_toolsynth_signature_without_a_handler_stops_the_program(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(STAGE_HANDLERS, ExtractScenario)
    with pytest.raises(DemoModelError, match="no answer for toolsynth's ExtractScenario signature"):
        reply_to(prompt(ExtractScenario, chat=WEATHER_CHAT))
    lm, _ = scripted_lm(reply_to)
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()), pytest.raises(DemoModelError, match="ExtractScenario"):
        ButtonProgram(expand=0)(chat=WEATHER_CHAT)


def test_an_input_the_handler_needs_is_never_read_as_empty() -> None:
    messages = prompt(ExtractScenario, chat=WEATHER_CHAT)
    messages[-1]["content"] = messages[-1]["content"].replace("[[ ## chat ## ]]", "[[ ## transcript ## ]]")
    with pytest.raises(DemoModelError, match=r"ExtractScenario needs the input 'chat'.*gives: transcript"):
        reply_to(messages)


def test_a_handler_that_leaves_out_an_output_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(STAGE_HANDLERS, ExtractScenario, lambda inputs, seed: {"place": str(inputs["chat"])})
    with pytest.raises(DemoModelError, match="answer to ExtractScenario leaves out the output scenario"):
        reply_to(prompt(ExtractScenario, chat=WEATHER_CHAT))


def samples_of(program: ButtonProgram, lm: dspy.LM) -> list[dict[str, Any]]:
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
        result = program(chat=WEATHER_CHAT, source_id="cot")
    assert not result.rejections, result.rejections
    return [sample.to_openai() for sample in result.samples]


def new_program() -> ButtonProgram:
    return ButtonProgram(expand=1, tasks_per_scenario=2, judge_samples=True, distractors=2, max_subtasks=5, seed=1)


@pytest.fixture(scope="module")
def plain_samples() -> list[dict[str, Any]]:
    lm, _ = scripted_lm(reply_to)
    return samples_of(new_program(), lm)


STAGES = [stage.stage_name for stage in new_program().stages()]


@pytest.mark.parametrize("stage_name", STAGES)
def test_a_stage_wrapped_as_chain_of_thought_gives_the_same_samples(
    stage_name: str, plain_samples: list[dict[str, Any]]
) -> None:
    replies: list[dict[str, Any]] = []

    def answer(messages: list[dict[str, Any]]) -> str:
        reply = reply_to(messages)
        if stage_of(messages) == stage_name:
            replies.append(json.loads(reply))
        return reply

    program = new_program()
    [stage] = [s for s in program.stages() if s.stage_name == stage_name]
    stage.predict = dspy.ChainOfThought(stage.signature).predict
    lm, _ = scripted_lm(answer)
    assert samples_of(program, lm) == plain_samples
    assert replies and all(isinstance(r["reasoning"], str) and r["reasoning"] for r in replies)
