"""Stage 4a: atomic task → sequential composite task (the second step consumes the first's result)."""

from typing import Any

import dspy

from toolsynth.programs.stage import Stage
from toolsynth.signatures import ComposeSequential
from toolsynth.types import CompositeTask, Subtask
from toolsynth.validators.findings import Finding
from toolsynth.validators.tasks import check_subtasks


def sequential_task(task: str, prediction: dspy.Prediction) -> CompositeTask:
    return CompositeTask(
        strategy="sequential",
        instruction=prediction.composite_instruction,
        subtasks=[
            Subtask(id=1, instruction=task),
            Subtask(id=2, instruction=prediction.subsequent_task, depends_on=[1]),
        ],
    )


class ComposeSequentialStage(Stage):
    signature = ComposeSequential

    def check(self, prediction: dspy.Prediction, inputs: dict[str, Any]) -> list[Finding]:
        composite = sequential_task(inputs["task"], prediction)
        return check_subtasks(composite.subtasks, composite.instruction)
