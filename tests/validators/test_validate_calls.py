"""Arguments against parameters, results against returns."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.validators.rows import WEATHER, WEATHER_RETURNS, params, spec, tool
from toolsynth.validators import check_arguments, check_result, codes


def found(findings: list[Any]) -> list[tuple[str, str]]:
    return [(f.code, f.path) for f in findings]


@pytest.mark.parametrize("arguments", [{"city": "Paris"}, '{"city": "Paris", "unit": "celsius"}'])
def test_valid_arguments_as_dict_or_json_text(arguments: Any) -> None:
    assert check_arguments(WEATHER, arguments) == []
    assert check_arguments(tool(WEATHER), arguments) == []  # a wrapper is accepted too


@pytest.mark.parametrize(
    ("arguments", "code"),
    [
        ("[1, 2]", "arguments_not_object"),
        ('"Paris"', "arguments_not_object"),
        (42, "arguments_not_object"),
        (None, "arguments_not_object"),
        ("{city: Paris}", "arguments_invalid_json"),
        ("", "arguments_invalid_json"),
        (json.dumps(json.dumps({"city": "Paris"})), "arguments_double_encoded"),
    ],
)
def test_arguments_that_are_not_an_object(arguments: Any, code: str) -> None:
    assert found(check_arguments(WEATHER, arguments)) == [(code, "arguments")]


def test_every_schema_violation_is_reported_with_its_path() -> None:
    schema = {
        "type": "object",
        "required": ["city", "days"],
        "properties": {
            "city": {"type": "string", "description": "c"},
            "days": {"type": "integer", "minimum": 1, "description": "d"},
            "stops": {
                "type": "array",
                "items": {"type": "object", "properties": {"name": {"type": "string"}}},
                "description": "s",
            },
        },
    }
    findings = check_arguments(
        spec(parameters=schema), {"city": 3, "stops": [{"name": "a"}, {"name": 5}], "extra": True}, path="args"
    )
    assert sorted(found(findings)) == [
        ("argument_unknown", "args.extra"),
        ("arguments_schema_violation", "args"),
        ("arguments_schema_violation", "args.city"),
        ("arguments_schema_violation", "args.stops[1].name"),
    ]
    assert any(f.path == "args" and "'days' is a required property" in f.message for f in findings)
    assert [f.severity for f in findings if f.code == "argument_unknown"] == ["warning"]


def test_enum_and_closed_objects() -> None:
    assert found(check_arguments(WEATHER, {"city": "Paris", "unit": "kelvin"})) == [
        ("arguments_schema_violation", "arguments.unit")
    ]
    closed = spec(parameters={**WEATHER["parameters"], "additionalProperties": False})
    assert codes(check_arguments(closed, {"city": "Paris", "x": 1})) == ["arguments_schema_violation"]


def test_unusable_spec_leaves_arguments_unchecked() -> None:
    assert codes(check_arguments("nonsense", {"a": 1})) == ["arguments_unchecked"]
    assert codes(check_arguments(spec(parameters=7), {"a": 1})) == ["arguments_unchecked"]


def test_no_parameters_means_an_empty_object() -> None:
    assert check_arguments(spec(parameters=None), {}) == []
    assert codes(check_arguments(spec(parameters=None), {"a": 1})) == ["argument_unknown"]


def test_dialect_specs_are_normalised_quietly_for_arguments() -> None:
    bfcl = spec(parameters={"type": "dict", "properties": {"x": {"type": "float"}}, "required": ["x"]})
    assert check_arguments(bfcl, {"x": 1.5}) == []
    assert codes(check_arguments(bfcl, {"x": "1.5"})) == ["arguments_schema_violation"]
    flat = {"name": "f", "description": "d", "parameters": {"x": {"type": "string"}}, "required": ["x"]}
    assert codes(check_arguments(flat, {})) == ["arguments_schema_violation"]


# --- results -------------------------------------------------------------------------------------


def test_results() -> None:
    assert check_result(WEATHER_RETURNS, {"temperature_c": 20}) == []
    assert check_result(WEATHER_RETURNS, '{"temperature_c": 20.5}') == []
    assert found(check_result(WEATHER_RETURNS, {"temperature_c": "warm"})) == [
        ("result_schema_violation", "result.temperature_c")
    ]
    assert found(check_result(WEATHER_RETURNS, "It is warm.", path="messages[3].content")) == [
        ("result_invalid_json", "messages[3].content")
    ]


def test_results_without_a_schema_are_free() -> None:
    assert check_result(None, "anything at all") == []
    assert check_result(True, "not json") == []


def test_returns_schema_must_be_a_schema() -> None:
    assert codes(check_result(42, {})) == ["returns_schema_invalid"]


def test_returns_schema_in_flat_or_bfcl_form() -> None:
    flat = {"temperature": {"type": "float"}}
    assert check_result(flat, {"temperature": 3.5}) == []
    assert codes(check_result(flat, {"temperature": "hot"})) == ["result_schema_violation"]


def test_non_object_results() -> None:
    assert check_result({"type": "array", "items": {"type": "integer"}}, "[1, 2, 3]") == []
    assert found(check_result({"type": "array", "items": {"type": "integer"}}, [1, "x"])) == [
        ("result_schema_violation", "result[1]")
    ]


def test_many_violations_are_truncated() -> None:
    findings = check_result({"type": "array", "items": {"type": "integer"}}, ["x"] * 500)
    assert codes(findings) == ["result_schema_violation", "findings_truncated"]
    assert len(findings) == 51


def test_unapplicable_schema_is_a_finding_not_an_exception() -> None:
    assert codes(check_arguments(params(x={"type": 12}), {"x": 1})) == ["validation_aborted"]


def test_oversized_result_schema_is_not_applied() -> None:
    huge = {"type": "object", "properties": {f"p{i}": {"type": "string"} for i in range(3000)}}
    assert codes(check_result(huge, {})) == ["result_unchecked"]
    assert codes(check_arguments(spec(parameters=huge), {})) == ["arguments_unchecked"]


def test_plain_text_results_for_string_schemas() -> None:
    assert check_result({"type": "string"}, "sunny") == []
    assert check_result({"type": "string"}, "123") == []  # decodes to a number, but the text is a string
    assert check_result({"type": "string", "enum": ["sunny", "rain"]}, '"rain"') == []
    assert codes(check_result({"type": "string", "enum": ["sunny", "rain"]}, "snow")) == ["result_invalid_json"]
    assert codes(check_result({"type": "object"}, json.dumps(json.dumps({"a": 1})))) == ["result_schema_violation"]


WHEN = {
    "type": "object",
    "properties": {
        "when": {
            "description": "a date, or a year",
            "anyOf": [
                {"type": "string"},
                {"type": "object", "properties": {"year": {"type": "integer"}}, "required": ["year"]},
            ],
        }
    },
}


@pytest.mark.parametrize(
    ("arguments", "where", "message"),
    [
        ({"when": {"year": "2024"}}, "arguments.when.year", "[anyOf] '2024' is not of type 'integer'"),
        ({"when": {}}, "arguments.when", "[anyOf] 'year' is a required property"),
        (
            {"when": 5},
            "arguments.when",
            "[anyOf] 5 is not valid under any of the given schemas: "
            "5 is not of type 'string'; 5 is not of type 'object'",
        ),
    ],
    ids=["branch-fits-type", "branch-misses-a-field", "no-branch-closer"],
)
def test_an_anyof_violation_names_the_branch_that_failed_and_why(arguments: Any, where: str, message: str) -> None:
    [finding] = check_arguments(spec(parameters=WHEN), arguments)
    assert (finding.code, finding.path, finding.message) == ("arguments_schema_violation", where, message)


def test_a_oneof_violation_in_a_result_names_its_keyword_and_the_closest_branch() -> None:
    returns = {"oneOf": [{"type": "number"}, {"type": "array", "items": {"type": "number"}}]}
    [finding] = check_result(returns, [1, "two"])
    assert (finding.path, finding.message) == ("result[1]", "[oneOf] 'two' is not of type 'number'")
