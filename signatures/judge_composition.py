"""Stage 5: keep only composite tasks that are feasible and really compositional."""

import dspy

from toolsynth.types import Subtask


class JudgeComposition(dspy.Signature):
    """Judge whether a composite task is good training material. It is feasible only if: every subtask is
    concrete and could be done with a realistic function call or simple reasoning; a subtask that depends on
    another really needs that one's result; independent subtasks really are independent; the composite
    instruction asks for exactly these subtasks and gives every detail they need; nothing asks for
    something harmful or impossible. Give your reasons first, then the verdict."""

    composite_instruction: str = dspy.InputField()
    subtasks: list[Subtask] = dspy.InputField()
    reasons: str = dspy.OutputField(desc="one or two sentences: why it is or is not feasible")
    feasible: bool = dspy.OutputField(desc="true or false")
