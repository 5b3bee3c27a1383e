"""Checks on the bottom-up stages' outputs: scenarios, atomic tasks, composite tasks.

These are the rules the BUTTON method states for its generated text (short, general, self-contained,
distinct); they are cheap, deterministic, and fed back to the model on a retry.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from toolsynth.language import CJK as _CJK
from toolsynth.validators.findings import Finding, error, warning

MAX_TASK_WORDS = 30
MAX_INSTRUCTION_WORDS = 50


def word_count(text: str) -> int:
    """Words, counting each CJK character as half a word (Chinese has no spaces)."""
    cjk = len(_CJK.findall(text))
    return len(_CJK.sub(" ", text).split()) + (cjk + 1) // 2


def _normal(text: str) -> str:
    return re.sub(r"\W+", " ", text.lower()).strip()


def check_text(text: Any, path: str, *, max_words: int | None = None) -> list[Finding]:
    """Non-empty text. `max_words` is the target the prompt states: a text somewhat over it is a warning
    (`text_long`); only one over twice the target, which no longer reads as one step, is an error."""
    if not isinstance(text, str) or not text.strip():
        return [error("text_empty", path, "must be non-empty text")]
    if max_words is None:
        return []
    words = word_count(text)
    if words > 2 * max_words:
        return [error("text_too_long", path, f"has {words} words; keep it near {max_words} (at most {2 * max_words})")]
    if words > max_words:
        return [warning("text_long", path, f"has {words} words; the target is {max_words}")]
    return []


def check_distinct(texts: Sequence[str], path: str, also_not: Sequence[str] = ()) -> list[Finding]:
    findings = []
    seen = {_normal(t) for t in also_not}
    for i, text in enumerate(texts):
        key = _normal(text)
        if key and key in seen:
            findings.append(error("text_duplicate", f"{path}[{i}]", "repeats an earlier text; make it different"))
        seen.add(key)
    return findings


def check_scenario(scenario: Any, path: str = "scenario") -> list[Finding]:
    return check_text(scenario, path, max_words=60)


def check_scenarios(scenarios: Any, original: str, path: str = "scenarios") -> list[Finding]:
    if not isinstance(scenarios, list):
        return [error("not_a_list", path, "must be a list of scenarios")]
    if not scenarios:
        return [error("scenarios_missing", path, "write at least one new scenario")]
    findings = [f for i, s in enumerate(scenarios) for f in check_text(s, f"{path}[{i}]", max_words=60)]
    return findings + check_distinct([s for s in scenarios if isinstance(s, str)], path, also_not=[original])


def check_atomic_tasks(tasks: Any, tool_names: Sequence[str] = (), path: str = "tasks") -> list[Finding]:
    if not isinstance(tasks, list) or not tasks:
        return [error("tasks_missing", path, "must be a non-empty list of tasks")]
    findings = [f for i, t in enumerate(tasks) for f in check_text(t, f"{path}[{i}]", max_words=MAX_TASK_WORDS)]
    findings += check_distinct([t for t in tasks if isinstance(t, str)], path)
    for i, task in enumerate(tasks):
        if isinstance(task, str) and re.search(r"\b[a-z]+_[a-z_]+\s*\(", task):
            findings.append(error("task_names_tool", f"{path}[{i}]", "must not name a tool or function"))
        for name in tool_names:
            if isinstance(task, str) and name in task:
                findings.append(error("task_names_tool", f"{path}[{i}]", f"must not name the function {name}"))
    return findings


_STEP_NUMBER = re.compile(r"\bsteps?\s+\d|\(uses the results? of|步骤\s*\d|第\s*\d+\s*步", re.IGNORECASE)


def check_deepened(before: Any, after: Any, path: str = "composite") -> list[Finding]:
    """A composite a deepening stage wrote (`after`, from `before`): a sound composite whose new steps are new."""
    earlier = [str(getattr(s, "instruction", "")) for s in getattr(before, "subtasks", [])]
    return check_subtasks(after.subtasks, after.instruction, path) + check_new_steps(after, earlier, path)


def check_new_steps(composite: Any, earlier: Sequence[str], path: str = "composite") -> list[Finding]:
    """The steps a deepening stage wrote (those of `composite` whose text is not in `earlier`): each is one new step in
    the user's words, which neither refers to steps by number nor restates an earlier step."""
    subtasks = getattr(composite, "subtasks", [])
    known = {_normal(t) for t in earlier}
    findings = []
    for i, subtask in enumerate(subtasks):
        text = str(getattr(subtask, "instruction", ""))
        where = f"{path}.subtasks[{i}].instruction"
        if _normal(text) in known:
            continue
        if _STEP_NUMBER.search(text):
            findings.append(
                error("step_number_reference", where, "refer to earlier results by what they are, not by step number")
            )
        restated = next((t for t in earlier if _normal(t) and f" {_normal(t)} " in f" {_normal(text)} "), None)
        if restated is not None:
            findings.append(
                error("step_restates_earlier", where, f"restates the earlier step {restated!r}: write one new step")
            )
    return findings


def check_subtasks(subtasks: Any, instruction: Any, path: str = "composite") -> list[Finding]:
    """A composite task: instruction present, subtasks distinct and short, dependencies point backwards."""
    findings = check_text(instruction, f"{path}.instruction", max_words=MAX_INSTRUCTION_WORDS)
    if not isinstance(subtasks, list) or len(subtasks) < 2:
        return [*findings, error("composite_too_small", f"{path}.subtasks", "needs at least two subtasks")]
    ids = [getattr(s, "id", None) for s in subtasks]
    texts = [str(getattr(s, "instruction", "")) for s in subtasks]
    for i, (sid, text) in enumerate(zip(ids, texts, strict=True)):
        findings += check_text(text, f"{path}.subtasks[{i}].instruction", max_words=MAX_TASK_WORDS)
        for dep in getattr(subtasks[i], "depends_on", []):
            if dep not in ids or (isinstance(sid, int) and dep >= sid):
                findings.append(
                    error("dependency_invalid", f"{path}.subtasks[{i}].depends_on", f"{dep} is not an earlier subtask")
                )
    findings += check_distinct(texts, f"{path}.subtasks")
    if not any(getattr(s, "depends_on", []) for s in subtasks):
        findings.append(warning("composite_not_compositional", f"{path}.subtasks", "no subtask uses another's result"))
    return findings
