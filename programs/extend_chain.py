"""Stage 4d: a composite task → the same with one more step at its end that uses the last step's result."""

from typing import Any

import dspy

from toolsynth.programs.stage import Stage
from toolsynth.signatures import ExtendChain
from toolsynth.types import CompositeTask, Subtask, without_step_note
from toolsynth.validators.findings import Finding
from toolsynth.validators.tasks import check_deepened


def extended_task(composite: CompositeTask, prediction: dspy.Prediction) -> CompositeTask:
    last = composite.subtasks[-1].id
    return CompositeTask(
        strategy=composite.strategy,
        instruction=without_step_note(prediction.composite_instruction),
        subtasks=[
            *composite.subtasks,
            Subtask(id=last + 1, instruction=without_step_note(prediction.next_task), depends_on=[last]),
        ],
    )


class ExtendChainStage(Stage):
    signature = ExtendChain

    def check(self, prediction: dspy.Prediction, inputs: dict[str, Any]) -> list[Finding]:
        return check_deepened(inputs["composite"], extended_task(inputs["composite"], prediction))
