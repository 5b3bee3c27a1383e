"""The BUTTON stages as DSPy programs (predict, check, repair) and the composed `ButtonProgram`."""

from toolsynth.programs.button import ButtonProgram, ButtonResult
from toolsynth.programs.conversation import Conversation
from toolsynth.programs.stage import Stage, StageRejected

__all__ = ["ButtonProgram", "ButtonResult", "Conversation", "Stage", "StageRejected"]
