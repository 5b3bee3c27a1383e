"""The registry of codes: every code that can appear in toolsynth's output, with its severity and layer.

A code names what went wrong, stably: findings (`validate --json`, repair feedback, the manifest's failing codes)
and rejections (`rejected.jsonl`) carry it, and code that acts on them keys on it. Each code is defined here once;
docs/validation-codes.md documents each one, and tests/validators/test_validate_codes.py checks that the product
code emits exactly these (with these severities) and that each is exercised by a test.

Layers: the validators' (``bounds`` to ``behaviour``, and ``execution`` for real calls), the stages' own checks
(``tasks``, ``plan``, ``turns``), the stage-output reader (``reply``, `toolsynth.outputs`), the program's verdicts
(``program``), a run's failures (``run``), unreadable seed records (``read``) and the validate command's unreadable
rows (``validate``). Codes of the last four layers are rejection codes (or, for ``validate``, findings of rows that
could not be checked); they are all errors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from toolsynth.validators.findings import Severity

Layer = Literal[
    "bounds",
    "functions",
    "calls",
    "conversation",
    "composition",
    "sample",
    "behaviour",
    "execution",
    "tasks",
    "plan",
    "turns",
    "reply",
    "program",
    "run",
    "read",
    "validate",
]


@dataclass(frozen=True)
class Code:
    """One registered code: its name, how much it weighs (``error`` rejects), and the layer that defines it."""

    name: str
    severity: Severity
    layer: Layer


def _layer(layer: Layer, severity: Severity, *names: str) -> list[Code]:
    return [Code(name, severity, layer) for name in names]


REGISTERED: tuple[Code, ...] = (
    *_layer("bounds", "error", "number_not_finite", "tools_too_many", "tool_calls_too_many"),
    *_layer(
        "functions",
        "error",
        "function_spec_not_object",
        "function_name_missing",
        "function_name_invalid",
        "function_name_duplicate",
        "function_description_missing",
        "tools_not_list",
        "tool_type_invalid",
        "parameters_not_object",
        "parameters_schema_invalid",
        "returns_schema_invalid",
        "required_not_in_properties",
        "enum_empty",
        "enum_type_mismatch",
        "pattern_invalid",
        "pattern_unsafe",
        "remote_ref",
        "ref_unresolvable",
        "ref_cycle",
        "schema_too_deep",
        "schema_too_large",
    ),
    *_layer("functions", "warning", "schema_dialect_unknown", "default_type_mismatch", "parameter_description_missing"),
    *_layer("functions", "info", "dialect_normalized"),
    *_layer(
        "calls",
        "error",
        "arguments_not_object",
        "arguments_invalid_json",
        "arguments_double_encoded",
        "arguments_schema_violation",
        "result_invalid_json",
        "result_schema_violation",
        "instance_too_deep",
        "instance_too_large",
        "validation_timeout",
        "validation_aborted",
    ),
    *_layer("calls", "warning", "argument_unknown", "arguments_unchecked", "result_unchecked", "pattern_skipped"),
    *_layer("calls", "info", "findings_truncated"),
    *_layer(
        "conversation",
        "error",
        "messages_not_list",
        "conversation_empty",
        "message_not_object",
        "role_invalid",
        "first_message_not_user",
        "role_order_invalid",
        "content_invalid",
        "user_message_empty",
        "assistant_message_empty",
        "tool_calls_invalid",
        "tool_call_invalid",
        "tool_call_id_missing",
        "tool_call_id_duplicate",
        "tools_missing",
        "call_unknown_function",
        "tool_call_unanswered",
        "tool_call_answered_twice",
        "tool_message_orphan",
        "tool_name_mismatch",
        "conversation_not_finished",
    ),
    *_layer("conversation", "warning", "arguments_not_string", "tool_name_missing", "tool_result_empty"),
    *_layer(
        "composition",
        "error",
        "meta_invalid",
        "call_repeated",
        "subtask_function_unknown",
        "subtask_not_served",
        "dependency_order_violated",
    ),
    *_layer("composition", "warning", "data_flow_missing", "parallel_not_grouped", "final_answer_ignores_results"),
    *_layer(
        "sample",
        "error",
        "row_not_object",
        "sharegpt_row_invalid",
        "sharegpt_tools_invalid",
        "sharegpt_turn_invalid",
        "sharegpt_role_invalid",
        "sharegpt_function_call_invalid",
    ),
    *_layer("sample", "warning", "returns_unknown_function"),
    *_layer(
        "behaviour",
        "error",
        "behaviour_unknown",
        "distractor_called",
        "near_miss_same_name",
        "near_miss_same_function",
        "near_miss_resembles_unknown",
        "no_call_has_call",
        "clarify_not_asked",
        "follow_up_missing",
        "request_unanswered",
        "missing_function_offered",
        "nested_parameter_unfilled",
    ),
    *_layer(
        "behaviour", "warning", "clarify_value_given", "limitation_not_stated", "follow_up_ignores_earlier_results"
    ),
    *_layer("execution", "error", "executed_call_raised", "executed_call_failed", "answer_value_unsupported"),
    *_layer(
        "tasks",
        "error",
        "text_empty",
        "text_too_long",
        "text_duplicate",
        "not_a_list",
        "scenarios_missing",
        "tasks_missing",
        "task_names_tool",
        "composite_too_small",
        "dependency_invalid",
        "step_number_reference",
        "step_restates_earlier",
    ),
    *_layer("tasks", "warning", "text_long", "composite_not_compositional"),
    *_layer(
        "plan",
        "error",
        "functions_missing",
        "plan_unknown_function",
        "subtask_unmapped",
        "data_flow_unwired",
        "function_not_in_library",
    ),
    *_layer("turns", "error", "user_names_tool"),
    *_layer(
        "reply",
        "error",
        "output_unparseable",
        "output_field_missing",
        "output_field_invalid",
        "reply_too_long",
        "reply_too_deep",
    ),
    *_layer("program", "error", "infeasible", "max_turns_reached", "judge_task_incomplete", "judge_unfaithful"),
    *_layer("run", "error", "lm_error", "lm_request_refused", "context_window_exceeded", "internal_error"),
    *_layer("read", "error", "bad_record"),
    *_layer("validate", "error", "row_invalid_json", "row_unreadable"),
)
"""Every code, in the order docs/validation-codes.md lists them."""

CODES: dict[str, Code] = {code.name: code for code in REGISTERED}
"""Every code by name."""


def codes_of(layer: Layer) -> frozenset[str]:
    """The names of the codes a layer defines."""
    return frozenset(code.name for code in REGISTERED if code.layer == layer)
