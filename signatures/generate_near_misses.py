"""Distractors: functions an assistant could mistake for the ones a task needs."""

import dspy

from toolsynth.types import FunctionSpec, NonEmptyList


class GenerateNearMisses(dspy.Signature):
    """Write `count` near-miss functions for the given functions: each belongs to the same domain as one of
    them and has an overlapping name and description, but a different scope or different parameters, so it
    cannot do what that function does (a forecast beside current weather, a history beside a live quote).
    Give each a new name unlike every given name, a description that states its own scope, parameters as a
    JSON Schema object with a description for every property and a `required` list, and `returns` as a JSON
    Schema object. Name the given function each one resembles in `resembles`, in the same order."""

    functions: list[FunctionSpec] = dspy.InputField(desc="the functions the task needs")
    count: int = dspy.InputField()
    near_misses: NonEmptyList[FunctionSpec] = dspy.OutputField()
    resembles: NonEmptyList[str] = dspy.OutputField(desc="for each near-miss, the name of the function it resembles")
