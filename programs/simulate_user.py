"""Conversation agent: the simulated user."""

from typing import Any

import dspy

from toolsynth.programs.stage import Stage
from toolsynth.signatures import SimulateUser
from toolsynth.validators.findings import Finding
from toolsynth.validators.turns import check_user_turn


class SimulateUserStage(Stage):
    signature = SimulateUser
    role = "user"

    def check(self, prediction: dspy.Prediction, inputs: dict[str, Any]) -> list[Finding]:
        return check_user_turn(prediction.message, prediction.task_complete, inputs.get("tool_names", ()))
