"""The check every real call passes before it runs: its arguments against the function's `parameters`."""

from __future__ import annotations

from typing import Any

from toolsynth.tools.contract import ToolOutcome
from toolsynth.types import FunctionSpec
from toolsynth.validators.calls import check_arguments
from toolsynth.validators.findings import as_feedback

REFUSED_CODES = frozenset({"argument_unknown"})
"""Warnings that refuse a real call too: a name the function does not declare would fail or be dropped silently."""


def invalid_arguments(spec: FunctionSpec, arguments: Any) -> ToolOutcome | None:
    """A `tool_arguments_invalid` outcome when the arguments do not fit `spec.parameters`, else None."""
    findings = [
        f for f in check_arguments(spec.model_dump(), arguments) if f.severity == "error" or f.code in REFUSED_CODES
    ]
    if not findings:
        return None
    return ToolOutcome(ok=False, error="tool_arguments_invalid", message=as_feedback(findings, limit=4))
