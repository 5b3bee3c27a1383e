"""Stage 4d: a composite task → the same with one more step at its end that uses the last step's result."""

from typing import Any

import dspy

from toolsynth.programs.stage import Stage
from toolsynth.signatures import ExtendChain
from toolsynth.types import CompositeTask, Subtask
from toolsynth.validators.findings import Finding
from toolsynth.validators.tasks import check_subtasks


def extended_task(composite: CompositeTask, prediction: dspy.Prediction) -> CompositeTask:
    last = composite.subtasks[-1].id
    return CompositeTask(
        strategy=composite.strategy,
        instruction=prediction.composite_instruction,
        subtasks=[*composite.subtasks, Subtask(id=last + 1, instruction=prediction.next_task, depends_on=[last])],
    )


class ExtendChainStage(Stage):
    signature = ExtendChain

    def check(self, prediction: dspy.Prediction, inputs: dict[str, Any]) -> list[Finding]:
        composite = extended_task(inputs["composite"], prediction)
        return check_subtasks(composite.subtasks, composite.instruction)
