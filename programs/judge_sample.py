"""Final semantic gate (off by default): an LM judge of the finished conversation."""

from toolsynth.programs.stage import Stage
from toolsynth.signatures import JudgeSample


class JudgeSampleStage(Stage):
    signature = JudgeSample
    role = "judge"
