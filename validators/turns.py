"""Turns: one message a conversation agent wrote, checked before it joins the conversation.

The simulated user's turn and the assistant's turn are checked as the stages answer them (the tool's turn is a
result, checked by ``calls.check_result``), so a stage can ask for a repair at once. Empty messages and unknown
functions are the conversation layer's codes, defined once there; paths point into the turn (``message``,
``tool_calls[0].name``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from toolsynth.validators.calls import check_arguments
from toolsynth.validators.conversation import (
    call_count_findings,
    empty_assistant_message,
    empty_user_message,
    unknown_function,
)
from toolsynth.validators.findings import Finding, error
from toolsynth.validators.functions import function_map


def check_user_turn(message: Any, task_complete: bool, tool_names: Sequence[str] = ()) -> list[Finding]:
    """The simulated user's turn: unless the task is complete, some text that names none of the tools (a user
    asks for what they want; knowing the functions' names is the assistant's part)."""
    if task_complete:
        return []
    text = message if isinstance(message, str) else ""
    empty = empty_user_message(text, "message")
    if empty:
        return empty
    return [
        error("user_names_tool", "message", f"the user must not name the tool {name}")
        for name in tool_names
        if name in text
    ]


def check_assistant_turn(content: Any, tool_calls: Sequence[Mapping[str, Any]], tools: Any) -> list[Finding]:
    """The assistant's turn: text or calls; at most ``MAX_CALLS_PER_MESSAGE`` calls, each to a declared tool with
    arguments valid against its ``parameters``. ``tool_calls`` are ``{"name", "arguments"}`` drafts; ``tools`` the
    conversation's tools list."""
    empty = empty_assistant_message(content if isinstance(content, str) else "", len(tool_calls), "content")
    if empty:
        return empty
    specs = function_map(tools)
    findings = call_count_findings(len(tool_calls), "tool_calls")
    for i, call in enumerate(tool_calls):
        name = str(call.get("name"))
        unknown = unknown_function(name, specs, f"tool_calls[{i}].name")
        if unknown:
            findings += unknown
            continue
        findings += check_arguments(specs[name], call.get("arguments"), f"tool_calls[{i}].arguments")
    return findings
