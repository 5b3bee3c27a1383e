"""The pipeline's stage names, in one place: what a rejection's `stage` and the manifest's per-stage counts say.

A stage program's name is its signature's class name (`Stage.stage_name`), so the members for the signatures are
derived from the signature classes: renaming a signature renames its stage everywhere at once, and the eval
metrics, which route GEPA's feedback by stage, follow. The other members are steps of the program and the run
that reject records without a signature of their own.
"""

from __future__ import annotations

from enum import StrEnum

from toolsynth.signatures import (
    AssistantTurn,
    ComposeParallelThenSequential,
    ComposeSequential,
    ExpandScenario,
    ExtendChain,
    ExtractScenario,
    GenerateAtomicTask,
    GenerateFunctions,
    GenerateNearMisses,
    JudgeComposition,
    JudgeSample,
    SelectFunctions,
    SimulateTool,
    SimulateUser,
    WidenParallel,
)


class StageName(StrEnum):
    EXTRACT_SCENARIO = ExtractScenario.__name__
    EXPAND_SCENARIO = ExpandScenario.__name__
    GENERATE_ATOMIC_TASK = GenerateAtomicTask.__name__
    COMPOSE_SEQUENTIAL = ComposeSequential.__name__
    COMPOSE_PARALLEL_THEN_SEQUENTIAL = ComposeParallelThenSequential.__name__
    WIDEN_PARALLEL = WidenParallel.__name__
    EXTEND_CHAIN = ExtendChain.__name__
    JUDGE_COMPOSITION = JudgeComposition.__name__
    GENERATE_FUNCTIONS = GenerateFunctions.__name__
    SELECT_FUNCTIONS = SelectFunctions.__name__
    GENERATE_NEAR_MISSES = GenerateNearMisses.__name__
    SIMULATE_USER = SimulateUser.__name__
    ASSISTANT_TURN = AssistantTurn.__name__
    SIMULATE_TOOL = SimulateTool.__name__
    JUDGE_SAMPLE = JudgeSample.__name__
    CONVERSATION = "Conversation"
    """The conversation loop: the user was not satisfied within the turn limit."""
    VALIDATE = "validate"
    """The final gate: `check_sample` on the finished row."""
    READ = "read"
    """A seed record that cannot be read (`--skip-bad`)."""
    RUN = "run"
    """An unexpected exception while running one record."""
    STRUCTURED_OUTPUTS_PROBE = "structured_outputs_probe"
    """The one small request that finds a server's structured-output dialect (metered, never a rejection)."""


CONVERSATION_AGENTS = (StageName.ASSISTANT_TURN, StageName.SIMULATE_USER, StageName.SIMULATE_TOOL)
"""The stages that write a conversation's messages."""
