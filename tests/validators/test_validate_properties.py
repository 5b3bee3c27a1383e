"""Property tests: generated valid schemas accept generated valid instances; one mutation, one code;
arbitrary input gives findings, never exceptions."""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.validators.rows import assistant_calls, call, result, tool
from toolsynth.validators import (
    Finding,
    check_arguments,
    check_conversation,
    check_function_spec,
    check_function_specs,
    check_result,
    check_sample,
    check_sharegpt_row,
    codes,
    errors,
    normalize_function_spec,
    sharegpt_to_openai,
)
from toolsynth.validators.findings import parse_path, render_loc

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

NAMES = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)
Pair = tuple[dict[str, Any], Any]  # (schema, an instance valid against it)


def _integer(lo: int) -> st.SearchStrategy[Pair]:
    return st.integers(lo, lo + 1000).map(lambda v: ({"type": "integer", "minimum": lo, "description": "n"}, v))


def _enum(options: list[str]) -> st.SearchStrategy[Pair]:
    return st.sampled_from(options).map(lambda v: ({"type": "string", "enum": options, "description": "e"}, v))


LEAVES: st.SearchStrategy[Pair] = st.one_of(
    st.text(max_size=12).map(lambda s: ({"type": "string", "description": "s"}, s)),
    st.integers(-1000, 1000).flatmap(_integer),
    st.floats(allow_nan=False, allow_infinity=False, width=32).map(
        lambda f: ({"type": "number", "description": "f"}, f)
    ),
    st.booleans().map(lambda b: ({"type": "boolean", "description": "b"}, b)),
    st.lists(NAMES, min_size=1, max_size=4, unique=True).flatmap(_enum),
    st.from_regex(r"[a-z]{1,6}", fullmatch=True).map(
        lambda s: ({"type": "string", "pattern": "^[a-z]+$", "description": "p"}, s)
    ),
    st.one_of(st.none(), st.text(max_size=4)).map(lambda v: ({"type": ["string", "null"], "description": "o"}, v)),
)


def _object(args: tuple[dict[str, Pair], list[bool], list[bool]]) -> Pair:
    props, required_flags, present_flags = args
    names = list(props)
    required = [n for n, r in zip(names, required_flags, strict=False) if r]
    schema: dict[str, Any] = {
        "type": "object",
        "description": "o",
        "properties": {n: props[n][0] for n in names},
        "required": required,
    }
    value = {n: props[n][1] for n, r, p in zip(names, required_flags, present_flags, strict=False) if r or p}
    return schema, value


def objects(children: st.SearchStrategy[Pair], min_size: int = 0) -> st.SearchStrategy[Pair]:
    flags = st.lists(st.booleans(), min_size=6, max_size=6)
    return st.tuples(st.dictionaries(NAMES, children, min_size=min_size, max_size=5), flags, flags).map(_object)


def arrays(children: st.SearchStrategy[Pair]) -> st.SearchStrategy[Pair]:
    return st.tuples(children, st.integers(0, 3)).map(
        lambda a: ({"type": "array", "items": a[0][0], "description": "a"}, [a[0][1]] * a[1])
    )


VALUES: st.SearchStrategy[Pair] = st.recursive(LEAVES, lambda c: st.one_of(objects(c), arrays(c)), max_leaves=12)
PARAMETERS: st.SearchStrategy[Pair] = objects(VALUES, min_size=1)


def function(name: str, parameters: dict[str, Any], returns: dict[str, Any] | None = None) -> dict[str, Any]:
    spec = {"name": name, "description": f"Does {name}.", "parameters": parameters}
    return {**spec, "returns": returns} if returns is not None else spec


# --- valid in, nothing out ---------------------------------------------------------------------------


@FAST
@given(NAMES, PARAMETERS, VALUES)
def test_generated_valid_specs_accept_generated_valid_instances(name: str, params: Pair, returns: Pair) -> None:
    spec = function(name, params[0], returns[0])
    assert check_function_spec(spec) == []
    assert check_arguments(spec, params[1]) == []
    assert check_arguments(spec, json.dumps(params[1])) == []
    assert check_result(returns[0], json.dumps(returns[1])) == []
    if not isinstance(returns[1], str):  # a str is a tool message's text, decoded as JSON first
        assert check_result(returns[0], returns[1]) == []
    assert normalize_function_spec(spec) == (spec, [])


def row_for(name: str, params: Pair, returns: Pair) -> dict[str, Any]:
    """A two-call conversation (the same function twice) valid by construction."""
    spec = function(name, params[0], returns[0])
    answer = json.dumps(returns[1])
    return {
        "messages": [
            {"role": "user", "content": "Please do it twice."},
            assistant_calls(call("call_1", name, params[1])),
            result("call_1", name, answer),
            assistant_calls(call("call_2", name, params[1])),
            result("call_2", name, answer),
            {"role": "assistant", "content": "Done."},
        ],
        "tools": [tool(spec)],
    }


@FAST
@given(NAMES, PARAMETERS, VALUES)
def test_generated_valid_conversations_have_no_errors(name: str, params: Pair, returns: Pair) -> None:
    row = row_for(name, params, returns)
    assert check_conversation(row["messages"], row["tools"]) == []
    assert check_sample(row) == []


# --- one mutation, one code ---------------------------------------------------------------------------


def _wrong_value(schema: dict[str, Any]) -> Any:
    types = schema.get("type")
    types = types if isinstance(types, list) else [types]
    return {"nested": "object"} if "string" in types else "not the right type"


@FAST
@given(NAMES, PARAMETERS, st.data())
def test_dropping_a_required_argument(name: str, params: Pair, data: st.DataObject) -> None:
    schema, value = params
    if not schema["required"]:
        schema = {**schema, "required": [next(iter(schema["properties"]))]}
        value = {**value, schema["required"][0]: _valid_of(schema["properties"][schema["required"][0]], data)}
    dropped = data.draw(st.sampled_from(schema["required"]))
    args = {k: v for k, v in value.items() if k != dropped}
    findings = check_arguments(function(name, schema), args)
    assert [(f.code, f.path) for f in errors(findings)] == [("arguments_schema_violation", "arguments")]
    assert repr(dropped) in findings[0].message


def _valid_of(schema: dict[str, Any], data: st.DataObject) -> Any:
    """Some instance of a generated schema (enough for the few shapes VALUES generates)."""
    kind = schema.get("type")
    if "enum" in schema:
        return schema["enum"][0]
    if kind == "integer":
        return schema.get("minimum", 0)
    if kind == "object":
        return {k: _valid_of(v, data) for k, v in schema["properties"].items() if k in schema["required"]}
    if kind == ["string", "null"]:
        return None
    return {"string": "abc", "number": 1.5, "boolean": True, "array": []}.get(str(kind))


@FAST
@given(NAMES, PARAMETERS, st.data())
def test_a_wrong_type_is_reported_at_its_path(name: str, params: Pair, data: st.DataObject) -> None:
    schema, value = params
    key = data.draw(st.sampled_from(sorted(schema["properties"])))
    args = {**value, key: _wrong_value(schema["properties"][key])}
    found = [(f.code, f.path) for f in check_arguments(function(name, schema), args)]
    assert ("arguments_schema_violation", f"arguments.{key}") in found
    assert {c for c, _ in found} == {"arguments_schema_violation"}


def _mutants(row: dict[str, Any]) -> dict[str, tuple[dict[str, Any], str]]:
    m = row["messages"]
    out: dict[str, tuple[dict[str, Any], str]] = {}

    def mutant(code: str) -> list[dict[str, Any]]:
        copied = copy.deepcopy(row)
        out[code] = (copied, code)
        return copied["messages"]

    mutant("call_unknown_function")[1]["tool_calls"][0]["function"]["name"] = "no_such_function"
    mutant("tool_call_id_duplicate")[3]["tool_calls"][0]["id"] = "call_1"
    mutant("tool_message_orphan").insert(3, result("call_77", m[2]["name"], m[2]["content"]))
    del mutant("tool_call_unanswered")[4]
    return out


@FAST
@given(NAMES, PARAMETERS, VALUES)
def test_each_conversation_mutation_yields_its_code(name: str, params: Pair, returns: Pair) -> None:
    for mutated, code in _mutants(row_for(name, params, returns)).values():
        assert code in codes(check_sample(mutated)), code


@FAST
@given(NAMES, PARAMETERS, objects(VALUES))
def test_a_result_violating_returns(name: str, params: Pair, returns: Pair) -> None:
    row = row_for(name, params, returns)
    row["messages"][2]["content"] = json.dumps(_wrong_value(returns[0]))
    assert "result_schema_violation" in codes(check_sample(row))


# --- anything in, findings out ------------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
    max_leaves=20,
)
ROLE_WORDS = st.sampled_from(["system", "user", "assistant", "tool", "function", "gpt"])
MESSAGE = st.fixed_dictionaries(
    {"role": ROLE_WORDS},
    optional={
        "content": JSON,
        "tool_calls": st.lists(
            JSON
            | st.fixed_dictionaries(
                {
                    "id": st.sampled_from(["a", "b"]),
                    "type": st.just("function"),
                    "function": st.fixed_dictionaries({"name": NAMES, "arguments": JSON}),
                }
            ),
            max_size=3,
        ),
        "tool_call_id": st.sampled_from(["a", "b", "c"]),
        "name": NAMES,
    },
)
ROWS = st.fixed_dictionaries(
    {"messages": st.lists(MESSAGE | JSON, max_size=6)},
    optional={
        "tools": JSON | st.lists(JSON.map(lambda f: {"type": "function", "function": f}), max_size=3),
        "meta": JSON
        | st.fixed_dictionaries(
            {
                "subtasks": st.lists(
                    st.fixed_dictionaries(
                        {"id": st.integers(0, 4)},
                        optional={"depends_on": st.lists(st.integers(0, 4)) | JSON, "function": NAMES | JSON},
                    ),
                    max_size=4,
                )
            },
            optional={"strategy": st.just("parallel_then_sequential")},
        ),
    },
)


def _all_findings(findings: Any) -> None:
    assert isinstance(findings, list) and all(isinstance(f, Finding) for f in findings)


@settings(max_examples=150, deadline=None)
@given(JSON | st.text())
def test_arbitrary_json_and_strings_as_rows_yield_findings(row: Any) -> None:
    findings = check_sample(row)
    _all_findings(findings)
    assert errors(findings)
    _all_findings(check_sharegpt_row(row))
    assert errors(check_sharegpt_row(row))


@settings(max_examples=150, deadline=None)
@given(ROWS)
def test_row_shaped_garbage_never_raises(row: dict[str, Any]) -> None:
    _all_findings(check_sample(row))
    _all_findings(check_sample(row, dialects=False))
    _all_findings(check_conversation(row["messages"], row.get("tools")))


@settings(max_examples=100, deadline=None)
@given(JSON | st.text(), JSON | st.text())
def test_every_entry_point_takes_anything(a: Any, b: Any) -> None:
    for findings in (
        check_function_spec(a),
        check_function_specs(a),
        check_function_specs(a, dialects=True),
        check_arguments(a, b),
        check_result(a, b),
        check_conversation(a, b),
        normalize_function_spec(a)[1],
        sharegpt_to_openai(a)[1],
    ):
        _all_findings(findings)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.fixed_dictionaries(
            {
                "from": st.sampled_from(["human", "gpt", "function_call", "observation", "system", "bot"]),
                "value": st.text(max_size=30) | JSON.map(json.dumps),
            }
        ),
        max_size=6,
    ),
    JSON.map(json.dumps) | st.text(max_size=30),
)
def test_sharegpt_garbage_never_raises(turns: list[dict[str, Any]], tools: str) -> None:
    _all_findings(check_sharegpt_row({"conversations": turns, "tools": tools}))


LOCS = st.lists(st.one_of(st.integers(0, 10_000), st.text(max_size=8)), max_size=6).map(tuple)


@FAST
@given(LOCS)
def test_a_loc_survives_its_path(loc: tuple[str | int, ...]) -> None:
    path = render_loc(loc)
    assert parse_path(path) == loc
    assert Finding("some_code", "error", path, "m").loc == loc
