"""Domain types: what the stages produce and what a training sample is.

The types used as DSPy output fields stay small and flat so that every adapter (and every model)
can fill them; the richer types (`Sample`, `Rejection`) are built by the programs, not by an LM.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

Strategy = Literal["sequential", "parallel_then_sequential"]
Item = TypeVar("Item")
NonEmptyList = Annotated[list[Item], Field(min_length=1)]
"""A list output that must hold at least one item (the schema says `minItems: 1`, so constrained decoding
cannot settle for an empty list)."""
Role = Literal["system", "user", "assistant", "tool"]


class Subtask(BaseModel):
    """One step of a composite task. `depends_on` names the ids whose results this step consumes."""

    id: int = Field(ge=1)
    instruction: str
    depends_on: list[int] = Field(default_factory=list)


class CompositeTask(BaseModel):
    """A compositional task built bottom-up from atomic tasks."""

    strategy: Strategy
    instruction: str = Field(description="the whole request in one or two sentences, as a user would ask it")
    subtasks: list[Subtask]

    def steps_text(self) -> str:
        """The subtasks as a numbered plain-text list (what a judge reads; small models comment on JSON)."""
        return render_steps(self.subtasks)


_STEP_NOTE = re.compile(r"\s*\(uses the results? of steps?\s[^()]*\)\s*$", re.IGNORECASE)


def without_step_note(text: str) -> str:
    """`text` without a trailing "(uses the result of step …)" note of `render_steps`, which a model shown the
    numbered steps may copy into a step it writes."""
    previous = None
    while previous != text:
        previous, text = text, _STEP_NOTE.sub("", text)
    return text


def render_steps(subtasks: list[Subtask]) -> str:
    lines = []
    for s in subtasks:
        line = f"{s.id}. {s.instruction.strip()}"
        if len(s.depends_on) == 1:
            line += f" (uses the result of step {s.depends_on[0]})"
        elif s.depends_on:
            line += f" (uses the results of steps {' and '.join(map(str, s.depends_on))})"
        lines.append(line)
    return "\n".join(lines)


class FunctionSpec(BaseModel):
    """An OpenAI-style function with a JSON Schema for its result (`returns`, our extension)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    description: str
    parameters: dict[str, Any] = Field(description='a JSON Schema object: {"type": "object", "properties": ...}')
    returns: dict[str, Any] = Field(description="a JSON Schema of the function's result object")

    def to_openai_tool(self) -> dict[str, Any]:
        """The `tools[]` entry of OpenAI chat format (without `returns`, which OpenAI does not accept)."""
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": self.parameters},
        }


class SubtaskFunction(BaseModel):
    """Which function serves a subtask; `function` is null for pure reasoning or arithmetic."""

    subtask: int
    function: str | None = None


class CallDraft(BaseModel):
    """A tool call as an LM writes it; ids are assigned by the program, never by the model."""

    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)


class ToolCall(BaseModel):
    id: str
    name: str
    arguments: dict[str, Any]

    def to_openai(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": json.dumps(self.arguments, ensure_ascii=False)},
        }


class Message(BaseModel):
    role: Role
    content: str | None = None
    tool_calls: list[ToolCall] = Field(default_factory=list)
    tool_call_id: str | None = None
    name: str | None = None

    def to_openai(self) -> dict[str, Any]:
        out: dict[str, Any] = {"role": self.role, "content": self.content}
        if self.role == "assistant" and self.tool_calls:
            out["tool_calls"] = [c.to_openai() for c in self.tool_calls]
        if self.role == "tool":
            out["tool_call_id"] = self.tool_call_id
            out["name"] = self.name
        return out


class Sample(BaseModel):
    """One accepted training sample; `to_openai()` is the canonical on-disk row."""

    id: str
    source_id: str
    messages: list[Message]
    functions: list[FunctionSpec]
    meta: dict[str, Any]

    def to_openai(self) -> dict[str, Any]:
        meta = dict(self.meta)
        meta["function_returns"] = {f.name: f.returns for f in self.functions}
        return {
            "id": self.id,
            "source_id": self.source_id,
            "messages": [m.to_openai() for m in self.messages],
            "tools": [f.to_openai_tool() for f in self.functions],
            "meta": meta,
        }


class Rejection(BaseModel):
    """A record that did not become a sample, with the stage that stopped it and why."""

    id: str
    source_id: str
    stage: str
    codes: list[str]
    message: str
    meta: dict[str, Any] = Field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return self.model_dump()
