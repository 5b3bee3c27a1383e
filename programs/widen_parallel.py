"""Stage 4c: a parallel-then-sequential task → the same with one more independent step (fan-in of 3)."""

from typing import Any

import dspy

from toolsynth.programs.stage import Stage
from toolsynth.signatures import WidenParallel
from toolsynth.types import CompositeTask, Subtask, without_step_note
from toolsynth.validators.findings import Finding
from toolsynth.validators.tasks import check_deepened


def widened_task(composite: CompositeTask, prediction: dspy.Prediction) -> CompositeTask:
    """`composite` (independent steps, then one step using all of them) with the new independent step placed
    after the others and the rewritten final step using every one of them."""
    independent = [s for s in composite.subtasks if not s.depends_on]
    new_id = len(independent) + 1
    return CompositeTask(
        strategy=composite.strategy,
        instruction=without_step_note(prediction.composite_instruction),
        subtasks=[
            *(Subtask(id=s.id, instruction=s.instruction) for s in independent),
            Subtask(id=new_id, instruction=without_step_note(prediction.parallel_task)),
            Subtask(
                id=new_id + 1,
                instruction=without_step_note(prediction.subsequent_task),
                depends_on=list(range(1, new_id + 1)),
            ),
        ],
    )


def widenable(composite: CompositeTask, fan_in: int) -> bool:
    """Whether `composite` is independent steps 1..k followed by one step using all of them, with k < `fan_in`."""
    *independent, last = composite.subtasks
    ids = [s.id for s in independent]
    return (
        composite.strategy == "parallel_then_sequential"
        and ids == list(range(1, len(ids) + 1))
        and all(not s.depends_on for s in independent)
        and sorted(last.depends_on) == ids
        and len(ids) < fan_in
    )


class WidenParallelStage(Stage):
    signature = WidenParallel

    def check(self, prediction: dspy.Prediction, inputs: dict[str, Any]) -> list[Finding]:
        return check_deepened(inputs["composite"], widened_task(inputs["composite"], prediction))
