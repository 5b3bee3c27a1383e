"""Conversation agent: the assistant. Its calls are checked against the tools' schemas."""

from typing import Any

import dspy

from toolsynth.programs.stage import Stage
from toolsynth.signatures import AssistantTurn
from toolsynth.validators.calls import check_arguments
from toolsynth.validators.conversation import call_count_findings
from toolsynth.validators.findings import Finding, error


class AssistantTurnStage(Stage):
    signature = AssistantTurn
    role = "assistant"

    def check(self, prediction: dspy.Prediction, inputs: dict[str, Any]) -> list[Finding]:
        if not prediction.tool_calls and not prediction.content.strip():
            return [error("assistant_message_empty", "content", "write text or call at least one tool")]
        specs = {t["function"]["name"]: t["function"] for t in inputs["tools"]}
        findings = call_count_findings(len(prediction.tool_calls), "tool_calls")
        for i, call in enumerate(prediction.tool_calls):
            path = f"tool_calls[{i}]"
            if call.name not in specs:
                findings.append(
                    error(
                        "call_unknown_function",
                        f"{path}.name",
                        f"{call.name!r} is not one of the tools: {', '.join(specs)}",
                    )
                )
                continue
            findings += check_arguments(specs[call.name], call.arguments, path=f"{path}.arguments")
        return findings
