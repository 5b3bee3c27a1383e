"""Findings: what every check returns instead of raising."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

Severity = Literal["error", "warning", "info"]
Loc = tuple[str | int, ...]
"""Where a finding points, as pydantic's errors say it: keys and indices from the checked object's root,
``("messages", 3, "tool_calls", 0, "function", "arguments", "city")``."""

_SIMPLE_KEY = re.compile(r"^[A-Za-z0-9_$-]+$")
_PATH_STEP = re.compile(r'\.?([A-Za-z0-9_$-]+)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]')


def render_loc(loc: Iterable[str | int], base: str = "") -> str:
    """``base`` extended by the keys (``.city``, or ``["odd key"]``) and indices (``[2]``) of ``loc``: the
    JSONPath-like form findings are shown in, ``messages[3].tool_calls[0].function.arguments.city``."""
    out = base
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif isinstance(part, str) and _SIMPLE_KEY.match(part):
            out += f".{part}" if out else part
        else:
            out += f"[{json.dumps(str(part), ensure_ascii=False)}]"
    return out


def parse_path(path: str) -> Loc:
    """The ``loc`` of a path in the form ``render_loc`` writes (its inverse). Text that does not follow that form
    ends the ``loc`` as one last key, so every path has a ``loc``."""
    loc: list[str | int] = []
    position = 0
    while position < len(path):
        step = _PATH_STEP.match(path, position)
        if step is None or (position == 0 and path.startswith(".")) or (position > 0 and path[position] not in ".["):
            loc.append(path[position:])
            break
        key, index, quoted = step.groups()
        loc.append(key if key is not None else int(index) if index is not None else json.loads(quoted))
        position = step.end()
    return tuple(loc)


@dataclass(frozen=True)
class Finding:
    """One thing a check noticed.

    ``code`` is stable (registered in `validators.registry`, documented in docs/validation-codes.md). ``loc`` says
    where in the checked object, as a tuple of keys and indices; ``path`` is the same place written for people and
    LM repair prompts (``messages[2].tool_calls[0].function.arguments.city``). Checks write paths (``render_loc``
    renders a ``loc`` as one); the ``loc`` is read from the path once, here. Code that acts on where a finding
    points uses ``loc``.
    """

    code: str
    severity: Severity
    path: str
    message: str
    loc: Loc = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "loc", parse_path(self.path))

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: code, severity, path, message."""
        return {"code": self.code, "severity": self.severity, "path": self.path, "message": self.message}


def error(code: str, path: str, message: str) -> Finding:
    return Finding(code, "error", path, message)


def warning(code: str, path: str, message: str) -> Finding:
    return Finding(code, "warning", path, message)


def info(code: str, path: str, message: str) -> Finding:
    return Finding(code, "info", path, message)


def errors(findings: Iterable[Finding]) -> list[Finding]:
    """The findings that reject: severity ``error``."""
    return [f for f in findings if f.severity == "error"]


def codes(findings: Iterable[Finding]) -> list[str]:
    """Distinct codes in first-seen order."""
    seen: dict[str, None] = {}
    for f in findings:
        seen.setdefault(f.code, None)
    return list(seen)


def as_feedback(findings: Iterable[Finding], limit: int = 12) -> str:
    """Findings as short lines for an LM retry: ``- [code] path: message``."""
    lines = [f"- [{f.code}] {f.path or '(root)'}: {f.message}" for f in findings]
    if len(lines) > limit:
        lines = [*lines[:limit], f"- ... and {len(lines) - limit} more"]
    return "\n".join(lines)
