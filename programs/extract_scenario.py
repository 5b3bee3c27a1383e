"""Stage 1: seed chat → one general scenario."""

from typing import Any

import dspy

from toolsynth.programs.stage import Stage
from toolsynth.signatures import ExtractScenario
from toolsynth.validators.findings import Finding
from toolsynth.validators.tasks import check_scenario


class ExtractScenarioStage(Stage):
    signature = ExtractScenario

    def check(self, prediction: dspy.Prediction, inputs: dict[str, Any]) -> list[Finding]:
        return check_scenario(prediction.scenario)
