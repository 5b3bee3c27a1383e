"""Whole rows: OpenAI rows from our pipeline or other datasets, and LLaMA-Factory ShareGPT rows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.validators.rows import WEATHER, WEATHER_RETURNS, parallel_row, sequential_row, tool
from toolsynth.validators import (
    check_sample,
    check_sharegpt_row,
    codes,
    errors,
    sharegpt_to_openai,
)

GLAIVE = Path("/work/shared/data/glaive_toolcall_en_demo.json")


def test_good_rows_have_no_findings() -> None:
    assert check_sample(sequential_row()) == []
    assert check_sample(parallel_row()) == []


def test_row_level_codes() -> None:
    assert codes(check_sample([1, 2])) == ["row_not_object"]
    assert codes(check_sample({})) == ["messages_not_list"]
    row = sequential_row()
    row["meta"] = "sequential"
    assert "meta_invalid" in codes(check_sample(row))


def test_returns_in_meta_are_checked_and_applied() -> None:
    row = sequential_row()
    row["meta"]["function_returns"]["book_flight"] = {"type": "object"}
    row["meta"]["function_returns"]["get_weather"] = {"type": "object", "required": "temperature_c"}
    found = [(f.code, f.path) for f in check_sample(row)]
    assert ("returns_unknown_function", "meta.function_returns.book_flight") in found
    assert ("returns_schema_invalid", "meta.function_returns.get_weather.required") in found
    row = sequential_row()
    row["messages"][3]["content"] = json.dumps({"temperature_c": "21"})
    assert ("result_schema_violation", "messages[3].content.temperature_c") in [
        (f.code, f.path) for f in check_sample(row)
    ]
    row["meta"]["function_returns"] = [1]
    assert "meta_invalid" in codes(check_sample(row))


def test_spec_findings_carry_tool_paths() -> None:
    row = sequential_row()
    row["tools"][0]["function"]["parameters"]["required"] = ["city", "country"]
    assert [(f.code, f.path) for f in check_sample(row)] == [
        ("required_not_in_properties", "tools[0].function.parameters.required"),
        ("arguments_schema_violation", "messages[2].tool_calls[0].function.arguments"),
    ]


def test_dialects_are_normalised_by_default() -> None:
    row = sequential_row()
    row["tools"][0] = {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather.",
            "parameters": {"city": {"type": "str", "description": "c"}},
            "required": ["city"],
        },
    }
    findings = check_sample(row)
    assert errors(findings) == [] and set(codes(findings)) == {"dialect_normalized"}
    assert "parameters_not_object" in codes(check_sample(row, dialects=False))


def test_other_datasets_without_meta_or_returns() -> None:
    row = sequential_row()
    del row["meta"]
    row["messages"][3]["content"] = "Sunny, 21 degrees."
    assert check_sample(row) == []


# --- ShareGPT --------------------------------------------------------------------------------------


def sharegpt(*turns: tuple[str, Any], tools: Any = None) -> dict[str, Any]:
    row: dict[str, Any] = {"conversations": [{"from": f, "value": v} for f, v in turns]}
    row["tools"] = json.dumps([WEATHER]) if tools is None else tools
    return row


GOOD = sharegpt(
    ("human", "Weather in Paris?"),
    ("function_call", json.dumps({"name": "get_weather", "arguments": {"city": "Paris"}})),
    ("observation", json.dumps({"temperature_c": 21})),
    ("gpt", "It is 21 °C in Paris."),
)


def test_sharegpt_conversion() -> None:
    converted, findings = sharegpt_to_openai({**GOOD, "system": "Be brief."})
    assert findings == [] and converted is not None
    assert converted["tools"] == [tool(WEATHER)]
    assert [m["role"] for m in converted["messages"]] == ["system", "user", "assistant", "tool", "assistant"]
    [c] = converted["messages"][2]["tool_calls"]
    assert c == {
        "id": "call_1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
    }
    assert converted["messages"][3] == {
        "role": "tool",
        "tool_call_id": "call_1",
        "name": "get_weather",
        "content": '{"temperature_c": 21}',
    }
    assert check_sharegpt_row(GOOD) == []


def test_sharegpt_parallel_calls_split_a_list_observation() -> None:
    calls = [{"name": "get_weather", "arguments": {"city": c}} for c in ("Paris", "Rome")]
    row = sharegpt(
        ("human", "Paris and Rome?"),
        ("function_call", json.dumps(calls)),
        ("observation", json.dumps([{"temperature_c": 21}, {"temperature_c": 25}])),
        ("gpt", "21 and 25 °C."),
    )
    converted, _ = sharegpt_to_openai(row)
    assert converted is not None
    assert [m.get("tool_call_id") for m in converted["messages"]] == [None, None, "call_1", "call_2", None]
    assert check_sharegpt_row(row) == []


@pytest.mark.parametrize(
    ("row", "code"),
    [
        ("text", "sharegpt_row_invalid"),
        ({"conversations": "x"}, "sharegpt_row_invalid"),
        (sharegpt(("human", "hi"), ("gpt", "hello"), tools="[not json"), "sharegpt_tools_invalid"),
        (sharegpt(("human", "hi"), ("gpt", "hello"), tools='{"name": "x"}'), "sharegpt_tools_invalid"),
        (
            sharegpt(("human", "hi"), ("function_call", "get_weather(Paris)"), ("gpt", "x")),
            "sharegpt_function_call_invalid",
        ),
        (
            sharegpt(("human", "hi"), ("function_call", '{"arguments": {}}'), ("gpt", "x")),
            "sharegpt_function_call_invalid",
        ),
        (sharegpt(("human", "hi"), ("gpt", 5)), "sharegpt_turn_invalid"),
        (sharegpt(("human", "hi"), ("bot", "hello")), "sharegpt_role_invalid"),
        (sharegpt(("human", "hi"), ("observation", "{}"), ("gpt", "ok")), "tool_message_orphan"),
        (
            sharegpt(
                ("human", "hi"),
                ("function_call", '{"name": "get_weather", "arguments": "{\\"city\\": 1}"}'),
                ("observation", "{}"),
                ("gpt", "ok"),
            ),
            "arguments_schema_violation",
        ),
    ],
)
def test_sharegpt_problems(row: Any, code: str) -> None:
    assert code in codes(check_sharegpt_row(row))


def test_sharegpt_rows_without_tools() -> None:
    assert check_sharegpt_row(sharegpt(("human", "hi"), ("gpt", "hello"), tools="")) == []


def test_real_glaive_rows() -> None:
    if not GLAIVE.exists():
        pytest.skip(f"{GLAIVE} is not available")
    rows = json.loads(GLAIVE.read_text())
    assert len(rows) >= 100
    all_findings = [check_sharegpt_row(row) for row in rows]
    clean = sum(1 for f in all_findings if not errors(f))
    assert clean / len(rows) > 0.95  # a curated dataset: nearly every row passes
    converted = [sharegpt_to_openai(row)[0] for row in rows]
    assert all(c is not None and c["messages"] for c in converted)
    assert sum(1 for c in converted if c and any(m["role"] == "tool" for m in c["messages"])) > 100


def test_returns_on_tools_from_other_datasets() -> None:
    row = sequential_row()
    del row["meta"]["function_returns"]
    row["tools"][0] = tool({**WEATHER, "returns": WEATHER_RETURNS})
    assert check_sample(row) == []
    row["messages"][3]["content"] = "{}"
    assert "result_schema_violation" in codes(check_sample(row))
