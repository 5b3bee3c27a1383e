"""The verification layer: pure checks that return findings and never raise on bad data.

Layers: function specs (``functions``), calls (``calls``), conversation order and pairing
(``conversation``), composite-task consistency (``composition``), whole rows (``sample``); and the stages'
own checks: scenarios, tasks and composites (``tasks``), the function plan (``plan``), one user or assistant
turn (``turns``). Every code is documented in docs/validation-codes.md.
"""

from toolsynth.validators.calls import check_arguments, check_result
from toolsynth.validators.composition import check_composition
from toolsynth.validators.conversation import check_conversation
from toolsynth.validators.findings import Finding, as_feedback, codes, error, errors, info, warning
from toolsynth.validators.functions import check_function_spec, check_function_specs, normalize_function_spec
from toolsynth.validators.sample import check_sample, check_sharegpt_row, sharegpt_to_openai

__all__ = [
    "Finding",
    "as_feedback",
    "check_arguments",
    "check_composition",
    "check_conversation",
    "check_function_spec",
    "check_function_specs",
    "check_result",
    "check_sample",
    "check_sharegpt_row",
    "codes",
    "error",
    "errors",
    "info",
    "normalize_function_spec",
    "sharegpt_to_openai",
    "warning",
]
