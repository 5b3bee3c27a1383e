"""Conversation: OpenAI chat messages in a valid order, every tool call answered exactly once.

Rules: optional system message(s) first, then a user; a tool message answers a call of the assistant
message just before it (same id, same name); every call is answered before the next non-tool message;
assistants say something or call something; the conversation ends with an assistant text answer.
Calls name declared functions with valid arguments; results match a declared ``returns`` schema.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from toolsynth.validators.calls import check_arguments, check_result
from toolsynth.validators.findings import Finding, error, warning
from toolsynth.validators.functions import function_map
from toolsynth.validators.limits import MAX_CALLS_PER_MESSAGE, shorten

ROLES = ("system", "user", "assistant", "tool")


def message_text(content: Any) -> str | None:
    """The text of a message's content (a string or a list of text parts); None when it is neither."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list) and all(isinstance(p, dict) and isinstance(p.get("text"), str) for p in content):
        return "".join(p["text"] for p in content)
    return None


@dataclass
class _State:
    specs: dict[str, dict[str, Any]]
    tools_declared: bool
    findings: list[Finding] = field(default_factory=list)
    pending: dict[str, tuple[str | None, str]] = field(default_factory=dict)  # id → (name, call path)
    answered: set[str] = field(default_factory=set)
    issued: dict[str, str] = field(default_factory=dict)  # id → path of the call
    tools_missing_reported: bool = False

    def flush(self, before: str) -> None:
        for call_id, (name, where) in self.pending.items():
            self.findings.append(
                error(
                    "tool_call_unanswered", where, f"call {call_id!r} to {name!r} has no tool message before {before}"
                )
            )
        self.pending.clear()


def check_conversation(messages: Any, tools: Any) -> list[Finding]:
    """Role order, call/answer pairing, declared functions, valid arguments and results."""
    if not isinstance(messages, list):
        return [error("messages_not_list", "messages", f"must be a list of messages, not {type(messages).__name__}")]
    if not messages:
        return [error("conversation_empty", "messages", "has no messages")]
    state = _State(specs=function_map(tools), tools_declared=isinstance(tools, list) and bool(tools))
    started = False
    prev_role: str | None = None
    for i, msg in enumerate(messages):
        path = f"messages[{i}]"
        if not isinstance(msg, dict):
            state.findings.append(error("message_not_object", path, f"must be an object, not {type(msg).__name__}"))
            prev_role = None
            continue
        role = msg.get("role")
        if role not in ROLES:
            state.findings.append(
                error("role_invalid", f"{path}.role", f"{shorten(repr(role), 40)} is not one of {', '.join(ROLES)}")
            )
            prev_role = None
            continue
        if role != "tool" and state.pending:
            state.flush(path)
        if role == "system":
            if started:
                state.findings.append(error("role_order_invalid", path, "a system message must come first"))
        elif not started:
            started = True
            if role != "user":
                state.findings.append(
                    error("first_message_not_user", path, f"the conversation must open with a user message, not {role}")
                )
        if role == "user" and prev_role in ("user", "tool"):
            state.findings.append(
                error(
                    "role_order_invalid",
                    path,
                    f"a user message after a {prev_role} message: the assistant must answer first",
                )
            )
        _check_content(msg, path, role, state)
        if role == "assistant":
            _check_assistant(msg, path, state)
        elif role == "tool":
            _check_tool(msg, path, state)
        prev_role = role
    state.flush("the end of the conversation")
    state.findings += _check_finished(messages)
    return state.findings


def _check_content(msg: dict[str, Any], path: str, role: str, state: _State) -> None:
    content = msg.get("content")
    text = message_text(content)
    if text is None:
        state.findings.append(
            error(
                "content_invalid",
                f"{path}.content",
                f"must be a string (or a list of text parts), not {type(content).__name__}",
            )
        )
    elif role == "user":
        state.findings += empty_user_message(text, f"{path}.content")


def empty_user_message(text: str, path: str) -> list[Finding]:
    """`user_message_empty` when a user message's text is blank."""
    if text.strip():
        return []
    return [error("user_message_empty", path, "the user says nothing; a user message needs text")]


def empty_assistant_message(text: str, calls: int, path: str) -> list[Finding]:
    """`assistant_message_empty` when an assistant message has neither text nor calls."""
    if calls or text.strip():
        return []
    return [error("assistant_message_empty", path, "has neither text nor tool calls: write text or call a tool")]


def unknown_function(name: str, declared: dict[str, Any], path: str) -> list[Finding]:
    """`call_unknown_function` when a call names a function that ``declared`` (name → spec) does not hold."""
    if name in declared:
        return []
    known = ", ".join(declared) or "none"
    return [
        error(
            "call_unknown_function",
            path,
            f"{shorten(name, 80)!r} is not a declared tool ({shorten(known, 160)})",
        )
    ]


def call_count_findings(count: int, path: str) -> list[Finding]:
    """`tool_calls_too_many` when one assistant message issues more than ``MAX_CALLS_PER_MESSAGE`` calls."""
    if count <= MAX_CALLS_PER_MESSAGE:
        return []
    return [
        error(
            "tool_calls_too_many",
            path,
            f"{count} calls in one assistant message; at most {MAX_CALLS_PER_MESSAGE} (issue the ones needed once)",
        )
    ]


def _check_assistant(msg: dict[str, Any], path: str, state: _State) -> None:
    calls = msg.get("tool_calls")
    if calls is None:
        calls = []
    if not isinstance(calls, list):
        state.findings.append(
            error("tool_calls_invalid", f"{path}.tool_calls", f"must be a list of calls, not {type(calls).__name__}")
        )
        calls = []
    state.findings += empty_assistant_message(message_text(msg.get("content")) or "", len(calls), path)
    state.findings += call_count_findings(len(calls), f"{path}.tool_calls")
    for j, call in enumerate(calls):
        _check_call(call, f"{path}.tool_calls[{j}]", state)


def _check_call(call: Any, path: str, state: _State) -> None:
    out = state.findings
    if not isinstance(call, dict) or not isinstance(call.get("function"), dict):
        shape = 'must be {"id", "type": "function", "function": {name, arguments}}'
        out.append(error("tool_call_invalid", path, shape))
        return
    if "type" in call and call["type"] != "function":
        shown = shorten(repr(call["type"]), 40)
        out.append(error("tool_call_invalid", f"{path}.type", f'must be "function", not {shown}'))
    fn = call["function"]
    name = fn.get("name")
    if not isinstance(name, str) or not name:
        out.append(error("tool_call_invalid", f"{path}.function.name", "a call needs the function's name"))
        name = None
    call_id = call.get("id")
    if not isinstance(call_id, str) or not call_id:
        out.append(error("tool_call_id_missing", f"{path}.id", "a call needs a non-empty string id"))
    elif call_id in state.issued:
        out.append(
            error("tool_call_id_duplicate", f"{path}.id", f"id {call_id!r} is already used by {state.issued[call_id]}")
        )
    else:
        state.issued[call_id] = path
        state.pending[call_id] = (name, path)
    if name is None:
        return
    if not state.tools_declared:
        if not state.tools_missing_reported:
            out.append(error("tools_missing", path, "the conversation calls functions but declares no tools"))
            state.tools_missing_reported = True
        return
    unknown = unknown_function(name, state.specs, f"{path}.function.name")
    if unknown:
        out += unknown
        return
    args_path = f"{path}.function.arguments"
    if "arguments" not in fn:
        out.append(error("arguments_not_object", args_path, "a call needs arguments (a JSON object string)"))
        return
    if isinstance(fn["arguments"], dict):
        out.append(warning("arguments_not_string", args_path, "OpenAI format keeps arguments as a JSON string"))
    out += check_arguments(state.specs[name], fn["arguments"], args_path)


def _check_tool(msg: dict[str, Any], path: str, state: _State) -> None:
    out = state.findings
    call_id = msg.get("tool_call_id")
    if not isinstance(call_id, str) or not call_id:
        out.append(
            error("tool_call_id_missing", f"{path}.tool_call_id", "a tool message must name the call it answers")
        )
        return
    if call_id in state.pending:
        call_name, _ = state.pending.pop(call_id)
        state.answered.add(call_id)
    elif call_id in state.answered:
        out.append(error("tool_call_answered_twice", f"{path}.tool_call_id", f"call {call_id!r} is already answered"))
        return
    else:
        issued = state.issued.get(call_id)
        where = f" (issued at {issued}, but answers must directly follow their call)" if issued else ""
        out.append(
            error(
                "tool_message_orphan",
                f"{path}.tool_call_id",
                f"answers {shorten(call_id, 60)!r}, which is not a pending call{where}",
            )
        )
        return
    name = msg.get("name")
    if name is None:
        out.append(warning("tool_name_missing", f"{path}.name", f"name the function answered ({call_name!r})"))
    elif call_name is not None and name != call_name:
        out.append(
            error(
                "tool_name_mismatch",
                f"{path}.name",
                f"{shorten(repr(name), 60)} answers call {call_id!r}, which called {call_name!r}",
            )
        )
    content = msg.get("content")
    if content is None or (isinstance(content, str) and not content.strip()):
        out.append(warning("tool_result_empty", f"{path}.content", "the tool returned nothing"))
        return
    spec = state.specs.get(call_name or "")
    returns = spec.get("returns") if spec else None
    text = message_text(content)
    out += check_result(returns, text if text is not None else content, f"{path}.content")


def _check_finished(messages: list[Any]) -> list[Finding]:
    last = messages[-1]
    where = f"messages[{len(messages) - 1}]"
    if not isinstance(last, dict) or last.get("role") != "assistant":
        role = last.get("role") if isinstance(last, dict) else None
        return [error("conversation_not_finished", where, f"must end with an assistant answer, not {role!r}")]
    if last.get("tool_calls"):
        return [error("conversation_not_finished", where, "ends with tool calls that no answer follows")]
    text = message_text(last.get("content"))
    if not (text or "").strip():
        return [error("conversation_not_finished", where, "the final assistant message has no text")]
    return []
