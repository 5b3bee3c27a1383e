"""Validation never fetches, hangs, recurses without bound or raises."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.validators.rows import params, sequential_row, spec, tool
from toolsynth.validators import check_arguments, check_function_spec, check_result, check_sample, codes
from toolsynth.validators.limits import unsafe_pattern_reason


@pytest.fixture
def server() -> Iterator[tuple[str, list[str]]]:
    """A local HTTP server that serves a schema and records every request it receives."""
    requests: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            requests.append(self.path)
            body = json.dumps({"type": "string"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/schema+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", requests
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_remote_refs_are_never_fetched(server: tuple[str, list[str]]) -> None:
    base, requests = server
    remote = params(city={"$ref": f"{base}/city.json", "description": "c"}, unit={"type": "string", "description": "u"})
    remote["parameters"]["$defs"] = {"x": {"$ref": f"{base}/x.json"}}
    remote["returns"] = {"$ref": f"{base}/returns.json"}
    dialect = spec(parameters={"$schema": f"{base}/meta", "type": "object"})
    relative = spec(
        parameters={
            "$id": f"{base}/params",
            "type": "object",
            "properties": {"a": {"$ref": "sibling.json", "description": "a"}},
        }
    )

    assert "remote_ref" in codes(check_function_spec(remote))
    assert codes(check_arguments(remote, {"city": "Paris"})) == ["remote_ref"]
    assert codes(check_result(remote["returns"], {"t": 1})) == ["remote_ref"]
    assert codes(check_function_spec(dialect)) == ["schema_dialect_unknown"]
    assert check_arguments(dialect, {}) == []
    assert "remote_ref" in codes(check_function_spec(relative))
    assert codes(check_arguments(relative, {"a": 1})) == ["remote_ref"]
    row = sequential_row()
    row["tools"][0] = tool(remote)
    assert "remote_ref" in codes(check_sample(row))
    time.sleep(0.05)
    assert requests == []


def test_meta_schema_refs_resolve_offline() -> None:
    schema = {
        "type": "object",
        "properties": {"s": {"$ref": "https://json-schema.org/draft/2020-12/schema", "description": "a schema"}},
    }
    assert check_function_spec(spec(parameters=schema)) == []
    assert check_arguments(spec(parameters=schema), {"s": {"type": "string"}}) == []
    assert codes(check_arguments(spec(parameters=schema), {"s": {"type": 5}})) == ["arguments_schema_violation"]


@pytest.mark.parametrize(
    "pattern",
    ["(a+)+$", "(a*)*b", "(a|aa)+$", "(\\w+\\s?)*$", "((ab)*)+", "(.|x)*y", "(a)\\1", "(x+){10}", "(a?)+"],
)
def test_catastrophic_patterns_are_flagged(pattern: str) -> None:
    assert unsafe_pattern_reason(pattern) is not None


@pytest.mark.parametrize(
    "pattern",
    [
        "^[a-z]+$",
        "^\\d{3}-\\d{4}$",
        "^(\\d{3}-)+$",
        "^\\+?\\d{1,3}(-\\d{3}){2}$",
        "(foo|bar)+",
        "^[A-Z]{2}\\d+$",
        "^(?:[a-z0-9-]+\\.)*[a-z]{2,}$",
        "[(]a+[)]+",
        "^(\\d+)?$",
        "^[^@]+@[^@]+$",
    ],
)
def test_ordinary_patterns_are_not_flagged(pattern: str) -> None:
    assert unsafe_pattern_reason(pattern) is None


def test_unsafe_pattern_is_skipped_during_validation_quickly() -> None:
    evil = params(s={"type": "string", "pattern": "^(a+)+$", "description": "s"})
    start = time.perf_counter()
    findings = check_arguments(evil, {"s": "a" * 5000 + "!"})
    assert codes(findings) == ["pattern_skipped"] and findings[0].severity == "warning"
    assert time.perf_counter() - start < 1


def test_slow_pattern_that_escapes_the_heuristic_times_out() -> None:
    subtle = params(s={"type": "string", "pattern": "^([a-z]|\\w)*$", "description": "s"})
    assert unsafe_pattern_reason("^([a-z]|\\w)*$") is None
    start = time.perf_counter()
    findings = check_arguments(subtle, {"s": "a" * 5000 + "!"})
    assert codes(findings) == ["validation_timeout"]
    assert time.perf_counter() - start < 2
    assert check_arguments(subtle, {"s": "abc"}) == []


def test_pattern_properties_are_guarded_too() -> None:
    schema = {"type": "object", "patternProperties": {"^(a+)+$": {"type": "integer"}, "^b": {"type": "integer"}}}
    findings = check_arguments(spec(parameters=schema), {"a" * 50 + "!": 1, "bx": "no"})
    assert sorted(codes(findings)) == ["arguments_schema_violation", "pattern_skipped"]


def nested(depth: int, leaf: Any = 1) -> Any:
    value = leaf
    for _ in range(depth):
        value = {"a": value}
    return value


def test_deep_arguments_and_results_give_findings_not_recursion_errors() -> None:
    for depth in (40, 5_000, 200_000):
        assert codes(check_arguments(spec(), nested(depth))) == ["instance_too_deep"]
        assert codes(check_result({"type": "object"}, nested(depth))) == ["instance_too_deep"]
    text = "[" * 600_000 + "]" * 600_000
    assert codes(check_result({"type": "array"}, text)) == ["instance_too_large"]
    assert codes(check_result({"type": "array"}, "[" * 100_000)) == ["instance_too_deep"]
    assert codes(check_arguments(spec(), '{"a":' * 10_000 + "1" + "}" * 10_000)) == ["instance_too_deep"]


def test_deep_and_huge_schemas_are_refused_before_validation() -> None:
    deep = {"type": "object", "properties": {"x": nested(5_000, {"type": "string"})}}
    assert "schema_too_deep" in codes(check_function_spec(spec(parameters=deep)))
    assert codes(check_arguments(spec(parameters=deep), {"x": 1})) == ["arguments_unchecked"]
    huge = {"type": "object", "properties": {f"p{i}": {"type": "string", "description": "p"} for i in range(3000)}}
    assert codes(check_function_spec(spec(parameters=huge))) == ["schema_too_large"]


def test_ref_cycles_are_findings() -> None:
    looping = spec(
        parameters={
            "type": "object",
            "$defs": {"a": {"$ref": "#/$defs/a"}},
            "properties": {"x": {"$ref": "#/$defs/a", "description": "x"}},
        }
    )
    assert "ref_cycle" in codes(check_function_spec(looping))
    assert codes(check_arguments(looping, {"x": 1})) == ["validation_aborted"]


def test_deeply_nested_rows_do_not_crash() -> None:
    row = sequential_row()
    row["messages"].insert(2, {"role": "user", "content": nested(100_000)})
    row["meta"]["subtasks"][0]["instruction"] = nested(100_000)
    assert "content_invalid" in codes(check_sample(row))
    row = sequential_row()
    row["tools"][0]["function"]["parameters"]["properties"]["city"] = nested(100_000, {"type": "string"})
    assert "schema_too_deep" in codes(check_sample(row))
