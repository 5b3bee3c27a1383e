"""Seed readers: glaive, OpenAI, ShareGPT and bare-scenario records from `.jsonl` or `.json` files.

Every record becomes a `Seed` with a `source_id` (its `id` field, else its line number in a `.jsonl`
file or its index in a `.json` array) and either a chat transcript or a scenario. Files are read by
`toolsynth.records` (line by line, within bounds). A bad record is a `SeedError` naming the file, the line
(or index) and the field; `iter_seeds` yields it in the record's place so a caller can skip it and go on.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
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


def _openai_transcript(messages: list[Any], location: Callable[[str], SeedError]) -> str:
    lines = []
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or not isinstance(m.get("role"), str):
            raise location(f"messages[{i}]")
        role = m["role"].upper()
        for call in m.get("tool_calls") or []:
            fn = call.get("function", {}) if isinstance(call, dict) else {}
            lines.append(f"{role} (function call): {fn.get('name')}({fn.get('arguments', '')})")
        content = m.get("content")
        if isinstance(content, list):  # content parts
            content = " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
        if content:
            lines.append(f"{'FUNCTION RESPONSE' if role == 'TOOL' else role}: {content}")
    return "\n\n".join(lines)


def _sharegpt_transcript(turns: list[Any], location: Callable[[str], SeedError]) -> str:
    lines = []
    for i, t in enumerate(turns):
        if not isinstance(t, dict) or not isinstance(t.get("from"), str) or "value" not in t:
            raise location(f"conversations[{i}]")
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
    if "messages" in record:
        if not isinstance(record["messages"], list) or not record["messages"]:
            raise bad("messages", "must be a non-empty list of messages")
        chat = _openai_transcript(record["messages"], lambda f: bad(f, "each message needs a string 'role'"))
        return "openai", chat, None
    if "conversations" in record:
        if not isinstance(record["conversations"], list) or not record["conversations"]:
            raise bad("conversations", "must be a non-empty list of turns")
        chat = _sharegpt_transcript(record["conversations"], lambda f: bad(f, "each turn needs 'from' and 'value'"))
        return "sharegpt", chat, None
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

    Ids are unique: a record whose id (explicit, or its number when it has none) an earlier record has is
    bad, and a bad record's id is its location (`line N`, `index N`), a form no good record's id may take.
    Raises `SeedError` only when the file as a whole cannot be read.
    """
    records = seed_records(path)
    seen: dict[str, str] = {}
    for record in records:
        try:
            if isinstance(record, SeedError):
                raise record
            seed = parse_record(record.value, str(path), record.where, str(record.number))
            if seed.source_id in seen:
                raise _duplicate(seed.source_id, record, seen[seed.source_id], str(path))
            seen[seed.source_id] = record.where
        except SeedError as error:
            yield error
            continue
        yield seed


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
