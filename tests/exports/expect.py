"""What an export must carry, read straight from a canonical sample row (independently of the exporter's code)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

CallGroup = list[tuple[str, dict[str, Any], str]]
"""The calls one assistant message made: (name, arguments, result text) each, in the order made."""


def call_groups(row: dict[str, Any]) -> list[CallGroup]:
    results = {m["tool_call_id"]: m["content"] for m in row["messages"] if m["role"] == "tool"}
    return [
        [(c["function"]["name"], json.loads(c["function"]["arguments"]), results[c["id"]]) for c in m["tool_calls"]]
        for m in row["messages"]
        if m.get("tool_calls")
    ]


def single_calls(row: dict[str, Any]) -> list[CallGroup]:
    """The call groups once parallel calls are split: one call per group, in the order made."""
    return [[call] for group in call_groups(row) for call in group]


def samples_by_id(path: Path) -> dict[str, dict[str, Any]]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return {row["id"]: row for row in rows}


def texts(row: dict[str, Any], role: str) -> list[str]:
    """The text of every message of `role` (assistant messages with calls and no text left out)."""
    return [m["content"] for m in row["messages"] if m["role"] == role and m.get("content")]
