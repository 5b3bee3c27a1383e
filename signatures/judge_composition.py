"""Stage 5: keep only composite tasks that are feasible and really compositional."""

import dspy

from toolsynth.types import Subtask, Verdict


class JudgeComposition(dspy.Signature):
    """Judge whether a composite task is good training material. It is feasible only if: every subtask is
    concrete and could be done with a realistic function call or simple reasoning; a subtask that depends on
    another really needs that one's result; independent subtasks really are independent; the composite
    instruction asks for exactly these subtasks and gives every detail they need; nothing asks for
    something harmful or impossible."""

    composite_instruction: str = dspy.InputField()
    subtasks: list[Subtask] = dspy.InputField()
    verdict: Verdict = dspy.OutputField()
