"""Stage 2: one scenario becomes several substantially different, realistic ones."""

import dspy

from toolsynth.types import NonEmptyList


class ExpandScenario(dspy.Signature):
    """Write new scenarios related to the given one. Each must be realistic, substantially different from
    the given scenario and from each other (a different user need, not a rewording), and general enough to
    host many concrete tasks. One sentence each, in the language of the given scenario."""

    scenario: str = dspy.InputField()
    count: int = dspy.InputField(desc="how many new scenarios to write")
    scenarios: NonEmptyList[str] = dspy.OutputField()
