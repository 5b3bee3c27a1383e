"""Execution findings (rows whose calls ran for real) and the selection of functions from a tool library."""

from __future__ import annotations

import json
from typing import Any

from toolsynth.validators.execution import check_execution
from toolsynth.validators.plan import check_function_selection
from toolsynth.validators.sample import check_sample


def row(result: Any, answer: str, execution: list[dict[str, Any]] | None) -> dict[str, Any]:
    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "get_book", "arguments": json.dumps({"isbn": "978-0-14-143951-8"})},
    }
    meta: dict[str, Any] = {"behaviour": "call"}
    if execution is not None:
        meta["execution"] = execution
    return {
        "id": "r",
        "source_id": "s",
        "messages": [
            {"role": "user", "content": "Look up the book with ISBN 978-0-14-143951-8 and its price."},
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "call_1", "name": "get_book", "content": json.dumps(result)},
            {"role": "assistant", "content": answer},
        ],
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "get_book",
                    "description": "Look up a book.",
                    "parameters": {
                        "type": "object",
                        "properties": {"isbn": {"type": "string", "description": "ISBN"}},
                        "required": ["isbn"],
                    },
                },
            }
        ],
        "meta": meta,
    }


BOOK = {"title": "Pride and Prejudice", "year": 1813, "price_eur": 9.99, "copies": 4}
OK = [{"call_id": "call_1", "name": "get_book", "ok": True}]


def codes_of(r: dict[str, Any]) -> list[str]:
    return [f.code for f in check_execution(r["messages"], r["meta"])]


def test_an_answer_built_on_the_real_results_has_no_findings() -> None:
    answer = "Pride and Prejudice (1813) costs 9.99 EUR, about 10 EUR; 4 copies, 39.96 EUR for all of them."
    assert codes_of(row(BOOK, answer, OK)) == []
    assert [f for f in check_sample(row(BOOK, answer, OK)) if f.severity == "error"] == []


def test_a_number_in_no_result_is_answer_value_unsupported() -> None:
    findings = check_execution(*_parts(row(BOOK, "It costs 12.40 EUR and came out in 1813.", OK)))
    assert [(f.code, f.path) for f in findings] == [("answer_value_unsupported", "messages[3].content")]
    assert "12.40" in findings[0].message


def test_a_call_that_raised_or_timed_out_is_executed_call_raised() -> None:
    for code in ("tool_raised", "tool_timeout", "tool_result_not_json"):
        failure = {"error": {"code": code, "message": "KeyError: 'x'"}}
        r = row(
            failure, "I could not look it up.", [{"call_id": "call_1", "name": "get_book", "ok": False, "error": code}]
        )
        assert codes_of(r) == ["executed_call_raised"]
        assert "executed_call_raised" in [f.code for f in check_sample(r)]


def test_a_call_that_returned_an_error_is_executed_call_failed() -> None:
    refused = {"error": {"code": "tool_http_error", "message": "404 Not Found"}}
    failed = [{"call_id": "call_1", "name": "get_book", "ok": False, "error": "tool_http_error"}]
    assert codes_of(row(refused, "No such book.", failed)) == ["executed_call_failed"]
    assert codes_of(row({"error": "no such book"}, "No such book.", OK)) == ["executed_call_failed"]


def test_rows_without_meta_execution_are_not_checked() -> None:
    assert codes_of(row(BOOK, "It costs 12.40 EUR.", None)) == []
    assert check_execution("not a list", {"execution": OK}) == []


def _parts(r: dict[str, Any]) -> tuple[list[Any], dict[str, Any]]:
    return r["messages"], r["meta"]


LIBRARY = [
    {"name": "search_books", "parameters": {"properties": {"author": {}}}, "returns": {"properties": {"isbn": {}}}},
    {"name": "check_stock", "parameters": {"properties": {"isbn": {}, "shop": {}}}, "returns": {}},
    {"name": "convert_price", "parameters": {"properties": {"price_eur": {}}}, "returns": {}},
]
SUBTASKS = [{"id": 1, "depends_on": []}, {"id": 2, "depends_on": [1]}]


def test_a_selection_names_library_functions_only() -> None:
    chosen = [{"subtask": 1, "function": "search_books"}, {"subtask": 2, "function": "check_stock"}]
    assert check_function_selection(LIBRARY, chosen, SUBTASKS) == []
    invented = [{"subtask": 1, "function": "find_book"}, {"subtask": 2, "function": "check_stock"}]
    findings = check_function_selection(LIBRARY, invented, SUBTASKS)
    assert [(f.code, f.path) for f in findings] == [("function_not_in_library", "subtask_functions[0].function")]


def test_a_selection_is_wired_and_serves_something() -> None:
    unwired = [{"subtask": 1, "function": "search_books"}, {"subtask": 2, "function": "convert_price"}]
    assert [f.code for f in check_function_selection(LIBRARY, unwired, SUBTASKS)] == ["data_flow_unwired"]
    nothing = [{"subtask": 1, "function": None}, {"subtask": 2, "function": None}]
    assert [f.code for f in check_function_selection(LIBRARY, nothing, SUBTASKS)] == ["functions_missing"]
