"""Stage 5: keep only composite tasks that are feasible and really compositional."""

import dspy

from toolsynth.types import Subtask


class JudgeComposition(dspy.Signature):
    """Check a composite task for these defects: (1) a subtask that neither a realistic function call nor
    simple reasoning could do; (2) a subtask listed as depending on another that does not use that one's
    result; (3) the composite instruction leaves out a subtask, or a detail a subtask needs; (4) a harmful or
    impossible request. In `reasons`, name each defect you find, or say there is none. The task is feasible
    exactly when there is no defect."""

    composite_instruction: str = dspy.InputField()
    subtasks: list[Subtask] = dspy.InputField()
    reasons: str = dspy.OutputField(desc="one or two sentences: why it is or is not feasible")
    feasible: bool = dspy.OutputField(desc="true or false")
