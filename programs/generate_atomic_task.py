"""Stage 3: scenario → self-contained atomic tasks."""

from typing import Any

import dspy

from toolsynth.programs.stage import Stage
from toolsynth.signatures import GenerateAtomicTask
from toolsynth.validators.findings import Finding
from toolsynth.validators.tasks import check_atomic_tasks


class GenerateAtomicTaskStage(Stage):
    signature = GenerateAtomicTask

    def check(self, prediction: dspy.Prediction, inputs: dict[str, Any]) -> list[Finding]:
        tools = inputs.get("tools") or []  # with a tool library, its function names must not appear either
        return check_atomic_tasks(prediction.tasks, [t["name"] for t in tools if isinstance(t, dict) and "name" in t])
