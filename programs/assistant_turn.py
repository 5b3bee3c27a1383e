"""Conversation agent: the assistant. Its calls are checked against the tools' schemas."""

from typing import Any

import dspy

from toolsynth.programs.stage import Stage
from toolsynth.signatures import AssistantTurn
from toolsynth.validators.findings import Finding
from toolsynth.validators.turns import check_assistant_turn


class AssistantTurnStage(Stage):
    signature = AssistantTurn
    role = "assistant"

    def check(self, prediction: dspy.Prediction, inputs: dict[str, Any]) -> list[Finding]:
        return check_assistant_turn(
            prediction.content, [c.model_dump() for c in prediction.tool_calls], inputs["tools"]
        )
