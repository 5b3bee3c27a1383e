"""Stage 6 (top-down): write the functions that a composite task needs."""

import dspy

from toolsynth.types import FunctionSpec, NonEmptyList, Subtask, SubtaskFunction


class GenerateFunctions(dspy.Signature):
    """Write the functions an assistant needs to complete this composite task. Each function is general
    and granular: it does one thing, is useful beyond this task, and is named and described without the
    task's specific values. Parameters are a JSON Schema object with a description for every property and
    a `required` list; `returns` is a JSON Schema object of the result. Where one subtask consumes
    another's result, the first function returns the field the second one takes as an argument, under a
    matching name. Write no function for a subtask that is pure reasoning or arithmetic; map it to null.
    Map every subtask to the function that serves it. Write every schema out in full: never use `$ref`,
    `$defs` or `definitions`. When `nested_parameters` is true, give at least one function a parameter
    that is an object, or an array of objects, grouping values the task gives together (a filter, an
    address, line items), with every inner property described and required; when false, use such
    parameters only where the task truly needs them."""

    composite_instruction: str = dspy.InputField()
    subtasks: list[Subtask] = dspy.InputField()
    nested_parameters: bool = dspy.InputField()
    functions: NonEmptyList[FunctionSpec] = dspy.OutputField()
    subtask_functions: NonEmptyList[SubtaskFunction] = dspy.OutputField()
