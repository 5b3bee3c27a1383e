"""Stage 5: the feasibility judge (an LM verdict; the rule checks ran in the compose stages)."""

from toolsynth.programs.stage import Stage
from toolsynth.signatures import JudgeComposition


class JudgeCompositionStage(Stage):
    signature = JudgeComposition
    role = "judge"
