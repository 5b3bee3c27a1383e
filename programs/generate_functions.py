"""Stage 6: composite task → functions (JSON Schema) and which subtask each serves."""

from typing import Any

import dspy

from toolsynth.programs.stage import Stage
from toolsynth.signatures import GenerateFunctions
from toolsynth.types import FunctionSpec, Subtask, SubtaskFunction
from toolsynth.validators.findings import Finding, error
from toolsynth.validators.functions import check_function_specs


def check_function_plan(
    functions: list[FunctionSpec], plan: list[SubtaskFunction], subtasks: list[Subtask]
) -> list[Finding]:
    """The functions are valid specs, serve the subtasks, and wire each dependency's data flow."""
    findings = check_function_specs([f.model_dump() for f in functions], path="functions")
    by_name = {f.name: f for f in functions}
    served = {p.subtask: p.function for p in plan}
    if not functions:
        findings.append(error("functions_missing", "functions", "at least one subtask needs a function"))
    for i, p in enumerate(plan):
        if p.function is not None and p.function not in by_name:
            findings.append(
                error(
                    "plan_unknown_function",
                    f"subtask_functions[{i}].function",
                    f"{p.function!r} is not among the functions",
                )
            )
    for sub in subtasks:
        if sub.id not in served:
            findings.append(
                error(
                    "subtask_unmapped",
                    "subtask_functions",
                    f"subtask {sub.id} is not mapped (use null for pure reasoning)",
                )
            )
            continue
        consumer = by_name.get(served[sub.id] or "")
        for dep in sub.depends_on:
            producer = by_name.get(served.get(dep) or "")
            if consumer is None or producer is None:
                continue
            produced = set((producer.returns or {}).get("properties", {}))
            taken = set((consumer.parameters or {}).get("properties", {}))
            if not produced & taken:
                findings.append(
                    error(
                        "data_flow_unwired",
                        f"functions[{consumer.name}]",
                        f"subtask {sub.id} consumes subtask {dep}'s result, but no parameter of {consumer.name} "
                        f"matches a field returned by {producer.name} ({', '.join(sorted(produced)) or 'none'})",
                    )
                )
    return findings


class GenerateFunctionsStage(Stage):
    signature = GenerateFunctions

    def check(self, prediction: dspy.Prediction, inputs: dict[str, Any]) -> list[Finding]:
        return check_function_plan(prediction.functions, prediction.subtask_functions, inputs["subtasks"])
