"""Demo-model answers to the prompt optimizers' own signatures (MIPROv2's proposer, GEPA's reflection).

The offline demo model answers signatures that are not toolsynth's with a generic placeholder (the first input's text),
which for MIPROv2's `proposed_instruction` is a dump of the train examples. These handlers answer the
optimizers' signatures sensibly instead: a proposed or reflected instruction is the current one plus
one short, harmless sentence (so `optimize` visibly changes, saves and reloads instructions), and the
descriptions and dataset observations are short fixed texts. The demo shows the optimizer plumbing
works, nothing about the quality a real model reaches.

`OPTIMIZER_HANDLERS` maps the optimizers' signatures (by their output field names, the only handle on signatures
DSPy builds at run time) to answers; `demo_optimizer_lm(seed)` is the demo LM answering toolsynth's signatures and
these.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dspy

from toolsynth.demo_model import demo_lm

Inputs = dict[str, Any]
ADDED = "Before answering, check every output field against its description and the inputs."


def _extended(instruction: Any, extra: str = ADDED) -> str:
    text = str(instruction or "").strip()
    return text if extra in text else f"{text}\n\n{extra}".strip()


def _lesson(examples: Any) -> str:
    """The first problem line of GEPA's feedback, if any."""
    for example in examples if isinstance(examples, list) else []:
        feedback = str(example.get("Feedback", "")) if isinstance(example, dict) else ""
        for line in feedback.splitlines():
            if line.startswith("- ") and "nothing wrong" not in line and "other stages" not in line:
                return line[2:].strip()[:200]
    return ""


def _gepa(inputs: Inputs, seed: int) -> dict[str, Any]:
    lesson = _lesson(inputs.get("examples_with_feedback"))
    extra = f"Avoid this problem seen in earlier answers: {lesson}" if lesson else ADDED
    return {"new_instruction": _extended(inputs.get("current_instruction"), extra)}


OPTIMIZER_HANDLERS: dict[frozenset[str], Callable[[Inputs, int], dict[str, Any]]] = {
    frozenset({"proposed_instruction"}): lambda i, s: {"proposed_instruction": _extended(i.get("basic_instruction"))},
    frozenset({"new_instruction"}): _gepa,
    frozenset({"shortened_instruction"}): lambda i, s: {"shortened_instruction": str(i.get("instruction", ""))},
    frozenset({"program_description"}): lambda i, s: {
        "program_description": "It synthesizes multi-turn tool-calling conversations from seed chats, stage by "
        "stage: scenarios, tasks, compositions, functions, then a simulated conversation."
    },
    frozenset({"module_description"}): lambda i, s: {
        "module_description": "One stage of the pipeline: it turns its inputs into the typed outputs the next "
        "stage reads."
    },
    frozenset({"observations"}): lambda i, s: {
        "observations": "The examples are short user/assistant chats that ask for help with a concrete task."
    },
    frozenset({"summary"}): lambda i, s: {
        "summary": "Short seed chats, each a user asking an assistant for help with one concrete task."
    },
}


def demo_optimizer_lm(seed: int = 0) -> dspy.LM:
    """The offline demo model, also answering MIPROv2's and GEPA's own prompts (a prompt/reflection LM)."""
    return demo_lm(seed, other_signatures=OPTIMIZER_HANDLERS)
