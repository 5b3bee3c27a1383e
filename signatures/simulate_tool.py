"""Multi-agent conversation: the tool, simulated consistently within one conversation."""

from typing import Any

import dspy

from toolsynth.types import FunctionSpec


class SimulateTool(dspy.Signature):
    """You are the function below, executing one call. Return a realistic result object that matches the
    function's `returns` schema exactly and follows from the arguments. Stay consistent with the earlier
    results of this conversation: the same entity keeps the same facts. If the arguments cannot be served,
    return the error the schema allows rather than inventing success."""

    function: FunctionSpec = dspy.InputField()
    arguments: dict[str, Any] = dspy.InputField()
    earlier_results: list[dict[str, Any]] = dspy.InputField(desc="this conversation's earlier calls and results")
    result: dict[str, Any] = dspy.OutputField()
