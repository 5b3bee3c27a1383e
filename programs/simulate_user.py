"""Conversation agent: the simulated user."""

from typing import Any

import dspy

from toolsynth.programs.stage import Stage
from toolsynth.signatures import SimulateUser
from toolsynth.validators.findings import Finding, error


class SimulateUserStage(Stage):
    signature = SimulateUser
    role = "user"

    def check(self, prediction: dspy.Prediction, inputs: dict[str, Any]) -> list[Finding]:
        if prediction.task_complete:
            return []
        message = str(prediction.message or "")
        if not message.strip():
            return [error("user_message_empty", "message", "the user must say something")]
        named = [n for n in inputs.get("tool_names", ()) if n in message]
        return [error("user_names_tool", "message", f"the user must not name the tool {n}") for n in named]
