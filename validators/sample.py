"""One training row, whole: shape, function specs, conversation, composition; and ShareGPT rows.

``check_sample`` takes the canonical OpenAI row ``{id, source_id, messages, tools, meta}``;
``returns`` schemas may sit on the tool (``tools[i].function.returns``) or in
``meta.function_returns[name]``. ``check_sharegpt_row`` converts a LLaMA-Factory ShareGPT row to that
shape first; its findings' paths then point into the converted row (``messages[...]``), except
conversion findings, which point into ``conversations[...]``.
"""

from __future__ import annotations

import json
from typing import Any

from toolsynth.validators.behaviour import check_behaviour
from toolsynth.validators.composition import check_composition
from toolsynth.validators.conversation import check_conversation
from toolsynth.validators.execution import check_execution
from toolsynth.validators.findings import Finding, error, warning
from toolsynth.validators.functions import (
    check_function_specs,
    check_schema,
    normalize_function_spec,
    unwrap_tool,
)
from toolsynth.validators.limits import JsonParseError, join_path, non_finite_findings, parse_json, shorten


def _effective_tools(tools: Any, meta: Any, dialects: bool) -> list[dict[str, Any]]:
    """Tools as wrappers around (normalised) function objects, with ``returns`` from meta filled in."""
    returns = meta.get("function_returns") if isinstance(meta, dict) else None
    returns = returns if isinstance(returns, dict) else {}
    out: list[dict[str, Any]] = []
    for tool in tools if isinstance(tools, list) else []:
        inner, _ = unwrap_tool(tool, "")
        if dialects:
            inner, _ = normalize_function_spec(inner)
        if not isinstance(inner, dict):
            continue
        name = inner.get("name")
        if "returns" not in inner and isinstance(name, str) and name in returns:
            inner = {**inner, "returns": returns[name]}
        out.append({"type": "function", "function": inner})
    return out


def _meta_returns_findings(meta: dict[str, Any], names: set[str]) -> list[Finding]:
    returns = meta.get("function_returns")
    if returns is None:
        return []
    if not isinstance(returns, dict):
        return [error("meta_invalid", "meta.function_returns", "must map function names to JSON Schemas")]
    findings: list[Finding] = []
    for name, schema in returns.items():
        where = join_path("meta.function_returns", [name])
        if name not in names:
            findings.append(warning("returns_unknown_function", where, f"{name!r} is not a declared tool"))
        findings += check_schema(schema, where, "returns_schema_invalid")
    return findings


def check_sample(row: Any, *, dialects: bool = True) -> list[Finding]:
    """Everything about one OpenAI-format row; with ``dialects`` known spec dialects are normalised first."""
    if not isinstance(row, dict):
        return [error("row_not_object", "", f"a row must be a JSON object, not {type(row).__name__}")]
    findings: list[Finding] = []
    tools = row.get("tools")
    if tools is not None:
        findings += check_function_specs(tools, "tools", dialects=dialects)
    meta = row.get("meta")
    if meta is not None and not isinstance(meta, dict):
        findings.append(error("meta_invalid", "meta", f"must be an object, not {type(meta).__name__}"))
        meta = None
    effective = _effective_tools(tools, meta, dialects)
    if meta is not None:
        names = {t["function"].get("name") for t in effective}
        findings += _meta_returns_findings(meta, {n for n in names if isinstance(n, str)})
    messages = row.get("messages")
    findings += check_conversation(messages, effective if tools is not None else None)
    findings += check_composition(messages, meta, effective if tools is not None else None)
    findings += check_behaviour(messages, meta, effective if tools is not None else None)
    findings += check_execution(messages, meta)
    # NaN/Infinity anywhere in the row; those inside tools and arguments objects are already reported.
    reported = set(findings)
    return findings + [f for f in non_finite_findings(row, "") if f not in reported]


# --- ShareGPT (LLaMA-Factory) --------------------------------------------------------------------

_SHAREGPT_ROLES = {"human": "user", "gpt": "assistant", "system": "system"}


def _sharegpt_tools(raw: Any) -> tuple[list[dict[str, Any]] | None, list[Finding]]:
    if raw is None or raw == "":
        return None, []
    if isinstance(raw, str):
        try:
            raw = parse_json(raw)
        except JsonParseError as exc:
            return None, [error("sharegpt_tools_invalid", "tools", shorten(f"tools text {exc}"))]
    if not isinstance(raw, list):
        return None, [error("sharegpt_tools_invalid", "tools", "must be a JSON list of function objects")]
    return [
        t if isinstance(t, dict) and "function" in t and "name" not in t else {"type": "function", "function": t}
        for t in raw
    ], []


def _calls_from(value: str, path: str, counter: int) -> tuple[list[dict[str, Any]], list[Finding]]:
    try:
        parsed = parse_json(value)
    except JsonParseError as exc:
        return [], [error("sharegpt_function_call_invalid", path, shorten(f"function_call value {exc}"))]
    items = parsed if isinstance(parsed, list) else [parsed]
    calls: list[dict[str, Any]] = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            return [], [error("sharegpt_function_call_invalid", path, 'must be {"name": ..., "arguments": {...}}')]
        arguments = item.get("arguments", {})
        text = arguments if isinstance(arguments, str) else json.dumps(arguments, ensure_ascii=False)
        counter += 1
        calls.append(
            {"id": f"call_{counter}", "type": "function", "function": {"name": item["name"], "arguments": text}}
        )
    return calls, []


def sharegpt_to_openai(row: Any) -> tuple[dict[str, Any] | None, list[Finding]]:
    """A LLaMA-Factory ShareGPT row as an OpenAI row (call ids ``call_<n>``), with conversion findings."""
    if not isinstance(row, dict) or not isinstance(row.get("conversations"), list):
        return None, [error("sharegpt_row_invalid", "", 'a ShareGPT row is an object with a "conversations" list')]
    tools, findings = _sharegpt_tools(row.get("tools"))
    messages: list[dict[str, Any]] = []
    if isinstance(row.get("system"), str) and row["system"].strip():
        messages.append({"role": "system", "content": row["system"]})
    counter = 0
    waiting: list[tuple[str, str]] = []  # (id, name) of calls not yet answered by an observation
    for k, turn in enumerate(row["conversations"]):
        path = f"conversations[{k}]"
        if not isinstance(turn, dict) or not isinstance(turn.get("value"), str):
            findings.append(error("sharegpt_turn_invalid", path, 'a turn is {"from": ..., "value": "<text>"}'))
            continue
        source, value = turn.get("from"), turn["value"]
        if source in _SHAREGPT_ROLES:
            messages.append({"role": _SHAREGPT_ROLES[source], "content": value})
        elif source == "function_call":
            calls, problems = _calls_from(value, f"{path}.value", counter)
            findings += problems
            if calls:
                counter += len(calls)
                waiting = [(c["id"], c["function"]["name"]) for c in calls]
                messages.append({"role": "assistant", "content": None, "tool_calls": calls})
        elif source == "observation":
            messages += _observations(value, waiting, k)
        else:
            known = "human, gpt, function_call, observation or system"
            findings.append(
                error("sharegpt_role_invalid", f"{path}.from", f"{shorten(repr(source), 40)} is not one of {known}")
            )
    out: dict[str, Any] = {"id": row.get("id"), "messages": messages}
    if tools is not None:
        out["tools"] = tools
    return out, findings


def _observations(value: str, waiting: list[tuple[str, str]], k: int) -> list[dict[str, Any]]:
    """Tool messages for one observation: one per waiting call when it is a list of as many results."""
    if len(waiting) > 1:
        try:
            parts = parse_json(value)
        except JsonParseError:
            parts = None
        if isinstance(parts, list) and len(parts) == len(waiting):
            out = [
                {"role": "tool", "tool_call_id": cid, "name": name, "content": json.dumps(part, ensure_ascii=False)}
                for (cid, name), part in zip(waiting, parts, strict=True)
            ]
            waiting.clear()
            return out
    if not waiting:
        return [{"role": "tool", "tool_call_id": f"unmatched_{k}", "content": value}]
    cid, name = waiting.pop(0)
    return [{"role": "tool", "tool_call_id": cid, "name": name, "content": value}]


def check_sharegpt_row(row: Any) -> list[Finding]:
    """A ShareGPT row: conversion findings plus ``check_sample`` on the converted row."""
    converted, findings = sharegpt_to_openai(row)
    if converted is None:
        return findings
    return findings + check_sample(converted)
