"""toolsynth: multi-turn function-calling training data with the BUTTON recipe, as typed DSPy programs.

import dspy
from toolsynth import ButtonProgram
dspy.configure(lm=dspy.LM("openai/gpt-4o-mini", engine="litellm"), adapter=dspy.JSONAdapter())
result = ButtonProgram()(chat="USER: What's the weather in Paris?\\nASSISTANT: ...")
result.samples, result.rejections
"""

import os

# Keep litellm and DSPy from fetching a price map at import time (they stall offline otherwise).
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

__version__ = "0.1.0"

from toolsynth.types import FunctionSpec, Rejection, Sample

__all__ = ["ButtonProgram", "ButtonResult", "FunctionSpec", "Rejection", "Sample", "__version__", "demo_lm"]


def __getattr__(name: str) -> object:
    # Heavy imports (dspy) only when asked for, so `toolsynth --help` stays fast.
    if name in ("ButtonProgram", "ButtonResult"):
        from toolsynth import programs

        return getattr(programs, name)
    if name == "demo_lm":
        from toolsynth.demo_model import demo_lm

        return demo_lm
    raise AttributeError(name)
