"""Function specs: one test per code, plus dialect normalisation."""

from __future__ import annotations

from typing import Any

import pytest

from tests.validators.rows import WEATHER, WEATHER_RETURNS, params, spec, tool
from toolsynth.validators import (
    check_function_spec,
    check_function_specs,
    codes,
    errors,
    normalize_function_spec,
)


def test_a_good_spec_has_no_findings() -> None:
    assert check_function_spec(spec(returns=WEATHER_RETURNS)) == []
    assert check_function_specs([tool(WEATHER), {**WEATHER, "name": "other"}]) == []


@pytest.mark.parametrize(
    ("bad", "code", "path"),
    [
        ("not a spec", "function_spec_not_object", "function"),
        (spec(name=None), "function_name_missing", "function.name"),
        (spec(name="get weather!"), "function_name_invalid", "function.name"),
        (spec(name="x" * 65), "function_name_invalid", "function.name"),
        (spec(description="  "), "function_description_missing", "function.description"),
        (spec(parameters={"type": "array"}), "parameters_not_object", "function.parameters"),
        (spec(parameters="city: str"), "parameters_not_object", "function.parameters"),
        (params(city={"type": "strng"}), "parameters_schema_invalid", "function.parameters.properties.city.type"),
        (
            params(city={"type": "string", "minLength": -1}),
            "parameters_schema_invalid",
            "function.parameters.properties.city.minLength",
        ),
        (
            spec(parameters={"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a", "b"]}),
            "required_not_in_properties",
            "function.parameters.required",
        ),
        (params(unit={"type": "string", "enum": []}), "enum_empty", "function.parameters.properties.unit.enum"),
        (
            params(unit={"type": "string", "enum": ["c", 3]}),
            "enum_type_mismatch",
            "function.parameters.properties.unit.enum[1]",
        ),
        (
            params(n={"type": "integer", "default": "five", "description": "n"}),
            "default_type_mismatch",
            "function.parameters.properties.n.default",
        ),
        (
            params(s={"type": "string", "pattern": "(a+)+$"}),
            "pattern_unsafe",
            "function.parameters.properties.s.pattern",
        ),
        (
            params(s={"type": "string", "pattern": "(a|aa)*b"}),
            "pattern_unsafe",
            "function.parameters.properties.s.pattern",
        ),
        (
            params(s={"type": "string", "pattern": "[unclosed"}),
            "pattern_invalid",
            "function.parameters.properties.s.pattern",
        ),
        (
            spec(parameters={"type": "object", "patternProperties": {"(x*)*": {}}}),
            "pattern_unsafe",
            'function.parameters.patternProperties["(x*)*"]',
        ),
        (params(city={"type": "string"}), "parameter_description_missing", "function.parameters.properties.city"),
        (spec(returns={"type": "objekt"}), "returns_schema_invalid", "function.returns.type"),
        (spec(returns="a number"), "returns_schema_invalid", "function.returns"),
        (
            params(x={"$ref": "#/$defs/missing", "description": "x"}),
            "ref_unresolvable",
            "function.parameters.properties.x",
        ),
        (
            params(x={"$ref": "https://example.com/s.json", "description": "x"}),
            "remote_ref",
            "function.parameters.properties.x",
        ),
        (
            params(x={"$ref": "file:///etc/passwd", "description": "x"}),
            "remote_ref",
            "function.parameters.properties.x",
        ),
        (params(x={"$ref": "other.json#/a", "description": "x"}), "remote_ref", "function.parameters.properties.x"),
        (
            spec(parameters={"type": "object", "$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}}}),
            "ref_cycle",
            "function.parameters.$defs.a",
        ),
        (
            spec(parameters={"$schema": "https://example.com/my-dialect", "type": "object"}),
            "schema_dialect_unknown",
            "function.parameters.$schema",
        ),
    ],
)
def test_each_spec_problem_has_its_code_and_path(bad: Any, code: str, path: str) -> None:
    findings = check_function_spec(bad)
    assert (code, path) in [(f.code, f.path) for f in findings], findings


def test_severities() -> None:
    def severity(bad: dict[str, Any], code: str) -> str:
        return next(f.severity for f in check_function_spec(bad) if f.code == code)

    assert severity(params(city={"type": "string"}), "parameter_description_missing") == "warning"
    assert severity(params(s={"type": "string", "pattern": "(a+)+", "description": "s"}), "pattern_unsafe") == "error"
    assert severity(spec(description=None), "function_description_missing") == "error"


def test_local_refs_and_embedded_ids_resolve_without_findings() -> None:
    parameters = {
        "$id": "https://example.com/weather-params",
        "type": "object",
        "$defs": {"city": {"type": "string", "description": "a city"}},
        "properties": {"city": {"$ref": "#/$defs/city"}, "again": {"$ref": "weather-params#/$defs/city"}},
    }
    assert errors(check_function_spec(spec(parameters=parameters))) == []


def test_meta_schema_of_declared_draft_is_used() -> None:
    draft7 = {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "properties": {"a": {"type": "string", "description": "a"}},
        "definitions": {"x": {"type": "string"}},
    }
    assert check_function_spec(spec(parameters=draft7)) == []
    # In draft 4 exclusiveMaximum is a boolean; a number there is a schema error.
    draft4 = {
        "$schema": "http://json-schema.org/draft-04/schema#",
        "type": "object",
        "properties": {"n": {"type": "number", "exclusiveMaximum": 3, "description": "n"}},
    }
    assert "parameters_schema_invalid" in codes(check_function_spec(spec(parameters=draft4)))
    latest = {**draft4, "$schema": "https://json-schema.org/draft/2020-12/schema"}
    assert check_function_spec(spec(parameters=latest)) == []


def test_list_level_codes() -> None:
    assert codes(check_function_specs("nope")) == ["tools_not_list"]
    dup = check_function_specs([tool(WEATHER), tool(WEATHER)])
    assert [(f.code, f.path) for f in dup] == [("function_name_duplicate", "tools[1].function.name")]
    wrong = check_function_specs([{"type": "retrieval", "function": WEATHER}])
    assert [(f.code, f.path) for f in wrong] == [("tool_type_invalid", "tools[0].type")]
    assert codes(check_function_specs([3])) == ["function_spec_not_object"]


def test_unknown_types_get_a_readable_message() -> None:
    [finding] = errors(check_function_spec(params(city={"type": "dict", "description": "c"})))
    assert "unknown type 'dict'" in finding.message


# --- dialects --------------------------------------------------------------------------------------


def test_button_flat_parameters_with_separate_required_and_responses() -> None:
    button = {
        "name": "get_weather",
        "description": "Weather.",
        "parameters": {
            "city": {"type": "string", "description": "City"},
            "days": {"type": "integer", "description": "Days"},
        },
        "required": ["city"],
        "responses": {"temperature": {"type": "number", "description": "°C"}},
    }
    normalized, notes = normalize_function_spec(button)
    assert normalized == {
        "name": "get_weather",
        "description": "Weather.",
        "parameters": {"type": "object", "properties": button["parameters"], "required": ["city"]},
        "returns": {"type": "object", "properties": button["responses"]},
    }
    assert set(codes(notes)) == {"dialect_normalized"} and all(n.severity == "info" for n in notes)
    assert check_function_spec(normalized) == []
    assert errors(check_function_spec(button)) != []  # as is, it is not a valid OpenAI spec
    assert errors(check_function_specs([button], dialects=True)) == []


def test_bfcl_types_are_mapped() -> None:
    bfcl = {
        "name": "calc",
        "description": "Calculate.",
        "parameters": {
            "type": "dict",
            "properties": {
                "x": {"type": "float", "description": "x"},
                "pair": {"type": "tuple", "items": {"type": "integer"}, "description": "p"},
                "anything": {"type": "any", "description": "a"},
                "opts": {"type": "dict", "properties": {"k": {"type": "string"}}, "description": "o"},
            },
            "required": ["x"],
        },
    }
    normalized, notes = normalize_function_spec(bfcl)
    assert normalized is not None
    props = normalized["parameters"]["properties"]
    assert normalized["parameters"]["type"] == "object"
    assert props["x"]["type"] == "number" and props["pair"]["type"] == "array"
    assert "type" not in props["anything"] and props["opts"]["type"] == "object"
    assert "float" in notes[0].message and check_function_spec(normalized) == []


def test_per_property_required_flags_and_json_string_schemas() -> None:
    flat = {
        "name": "f",
        "description": "d",
        "parameters": '{"a": {"type": "string", "required": true}, "b": {"type": "int"}}',
    }
    normalized, notes = normalize_function_spec(flat)
    assert normalized is not None
    assert normalized["parameters"] == {
        "type": "object",
        "required": ["a"],
        "properties": {"a": {"type": "string"}, "b": {"type": "integer"}},
    }
    assert len(notes) == 3


def test_wrapper_and_missing_object_type() -> None:
    normalized, notes = normalize_function_spec(tool(spec(parameters={"properties": {"a": {"type": "string"}}})))
    assert normalized is not None and normalized["parameters"]["type"] == "object"
    assert [n.path for n in notes] == ["function.function.parameters"]  # the path goes through the wrapper


def test_unusable_specs() -> None:
    assert normalize_function_spec(None) == (None, normalize_function_spec(None)[1])
    assert codes(normalize_function_spec(None)[1]) == ["function_spec_not_object"]
    assert codes(normalize_function_spec({"description": "x"})[1]) == ["function_name_missing"]
    assert normalize_function_spec(WEATHER) == (WEATHER, [])


def test_a_schema_seen_valid_is_not_meta_checked_again_and_an_invalid_one_always_is(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from toolsynth.validators import functions

    checked: list[Any] = []
    original = functions.validator_class

    def counting(schema: Any) -> Any:
        checked.append(schema)
        return original(schema)

    monkeypatch.setattr(functions, "validator_class", counting)
    good = params(city={"type": "string", "description": "city name"}, note={"type": "string", "minLength": 3})[
        "parameters"
    ]
    assert functions.check_schema(good, "functions[0].parameters", "parameters_schema_invalid") == []
    same_elsewhere = dict(reversed(list(good.items())))  # the same schema, keys in another order
    assert functions.check_schema(same_elsewhere, "tools[2].function.parameters", "parameters_schema_invalid") == []
    assert len(checked) <= 1  # none when an earlier test already saw this schema

    bad = params(city={"type": "string", "minLength": -1})["parameters"]
    for path in ("functions[0].parameters", "tools[1].function.parameters"):
        found = functions.check_schema(bad, path, "parameters_schema_invalid")
        assert [(f.code, f.path) for f in found] == [("parameters_schema_invalid", f"{path}.properties.city.minLength")]
    assert checked[-2:] == [bad, bad]


def test_the_memory_of_valid_schemas_is_bounded() -> None:
    from toolsynth.validators.functions import SeenValid

    seen = SeenValid(8)
    digests = [SeenValid.digest({"type": "object", "title": str(i)}) for i in range(20)]
    for digest in digests:
        assert digest is not None
        seen.add(digest)
    assert len(seen) == 8
    assert digests[-1] in seen and digests[0] not in seen
    assert SeenValid.digest({"type": float("nan")}) is None  # not JSON: never remembered
