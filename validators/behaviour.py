"""Behaviour: does the conversation do what its ``meta.behaviour`` says it teaches, and are its distractors
never called and truly different from the functions they resemble?

From ``meta``: ``behaviour`` (``toolsynth.behaviours``), ``distractors`` (``[{"name", "kind", "resembles"}]``,
kind ``near_miss`` or ``unrelated``), ``missing_functions`` (names withheld from the tools), ``clarify``
(``{"parameter"}``, the required value the user left out) and ``nested_parameters`` (true: some call fills an
object or array-of-objects parameter). Rows without these keys get no findings.

Which subtasks the offered tools cannot serve is the composition check's ``unavailable_subtasks``.
"""

from __future__ import annotations

import re
from typing import Any

from toolsynth.behaviours import BEHAVIOURS
from toolsynth.validators.composition import (
    collect_calls,
    final_answer,
    leaf_values,
    missing_functions,
    text_uses,
    values_flow,
)
from toolsynth.validators.conversation import message_text
from toolsynth.validators.findings import Finding, error, warning
from toolsynth.validators.functions import check_function_specs, function_map, unwrap_tool
from toolsynth.validators.limits import shorten

LIMITATION = re.compile(
    r"\b(?:can(?:'|no|\s+no)t|unable|not\s+able|(?:do|does)\s*(?:n'?t|\s+not)\s+have|no\s+(?:tool|function|way)s?|"
    r"not\s+(?:available|possible|supported)|unfortunately|outside\s+(?:what|my))\b|无法|不能|没有|做不到|不支持|抱歉",
    re.IGNORECASE,
)
"""Words with which an answer says something cannot be done (English and Chinese)."""


def states_limitation(text: str) -> bool:
    """Heuristic: whether `text` says that something cannot be done."""
    return bool(LIMITATION.search(text))


def _normal(text: Any) -> str:
    return re.sub(r"[\W_]+", " ", str(text)).strip().lower()


def near_miss_findings(near: dict[str, Any], original: dict[str, Any], path: str) -> list[Finding]:
    """A near-miss function against the function it resembles: another name, and another job (its description
    differs, and its parameters or its result differ)."""
    name, other = near.get("name"), original.get("name")
    if _normal(name) == _normal(other):
        return [error("near_miss_same_name", path, f"the near-miss {name!r} has the name of {other!r}")]
    same_text = _normal(near.get("description")) == _normal(original.get("description"))
    same_shape = near.get("parameters") == original.get("parameters") and near.get("returns") == original.get("returns")
    if same_text or same_shape:
        what = "description" if same_text else "parameters and result"
        return [
            error(
                "near_miss_same_function",
                path,
                f"the near-miss {name!r} has the same {what} as {other!r}: it must do something else",
            )
        ]
    return []


def _distractors(meta: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    raw = meta.get("distractors")
    return [(k, d) for k, d in enumerate(raw) if isinstance(d, dict)] if isinstance(raw, list) else []


def _distractor_findings(messages: list[Any], meta: dict[str, Any], tools: Any) -> list[Finding]:
    findings: list[Finding] = []
    specs = function_map(tools)
    raw_returns = meta.get("function_returns")
    returns: dict[str, Any] = raw_returns if isinstance(raw_returns, dict) else {}
    names = {}
    for k, d in _distractors(meta):
        name, where = d.get("name"), f"meta.distractors[{k}]"
        if not isinstance(name, str):
            continue
        names[name] = where
        resembles = d.get("resembles")
        if d.get("kind") == "near_miss" and isinstance(resembles, str) and name in specs and resembles in specs:
            near = {**specs[name], "returns": returns.get(name)}
            findings += near_miss_findings(near, {**specs[resembles], "returns": returns.get(resembles)}, where)
    for call in collect_calls(messages):
        if call.name in names:
            findings.append(
                error(
                    "distractor_called", call.path, f"{call.name!r} is a distractor ({names[call.name]}): never call it"
                )
            )
    return findings


def _user_turns(messages: list[Any]) -> list[tuple[int, list[Any]]]:
    """(index of each user message, the messages after it up to the next user message)."""
    starts = [i for i, m in enumerate(messages) if isinstance(m, dict) and m.get("role") == "user"]
    return [(s, messages[s + 1 : e]) for s, e in zip(starts, [*starts[1:], len(messages)], strict=True)]


def _answered(segment: list[Any]) -> bool:
    return any(
        isinstance(m, dict)
        and m.get("role") == "assistant"
        and not m.get("tool_calls")
        and message_text(m.get("content"))
        for m in segment
    )


def _first_assistant(messages: list[Any]) -> tuple[int, dict[str, Any]] | None:
    for i, m in enumerate(messages):
        if isinstance(m, dict) and m.get("role") == "assistant":
            return i, m
    return None


def _clarify_findings(messages: list[Any], meta: dict[str, Any]) -> list[Finding]:
    calls = collect_calls(messages)
    first = _first_assistant(messages)
    if first is None or not calls:
        return [error("clarify_not_asked", "messages", "a clarify sample asks for a missing value, then calls")]
    i, message = first
    asks = not message.get("tool_calls") and any(
        isinstance(m, dict) and m.get("role") == "user" for m in messages[i + 1 : calls[0].message]
    )
    if not asks:
        return [
            error(
                "clarify_not_asked",
                f"messages[{i}]",
                "the assistant's first turn must ask for the missing value (no call), and the user answer it",
            )
        ]
    clarify = meta.get("clarify")
    parameter = clarify.get("parameter") if isinstance(clarify, dict) else None
    start = next(k for k, m in enumerate(messages) if isinstance(m, dict) and m.get("role") == "user")
    text = message_text(messages[start].get("content")) or ""
    for call in calls:
        if call.arguments is not None and isinstance(parameter, str) and parameter in call.arguments:
            value = call.arguments[parameter]
            if leaf_values(value) and text_uses(text, value):
                return [
                    warning(
                        "clarify_value_given",
                        f"messages[{start}].content",
                        f"the opening request already gives {parameter}={value!r}, the value the assistant asks for",
                    )
                ]
            break
    return []


def _follow_up_findings(messages: list[Any]) -> list[Finding]:
    turns = _user_turns(messages)
    answered = [s for s, segment in turns if _answered(segment)]
    if len(answered) < 2:
        return [
            error(
                "follow_up_missing",
                "messages",
                f"a follow_up sample has at least two user requests each answered; {len(answered)} answered",
            )
        ]
    return [
        error("request_unanswered", f"messages[{s}]", "this user request gets no assistant answer")
        for s, segment in turns
        if not _answered(segment)
    ]


def _limitation_findings(messages: list[Any], behaviour: str) -> list[Finding]:
    """A no_call or missing_function sample's final answer says what cannot be done (heuristic)."""
    text = final_answer(messages)
    if text is None or states_limitation(text):
        return []
    return [
        warning(
            "limitation_not_stated",
            f"messages[{len(messages) - 1}].content",
            f"heuristic: a {behaviour} answer says what the offered tools cannot do; this one states no limitation",
        )
    ]


def _follow_up_reuse_findings(messages: list[Any]) -> list[Finding]:
    """A follow_up sample's later request builds on earlier results: a value from a result the assistant had before
    the second request reappears in a later call's arguments or in the final answer (heuristic)."""
    starts = [i for i, m in enumerate(messages) if isinstance(m, dict) and m.get("role") == "user"]
    calls = collect_calls(messages)
    second = next((s for s in starts if any(c.message < s for c in calls)), None)
    if second is None:
        return []
    earlier = [
        c.result for c in calls if c.result is not None and c.result_message is not None and c.result_message < second
    ]
    later_arguments = [c.arguments for c in calls if c.message > second and c.arguments is not None]
    answer = final_answer(messages) or ""
    if any(values_flow(r, a) for r in earlier for a in later_arguments) or any(text_uses(answer, r) for r in earlier):
        return []
    return [
        warning(
            "follow_up_ignores_earlier_results",
            f"messages[{second}]",
            "heuristic: nothing after this follow-up request reuses a value from the results before it",
        )
    ]


def nested_parameters(function: dict[str, Any]) -> set[str]:
    """The names of a function's parameters that take an object or an array of objects."""
    raw = function.get("parameters")
    properties = raw.get("properties") if isinstance(raw, dict) else None
    out = set()
    for name, schema in (properties or {}).items():
        if isinstance(schema, dict) and schema.get("type") == "array":
            schema = schema.get("items")
        if isinstance(schema, dict) and schema.get("type") == "object":
            out.add(str(name))
    return out


def _is_nested_value(value: Any) -> bool:
    return isinstance(value, dict) or (
        isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)
    )


def _nested_findings(messages: list[Any], meta: dict[str, Any], tools: Any) -> list[Finding]:
    """A sample drawn nested (``meta.nested_parameters`` true) that makes calls: one of them fills an object or
    array-of-objects parameter of its function with an object (an array of objects)."""
    calls = collect_calls(messages)
    if meta.get("nested_parameters") is not True or not calls:
        return []
    nested = {name: nested_parameters(spec) for name, spec in function_map(tools).items()}
    for call in calls:
        if call.arguments is not None and any(
            _is_nested_value(call.arguments.get(p)) for p in nested.get(call.name, set())
        ):
            return []
    return [
        error(
            "nested_parameter_unfilled",
            "messages",
            "a nested sample has a call that fills an object or array-of-objects parameter of its function",
        )
    ]


def check_behaviour(messages: Any, meta: Any, tools: Any = None) -> list[Finding]:
    """The conversation against ``meta.behaviour`` and ``meta.distractors`` (absent: no findings)."""
    if not isinstance(meta, dict) or not isinstance(messages, list):
        return []
    findings = _distractor_findings(messages, meta, tools) + _nested_findings(messages, meta, tools)
    if "behaviour" not in meta:
        return findings
    behaviour = meta["behaviour"]
    if behaviour not in BEHAVIOURS:
        known = ", ".join(BEHAVIOURS)
        return [*findings, error("behaviour_unknown", "meta.behaviour", f"{behaviour!r} is not one of {known}")]
    if behaviour == "no_call":
        findings += [
            error("no_call_has_call", c.path, "a no_call sample calls no tool") for c in collect_calls(messages)
        ]
        findings += _limitation_findings(messages, behaviour)
    elif behaviour == "missing_function":
        findings += _limitation_findings(messages, behaviour)
    elif behaviour == "clarify":
        findings += _clarify_findings(messages, meta)
    elif behaviour == "follow_up":
        findings += _follow_up_findings(messages) or _follow_up_reuse_findings(messages)
    offered = {unwrap_tool(t, "")[0].get("name") for t in tools or [] if isinstance(unwrap_tool(t, "")[0], dict)}
    findings += [
        error("missing_function_offered", "meta.missing_functions", f"{name!r} is withheld, yet among the tools")
        for name in sorted(missing_functions(meta) & offered)
    ]
    return findings


def check_near_misses(near_misses: Any, resembles: Any, functions: Any) -> list[Finding]:
    """The ``GenerateNearMisses`` output as JSON: valid specs, each naming (in ``resembles``) a given function it
    resembles, with another name than every given function and another job than the one it resembles."""
    findings = check_function_specs(near_misses, path="near_misses")
    if not isinstance(near_misses, list) or not isinstance(functions, list):
        return findings
    given = {f.get("name"): f for f in functions if isinstance(f, dict)}
    names = resembles if isinstance(resembles, list) else []
    for k, near in enumerate(near_misses):
        if not isinstance(near, dict):
            continue
        where = f"near_misses[{k}]"
        clash = next((n for n in given if _normal(n) == _normal(near.get("name"))), None)
        if clash is not None:
            findings.append(error("near_miss_same_name", f"{where}.name", f"{clash!r} is a function the task needs"))
            continue
        original = names[k] if k < len(names) else None
        if original not in given:
            findings.append(
                error(
                    "near_miss_resembles_unknown",
                    f"resembles[{k}]",
                    f"{shorten(repr(original), 60)} is not one of the given functions: {', '.join(map(str, given))}",
                )
            )
            continue
        findings += near_miss_findings(near, given[original], where)
    return findings
