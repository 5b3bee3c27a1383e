"""Multi-agent conversation: the assistant, which sees only the conversation and the tools."""

from typing import Any

import dspy

from toolsynth.types import CallDraft


class AssistantTurn(dspy.Signature):
    """You are a helpful assistant with tools. Write your next message. If a value a tool requires is
    missing from the conversation, ask the user for exactly that value in `content` and call nothing. Call
    only tools that do what the request asks; never call a tool that merely looks similar. Call the tools the
    request needs, with arguments taken exactly from the conversation and from earlier tool results; calls
    that do not depend on each other go together in one message. When every result you need is in, answer in
    `content` with no tool calls, using the results faithfully. If no tool can do the request or a part of
    it, call nothing for that part and say plainly what you did and what you cannot do."""

    tools: list[dict[str, Any]] = dspy.InputField(desc="the functions you may call (OpenAI function format)")
    conversation: list[dict[str, Any]] = dspy.InputField(desc="the messages so far, OpenAI chat format")
    language: str = dspy.InputField(desc="the language to answer in")
    content: str = dspy.OutputField(default="", desc="text for the user; empty when you only call tools")
    tool_calls: list[CallDraft] = dspy.OutputField(
        default=[], desc='calls to make now, each {"name": ..., "arguments": {...}}; empty when answering'
    )
