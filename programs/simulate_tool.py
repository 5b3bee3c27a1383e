"""Conversation agent: the simulated tool. Its results are checked against the function's `returns`."""

from typing import Any

import dspy

from toolsynth.programs.stage import Stage
from toolsynth.signatures import SimulateTool
from toolsynth.validators.calls import check_result


class SimulateToolStage(Stage):
    signature = SimulateTool
    role = "tool"

    def check(self, prediction: dspy.Prediction, inputs: dict[str, Any]) -> list:
        return check_result(inputs["function"].returns, prediction.result, path="result")
