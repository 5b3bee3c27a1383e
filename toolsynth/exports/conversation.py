"""A canonical sample row read as a conversation every export renders from: turns, calls paired with results.

`read_conversation` takes one row of `samples.jsonl` (OpenAI chat format: `function.arguments` a JSON string,
tool messages answering calls by `tool_call_id`) and returns a `Conversation` whose calls hold their decoded
arguments and their result, in the order the assistant made them. A row that cannot be read that way raises
`Unexportable` with a reason code; the export counts it under that code instead of writing a broken row.
Everything here is pure: row in, conversation (or a reason) out.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from typing import Any, Literal

TextRole = Literal["system", "user", "assistant"]


class Unexportable(ValueError):
    """A row an export cannot write faithfully; `reason` is the code it is counted under."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


@dataclass(frozen=True)
class Call:
    """One tool call with its decoded arguments and the content of the tool message that answered it."""

    id: str
    name: str
    arguments: dict[str, Any]
    result: str


@dataclass(frozen=True)
class Turn:
    """A system, user or assistant message; an assistant turn may carry calls (their results follow it)."""

    role: TextRole
    text: str | None
    calls: tuple[Call, ...] = ()


@dataclass(frozen=True)
class Conversation:
    id: str
    source_id: str
    turns: tuple[Turn, ...]
    tools: list[dict[str, Any]]
    meta: dict[str, Any]

    @property
    def system(self) -> str | None:
        """The leading system message's text, if the conversation opens with one."""
        return self.turns[0].text if self.turns and self.turns[0].role == "system" else None

    @property
    def dialogue(self) -> tuple[Turn, ...]:
        """The turns after the leading system message."""
        return self.turns[1:] if self.system is not None else self.turns

    @property
    def has_parallel_calls(self) -> bool:
        return any(len(turn.calls) > 1 for turn in self.turns)


def read_conversation(row: Any) -> Conversation:
    """One canonical row as a `Conversation`, or `Unexportable` naming why it cannot be one."""
    if not isinstance(row, dict):
        raise Unexportable("row_not_object", f"a row is a JSON object, not {type(row).__name__}")
    messages = row.get("messages")
    if not isinstance(messages, list) or not messages:
        raise Unexportable("messages_invalid", "'messages' must be a non-empty list")
    tools = row.get("tools") or []
    if not isinstance(tools, list) or not all(isinstance(t, dict) for t in tools):
        raise Unexportable("tools_invalid", "'tools' must be a list of tool objects")
    meta = row.get("meta") or {}
    if not isinstance(meta, dict):
        raise Unexportable("meta_invalid", "'meta' must be an object")
    turns: list[Turn] = []
    waiting: dict[str, tuple[int, int]] = {}  # call id -> (turn index, call index) of calls not yet answered
    results: dict[tuple[int, int], str] = {}
    for position, message in enumerate(messages):
        where = f"messages[{position}]"
        if not isinstance(message, dict):
            raise Unexportable("messages_invalid", f"{where} is not an object")
        role = message.get("role")
        if role == "tool":
            call_id = message.get("tool_call_id")
            if not isinstance(call_id, str) or call_id not in waiting:
                raise Unexportable("result_without_call", f"{where} answers no open call ({call_id!r})")
            results[waiting.pop(call_id)] = _text(message.get("content"), where)
            continue
        if waiting:
            raise Unexportable("call_unanswered", f"{where} comes before the results of {sorted(waiting)}")
        if role not in ("system", "user", "assistant"):
            raise Unexportable("messages_invalid", f"{where} has the role {role!r}")
        calls = _calls(message.get("tool_calls"), where) if role == "assistant" else []
        text = message.get("content")
        if not isinstance(text, str) and (text is not None or not calls):
            raise Unexportable("content_not_text", f"{where}.content must be text (null only beside calls)")
        for index, (call_id, _, _) in enumerate(calls):
            if call_id in waiting:
                raise Unexportable("call_id_repeated", f"{where} repeats the call id {call_id!r}")
            waiting[call_id] = (len(turns), index)
        turns.append(Turn(role, text, tuple(Call(i, n, a, "") for i, n, a in calls)))
    if waiting:
        raise Unexportable("call_unanswered", f"no result for {sorted(waiting)}")
    answered = tuple(
        replace(turn, calls=tuple(replace(call, result=results[(t, c)]) for c, call in enumerate(turn.calls)))
        for t, turn in enumerate(turns)
    )
    return Conversation(
        id=str(row.get("id", "")),
        source_id=str(row.get("source_id", "")),
        turns=answered,
        tools=tools,
        meta=meta,
    )


def _text(content: Any, where: str) -> str:
    if not isinstance(content, str):
        raise Unexportable("content_not_text", f"{where}.content must be text")
    return content


def _calls(raw: Any, where: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(id, name, decoded arguments) of an assistant message's `tool_calls`."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise Unexportable("messages_invalid", f"{where}.tool_calls must be a list")
    calls = []
    for index, call in enumerate(raw):
        path = f"{where}.tool_calls[{index}]"
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise Unexportable("messages_invalid", f"{path} needs a function with a name")
        if not isinstance(call.get("id"), str):
            raise Unexportable("messages_invalid", f"{path} needs a string id")
        calls.append((call["id"], function["name"], _arguments(function.get("arguments"), path)))
    return calls


def _arguments(raw: Any, path: str) -> dict[str, Any]:
    """The arguments object: a JSON string (the canonical form) or an object already decoded."""
    value = raw
    if isinstance(raw, str):
        try:
            value = json.loads(raw)
        except ValueError:
            raise Unexportable("arguments_not_object", f"{path}.function.arguments is not JSON") from None
    if not isinstance(value, dict):
        raise Unexportable("arguments_not_object", f"{path}.function.arguments is not a JSON object")
    return value


def one_call_per_turn(conversation: Conversation) -> Conversation:
    """Each assistant turn with parallel calls split into consecutive single-call turns (its text, if any, on the
    first), each answered before the next: the order the calls were made in is the order they are shown in."""
    turns: list[Turn] = []
    for turn in conversation.turns:
        if len(turn.calls) <= 1:
            turns.append(turn)
            continue
        for index, call in enumerate(turn.calls):
            turns.append(Turn("assistant", turn.text if index == 0 else None, (call,)))
    return replace(conversation, turns=tuple(turns))


MISTRAL_CALL_ID_LENGTH = 9


def with_mistral_call_ids(conversation: Conversation) -> Conversation:
    """Call ids rewritten as 9 alphanumeric characters (what Mistral's tokenizers require), derived from the row id
    and the original id, so the same row always gets the same ids and no two calls of a row share one."""
    taken: set[str] = set()
    turns = []
    for turn in conversation.turns:
        calls = []
        for call in turn.calls:
            new_id = _short_id(f"{conversation.id}\x00{call.id}", taken)
            taken.add(new_id)
            calls.append(replace(call, id=new_id))
        turns.append(replace(turn, calls=tuple(calls)))
    return replace(conversation, turns=tuple(turns))


def _short_id(key: str, taken: set[str]) -> str:
    salt = 0
    while True:
        digest = hashlib.sha256(f"{key}\x00{salt}".encode()).hexdigest()[:MISTRAL_CALL_ID_LENGTH]
        if digest not in taken:
            return digest
        salt += 1
