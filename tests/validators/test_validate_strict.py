"""Strict JSON (no NaN or Infinity anywhere) and the count bounds: tools per row, calls per assistant message."""

from __future__ import annotations

import json
import math
from typing import Any

from tests.validators.rows import (
    PACKING,
    WEATHER,
    WEATHER_RETURNS,
    assistant_calls,
    call,
    parallel_row,
    params,
    result,
    sequential_row,
    spec,
    tool,
)
from toolsynth.validators import check_arguments, check_function_spec, check_result, check_sample, codes
from toolsynth.validators.limits import MAX_CALLS_PER_MESSAGE, MAX_SCHEMA_ERRORS, MAX_TOOLS


def by_code(findings: list[Any], code: str) -> list[tuple[str, str]]:
    return [(f.path, f.severity) for f in findings if f.code == code]


def test_nan_and_infinity_in_tools_and_meta_returns_are_errors_at_their_paths() -> None:
    row = sequential_row()
    row["tools"][0]["function"]["parameters"]["properties"]["city"]["examples"] = ["Paris", math.nan]
    row["meta"]["function_returns"]["get_weather"]["properties"]["temperature_c"]["maximum"] = math.inf
    row["meta"]["scenario_score"] = -math.inf
    findings = check_sample(row)
    assert by_code(findings, "number_not_finite") == [
        ("tools[0].function.parameters.properties.city.examples[1]", "error"),
        ("meta.function_returns.get_weather.properties.temperature_c.maximum", "error"),
        ("meta.scenario_score", "error"),
    ]  # each once, though the spec walk and the row walk both see the first
    assert codes(findings) == ["number_not_finite"]


def test_the_same_row_without_them_is_clean() -> None:
    assert check_sample(sequential_row()) == []
    assert check_sample(parallel_row()) == []


def test_arguments_text_with_nan_or_an_overflowing_number() -> None:
    cases = (
        ('{"city": "Paris", "unit": NaN}', "arguments.unit", "NaN"),
        ('{"city": "Paris", "lat": -1e999}', "arguments.lat", "-Infinity"),
    )
    for text, path, shown in cases:
        findings = check_arguments(WEATHER, text, "arguments")
        assert [(f.code, f.path) for f in findings] == [("number_not_finite", path)]
        assert findings[0].message.startswith(f"{shown} is not a JSON number")
    assert by_code(check_arguments(WEATHER, {"city": "Paris", "unit": [1.0, math.inf]}), "number_not_finite") == [
        ("arguments.unit[1]", "error")
    ]


def test_results_with_non_finite_numbers_as_values_and_as_text() -> None:
    value = {"city": "Paris", "temperature_c": math.nan}
    assert by_code(check_result(WEATHER_RETURNS, value, "content"), "number_not_finite") == [
        ("content.temperature_c", "error")
    ]
    text = '{"city": "Paris", "temperature_c": Infinity}'
    assert by_code(check_result(WEATHER_RETURNS, text, "content"), "number_not_finite") == [
        ("content.temperature_c", "error")
    ]
    # No returns schema: a value is still walked; text stays unchecked, as before.
    assert codes(check_result(None, {"n": math.inf})) == ["number_not_finite"]
    assert check_result(None, text) == []


def test_a_spec_with_infinity_anywhere_and_the_findings_cap() -> None:
    bad = spec(**{"x-score": math.inf})
    assert by_code(check_function_spec(bad), "number_not_finite") == [("function.x-score", "error")]
    many = params(**{f"p{i}": {"type": "number", "description": "n", "minimum": math.nan} for i in range(60)})
    findings = check_function_spec(many)
    assert len(by_code(findings, "number_not_finite")) == MAX_SCHEMA_ERRORS
    assert by_code(findings, "findings_truncated") == [("function", "info")]


def test_tool_messages_in_a_row_are_checked_through_their_returns() -> None:
    row = sequential_row()
    row["messages"][3] = result("call_1", "get_weather", '{"city": "Paris", "temperature_c": NaN}')
    assert by_code(check_sample(row), "number_not_finite") == [("messages[3].content.temperature_c", "error")]


def test_six_hundred_identical_parallel_calls_are_an_error_once() -> None:
    row = parallel_row()
    calls = [call(f"call_{i}", "get_weather", {"city": "Paris"}) for i in range(600)]
    answers = [result(f"call_{i}", "get_weather", {"city": "Paris", "temperature_c": 21}) for i in range(600)]
    row["messages"] = [row["messages"][0], assistant_calls(*calls), *answers, row["messages"][-1]]
    findings = check_sample(row)
    assert by_code(findings, "tool_calls_too_many") == [("messages[1].tool_calls", "error")]
    assert "600 calls" in next(f.message for f in findings if f.code == "tool_calls_too_many")


def test_calls_per_message_up_to_the_bound_are_fine() -> None:
    row = parallel_row()
    n = MAX_CALLS_PER_MESSAGE
    calls = [call(f"call_{i}", "get_weather", {"city": f"City {i}"}) for i in range(n)]
    answers = [result(f"call_{i}", "get_weather", {"city": f"City {i}", "temperature_c": i}) for i in range(n)]
    row["messages"] = [row["messages"][0], assistant_calls(*calls), *answers, row["messages"][-1]]
    assert by_code(check_sample(row), "tool_calls_too_many") == []


def test_more_tools_than_one_request_takes_is_an_error() -> None:
    def row_with(n: int) -> dict[str, Any]:
        row = sequential_row()
        extra = [tool({**PACKING, "name": f"extra_{i}"}) for i in range(n - len(row["tools"]))]
        row["tools"] += extra
        return row

    too_many = check_sample(row_with(MAX_TOOLS + 373))  # 501 tools
    assert by_code(too_many, "tools_too_many") == [("tools", "error")]
    assert "501 functions" in next(f.message for f in too_many if f.code == "tools_too_many")
    assert check_sample(row_with(MAX_TOOLS)) == []


def test_python_json_reads_what_the_finding_reports() -> None:
    """Rows as `toolsynth validate` reads them: Python's json accepts the bare constants, the checks do not."""
    row = sequential_row()
    row["meta"]["rating"] = 1.5
    row = json.loads(json.dumps(row).replace('"rating": 1.5', '"rating": NaN'))
    assert by_code(check_sample(row), "number_not_finite") == [("meta.rating", "error")]
