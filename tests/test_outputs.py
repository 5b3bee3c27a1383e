"""Reading replies: bounded JSON, the near-misses small models make, and findings that say exactly what is wrong."""

from __future__ import annotations

import json
from typing import Any

import pytest

from toolsynth.adapter import OutputInvalid, StageAdapter, expected_shape, logging_replies, output_annotations
from toolsynth.outputs import (
    MAX_NESTING,
    MAX_REPLY_CHARS,
    load_object,
    normalise,
    output_schema,
    strict_compatible,
    validate_fields,
)
from toolsynth.signatures import AssistantTurn, GenerateFunctions, JudgeComposition, SimulateUser
from toolsynth.types import CallDraft

ASSISTANT = output_annotations(AssistantTurn)
JUDGE = output_annotations(JudgeComposition)


def read(signature: Any, reply: str) -> tuple[dict[str, Any], list[str]]:
    with logging_replies() as log:
        fields = StageAdapter().parse(signature, reply)
    return fields, log.repairs


def test_openai_shaped_tool_calls_with_null_content_are_accepted_and_counted() -> None:
    reply = {
        "content": None,
        "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "get_rate", "arguments": '{"base": "USD"}'}}
        ],
    }
    fields, repairs = read(AssistantTurn, json.dumps(reply))
    assert fields["content"] == ""
    assert fields["tool_calls"] == [CallDraft(name="get_rate", arguments={"base": "USD"})]
    assert sorted(repairs) == ["null_as_empty_text", "object_from_json_text", "openai_function_unwrapped"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(True, True), ("yes", True), ("Infeasible.", False), ("false", False), ("可行", True)],
)
def test_verdict_words_become_booleans(raw: Any, expected: bool) -> None:
    fields, repairs = read(JudgeComposition, json.dumps({"reasons": "ok", "feasible": raw}))
    assert fields["feasible"] is expected
    assert repairs == ([] if isinstance(raw, bool) else ["bool_from_text"])


def test_an_answer_wrapped_in_one_object_is_unwrapped() -> None:
    fields, repairs = read(JudgeComposition, json.dumps({"verdict": {"feasible": False, "reasons": "no data flow"}}))
    assert fields == {"reasons": "no data flow", "feasible": False} and repairs == ["fields_unwrapped"]


def test_a_single_object_where_a_list_is_expected_becomes_a_list() -> None:
    fields, repairs = read(AssistantTurn, json.dumps({"content": "", "tool_calls": {"name": "f", "args": {"x": 1}}}))
    assert fields["tool_calls"] == [CallDraft(name="f", arguments={"x": 1})]
    assert repairs == ["single_as_list", "arguments_renamed"]


def test_fenced_and_chatty_replies_are_read() -> None:
    fields, repairs = read(SimulateUser, 'Sure! ```json\n{"message": "Hi", "task_complete": false}\n``` hope it helps')
    assert fields == {"message": "Hi", "task_complete": False}
    assert {"json_extracted_from_text", "json_repaired"} & set(repairs)


def test_missing_fields_with_defaults_are_filled_and_others_reported() -> None:
    fields, _ = read(AssistantTurn, json.dumps({"content": "Which city?"}))
    assert fields == {"content": "Which city?", "tool_calls": []}
    with pytest.raises(OutputInvalid) as caught:
        read(JudgeComposition, json.dumps({"reasons": "fine"}))
    assert [(f.code, f.path) for f in caught.value.findings] == [("output_field_missing", "feasible")]


def test_every_pydantic_error_is_a_finding_with_its_loc_and_reason() -> None:
    _, findings = validate_fields(
        {"content": "", "tool_calls": [{"name": "f", "arguments": ["not", "a", "dict"]}, {"arguments": {}}]},
        ASSISTANT,
        {},
    )
    assert [(f.code, f.path) for f in findings] == [
        ("output_field_invalid", "tool_calls.0.arguments"),
        ("output_field_invalid", "tool_calls.1.name"),
    ]
    assert "valid dictionary" in findings[0].message and '["not", "a", "dict"]' in findings[0].message


@pytest.mark.parametrize(
    "reply",
    [
        "[" * 100_000,
        "{" * 50 + "}" * 10,
        '{"a": ' * (MAX_NESTING + 5) + "1" + "}" * (MAX_NESTING + 5),
        "x" * (MAX_REPLY_CHARS + 1),
        '{"feasible": NaN, "reasons": "x"}',
        "not json at all",
        "",
    ],
    ids=["deep-array", "unbalanced", "too-deep", "too-long", "nan", "prose", "empty"],
)
def test_hostile_replies_give_findings_never_other_exceptions(reply: str) -> None:
    with pytest.raises(OutputInvalid) as caught:
        read(JudgeComposition, reply)
    assert caught.value.findings
    assert {f.code for f in caught.value.findings} <= {
        "output_unparseable",
        "reply_too_deep",
        "reply_too_long",
        "output_field_invalid",
        "number_not_finite",
    }


def test_replies_past_the_bounds_are_refused_before_parsing() -> None:
    assert [f.code for f in load_object("x" * (MAX_REPLY_CHARS + 1)).findings] == ["reply_too_long"]
    deep = '{"a": ' * (MAX_NESTING + 5) + "1" + "}" * (MAX_NESTING + 5)
    assert [f.code for f in load_object(deep).findings] == ["reply_too_deep"]


@pytest.mark.parametrize(
    "reply",
    [
        '{"content": "caf\\udce9 and \\ud800", "tool_calls": []}',  # JSON escapes
        '{"content": "caf\udce9 and \ud800", "tool_calls": []}',  # raw code points
        '{"content": "", "tool_calls": [{"name": "f", "arguments": "{\\"city\\": \\"caf\\\\udce9\\"}"}]}',  # JSON text
        '{"content": "", "tool_calls": [{"name": "f", "arguments": {"ci\\udce9ty": "Oslo"}}]}',  # in a key
    ],
    ids=["escaped", "raw", "nested-json", "key"],
)
def test_lone_surrogates_in_a_reply_become_replacement_characters_and_are_counted(reply: str) -> None:
    fields, repairs = read(AssistantTurn, reply)
    text = json.dumps([fields["content"], [c.arguments for c in fields["tool_calls"]]], ensure_ascii=False)
    assert "\ufffd" in text
    assert text.encode("utf-8")  # what a store or a provider needs: no surrogate left anywhere
    assert "lone_surrogates_replaced" in repairs


def test_an_unreadable_reply_is_echoed_for_repair_without_its_lone_surrogates() -> None:
    with pytest.raises(OutputInvalid) as caught:
        read(JudgeComposition, "not json \ud800 at all")
    assert caught.value.lm_response == "not json \ufffd at all"


def test_non_finite_numbers_are_refused() -> None:
    _, findings = validate_fields({"result": {"x": float("inf")}}, {"result": dict[str, Any]}, {})
    assert [(f.code, f.path) for f in findings] == [("number_not_finite", "result.x")]


def test_expected_shape_is_one_line_of_json_from_the_signature() -> None:
    shape = expected_shape(AssistantTurn)
    assert "\n" not in shape
    assert json.loads(shape) == {"content": "...", "tool_calls": [{"name": "...", "arguments": {}}]}
    assert json.loads(expected_shape(JudgeComposition)) == {"reasons": "...", "feasible": True}


def test_output_schema_has_no_refs_and_strictness_is_judged() -> None:
    schema = output_schema(output_annotations(GenerateFunctions))
    text = json.dumps(schema)
    assert "$ref" not in text and "$defs" not in text
    assert schema["required"] == ["functions", "subtask_functions"]
    assert not strict_compatible(schema)  # free-form `parameters` objects cannot be strict
    closed = {
        "type": "object",
        "properties": {"a": {"type": "string"}},
        "required": ["a"],
        "additionalProperties": False,
    }
    assert strict_compatible(closed)


def test_normalise_leaves_good_answers_alone() -> None:
    fields = {"content": "Done.", "tool_calls": []}
    assert normalise(fields, ASSISTANT) == (fields, [])
    assert normalise({"reasons": "ok", "feasible": True}, JUDGE) == ({"reasons": "ok", "feasible": True}, [])


def test_non_empty_list_outputs_are_normalised_and_enforced() -> None:
    from toolsynth.signatures import GenerateAtomicTask

    fields, repairs = read(GenerateAtomicTask, json.dumps({"tasks": "Book a table for two at 8 pm."}))
    assert fields == {"tasks": ["Book a table for two at 8 pm."]} and repairs == ["single_as_list"]
    with pytest.raises(OutputInvalid) as caught:
        read(GenerateAtomicTask, json.dumps({"tasks": []}))
    assert [f.code for f in caught.value.findings] == ["output_field_invalid"]
    assert output_schema(output_annotations(GenerateAtomicTask))["properties"]["tasks"]["minItems"] == 1


def test_null_words_become_null_where_null_is_allowed() -> None:
    fields, repairs = read(
        GenerateFunctions,
        json.dumps(
            {
                "functions": [{"name": "f", "description": "d", "parameters": {"type": "object"}, "returns": {}}],
                "subtask_functions": [{"subtask": 1, "function": "f"}, {"subtask": 2, "function": "null"}],
            }
        ),
    )
    assert fields["subtask_functions"][1].function is None and repairs == ["null_from_text"]
