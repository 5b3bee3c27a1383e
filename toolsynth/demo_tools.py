"""The offline demo model's answers over a user's tool library (`--tools`): any functions, read from their schemas.

A grounded prompt carries the seed's tools (the stages' `tools` input; `SelectFunctions`' `library`). The demo
writes scenarios from their descriptions and tasks that state each argument as `name "value"` after the function's
description, with values its schema offers (`enum`, `examples`, `default`, bounds; a placeholder otherwise).
Compositions chain a function into one that takes a field the first returns ("with the isbn from that result"),
or run two independent calls and compare them. The assistant finds each offered function's description in the
user's words, reads the arguments that follow it, takes missing ones from earlier results, and answers with the
results' own values. Deterministic for a given seed and input, like the rest of the demo.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Mapping
from typing import Any

CHAIN_PHRASE = "with the {} from that result"
REASONING = {"parallel": "compare the two results", "sequential": "tell me what that result says"}
_NAME = re.compile(r'\b(\w+) (?=["{\[\-\d]|true\b|false\b)')
_EXAMPLE = re.compile(r'e\.g\.,?\s+(?:"([^"]+)"|([A-Z][A-Za-z]*(?:, [A-Z][A-Za-z]*)?)\b)')
_DECODER = json.JSONDecoder()


def pairs(text: str) -> list[tuple[str, Any, tuple[int, int]]]:
    """Every `name value` in `text` whose value is JSON (a quoted string, a number, true/false, an object or an
    array), with the value's span."""
    out: list[tuple[str, Any, tuple[int, int]]] = []
    position = 0
    while (match := _NAME.search(text, position)) is not None:
        try:
            value, end = _DECODER.raw_decode(text, match.end())
        except ValueError:
            position = match.end()
            continue
        out.append((match.group(1), value, (match.end(), end)))
        position = end
    return out


def grounded_tools(inputs: Mapping[str, Any], field: str = "tools") -> list[dict[str, Any]] | None:
    """The library functions a prompt is grounded in, or None for a prompt without them."""
    raw = inputs.get(field)
    if not isinstance(raw, list):
        return None
    tools = [_function(t) for t in raw if isinstance(t, dict)]
    named = [t for t in tools if isinstance(t.get("name"), str)]
    return named or None


def _function(tool: dict[str, Any]) -> dict[str, Any]:
    inner = tool.get("function")
    return inner if tool.get("type") == "function" and isinstance(inner, dict) else tool


def clause(fn: Mapping[str, Any]) -> str:
    """The first sentence of the function's description, as a clause: "find the books of an author"."""
    description = str(fn.get("description") or str(fn.get("name", "")).replace("_", " ")).strip()
    first = re.split(r"(?<=[.!?])\s", description, maxsplit=1)[0].rstrip(".!? ")
    return first[:1].lower() + first[1:]


def _properties(fn: Mapping[str, Any], key: str = "parameters") -> dict[str, Any]:
    schema = fn.get(key)
    properties = schema.get("properties") if isinstance(schema, dict) else None
    return properties if isinstance(properties, dict) else {}


def _required(fn: Mapping[str, Any]) -> list[str]:
    schema = fn.get("parameters")
    required = schema.get("required") if isinstance(schema, dict) else None
    return [str(r) for r in required] if isinstance(required, list) else []


def options(schema: Any) -> list[Any]:
    """The values a parameter's schema offers: its enum, examples, default or const, a few numbers in its bounds."""
    if not isinstance(schema, dict):
        return []
    for key in ("enum", "examples"):
        if isinstance(schema.get(key), list) and schema[key]:
            return list(schema[key])
    for key in ("const", "default"):
        if key in schema:
            return [schema[key]]
    described = _EXAMPLE.search(str(schema.get("description") or ""))
    if described and schema.get("type", "string") == "string":  # 'City name, e.g. "Toronto, Canada"'
        return [described.group(1) or described.group(2)]
    kind = schema.get("type")
    if kind == "integer":
        low = int(schema.get("minimum", 1))
        high = int(schema.get("maximum", low + 4))
        return list(range(low, min(high, low + 4) + 1))
    if kind == "number":
        floor, ceiling = float(schema.get("minimum", 0)), float(schema.get("maximum", 1e9))
        return [x for x in (12.5, 20.0, 42.0) if floor <= x <= ceiling] or [floor]
    if kind == "boolean":
        return [True, False]
    if kind == "string" and schema.get("format") == "date":
        return ["2026-03-14", "2026-04-02"]
    return []


def fill(
    fn: Mapping[str, Any], rng: random.Random, *, skip: frozenset[str] = frozenset(), avoid: Mapping[str, Any] = {}
) -> tuple[dict[str, Any], bool]:
    """Values for the function's required parameters (but `skip`), unlike `avoid`'s where there is a choice; and
    whether each came from the schema (False: a placeholder stands in for one)."""
    properties = _properties(fn)
    out: dict[str, Any] = {}
    known = True
    for name in _required(fn):
        if name in skip:
            continue
        offered = options(properties.get(name))
        if not offered:
            out[name], known = f"sample {name}", False
            continue
        different = [o for o in offered if name not in avoid or o != avoid[name]]
        out[name] = rng.choice(different or offered)
    return out, known


def render(fn: Mapping[str, Any], arguments: Mapping[str, Any], tail: str = "") -> str:
    """ "Find the books of an author: author "Jane Austen"" (no closing period)."""
    text = clause(fn)
    pairs = ", ".join(f"{k} {json.dumps(v, ensure_ascii=False)}" for k, v in arguments.items())
    parts = [p for p in (pairs, tail) if p]
    return text + (": " + ", ".join(parts) if parts else "")


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _lower(text: str) -> str:
    return text[:1].lower() + text[1:]


def instances(fn: Mapping[str, Any], text: str, clauses: list[str]) -> list[dict[str, Any]]:
    """The arguments stated after each mention of the function's clause in `text` (up to the next clause)."""
    lowered = text.lower()
    own = clause(fn).lower()
    if not own:
        return []
    starts = sorted({m.start() for c in clauses if c for m in re.finditer(re.escape(c.lower()), lowered)})
    properties = _properties(fn)
    found = []
    for match in re.finditer(re.escape(own), lowered):
        end = next((s for s in starts if s > match.start()), len(text))
        segment = text[match.end() : end]
        arguments: dict[str, Any] = {}
        for name, value, _ in pairs(segment):
            if name in properties and name not in arguments:
                arguments[name] = value
        found.append(arguments)
    return found


def _matched(text: str, tools: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The tool whose clause `text` states (the longest clause first), with the arguments stated after it."""
    clauses = [clause(t) for t in tools]
    for fn in sorted(tools, key=lambda t: -len(clause(t))):
        found = instances(fn, text, clauses)
        if found:
            return fn, found[0]
    return None


# --------------------------------------------------------------------------- the stages


def scenario(tools: list[dict[str, Any]], rng: random.Random) -> str:
    chosen = list(tools)
    rng.shuffle(chosen)
    clauses = [clause(t) for t in chosen[:3]]
    listed = clauses[0] if len(clauses) == 1 else ", ".join(clauses[:-1]) + " and " + clauses[-1]
    return f"Someone who needs help to {listed}."


def scenarios(tools: list[dict[str, Any]], given: str, count: int, rng: random.Random) -> list[str]:
    out: list[str] = []
    for _ in range(count * 4):
        if len(out) >= count:
            break
        text = scenario(tools, rng)
        if text != given.strip() and text not in out:
            out.append(text)
    return out


def _producers_first(tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Tools a composition can start from: those whose required values the schema offers, those that feed another
    tool first."""

    def feeds(fn: dict[str, Any]) -> bool:
        returned = set(_properties(fn, "returns"))
        return any(set(_required(other)) & returned for other in tools if other is not fn)

    probe = random.Random(0)
    offered = [t for t in tools if fill(t, probe)[1]] or tools
    return sorted(offered, key=lambda t: not feeds(t))


def atomic_tasks(tools: list[dict[str, Any]], scenario_text: str, count: int, rng: random.Random) -> list[str]:
    mentioned = [t for t in tools if clause(t).lower() in scenario_text.lower()]
    candidates = _producers_first(mentioned or tools)
    if rng.random() < 0.5:  # half the time any usable tool, not only those that feed another
        rng.shuffle(candidates)
    head = candidates[: max(1, count)]
    rng.shuffle(head)
    tasks: list[str] = []
    for i in range(count):
        fn = head[i % len(head)]
        task = ""
        for _ in range(10):
            task = _capital(render(fn, fill(fn, rng)[0])) + "."
            if task not in tasks:
                break
        tasks.append(task)
    return tasks


def compose(tools: list[dict[str, Any]], task: str, parallel: bool, rng: random.Random) -> dict[str, str]:
    matched = _matched(task, tools)
    if matched is None:
        out = {"subsequent_task": "", "composite_instruction": ""}
        return {**out, "parallel_task": ""} if parallel else out
    fn, arguments = matched
    first = _lower(task.strip().rstrip(".。"))
    if not parallel:
        returned = set(_properties(fn, "returns"))
        consumers = [(b, p) for b in tools if b is not fn for p in _required(b) if p in returned]
        if consumers:
            consumer, field = rng.choice(consumers)
            values, _ = fill(consumer, rng, skip=frozenset({field}))
            then = render(consumer, values, CHAIN_PHRASE.format(field))
        else:
            then = REASONING["sequential"]
        return {"subsequent_task": _capital(then) + ".", "composite_instruction": f"Please {first}, and then {then}."}
    again, _ = fill(fn, rng, avoid=arguments)
    partner = render(fn, again) if again != arguments else ""
    if not partner:
        others = [t for t in _producers_first(tools) if t is not fn]
        if not others:
            return {"parallel_task": "", "subsequent_task": "", "composite_instruction": ""}
        other = rng.choice(others)
        partner = render(other, fill(other, rng)[0])
    reason = REASONING["parallel"]
    return {
        "parallel_task": _capital(partner) + ".",
        "subsequent_task": _capital(reason) + ".",
        "composite_instruction": f"Please {first} and {partner}, then {reason}.",
    }


def feasible(tools: list[dict[str, Any]], steps: list[str]) -> tuple[bool, str]:
    unknown = [
        text
        for text in steps
        if _matched(text, tools) is None and not any(r in text.lower() for r in REASONING.values())
    ]
    if unknown or not steps:
        return False, f"Steps {unknown} are served by none of the tools."
    return True, "Every step is served by one of the tools or reasons over their results."


def select(library: list[dict[str, Any]], subtasks: list[tuple[int, str]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for sid, text in subtasks:
        matched = _matched(text, library)
        out.append({"subtask": sid, "function": matched[0]["name"] if matched else None})
    return out


def withhold(task: str, name: str, vague: str) -> str | None:
    """The task with the first value stated for `name` replaced by `vague` (the first step's, which the clarifying
    question is about), or None when no value is stated for it."""
    stated = [(value, span) for key, value, span in pairs(task) if key == name and not isinstance(value, dict | list)]
    if not stated:
        return None
    value, (start, end) = stated[0]
    if isinstance(value, str):
        start, end = start + 1, end - 1
    return task[:start] + vague + task[end:]


def calls(
    offered: list[dict[str, Any]], text: str, done: list[tuple[str, dict[str, Any], dict[str, Any]]]
) -> tuple[list[dict[str, Any]], bool, bool]:
    """(calls to make now, whether any offered tool serves the request, whether a call waits for a result)."""
    clauses = [clause(fn) for fn in offered]
    pending: list[dict[str, Any]] = []
    usable = waiting = False
    for fn in offered:
        required = _required(fn)
        for stated in instances(fn, text, clauses):
            usable = True
            arguments = dict(stated)
            missing = [p for p in required if p not in arguments]
            if missing:
                feeds = [result for _, _, result in done if all(p in result for p in missing)]
                if not feeds:
                    waiting = True
                    continue
                arguments.update({p: feeds[-1][p] for p in missing})
            name = str(fn["name"])
            if (
                not any(n == name and a == arguments for n, a, _ in done)
                and {"name": name, "arguments": arguments} not in pending
            ):
                pending.append({"name": name, "arguments": arguments})
    return pending, usable, waiting


def summary(fn: Mapping[str, Any], result: dict[str, Any]) -> str:
    """One sentence built only from the result's own values."""
    failure = result.get("error")
    if failure is not None:
        message = failure.get("message") if isinstance(failure, dict) else failure
        return f"I could not {clause(fn)}: {message}."
    facts = []
    for key, value in result.items():
        if isinstance(value, list):
            value = "; ".join(json.dumps(v, ensure_ascii=False) if not isinstance(v, str) else v for v in value)
        elif isinstance(value, dict):
            continue
        facts.append(f"{key.replace('_', ' ')} {json.dumps(value) if isinstance(value, bool) else value}")
    return f"To {clause(fn)}: " + ", ".join(facts) + "." if facts else f"Done: {clause(fn)}."
