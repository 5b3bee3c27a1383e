"""The BUTTON stages as typed DSPy signatures: one module per stage, the docstring is the instruction."""

from toolsynth.signatures.assistant_turn import AssistantTurn
from toolsynth.signatures.compose_parallel import ComposeParallelThenSequential
from toolsynth.signatures.compose_sequential import ComposeSequential
from toolsynth.signatures.expand_scenario import ExpandScenario
from toolsynth.signatures.extend_chain import ExtendChain
from toolsynth.signatures.extract_scenario import ExtractScenario
from toolsynth.signatures.generate_atomic_task import GenerateAtomicTask
from toolsynth.signatures.generate_functions import GenerateFunctions
from toolsynth.signatures.generate_near_misses import GenerateNearMisses
from toolsynth.signatures.judge_composition import JudgeComposition
from toolsynth.signatures.judge_sample import JudgeSample
from toolsynth.signatures.select_functions import SelectFunctions
from toolsynth.signatures.simulate_tool import SimulateTool
from toolsynth.signatures.simulate_user import SimulateUser
from toolsynth.signatures.widen_parallel import WidenParallel

__all__ = [
    "AssistantTurn",
    "ComposeParallelThenSequential",
    "ComposeSequential",
    "ExpandScenario",
    "ExtendChain",
    "ExtractScenario",
    "GenerateAtomicTask",
    "GenerateFunctions",
    "GenerateNearMisses",
    "JudgeComposition",
    "JudgeSample",
    "SelectFunctions",
    "SimulateTool",
    "SimulateUser",
    "WidenParallel",
]
