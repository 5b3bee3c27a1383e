"""Execution: the calls a sample made for real (`--tools`), checked as APIGen's second layer does.

``check_execution(messages, meta)`` reads ``meta.execution`` (the executed calls: ``call_id``, ``name``, ``ok`` and,
when a call failed, its ``error`` code; written by the pipeline when it runs a tool library) with the tool messages
that answer those calls. Rows without ``meta.execution`` get no findings: their results were simulated.

- A call whose implementation raised, timed out or returned something that is not JSON
  (``tool_raised``, ``tool_timeout``, ``tool_result_not_json``) is ``executed_call_raised``.
- A call that came back as an error while the task expected success (an HTTP error status, arguments the tool
  refused, or a result object with a top-level ``error``) is ``executed_call_failed``. Every behaviour the
  pipeline writes expects its calls to succeed.
- A number in an assistant answer that is in none of the real results, the users' messages or the calls'
  arguments, and is no sum, difference, product or ratio of two result numbers (nor a count up to 10), is
  ``answer_value_unsupported``: a value the answer made up.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from toolsynth.validators.composition import collect_calls, leaf_values
from toolsynth.validators.conversation import message_text
from toolsynth.validators.findings import Finding, error

RAISED_ERRORS = frozenset({"tool_raised", "tool_timeout", "tool_result_not_json"})
"""`ToolOutcome.error` codes of a call that did not return normally."""
NUMBER = re.compile(r"\d+(?:,\d{3})*(?:\.\d+)?")
SMALL_COUNTS = 10
MAX_RESULT_NUMBERS = 80
"""Bounds the pairwise arithmetic (80² pairs at most)."""


def check_execution(messages: Any, meta: Any) -> list[Finding]:
    """Raised and failed executed calls, and answer numbers the real results do not support."""
    if not isinstance(meta, dict) or not isinstance(meta.get("execution"), list) or not isinstance(messages, list):
        return []
    executed = {e["call_id"]: e for e in meta["execution"] if isinstance(e, dict) and isinstance(e.get("call_id"), str)}
    findings: list[Finding] = []
    calls = collect_calls(messages)
    for call in calls:
        record = executed.get(call.id or "")
        if record is None or call.result_message is None:
            continue
        where = f"messages[{call.result_message}].content"
        code = record.get("error")
        if not record.get("ok") and code in RAISED_ERRORS:
            findings.append(error("executed_call_raised", where, f"{call.name} did not return ({code}): {_said(call)}"))
        elif not record.get("ok") or (isinstance(call.result, dict) and "error" in call.result):
            findings.append(
                error(
                    "executed_call_failed",
                    where,
                    f"{call.name} returned an error where the task expects success: {_said(call)}",
                )
            )
    if executed:
        findings += _unsupported_numbers(messages, calls)
    return findings


def _said(call: Any) -> str:
    text = json.dumps(call.result, ensure_ascii=False) if not isinstance(call.result, str) else call.result
    return text if len(text) <= 200 else text[:200] + "..."


def _unsupported_numbers(messages: list[Any], calls: list[Any]) -> list[Finding]:
    results = _numbers_in([c.result for c in calls if c.result is not None])
    given = _numbers_in([c.arguments for c in calls if c.arguments is not None])
    for m in messages:
        if isinstance(m, dict) and m.get("role") in ("user", "system"):
            given += _numbers_of_text(message_text(m.get("content")) or "")
    supported = results + given
    derived = _derived(results[:MAX_RESULT_NUMBERS])
    findings: list[Finding] = []
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or m.get("role") != "assistant" or m.get("tool_calls"):
            continue
        text = message_text(m.get("content")) or ""
        for raw in NUMBER.findall(text):
            value = float(raw.replace(",", ""))
            decimals = len(raw.split(".", 1)[1]) if "." in raw else 0
            if value <= SMALL_COUNTS and value.is_integer():
                continue
            if any(_matches(value, decimals, s) for s in supported) or any(
                _matches(value, decimals, d) for d in derived
            ):
                continue
            findings.append(
                error(
                    "answer_value_unsupported",
                    f"messages[{i}].content",
                    f"{raw} is in no tool result, request or argument, nor derived from two results",
                )
            )
    return findings


def _numbers_in(values: list[Any]) -> list[float]:
    out: list[float] = []
    for value in values:
        for leaf in leaf_values(value):
            out += _numbers_of_text(leaf) if isinstance(leaf, str) else [leaf]
    return out


def _numbers_of_text(text: str) -> list[float]:
    return [float(raw.replace(",", "")) for raw in NUMBER.findall(text)]


def _derived(numbers: list[float]) -> list[float]:
    out: list[float] = []
    for i, a in enumerate(numbers):
        for b in numbers[i + 1 :]:
            out += [a + b, abs(a - b), a * b]
            out += [a / b] if b else []
            out += [b / a] if a else []
    return [x for x in out if math.isfinite(x)]


def _matches(value: float, decimals: int, candidate: float) -> bool:
    """The answer's number is the candidate, or the candidate rounded to the answer's decimals."""
    candidate = abs(candidate)
    return math.isclose(value, candidate, rel_tol=1e-9, abs_tol=1e-9) or math.isclose(
        value, round(candidate, decimals), rel_tol=1e-9, abs_tol=1e-9
    )
