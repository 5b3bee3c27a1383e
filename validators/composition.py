"""Composition: does the conversation carry out the composite task recorded in ``meta``?

From ``meta.subtasks`` (id, depends_on, function or null) and ``meta.strategy``: every subtask with a
function is served by a call to it; a dependent call comes after the results it needs; values from a
result reach the dependent call's arguments (heuristic); independent subtasks of a
``parallel_then_sequential`` task are called together; the final answer uses the results (heuristic).
Rows without ``meta.subtasks`` (other datasets) get no findings. Subtasks the offered tools cannot serve
(``unavailable_subtasks``: every one of a ``no_call`` row, those needing a function in ``meta.missing_functions``
and what depends on them) are not checked.

Which call serves which subtask, what a subtask's result flows to and what the final answer is are decided here
once, by the public helpers (``read_subtasks``, ``collect_calls``, ``assign_calls``, ``function_dependencies``,
``dependents``, ``final_answer``); the eval metrics score a row with the same helpers.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from toolsynth.validators.calls import parse_arguments
from toolsynth.validators.conversation import message_text
from toolsynth.validators.findings import Finding, Loc, error, render_loc, warning
from toolsynth.validators.functions import function_map
from toolsynth.validators.limits import JsonParseError, parse_json

MAX_SUBTASKS = 100
MAX_LEAVES = 500
_NUMBER = re.compile(r"-?\d+(?:,\d{3})*(?:\.\d+)?")


@dataclass
class Call:
    """One call in the conversation, with where it was issued and where (if anywhere) it was answered."""

    message: int
    index: int
    id: str | None
    name: str
    arguments: dict[str, Any] | None
    result_message: int | None = None
    result: Any = None

    @property
    def loc(self) -> Loc:
        return ("messages", self.message, "tool_calls", self.index)

    @property
    def result_loc(self) -> Loc | None:
        """Where the tool message answering this call is (None: unanswered)."""
        return None if self.result_message is None else ("messages", self.result_message)

    @property
    def path(self) -> str:
        return render_loc(self.loc)


@dataclass
class Subtask:
    """One entry of ``meta.subtasks``: its position in the list, id, function (None: reasoning) and dependencies."""

    position: int
    id: int
    function: str | None
    depends_on: list[int]
    instruction: str = ""

    @property
    def path(self) -> str:
        return f"meta.subtasks[{self.position}]"


# --- reading the row -----------------------------------------------------------------------------


def collect_calls(messages: list[Any]) -> list[Call]:
    """Every well-formed call, in order, joined with the tool message that answers it."""
    calls: list[Call] = []
    by_id: dict[str, Call] = {}
    for i, msg in enumerate(messages):
        if not isinstance(msg, dict):
            continue
        if msg.get("role") == "assistant" and isinstance(msg.get("tool_calls"), list):
            for j, raw in enumerate(msg["tool_calls"]):
                fn = raw.get("function") if isinstance(raw, dict) else None
                if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
                    continue
                call_id = raw.get("id") if isinstance(raw.get("id"), str) else None
                arguments, _ = parse_arguments(fn.get("arguments"))
                call = Call(i, j, call_id, fn["name"], arguments)
                calls.append(call)
                if call_id is not None:
                    by_id.setdefault(call_id, call)
        elif msg.get("role") == "tool" and isinstance(msg.get("tool_call_id"), str):
            answered = by_id.get(msg["tool_call_id"])
            if answered is not None and answered.result_message is None:
                answered.result_message = i
                answered.result = _loaded(message_text(msg.get("content")))
    return calls


def _loaded(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return parse_json(text)
    except JsonParseError:
        return text


def read_subtasks(meta: dict[str, Any]) -> tuple[list[Subtask], list[Finding]]:
    """The well-formed subtasks of ``meta.subtasks``, and ``meta_invalid`` findings for the rest."""
    raw = meta.get("subtasks")
    if not isinstance(raw, list) or len(raw) > MAX_SUBTASKS:
        return [], [error("meta_invalid", "meta.subtasks", f"must be a list of at most {MAX_SUBTASKS} subtasks")]
    subtasks: list[Subtask] = []
    findings: list[Finding] = []
    for k, item in enumerate(raw):
        where = f"meta.subtasks[{k}]"
        sid = item.get("id") if isinstance(item, dict) else None
        if not isinstance(sid, int) or isinstance(sid, bool):
            findings.append(error("meta_invalid", where, "a subtask needs an integer id"))
            continue
        function = item.get("function")
        deps = item.get("depends_on", [])
        if (function is not None and not isinstance(function, str)) or not isinstance(deps, list):
            findings.append(error("meta_invalid", where, "function must be a name or null; depends_on a list of ids"))
            continue
        instruction = item.get("instruction")
        subtasks.append(
            Subtask(
                k,
                sid,
                function,
                [d for d in deps if isinstance(d, int)],
                instruction if isinstance(instruction, str) else "",
            )
        )
    ids = {s.id for s in subtasks}
    if len(ids) < len(subtasks):
        findings.append(error("meta_invalid", "meta.subtasks", "subtask ids must be unique"))
    for s in subtasks:
        for d in s.depends_on:
            if d not in ids or d == s.id:
                findings.append(error("meta_invalid", f"{s.path}.depends_on", f"{d} is not another subtask's id"))
    if not findings and _has_cycle(subtasks):
        findings.append(error("meta_invalid", "meta.subtasks", "the dependencies form a cycle"))
    return subtasks, findings


def _has_cycle(subtasks: list[Subtask]) -> bool:
    deps = {s.id: set(s.depends_on) for s in subtasks}
    done: set[int] = set()
    while len(done) < len(deps):
        ready = [sid for sid, ds in deps.items() if sid not in done and ds <= done]
        if not ready:
            return True
        done.update(ready)
    return False


# --- value matching (the heuristics) -------------------------------------------------------------


def leaf_values(value: Any) -> list[str | float]:
    """Strings and numbers inside a JSON value (booleans and nulls carry no identifying data)."""
    out: list[str | float] = []
    stack = [value]
    while stack and len(out) < MAX_LEAVES:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str) and item.strip():
            out.append(item.strip().casefold())
        elif isinstance(item, (int, float)) and not isinstance(item, bool) and math.isfinite(item):
            out.append(float(item))
    return out


def _as_number(text: str) -> float | None:
    try:
        number = float(text.replace(",", ""))
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _same_number(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def _number_text(x: float) -> str:
    return str(int(x)) if x.is_integer() else repr(x)


def values_flow(source: Any, target: Any) -> bool:
    """Some value of ``source`` (a result) reappears in ``target`` (arguments)."""
    targets = leaf_values(target)
    for s in leaf_values(source):
        for t in targets:
            if isinstance(s, str) and isinstance(t, str):
                if s == t or (len(s) >= 3 and s in t) or (len(t) >= 3 and t in s):
                    return True
            elif isinstance(s, float) and isinstance(t, float):
                if _same_number(s, t):
                    return True
            elif isinstance(s, float) and isinstance(t, str):
                if _number_text(s) in t:
                    return True
            elif isinstance(s, str) and isinstance(t, float):
                number = _as_number(s)
                if number is not None and _same_number(number, t):
                    return True
    return False


def text_uses(text: str, value: Any) -> bool:
    """Some value of ``value`` appears in ``text`` (numbers also when rounded to 0-2 decimals)."""
    folded = text.casefold()
    numbers = [n for n in (_as_number(m) for m in _NUMBER.findall(text)) if n is not None]
    for leaf in leaf_values(value):
        if isinstance(leaf, str):
            if len(leaf) >= 3 and leaf in folded:
                return True
            leaf_number = _as_number(leaf)
            if leaf_number is not None and any(_same_number(leaf_number, n) for n in numbers):
                return True
        elif any(_same_number(round(leaf, k), n) for n in numbers for k in (0, 1, 2)) or any(
            _same_number(leaf, n) for n in numbers
        ):
            return True
    return False


def behaviour_of(meta: Any) -> str:
    """The row's behaviour; ``call`` when ``meta`` does not say."""
    behaviour = meta.get("behaviour") if isinstance(meta, dict) else None
    return behaviour if isinstance(behaviour, str) else "call"


def missing_functions(meta: Any) -> set[str]:
    names = meta.get("missing_functions") if isinstance(meta, dict) else None
    return {n for n in names if isinstance(n, str)} if isinstance(names, list) else set()


def unavailable_subtasks(subtasks: list[Subtask], meta: Any) -> set[int]:
    """Ids of the subtasks no offered tool can serve, with every subtask that depends on one of them."""
    if behaviour_of(meta) == "no_call":
        return {s.id for s in subtasks}
    missing = missing_functions(meta)
    out = {s.id for s in subtasks if s.function is not None and s.function in missing}
    changed = True
    while changed:
        changed = False
        for s in subtasks:
            if s.id not in out and any(d in out for d in s.depends_on):
                out.add(s.id)
                changed = True
    return out


# --- the checks ----------------------------------------------------------------------------------


def function_dependencies(subtask: Subtask, by_id: dict[int, Subtask]) -> set[int]:
    """Ids of the subtasks with functions whose results ``subtask`` consumes, looking through reasoning ones (a
    dependency on a call-free subtask is a dependency on what that subtask depends on)."""
    out: set[int] = set()
    stack = list(subtask.depends_on)
    seen: set[int] = set()
    while stack:
        d = stack.pop()
        if d in seen or d not in by_id:
            continue
        seen.add(d)
        if by_id[d].function is not None:
            out.add(d)
        else:
            stack.extend(by_id[d].depends_on)
    return out


def dependents(subtask: Subtask, subtasks: list[Subtask]) -> list[Subtask]:
    """The subtasks with functions that consume ``subtask``'s result, directly or through reasoning subtasks."""
    by_id = {s.id: s for s in subtasks}
    return [s for s in subtasks if s.function is not None and subtask.id in function_dependencies(s, by_id)]


def assign_calls(subtasks: list[Subtask], calls: list[Call]) -> dict[int, Call]:
    """The call serving each subtask with a function (by subtask id): in id order, the k-th subtask using a
    function is served by the k-th call to it, and by the last call to it when there are fewer calls (one call
    can serve two subtasks that ask the same). A subtask whose function is never called is not in the map."""
    by_name: dict[str, list[Call]] = {}
    for call in calls:
        by_name.setdefault(call.name, []).append(call)
    served: dict[int, Call] = {}
    used: dict[str, int] = {}
    for s in sorted(subtasks, key=lambda s: s.id):
        candidates = by_name.get(s.function or "", [])
        if s.function is None or not candidates:
            continue
        k = used.get(s.function, 0)
        served[s.id] = candidates[min(k, len(candidates) - 1)]
        used[s.function] = k + 1
    return served


def _unserved(subtasks: list[Subtask], served: dict[int, Call]) -> list[Finding]:
    return [
        error("subtask_not_served", s.path, f"subtask {s.id} needs a call to {s.function!r}, and there is none")
        for s in sorted(subtasks, key=lambda s: s.id)
        if s.function is not None and s.id not in served
    ]


def _order_and_flow(subtasks: list[Subtask], served: dict[int, Call]) -> list[Finding]:
    by_id = {s.id: s for s in subtasks}
    findings: list[Finding] = []
    for s in subtasks:
        call = served.get(s.id)
        if call is None:
            continue
        for d in sorted(function_dependencies(s, by_id)):
            needed = served.get(d)
            if needed is None or needed is call:
                continue
            if needed.result_message is None or call.message < needed.result_message:
                findings.append(
                    error(
                        "dependency_order_violated",
                        call.path,
                        f"subtask {s.id} ({s.function}) is called before the result of subtask {d} "
                        f"({needed.name}, {needed.path}) it depends on",
                    )
                )
            elif (
                d in s.depends_on
                and call.arguments is not None
                and needed.result is not None
                and not values_flow(needed.result, call.arguments)
            ):
                findings.append(
                    warning(
                        "data_flow_missing",
                        f"{call.path}.function.arguments",
                        f"heuristic: no value from the result of subtask {d} ({needed.name}) "
                        f"appears in the arguments of subtask {s.id} ({s.function})",
                    )
                )
    return findings


def _parallel_groups(subtasks: list[Subtask], served: dict[int, Call]) -> list[Finding]:
    """Subtasks with functions at the same dependency level should be called in one assistant message."""
    by_id = {s.id: s for s in subtasks}
    level: dict[int, int] = {}
    pending = [s for s in subtasks if s.function is not None]
    while pending:
        progressed = False
        for s in list(pending):
            deps = function_dependencies(s, by_id)
            if deps <= level.keys():
                level[s.id] = 1 + max((level[d] for d in deps), default=-1)
                pending.remove(s)
                progressed = True
        if not progressed:
            break
    groups: dict[int, list[int]] = {}
    for sid, lv in level.items():
        groups.setdefault(lv, []).append(sid)
    findings: list[Finding] = []
    for lv, members in sorted(groups.items()):
        calls = [served[m] for m in sorted(members) if m in served]
        messages = sorted({c.message for c in calls})
        if len(calls) >= 2 and len(messages) > 1:
            findings.append(
                warning(
                    "parallel_not_grouped",
                    calls[0].path,
                    f"independent subtasks {sorted(members)} (step {lv + 1}) are called in "
                    f"{len(messages)} assistant messages; issue them together as parallel calls",
                )
            )
    return findings


def _repeated(calls: list[Call]) -> list[Finding]:
    """A composite task serves each subtask with one call: the same function with the same arguments again
    teaches a model to repeat itself (and to book or send twice)."""
    first: dict[tuple[str, str], Call] = {}
    findings = []
    for call in calls:
        if call.arguments is None:
            continue  # unreadable arguments are the call checks' finding
        earlier = first.setdefault((call.name, json.dumps(call.arguments, sort_keys=True)), call)
        if earlier is not call:
            findings.append(
                error("call_repeated", call.path, f"repeats the call at {earlier.path}: same function, same arguments")
            )
    return findings


def final_answer(messages: list[Any]) -> str | None:
    """The text of the final answer: the last message, when it is an assistant's text without calls."""
    last = messages[-1] if messages else None
    if not isinstance(last, dict) or last.get("role") != "assistant" or last.get("tool_calls"):
        return None
    text = message_text(last.get("content")) or ""
    return text if text.strip() else None


def _final_answer_findings(messages: list[Any], calls: list[Call]) -> list[Finding]:
    results = [c.result for c in calls if c.result is not None]
    text = final_answer(messages)
    if text is None or not any(leaf_values(r) for r in results):
        return []
    if any(text_uses(text, r) for r in results):
        return []
    return [
        warning(
            "final_answer_ignores_results",
            f"messages[{len(messages) - 1}].content",
            "heuristic: the final answer repeats no value from any tool result",
        )
    ]


def check_composition(messages: Any, meta: Any, tools: Any = None) -> list[Finding]:
    """The conversation against the composite task in ``meta`` (no ``meta.subtasks``: no findings)."""
    if not isinstance(meta, dict) or "subtasks" not in meta:
        return []
    subtasks, findings = read_subtasks(meta)
    if findings or not isinstance(messages, list):
        return findings
    unavailable = unavailable_subtasks(subtasks, meta)
    subtasks = [s for s in subtasks if s.id not in unavailable]
    if tools is not None:
        declared = function_map(tools)
        for s in subtasks:
            if s.function is not None and s.function not in declared:
                findings.append(
                    error("subtask_function_unknown", f"{s.path}.function", f"{s.function!r} is not a declared tool")
                )
    calls = collect_calls(messages)
    served = assign_calls(subtasks, calls)
    findings += _unserved(subtasks, served) + _order_and_flow(subtasks, served) + _repeated(calls)
    if meta.get("strategy") == "parallel_then_sequential":
        findings += _parallel_groups(subtasks, served)
    return findings + _final_answer_findings(messages, calls)
