"""Stage 4b: atomic task → parallel-then-sequential composite task."""

from typing import Any

import dspy

from toolsynth.programs.stage import Stage
from toolsynth.signatures import ComposeParallelThenSequential
from toolsynth.types import CompositeTask, Subtask
from toolsynth.validators.findings import Finding
from toolsynth.validators.tasks import check_subtasks


def parallel_then_sequential_task(task: str, prediction: dspy.Prediction) -> CompositeTask:
    return CompositeTask(
        strategy="parallel_then_sequential",
        instruction=prediction.composite_instruction,
        subtasks=[
            Subtask(id=1, instruction=task),
            Subtask(id=2, instruction=prediction.parallel_task),
            Subtask(id=3, instruction=prediction.subsequent_task, depends_on=[1, 2]),
        ],
    )


class ComposeParallelThenSequentialStage(Stage):
    signature = ComposeParallelThenSequential

    def check(self, prediction: dspy.Prediction, inputs: dict[str, Any]) -> list[Finding]:
        composite = parallel_then_sequential_task(inputs["task"], prediction)
        return check_subtasks(composite.subtasks, composite.instruction)
