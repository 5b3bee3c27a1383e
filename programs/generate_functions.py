"""Stage 6: composite task → functions (JSON Schema) and which subtask each serves."""

from typing import Any

import dspy

from toolsynth.programs.stage import Stage
from toolsynth.signatures import GenerateFunctions
from toolsynth.validators.findings import Finding
from toolsynth.validators.plan import check_function_plan


class GenerateFunctionsStage(Stage):
    signature = GenerateFunctions

    def check(self, prediction: dspy.Prediction, inputs: dict[str, Any]) -> list[Finding]:
        return check_function_plan(
            [f.model_dump() for f in prediction.functions],
            [p.model_dump() for p in prediction.subtask_functions],
            [s.model_dump() for s in inputs["subtasks"]],
        )
