"""Stage 2: one scenario → several different ones."""

from typing import Any

import dspy

from toolsynth.programs.stage import Stage
from toolsynth.signatures import ExpandScenario
from toolsynth.validators.findings import Finding
from toolsynth.validators.tasks import check_scenarios


class ExpandScenarioStage(Stage):
    signature = ExpandScenario

    def check(self, prediction: dspy.Prediction, inputs: dict[str, Any]) -> list[Finding]:
        return check_scenarios(prediction.scenarios, inputs["scenario"])
