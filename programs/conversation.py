"""Stage 7: the multi-agent conversation — user ⇄ assistant ⇄ tool — for one composite task.

The user agent knows only the request (the composite task, or its first steps when the last is a follow-up), the
detail it withholds and its follow-up request, if any; the assistant sees only the conversation and the tools
(never the plan or subtasks); each tool call is answered by the tool agent, which sees the function
with its `returns` schema and this conversation's earlier results. The conversation ends when the user
agent is satisfied after an assistant answer, or is rejected at the turn limit.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from typing import Any

import dspy

from toolsynth.programs.assistant_turn import AssistantTurnStage
from toolsynth.programs.simulate_tool import SimulateToolStage
from toolsynth.programs.simulate_user import SimulateUserStage
from toolsynth.programs.stage import StageRejected
from toolsynth.stages import StageName
from toolsynth.tools.execute import CallExecutor
from toolsynth.types import CompositeTask, FunctionSpec, Message, ToolCall

DEFAULT_SYSTEM_PROMPT = "You are a helpful assistant. You can call functions when they help answer the user."


def call_id(key: str, turn: int, index: int) -> str:
    digest = hashlib.sha256(f"{key}|{turn}|{index}".encode()).hexdigest()[:16]
    return f"call_{digest}"


class Conversation(dspy.Module):
    def __init__(self, max_turns: int = 8, max_attempts: int = 3, system_prompt: str = DEFAULT_SYSTEM_PROMPT) -> None:
        super().__init__()
        self.user = SimulateUserStage(max_attempts)
        self.assistant = AssistantTurnStage(max_attempts)
        self.tool = SimulateToolStage(max_attempts)
        self.max_turns = max_turns
        self.system_prompt = system_prompt

    async def run(
        self,
        key: str,
        composite: CompositeTask,
        functions: list[FunctionSpec],
        language: str,
        *,
        request: str | None = None,
        withheld: str = "",
        follow_up: str = "",
        executor: CallExecutor | None = None,
    ) -> list[Message]:
        """The conversation over the offered `functions`. The user asks for `request` (default: the composite
        instruction), leaving out `withheld`, and makes `follow_up` as a second request after the first answer.
        With an `executor`, calls of the functions it implements run for real; the tool agent answers the rest."""
        user_inputs: dict[str, str] = {
            "composite_task": request if request is not None else composite.instruction,
            "withheld": withheld,
            "follow_up": follow_up,
        }
        tools = [f.to_openai_tool() for f in functions]
        by_name = {f.name: f for f in functions}
        names = {"tool_names": list(by_name)}
        messages: list[Message] = [Message(role="system", content=self.system_prompt)]

        def shown() -> list[dict[str, Any]]:
            return [m.to_openai() for m in messages[1:]]

        opening = await self.user.run(
            f"{key}/user/0", check_with=names, **user_inputs, conversation=[], language=language
        )
        messages.append(Message(role="user", content=opening.message))
        for turn in range(1, self.max_turns + 1):
            prediction = await self.assistant.run(
                f"{key}/assistant/{turn}", tools=tools, conversation=shown(), language=language
            )
            if prediction.tool_calls:
                calls = [
                    ToolCall(id=call_id(key, turn, i), name=c.name, arguments=c.arguments)
                    for i, c in enumerate(prediction.tool_calls)
                ]
                messages.append(Message(role="assistant", content=prediction.content or None, tool_calls=calls))
                messages.extend(await self._answer_calls(key, turn, calls, by_name, messages, executor))
                continue
            messages.append(Message(role="assistant", content=prediction.content))
            reply = await self.user.run(
                f"{key}/user/{turn}",
                check_with=names,
                **user_inputs,
                conversation=shown(),
                language=language,
            )
            if reply.task_complete:
                return messages
            messages.append(Message(role="user", content=reply.message))
        raise StageRejected(
            StageName.CONVERSATION,
            ["max_turns_reached"],
            f"the user was not satisfied within {self.max_turns} assistant turns",
        )

    async def _answer_calls(
        self,
        key: str,
        turn: int,
        calls: list[ToolCall],
        by_name: dict[str, FunctionSpec],
        messages: list[Message],
        executor: CallExecutor | None = None,
    ) -> list[Message]:
        earlier = _earlier_results(messages)

        async def answer(index: int, call: ToolCall) -> Message:
            if executor is not None and executor.implements(call.name):
                outcome = await executor.call(f"{key}/execute/{turn}/{index}", call)
                result = outcome.to_json()
            else:
                prediction = await self.tool.run(
                    f"{key}/tool/{turn}/{index}",
                    function=by_name[call.name],
                    arguments=call.arguments,
                    earlier_results=earlier,
                )
                result = prediction.result
            return Message(
                role="tool", tool_call_id=call.id, name=call.name, content=json.dumps(result, ensure_ascii=False)
            )

        return list(await asyncio.gather(*(answer(i, c) for i, c in enumerate(calls))))


def _earlier_results(messages: list[Message]) -> list[dict[str, Any]]:
    calls = {c.id: c for m in messages for c in m.tool_calls}
    out = []
    for m in messages:
        if m.role == "tool" and m.tool_call_id in calls:
            call = calls[m.tool_call_id]
            out.append({"name": call.name, "arguments": call.arguments, "result": json.loads(m.content or "{}")})
    return out
