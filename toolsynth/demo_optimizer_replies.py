"""Demo-model answers to the prompt optimizers' own signatures (MIPROv2's proposer, GEPA's reflection).

The offline demo model answers unknown signatures with a generic placeholder (the first input's text),
which for MIPROv2's `proposed_instruction` is a dump of the train examples. These handlers answer the
optimizers' signatures sensibly instead: a proposed or reflected instruction is the current one plus
one short, harmless sentence (so `optimize` visibly changes, saves and reloads instructions), and the
descriptions and dataset observations are short fixed texts. The demo shows the optimizer plumbing
works, nothing about the quality a real model reaches.

`OPTIMIZER_HANDLERS` has the shape of `demo_model.HANDLERS` (output field names → handler) so the demo
model can consult it; `demo_optimizer_lm(seed)` is a demo LM that already does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import dspy
from dspy.lm15 import Message as LMMessage
from dspy.lm15 import Response, TextPart, Usage

from toolsynth.demo_model import DEMO_MODEL_NAME, DemoEngine

Inputs = dict[str, Any]
ADDED = "Before answering, check every output field against its description and the inputs."
_FIELD_LINE = re.compile(r"^\d+\. `(\w+)` \(([^)]*)\)", re.MULTILINE)
_INPUT_BLOCK = re.compile(r"\[\[ ## (\w+) ## \]\]\n")


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
                               "stage: scenarios, tasks, compositions, functions, then a simulated conversation."},
    frozenset({"module_description"}): lambda i, s: {
        "module_description": "One stage of the pipeline: it turns its inputs into the typed outputs the next "
                              "stage reads."},
    frozenset({"observations"}): lambda i, s: {
        "observations": "The examples are short user/assistant chats that ask for help with a concrete task."},
    frozenset({"summary"}): lambda i, s: {
        "summary": "Short seed chats, each a user asking an assistant for help with one concrete task."},
}


def _parse(messages: list[dict[str, Any]]) -> tuple[list[str], Inputs, bool]:
    system = next((str(m.get("content") or "") for m in messages if m.get("role") == "system"), "")
    user = next((str(m.get("content") or "") for m in reversed(messages) if m.get("role") == "user"), "")
    section = system.split("Your output fields are:", 1)[-1].split("All interactions", 1)[0]
    fields = [name for name, _ in _FIELD_LINE.findall(section)]
    blocks = _INPUT_BLOCK.split(user)
    inputs: Inputs = {}
    for name, raw in zip(blocks[1::2], blocks[2::2], strict=False):
        value = raw.split("\n\nRespond with", 1)[0].strip()
        try:
            inputs[name] = json.loads(value)
        except json.JSONDecodeError:
            inputs[name] = value
    return fields, inputs, "Outputs will be a JSON object" in system


def optimizer_reply(messages: list[dict[str, Any]], seed: int = 0) -> str | None:
    """The demo answer to an optimizer's prompt (JSON or ChatAdapter format), or None if it is not one."""
    fields, inputs, as_json = _parse(messages)
    handler = OPTIMIZER_HANDLERS.get(frozenset(fields))
    if handler is None:
        return None
    answer = handler(inputs, seed)
    if as_json:
        return json.dumps(answer, ensure_ascii=False)
    blocks = [f"[[ ## {k} ## ]]\n{v}" for k, v in answer.items()]
    return "\n\n".join([*blocks, "[[ ## completed ## ]]"])


class OptimizerDemoEngine(DemoEngine):
    """The demo engine, answering the optimizers' signatures with `optimizer_reply` first."""

    def complete(self, request: Any) -> Response:
        messages: list[dict[str, Any]] = []
        if request.system is not None:
            system = request.system if isinstance(request.system, str) else "".join(p.text for p in request.system)
            messages.append({"role": "system", "content": system})
        messages.extend({"role": m.role, "content": m.text or ""} for m in request.messages)
        text = optimizer_reply(messages, self.seed)
        if text is None:
            return super().complete(request)
        prompt_tokens = sum(len(str(m["content"])) for m in messages) // 4 + 1
        completion_tokens = len(text) // 4 + 1
        return Response(id=None, model=DEMO_MODEL_NAME, message=LMMessage.assistant([TextPart(text)]),
                        finish_reason="stop", usage=Usage(input_tokens=prompt_tokens, output_tokens=completion_tokens,
                                                          total_tokens=prompt_tokens + completion_tokens))


class _AsyncEngine:
    def __init__(self, sync: OptimizerDemoEngine) -> None:
        self.sync = sync

    async def complete(self, request: Any) -> Response:
        return self.sync.complete(request)

    async def stream(self, request: Any) -> Any:
        for event in self.sync.stream(request):
            yield event

    async def aclose(self) -> None:
        return None


def demo_optimizer_lm(seed: int = 0) -> dspy.LM:
    """The offline demo model, also answering MIPROv2's and GEPA's own prompts (a prompt/reflection LM)."""
    engine = OptimizerDemoEngine(seed)
    return dspy.LM(DEMO_MODEL_NAME, engine=engine, async_engine=_AsyncEngine(engine), cache=False)
