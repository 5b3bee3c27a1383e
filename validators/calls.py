"""Calls: arguments against a function's ``parameters``, results against its ``returns``.

Arguments arrive as a dict or (OpenAI format) a JSON string; results as any JSON value or the text of a
tool message. Both are bounded in size and depth before validation, and every schema violation is
reported with its path (not just the first).
"""

from __future__ import annotations

from typing import Any

from toolsynth.validators.findings import Finding, error, warning
from toolsynth.validators.functions import normalize_function_spec, normalize_schema, unwrap_tool
from toolsynth.validators.limits import (
    JsonParseError,
    check_bounds,
    join_path,
    non_finite_findings,
    parse_json,
    shorten,
    validate_instance,
)

_EMPTY_OBJECT: dict[str, Any] = {"type": "object", "properties": {}}


def _parse(text: str, path: str, invalid_code: str) -> tuple[Any, list[Finding]]:
    try:
        return parse_json(text), []
    except JsonParseError as exc:
        return None, [error(exc.code or invalid_code, path, shorten(str(exc)))]


def parse_arguments(arguments: Any, path: str = "arguments") -> tuple[dict[str, Any] | None, list[Finding]]:
    """The arguments as a dict, or None with ``arguments_*`` findings saying why not."""
    if isinstance(arguments, dict):
        return arguments, []
    if not isinstance(arguments, str):
        return None, [
            error(
                "arguments_not_object",
                path,
                f"must be a JSON object (or a string holding one), not {type(arguments).__name__}",
            )
        ]
    parsed, findings = _parse(arguments, path, "arguments_invalid_json")
    if findings:
        return None, findings
    if isinstance(parsed, str):
        try:
            inner = parse_json(parsed)
        except JsonParseError:
            inner = None
        if isinstance(inner, (dict, list)):
            return None, [
                error(
                    "arguments_double_encoded",
                    path,
                    "is a JSON string holding JSON text; encode the arguments object once",
                )
            ]
    if not isinstance(parsed, dict):
        return None, [error("arguments_not_object", path, f"must be a JSON object, not {_json_kind(parsed)}")]
    return parsed, []


def _json_kind(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")


def check_arguments(spec: Any, arguments: Any, path: str = "arguments") -> list[Finding]:
    """Arguments of one call against the function's ``parameters``: an object, valid, no unknown names."""
    parsed, findings = parse_arguments(arguments, path)
    if parsed is None:
        return findings
    findings = check_bounds(parsed, path, "instance") or non_finite_findings(parsed, path)
    if findings:
        return findings
    spec, _ = unwrap_tool(spec, "")
    normalized, _ = normalize_function_spec(spec)
    if normalized is None:
        return [warning("arguments_unchecked", path, "the function spec is unusable; arguments not checked")]
    schema = normalized.get("parameters", _EMPTY_OBJECT)
    if not isinstance(schema, (dict, bool)) or check_bounds(schema, path, "schema"):
        return [warning("arguments_unchecked", path, "the parameters schema is unusable; arguments not checked")]
    findings = validate_instance(schema, parsed, path, "arguments_schema_violation")
    if isinstance(schema, dict) and isinstance(schema.get("properties"), dict):
        findings += _unknown_arguments(schema, parsed, path)
    return findings


def _unknown_arguments(schema: dict[str, Any], arguments: dict[str, Any], path: str) -> list[Finding]:
    """Names not declared when the schema leaves extra names open (it says nothing either way)."""
    if {"additionalProperties", "patternProperties", "unevaluatedProperties"} & schema.keys():
        return []
    declared = schema["properties"]
    listed = ", ".join(map(str, declared)) or "none"
    return [
        warning("argument_unknown", join_path(path, [key]), f"{key!r} is not a declared parameter ({listed})")
        for key in arguments
        if key not in declared
    ]


def check_result(returns_schema: Any, result: Any, path: str = "result") -> list[Finding]:
    """A call's result against the declared ``returns`` schema.

    ``result`` is any JSON value, except that a Python ``str`` is a tool message's text: it is decoded
    as JSON, and the text itself is accepted when the schema takes it as a plain string (``"sunny"``
    for ``{"type": "string"}``). With no schema declared (None) only a non-text result is checked (for NaN and
    Infinity, which are not JSON).
    """
    if returns_schema is None or returns_schema is True:
        return [] if isinstance(result, str) else non_finite_findings(result, path)
    schema = normalize_schema(returns_schema)
    if not isinstance(schema, (dict, bool)):
        return [
            error(
                "returns_schema_invalid",
                path,
                f"the returns schema is {type(schema).__name__}, not a JSON Schema; result not checked",
            )
        ]
    if check_bounds(schema, path, "schema"):
        return [warning("result_unchecked", path, "the returns schema is too large; result not checked")]
    text = result if isinstance(result, str) else None
    if text is not None:
        result, findings = _parse(text, path, "result_invalid_json")
        if findings and findings[0].code != "result_invalid_json":
            return findings
        if findings:
            return [] if _plain_text_fits(schema, text, path) else findings
    findings = check_bounds(result, path, "instance") or non_finite_findings(result, path)
    if findings:
        return findings
    findings = validate_instance(schema, result, path, "result_schema_violation")
    if findings and text is not None and _plain_text_fits(schema, text, path):
        return []
    return findings


def _plain_text_fits(schema: Any, text: str, path: str) -> bool:
    return not validate_instance(schema, text, path, "result_schema_violation")
