"""One canonical row → one row of a training framework's format, plus what was done to it.

Each `to_*` function is pure: it takes a row of `samples.jsonl` and the `ExportOptions`, and returns a
`Converted`: the new row, or None with the reason it was dropped, and the changes made on the way (each one
counted by the export). A row is dropped rather than written when the format cannot hold it faithfully.

- `openai`: what OpenAI fine-tuning accepts, nothing else: `{"messages", "tools"}`, `arguments` a JSON string,
  tool messages with `tool_call_id` only, function names matching `^[a-zA-Z0-9_-]{1,64}$`.
- `hf`: for Hugging Face chat templates (TRL, axolotl): `arguments` a JSON object, tool messages keep
  `tool_call_id` and `name`, `tools` a list of OpenAI tool objects, plus `id`, `source_id` and `meta`. An
  assistant message with calls and no text has `content: ""`, not null: templates that print the content
  (GLM-4.5's) would write the word `None`.
- `sharegpt`: LLaMA-Factory's ShareGPT: `conversations` of human / function_call / observation / gpt turns in
  the alternation its converter requires, parallel calls as one JSON list and their results as another,
  `system`, and `tools` as a JSON string.
- `glm4`: GLM-4's fine-tuning messages: tools on an empty system message, a call written as `name\\n{arguments}`,
  results under the role `observation`; one call per assistant turn.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from toolsynth.exports.conversation import (
    Call,
    Conversation,
    Turn,
    Unexportable,
    one_call_per_turn,
    read_conversation,
    with_mistral_call_ids,
)
from toolsynth.store import dumps

SingleCall = Literal["split", "drop"]
CallIds = Literal["keep", "mistral"]
OPENAI_FUNCTION_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")
"""The function names OpenAI's API and fine-tuning accept."""
OPENAI_TOOL_FUNCTION_KEYS = ("name", "description", "parameters", "strict")


@dataclass(frozen=True)
class ExportOptions:
    """`json_columns` (hf): `messages`, `tools` and `meta` as JSON text, so every row has the same Arrow schema.
    `call_ids` (hf): `mistral` rewrites call ids as 9 alphanumeric characters. `single_call` (hf, sharegpt; glm4
    always splits unless `drop`): `split` parallel calls into consecutive single calls, or `drop` such rows."""

    json_columns: bool = False
    call_ids: CallIds = "keep"
    single_call: SingleCall | None = None


@dataclass(frozen=True)
class Converted:
    """The row written (None when dropped), why it was dropped, and the changes made to it."""

    row: dict[str, Any] | None
    dropped: str | None = None
    changes: tuple[str, ...] = field(default_factory=tuple)


Converter = Callable[[Any, ExportOptions], Converted]


def converting(render: Callable[[Any, ExportOptions, list[str]], dict[str, Any]]) -> Converter:
    """A converter from a renderer that appends its changes to a list and raises `Unexportable` to drop."""

    def convert(row: Any, options: ExportOptions) -> Converted:
        changes: list[str] = []
        try:
            return Converted(render(row, options, changes), changes=tuple(changes))
        except Unexportable as exc:
            return Converted(None, dropped=exc.reason, changes=tuple(changes))

    convert.__doc__ = render.__doc__
    convert.__name__ = render.__name__
    return convert


def _conversation(row: Any, single_call: SingleCall | None, changes: list[str]) -> Conversation:
    conversation = read_conversation(row)
    if single_call is None or not conversation.has_parallel_calls:
        return conversation
    if single_call == "drop":
        raise Unexportable("parallel_calls", "the row has parallel calls and --single-call drop was asked for")
    changes.append("parallel_calls_split")
    return one_call_per_turn(conversation)


def _tools(tools: list[dict[str, Any]], changes: list[str]) -> list[dict[str, Any]]:
    """Tools as OpenAI function tools with only the fields OpenAI defines (`returns` and the like are left out)."""
    out = []
    for index, tool in enumerate(tools):
        function = tool.get("function")
        if tool.get("type") != "function" or not isinstance(function, dict):
            raise Unexportable("tool_invalid", f'tools[{index}] is not {{"type": "function", "function": {{...}}}}')
        if not isinstance(function.get("name"), str):
            raise Unexportable("tool_invalid", f"tools[{index}].function has no name")
        kept = {key: function[key] for key in OPENAI_TOOL_FUNCTION_KEYS if key in function}
        if len(kept) < len(function) or len(tool) > 2:
            changes.append("tool_fields_dropped")
        out.append({"type": "function", "function": kept})
    return out


def _openai_call(call: Call) -> dict[str, Any]:
    arguments = json.dumps(call.arguments, ensure_ascii=False)
    return {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": arguments}}


@converting
def to_openai(row: Any, options: ExportOptions, changes: list[str]) -> dict[str, Any]:
    """An OpenAI fine-tuning line: `{"messages", "tools"}` and no other key (`meta` goes to the sidecar)."""
    conversation = read_conversation(row)
    tools = _tools(conversation.tools, changes)
    names = [t["function"]["name"] for t in tools] + [c.name for t in conversation.turns for c in t.calls]
    bad = sorted({name for name in names if not OPENAI_FUNCTION_NAME.fullmatch(name)})
    if bad:
        raise Unexportable("function_name_invalid", f"{bad[:3]} do not match ^[a-zA-Z0-9_-]{{1,64}}$")
    messages: list[dict[str, Any]] = []
    for turn in conversation.turns:
        if not turn.calls:
            messages.append({"role": turn.role, "content": turn.text})
            continue
        message: dict[str, Any] = {"role": "assistant"}
        if turn.text is not None:
            message["content"] = turn.text
        message["tool_calls"] = [_openai_call(call) for call in turn.calls]
        messages.append(message)
        messages += [{"role": "tool", "tool_call_id": call.id, "content": call.result} for call in turn.calls]
    out: dict[str, Any] = {"messages": messages}
    if tools:
        out["tools"] = tools
    return out


def openai_meta(row: Any) -> dict[str, Any]:
    """The sidecar line of an OpenAI export line: the row's id, source id and `meta`."""
    return {"id": row.get("id"), "source_id": row.get("source_id"), "meta": row.get("meta", {})}


@converting
def to_hf(row: Any, options: ExportOptions, changes: list[str]) -> dict[str, Any]:
    """A row for Hugging Face chat templates: `arguments` as objects, tool messages with `tool_call_id` and `name`."""
    conversation = _conversation(row, options.single_call, changes)
    if options.call_ids == "mistral":
        conversation = with_mistral_call_ids(conversation)
        changes.append("call_ids_rewritten")
    tools = _tools(conversation.tools, changes)
    messages: list[dict[str, Any]] = []
    for turn in conversation.turns:
        if not turn.calls:
            messages.append({"role": turn.role, "content": turn.text})
            continue
        calls = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}} for c in turn.calls
        ]
        messages.append({"role": "assistant", "content": turn.text or "", "tool_calls": calls})
        messages += [{"role": "tool", "tool_call_id": c.id, "name": c.name, "content": c.result} for c in turn.calls]
    columns: dict[str, Any] = {"messages": messages, "tools": tools, "meta": conversation.meta}
    if options.json_columns:
        columns = {name: dumps(value) for name, value in columns.items()}
    return {"id": conversation.id, "source_id": conversation.source_id, **columns}


SHAREGPT_TAGS = {
    "role_tag": "from",
    "content_tag": "value",
    "user_tag": "human",
    "assistant_tag": "gpt",
    "observation_tag": "observation",
    "function_tag": "function_call",
    "system_tag": "system",
}
"""LLaMA-Factory's ShareGPT tags, written out in the `dataset_info.json` entry."""


def sharegpt_dataset_info(file_name: str) -> dict[str, Any]:
    """The `dataset_info.json` entry that tells LLaMA-Factory how to read a ShareGPT export named `file_name`."""
    return {
        "file_name": file_name,
        "formatting": "sharegpt",
        "columns": {"messages": "conversations", "system": "system", "tools": "tools"},
        "tags": SHAREGPT_TAGS,
    }


def _decoded(result: str) -> Any:
    """A result as the JSON value it holds, or as the text it is when it holds none."""
    try:
        return json.loads(result)
    except ValueError:
        return result


@converting
def to_sharegpt(row: Any, options: ExportOptions, changes: list[str]) -> dict[str, Any]:
    """A LLaMA-Factory ShareGPT row; its turns alternate as LLaMA-Factory's converter requires, or it is dropped."""
    conversation = _conversation(row, options.single_call, changes)
    turns: list[dict[str, str]] = []
    for turn in conversation.dialogue:
        if turn.role == "system":
            raise Unexportable("system_not_first", "ShareGPT has one system prompt, before the conversation")
        if turn.role == "user":
            turns.append({"from": "human", "value": turn.text or ""})
        elif not turn.calls:
            turns.append({"from": "gpt", "value": turn.text or ""})
        else:
            _no_text_beside(turn)
            calls = [{"name": c.name, "arguments": c.arguments} for c in turn.calls]
            results = [_decoded(c.result) for c in turn.calls]
            single = len(turn.calls) == 1
            turns.append({"from": "function_call", "value": dumps(calls[0] if single else calls)})
            turns.append({"from": "observation", "value": turn.calls[0].result if single else dumps(results)})
    _check_alternation(turns)
    return {
        "id": conversation.id,
        "conversations": turns,
        "system": conversation.system or "",
        "tools": dumps(_tools(conversation.tools, changes)),
    }


def _no_text_beside(turn: Turn) -> None:
    if turn.text:
        raise Unexportable("text_with_calls", "an assistant turn has text beside its calls; the format cannot hold it")


def _check_alternation(turns: list[dict[str, str]]) -> None:
    """LLaMA-Factory's rule: human or observation at even positions, gpt or function_call at odd ones, even count."""
    for position, turn in enumerate(turns):
        allowed = ("human", "observation") if position % 2 == 0 else ("gpt", "function_call")
        if turn["from"] not in allowed:
            raise Unexportable("turn_order", f"turn {position} is {turn['from']}, where {' or '.join(allowed)} must be")
    if len(turns) % 2:
        raise Unexportable("turn_order", f"the conversation ends with {turns[-1]['from']}, not an assistant turn")


@converting
def to_glm4(row: Any, options: ExportOptions, changes: list[str]) -> dict[str, Any]:
    """GLM-4 fine-tuning messages; parallel calls are split into consecutive single calls unless `drop` is asked."""
    conversation = _conversation(row, options.single_call or "split", changes)
    tools = _tools(conversation.tools, changes)
    messages: list[dict[str, Any]] = []
    if tools:  # GLM-4's rule: the system message that carries the tools has empty content
        messages.append({"role": "system", "content": "", "tools": tools})
        if conversation.system:
            changes.append("system_text_dropped")
    elif conversation.system is not None:
        messages.append({"role": "system", "content": conversation.system})
    for turn in conversation.dialogue:
        if turn.role == "system":
            raise Unexportable("system_not_first", "GLM-4 takes one system message, before the conversation")
        if not turn.calls:
            messages.append({"role": turn.role, "content": turn.text or ""})
            continue
        _no_text_beside(turn)
        [call] = turn.calls
        arguments = json.dumps(call.arguments, ensure_ascii=False)
        messages.append({"role": "assistant", "content": f"{call.name}\n{arguments}"})
        messages.append({"role": "observation", "content": call.result})
    return {"id": conversation.id, "messages": messages}


FORMATS: dict[str, Converter] = {"openai": to_openai, "hf": to_hf, "sharegpt": to_sharegpt, "glm4": to_glm4}
OPTIONS_BY_FORMAT: dict[str, frozenset[str]] = {
    "openai": frozenset(),
    "hf": frozenset({"json_columns", "call_ids", "single_call"}),
    "sharegpt": frozenset({"single_call"}),
    "glm4": frozenset({"single_call"}),
}
"""Which `ExportOptions` fields each format reads; setting another is a usage error."""
