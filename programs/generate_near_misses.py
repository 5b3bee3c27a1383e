"""Distractors: near-miss functions, confusable with the ones a task needs and unable to do their job."""

from typing import Any

import dspy

from toolsynth.programs.stage import Stage
from toolsynth.signatures import GenerateNearMisses
from toolsynth.validators.behaviour import check_near_misses
from toolsynth.validators.findings import Finding


class GenerateNearMissesStage(Stage):
    signature = GenerateNearMisses

    def check(self, prediction: dspy.Prediction, inputs: dict[str, Any]) -> list[Finding]:
        return check_near_misses(
            [f.model_dump() for f in prediction.near_misses],
            list(prediction.resembles),
            [f.model_dump() for f in inputs["functions"]],
        )
