"""What a stage builds once per signature instead of per request: the system message, the response format, the
repair signature. Each is the same text or object the uncached path builds, and follows a change of instructions."""

from __future__ import annotations

import datetime
from typing import Any

import dspy
import pydantic
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toolsynth.adapter import StageAdapter, output_fields, response_format
from toolsynth.outputs import type_adapter
from toolsynth.programs.stage import FEEDBACK_FIELD, GROUNDING_FIELDS, with_feedback, with_grounding
from toolsynth.signatures import (
    AssistantTurn,
    ComposeSequential,
    GenerateFunctions,
    JudgeComposition,
    SimulateTool,
)

SIGNATURES = [AssistantTurn, ComposeSequential, GenerateFunctions, JudgeComposition, SimulateTool]


@pytest.mark.parametrize("signature", SIGNATURES, ids=lambda s: s.__name__)
def test_the_system_message_is_dspys_own_for_the_signature_and_its_repair_form(signature: Any) -> None:
    ours = StageAdapter()
    for sig in (signature, with_feedback(signature)):
        expected = dspy.JSONAdapter().format_system_message(sig)
        assert ours.format_system_message(sig) == expected
        assert ours.format_system_message(sig) == expected


def test_the_system_message_is_built_once_per_signature_and_follows_new_instructions(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    built: list[type] = []
    original = dspy.JSONAdapter.format_field_structure

    def counting(self: Any, signature: type[dspy.Signature]) -> str:
        built.append(signature)
        return original(self, signature)

    monkeypatch.setattr(dspy.JSONAdapter, "format_field_structure", counting)
    adapter = StageAdapter()
    first = adapter.format_system_message(JudgeComposition)
    for _ in range(5):
        assert adapter.format_system_message(JudgeComposition) == first
    assert built == [JudgeComposition]

    rewritten = JudgeComposition.with_instructions("Judge it in one word.")
    assert "Judge it in one word." in adapter.format_system_message(rewritten)
    assert adapter.format_system_message(JudgeComposition) == first


@pytest.mark.parametrize("mode", ["json_schema", "json_object_schema"])
def test_each_request_gets_its_own_copy_of_the_response_format(mode: str) -> None:
    adapter = StageAdapter()
    first = adapter.request_format(mode, GenerateFunctions)
    assert first == response_format(mode, GenerateFunctions)
    first.clear()  # litellm may edit what it is given
    assert adapter.request_format(mode, GenerateFunctions) == response_format(mode, GenerateFunctions)


def test_the_repair_signature_is_one_class_per_signature_and_instructions() -> None:
    extended = with_feedback(ComposeSequential)
    assert with_feedback(ComposeSequential) is extended
    assert list(extended.input_fields) == [*ComposeSequential.input_fields, "feedback"]
    assert extended.input_fields["feedback"].json_schema_extra == FEEDBACK_FIELD.json_schema_extra
    assert extended.instructions == ComposeSequential.instructions

    rewritten = ComposeSequential.with_instructions("Compose two steps.")
    assert with_feedback(rewritten).instructions == "Compose two steps."
    assert with_feedback(rewritten) is not extended


def test_a_grounded_signature_is_one_class_per_signature_instructions_and_fields() -> None:
    grounded = with_grounding(ComposeSequential, ("tools",))
    assert with_grounding(ComposeSequential, ("tools",)) is grounded
    assert list(grounded.input_fields) == [*ComposeSequential.input_fields, "tools"]
    assert grounded.input_fields["tools"].annotation == GROUNDING_FIELDS["tools"][0]
    assert with_grounding(ComposeSequential, ()) is ComposeSequential
    rewritten = ComposeSequential.with_instructions("Compose two steps.")
    assert with_grounding(rewritten, ("tools",)).instructions == "Compose two steps."


@pytest.mark.parametrize("signature", SIGNATURES, ids=lambda s: s.__name__)
def test_output_fields_are_worked_out_once_per_signature_and_are_dspys_own(signature: Any) -> None:
    for sig in (signature, with_feedback(signature), signature.with_instructions("Answer briefly.")):
        fields = output_fields(sig)
        assert output_fields(sig) is fields
        assert dict(fields.types) == {name: f.annotation for name, f in sig.output_fields.items()}
        assert list(fields.annotations) == list(sig.output_fields)
        with pytest.raises(TypeError):
            fields.annotations["extra"] = str  # type: ignore[index]  # shared by every reply: read-only


def test_one_type_adapter_serves_equal_annotations() -> None:
    assert type_adapter(list[dict[str, Any]]) is type_adapter(list[dict[str, Any]])
    assert type_adapter(list[int]) is not type_adapter(list[str])
    assert type_adapter(list[int]).validate_python(["1"]) == [1]


class Place(pydantic.BaseModel):
    city: str
    when: datetime.date | None = None


class Mixed(dspy.Signature):
    """Answer."""

    text: str = dspy.InputField()
    listed: str = dspy.InputField(desc="a list given to a str field: DSPy numbers it")
    rows: list[dict[str, Any]] = dspy.InputField()
    anything: Any = dspy.InputField()
    answer: str = dspy.OutputField()


class Unserialisable:
    def __repr__(self) -> str:
        return "Unserialisable()"


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
ODD_VALUES = st.sampled_from(
    [
        Place(city="Oslo", when=datetime.date(2026, 12, 1)),
        [Place(city="Lima")],
        {"at": datetime.datetime(2026, 1, 2, 3, 4, 5), "set": {3}},
        ("a", 1),
        Unserialisable(),
        {"nested": Unserialisable()},
        float("nan"),
        b"bytes",
    ]
)


@settings(max_examples=150, deadline=None)
@given(
    text=JSON_VALUES | ODD_VALUES,
    listed=st.lists(JSON_VALUES, max_size=3),
    rows=JSON_VALUES | ODD_VALUES,
    anything=JSON_VALUES | ODD_VALUES,
)
def test_user_messages_are_dspys_own(text: Any, listed: Any, rows: Any, anything: Any) -> None:
    inputs = {"text": text, "listed": listed, "rows": rows, "anything": anything}
    ours, dspys = StageAdapter(), dspy.JSONAdapter()
    for sig in (Mixed, with_feedback(Mixed)):
        for main_request in (True, False):
            call_inputs = {**inputs, "feedback": "fix it"} if sig is not Mixed else inputs
            expected = outcome(dspys.format_user_message_content, sig, call_inputs, "pre", "post", main_request)
            assert outcome(ours.format_user_message_content, sig, call_inputs, "pre", "post", main_request) == expected


def outcome(format_message: Any, *args: Any) -> str:
    """The message, or the error DSPy's own formatting raises too (a list of non-text given to a `str` field)."""
    try:
        message: str = format_message(*args)
    except Exception as exc:
        return f"raised {type(exc).__name__}: {exc}"
    return message


@pytest.mark.parametrize("signature", SIGNATURES, ids=lambda s: s.__name__)
def test_requests_are_dspys_own_for_every_input_type_of_a_stage(signature: Any) -> None:
    samples: dict[Any, Any] = {
        str: "Book the cheapest flight to Oslo — « ✈ »",
        list[str]: ["one", "two"],
        list[dict[str, Any]]: [{"name": "get_weather", "parameters": {"type": "object"}}],
        dict[str, Any]: {"city": "Oslo", "days": [1, 2]},
    }
    inputs = {name: samples.get(f.annotation, {"k": [1, "v"]}) for name, f in signature.input_fields.items()}
    demos = [{**inputs, **{name: "x" for name in signature.output_fields}}]
    expected = dspy.JSONAdapter().format(signature, demos, inputs)
    assert StageAdapter().format(signature, demos, inputs) == expected
