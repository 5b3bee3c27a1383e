"""Stage 6 with a tool library: choose the library function that serves each subtask (no function is invented)."""

from typing import Any

import dspy

from toolsynth.programs.stage import Stage
from toolsynth.signatures import SelectFunctions
from toolsynth.validators.findings import Finding
from toolsynth.validators.plan import check_function_selection


class SelectFunctionsStage(Stage):
    signature = SelectFunctions

    def check(self, prediction: dspy.Prediction, inputs: dict[str, Any]) -> list[Finding]:
        return check_function_selection(
            inputs["library"],
            [p.model_dump() for p in prediction.subtask_functions],
            [s.model_dump() for s in inputs["subtasks"]],
        )
