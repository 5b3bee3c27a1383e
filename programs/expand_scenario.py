"""Stage 2: one scenario → several different ones."""

from typing import Any

import dspy

from toolsynth.programs.stage import Stage
from toolsynth.signatures import ExpandScenario
from toolsynth.validators.findings import Finding, error
from toolsynth.validators.tasks import check_scenarios


class ExpandScenarioStage(Stage):
    signature = ExpandScenario

    def check(self, prediction: dspy.Prediction, inputs: dict[str, Any]) -> list[Finding]:
        findings = check_scenarios(prediction.scenarios, inputs["scenario"])
        if not prediction.scenarios:
            findings.append(error("scenarios_missing", "scenarios", "write at least one new scenario"))
        return findings
