"""Seed readers: glaive, OpenAI, ShareGPT and bare-scenario records from `.jsonl` or `.json` files.

Every record becomes a `Seed` with a `source_id` (its `id` field, else its line number in a `.jsonl`
file or its index in a `.json` array) and either a chat transcript or a scenario. Files are read by
`toolsynth.records` (line by line, within bounds). A bad record is a `SeedError` naming the file, the line
(or index) and the field; `iter_seeds` yields it in the record's place so a caller can skip it and go on.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from toolsynth.records import InputError, Record, file_error, read_records

_SHAREGPT_ROLES = {
    "human": "USER",
    "user": "USER",
    "gpt": "ASSISTANT",
    "assistant": "ASSISTANT",
    "function_call": "ASSISTANT (function call)",
    "observation": "FUNCTION RESPONSE",
    "system": "SYSTEM",
    "tool": "FUNCTION RESPONSE",
}


@dataclass(frozen=True)
class Seed:
    source_id: str
    chat: str | None = None
    scenario: str | None = None
    format: str = "glaive"
    location: str = ""
    language: str | None = None  # the record's own `language`; None = detect it from the chat


SeedError = InputError
"""A seeds file or record that cannot be read: names the file, the line or index, and the field."""

LOCATION_ID = re.compile(r"(?:line|index) \d+")
"""The form of a bad record's id (its `where`); refused as an explicit `id`, so no two records share an id."""
LANGUAGE_CODE = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*")
"""A record's `language`: a BCP 47 style code (`en`, `zh`, `zh-Hans`, `pt-BR`)."""


def _glaive_transcript(chat: str) -> str:
    text = chat.replace("<|endoftext|>", "")
    return re.sub(r"\n{3,}", "\n\n", text).strip()


class TranscriptError(ValueError):
    """Messages that cannot be rendered as a transcript: `field` names the message or the part of it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.reason = message


def render_transcript(messages: Any) -> str:
    """OpenAI-style messages as the plain transcript the scenario extractor reads (the glaive layout).

    One `ROLE: text` turn per message with text, turns separated by a blank line; each tool call is a turn
    `ROLE (function call): name(arguments)` and a `tool` (or legacy `function`) message is a
    `FUNCTION RESPONSE:` turn. Raises `TranscriptError` naming the first message that is not one.
    """
    if not isinstance(messages, list) or not messages:
        raise TranscriptError("messages", "must be a non-empty list of messages")
    turns: list[str] = []
    for i, message in enumerate(messages):
        turns += _message_turns(message, f"messages[{i}]")
    return "\n\n".join(turns)


def _message_turns(message: Any, field: str) -> list[str]:
    if not isinstance(message, dict) or not isinstance(message.get("role"), str):
        raise TranscriptError(field, "each message needs a string 'role'")
    role = message["role"].upper()
    calls = message.get("tool_calls") or []
    if not isinstance(calls, list):
        raise TranscriptError(f"{field}.tool_calls", "must be a list of calls")
    turns = [_call_turn(role, call, f"{field}.tool_calls[{j}]") for j, call in enumerate(calls)]
    text = _content_text(message.get("content"), f"{field}.content")
    if text:
        turns.append(f"{'FUNCTION RESPONSE' if role in ('TOOL', 'FUNCTION') else role}: {text}")
    return turns


def _call_turn(role: str, call: Any, field: str) -> str:
    function = call.get("function") if isinstance(call, dict) else None
    if not isinstance(function, dict) or not isinstance(function.get("name"), str):
        raise TranscriptError(field, "each call needs a 'function' with a string 'name'")
    arguments = function.get("arguments")
    if not isinstance(arguments, str):
        arguments = "" if arguments is None else json.dumps(arguments, ensure_ascii=False)
    return f"{role} (function call): {function['name']}({arguments})"


def _content_text(content: Any, field: str) -> str:
    if content is None or isinstance(content, str):
        return content or ""
    if isinstance(content, list):  # content parts: the text ones are read, images and the like are not
        return " ".join(str(part["text"]) for part in content if isinstance(part, dict) and "text" in part)
    raise TranscriptError(field, "must be text, null or a list of content parts")


def _sharegpt_transcript(turns: list[Any]) -> str:
    lines = []
    for i, t in enumerate(turns):
        if not isinstance(t, dict) or not isinstance(t.get("from"), str) or not isinstance(t.get("value"), str):
            raise TranscriptError(f"conversations[{i}]", "each turn needs a string 'from' and a string 'value'")
        lines.append(f"{_SHAREGPT_ROLES.get(t['from'], t['from'].upper())}: {t['value']}")
    return "\n\n".join(lines)


BadField = Callable[[str, str], SeedError]


def parse_record(record: Any, path: str, where: str, default_id: str) -> Seed:
    """One decoded JSON value → a `Seed`, or `SeedError` naming what is wrong."""

    def bad(field: str, message: str) -> SeedError:
        return SeedError(path, where, field, message)

    if not isinstance(record, dict):
        raise bad("(record)", f"expected a JSON object, got {type(record).__name__}")
    source_id = _source_id(record.get("id", default_id), bad)
    language = _language(record.get("language"), bad)
    fmt, chat, scenario = _content(record, bad)
    return Seed(source_id, chat=chat, scenario=scenario, format=fmt, location=where, language=language)


def _source_id(raw_id: Any, bad: BadField) -> str:
    if not isinstance(raw_id, str | int) or isinstance(raw_id, bool) or str(raw_id).strip() == "":
        raise bad("id", "must be a non-empty string or an integer")
    if LOCATION_ID.fullmatch(str(raw_id)):
        raise bad("id", f"{raw_id!r} has the form of the ids bad records take (their location); choose another")
    return str(raw_id)


def _language(raw: Any, bad: BadField) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str) or not LANGUAGE_CODE.fullmatch(raw):
        raise bad("language", f"must be a language code such as 'en' or 'zh', not {raw!r}")
    return raw


def _content(record: dict[str, Any], bad: BadField) -> tuple[str, str | None, str | None]:
    """(format, chat transcript, scenario) of a record; exactly one of the last two is set."""
    if "scenario" in record and not any(k in record for k in ("chat", "messages", "conversations")):
        if not isinstance(record["scenario"], str) or not record["scenario"].strip():
            raise bad("scenario", "must be non-empty text")
        return "scenario", None, record["scenario"].strip()
    if "chat" in record:
        if not isinstance(record["chat"], str) or not record["chat"].strip():
            raise bad("chat", "must be a non-empty transcript string")
        return "glaive", _glaive_transcript(record["chat"]), None
    try:
        if "messages" in record:
            return "openai", render_transcript(record["messages"]), None
        if "conversations" in record:
            if not isinstance(record["conversations"], list) or not record["conversations"]:
                raise TranscriptError("conversations", "must be a non-empty list of turns")
            return "sharegpt", _sharegpt_transcript(record["conversations"]), None
    except TranscriptError as error:
        raise bad(error.field, error.reason) from None
    raise bad(
        "(record)", "expected one of 'chat' (glaive), 'messages' (OpenAI), 'conversations' (ShareGPT) or 'scenario'"
    )


def seed_records(path: str | Path) -> Iterator[Record | SeedError]:
    """The records of a seeds file (`SeedError` at once when it is not a regular `.jsonl` or `.json` file)."""
    path = Path(path)
    records = read_records(path)
    if path.suffix not in (".jsonl", ".json"):
        raise file_error(path, "expected a .jsonl or .json file")
    return records


def iter_seeds(path: str | Path) -> Iterator[Seed | SeedError]:
    """Seeds of a `.jsonl` or `.json` file in file order; a bad record is yielded as its `SeedError`.

    Raises `SeedError` only when the file as a whole cannot be read.
    """
    for _, item in seeds_and_records(seed_records(path), str(path)):
        yield item


def seeds_and_records(records: Iterable[Record | SeedError], path: str) -> Iterator[tuple[Any, Seed | SeedError]]:
    """(decoded record, its `Seed` or `SeedError`) per record in order; an unreadable record's value is None.

    Ids are unique: a record whose id (explicit, or its number when it has none) an earlier record has is
    bad, and a bad record's id is its location (`line N`, `index N`), a form no good record's id may take.
    """
    seen: dict[str, str] = {}
    for record in records:
        if isinstance(record, SeedError):
            yield None, record
            continue
        try:
            seed = parse_record(record.value, path, record.where, str(record.number))
            if seed.source_id in seen:
                raise _duplicate(seed.source_id, record, seen[seed.source_id], path)
        except SeedError as error:
            yield record.value, error
            continue
        seen[seed.source_id] = record.where
        yield record.value, seed


def _duplicate(source_id: str, record: Record, first: str, path: str) -> SeedError:
    if isinstance(record.value, dict) and "id" in record.value:
        return SeedError(path, record.where, "id", f"duplicate id {source_id!r} (first at {first})")
    message = f"none, so the record takes its number {source_id!r} as its id, which {first} has already; give it one"
    return SeedError(path, record.where, "id", message)


def read_seeds(path: str | Path) -> list[Seed]:
    """All seeds of a file, or the first `SeedError`."""
    seeds = []
    for item in iter_seeds(path):
        if isinstance(item, SeedError):
            raise item
        seeds.append(item)
    return seeds
