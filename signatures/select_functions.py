"""Stage 6 with a tool library (top-down): choose, from the library, the function that serves each subtask."""

from typing import Any

import dspy

from toolsynth.types import NonEmptyList, Subtask, SubtaskFunction


class SelectFunctions(dspy.Signature):
    """Choose the functions an assistant needs to complete this composite task from the given library; never
    invent one. Map every subtask to the name of the one library function that does what it asks, spelled
    exactly as the library names it, or to null when the subtask is pure reasoning or arithmetic over earlier
    results. Where one subtask consumes another's result, choose functions whose parameters take a field the
    earlier function returns."""

    composite_instruction: str = dspy.InputField()
    subtasks: list[Subtask] = dspy.InputField()
    library: list[dict[str, Any]] = dspy.InputField(desc="the functions to choose from: name, description, schemas")
    subtask_functions: NonEmptyList[SubtaskFunction] = dspy.OutputField()
