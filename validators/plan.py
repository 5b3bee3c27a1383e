"""The function plan: generated functions that serve a composite task's subtasks and wire its data flow.

Input is the ``GenerateFunctions`` stage's output as JSON: ``functions`` (function specs with ``parameters`` and
``returns``), ``plan`` (``[{"subtask": id, "function": name or null}]``, null for a reasoning step) and the
composite task's ``subtasks`` (``[{"id", "depends_on"}]``). Paths point into that output (``functions[1].parameters``,
``subtask_functions[0].function``).
"""

from __future__ import annotations

from typing import Any

from toolsynth.validators.findings import Finding, error
from toolsynth.validators.functions import check_function_specs
from toolsynth.validators.limits import shorten


def _properties(schema: Any) -> set[str]:
    properties = schema.get("properties") if isinstance(schema, dict) else None
    return set(properties) if isinstance(properties, dict) else set()


def _parameter_names(schema: Any) -> set[str]:
    """The parameters' names, with the fields of object (or array-of-object) parameters, one level down."""
    properties = schema.get("properties") if isinstance(schema, dict) else None
    names = _properties(schema)
    for inner in (properties or {}).values():
        if isinstance(inner, dict) and inner.get("type") == "array":
            inner = inner.get("items")
        if isinstance(inner, dict) and inner.get("type") == "object":
            names |= _properties(inner)
    return names


def check_function_plan(functions: Any, plan: Any, subtasks: Any) -> list[Finding]:
    """The functions are valid specs, every subtask is mapped to one of them (or to null), and for every dependency
    between two mapped subtasks some parameter of the consumer (or a field of an object parameter) takes a field the
    producer returns."""
    findings = check_function_specs(functions, path="functions")
    if all(isinstance(x, list) for x in (functions, plan, subtasks)) and not functions:
        findings.append(error("functions_missing", "functions", "at least one subtask needs a function"))
    return findings + _check_mapping(functions, plan, subtasks, "plan_unknown_function", "among the functions")


def check_function_selection(library: Any, plan: Any, subtasks: Any) -> list[Finding]:
    """A selection from a tool library (``SelectFunctions``): every subtask mapped to a function of the ``library``
    (or to null), none invented (``function_not_in_library``), and every dependency wired as in
    ``check_function_plan``. The library's specs are the user's and are not checked here."""
    findings = _check_mapping(library, plan, subtasks, "function_not_in_library", "a function of the tool library")
    if isinstance(plan, list) and plan and all(isinstance(s, dict) and s.get("function") is None for s in plan):
        findings.append(error("functions_missing", "subtask_functions", "at least one subtask needs a function"))
    return findings


def _check_mapping(functions: Any, plan: Any, subtasks: Any, unknown_code: str, among: str) -> list[Finding]:
    findings: list[Finding] = []
    if not isinstance(functions, list) or not isinstance(plan, list) or not isinstance(subtasks, list):
        return findings
    index = {f["name"]: i for i, f in enumerate(functions) if isinstance(f, dict) and isinstance(f.get("name"), str)}
    served: dict[int, str | None] = {}
    for i, step in enumerate(plan):
        if not isinstance(step, dict) or not isinstance(step.get("subtask"), int):
            continue
        function = step.get("function")
        served[step["subtask"]] = function if isinstance(function, str) else None
        if function is not None and (not isinstance(function, str) or function not in index):
            findings.append(
                error(
                    unknown_code,
                    f"subtask_functions[{i}].function",
                    f"{shorten(repr(function), 80)} is not {among}",
                )
            )
    for sub in subtasks:
        sid = sub.get("id") if isinstance(sub, dict) else None
        if not isinstance(sid, int) or sid not in served:
            findings.append(
                error(
                    "subtask_unmapped",
                    "subtask_functions",
                    f"subtask {sid} is not mapped (use null for pure reasoning)",
                )
            )
            continue
        consumer = index.get(served[sid] or "")
        depends_on = sub.get("depends_on")
        for dep in depends_on if isinstance(depends_on, list) else []:
            producer = index.get(served.get(dep) or "") if isinstance(dep, int) else None
            if consumer is None or producer is None:
                continue
            produced = _properties(functions[producer].get("returns"))
            if not produced & _parameter_names(functions[consumer].get("parameters")):
                consumer_name, producer_name = functions[consumer]["name"], functions[producer]["name"]
                findings.append(
                    error(
                        "data_flow_unwired",
                        f"functions[{consumer}].parameters",
                        f"subtask {sid} consumes subtask {dep}'s result, but no parameter of {consumer_name} "
                        f"matches a field returned by {producer_name} ({', '.join(sorted(produced)) or 'none'})",
                    )
                )
    return findings
