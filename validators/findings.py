"""Findings: what every check returns instead of raising."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any, Literal

Severity = Literal["error", "warning", "info"]


@dataclass(frozen=True)
class Finding:
    """One thing a check noticed.

    ``code`` is stable (documented in docs/validation-codes.md), ``path`` points into the checked
    object in JSONPath-like form (``messages[2].tool_calls[0].function.arguments.city``).
    """

    code: str
    severity: Severity
    path: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


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
