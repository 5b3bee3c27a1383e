"""Against a real model (skipped unless `TOOLSYNTH_REAL_MODEL_BASE` names its OpenAI-compatible server).

    ../shared/tools/local-model.sh start
    TOOLSYNTH_REAL_MODEL_BASE=http://127.0.0.1:8089/v1 pytest -m real_model

`TOOLSYNTH_REAL_MODEL` names the model (default `openai/qwen2.5-coder-1.5b`). A 1.5B model on 2 cores
answers a stage in 10-60 s, so these tests take minutes; they check what only a real model can show: that
every stage's reply is readable in the dialect the server takes, and that the reader's repairs are counted.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import dspy
import pytest

from tests.support import weather_comparison
from toolsynth.adapter import structured_outputs
from toolsynth.execution import UsageMeter, running_with
from toolsynth.programs import ButtonProgram
from toolsynth.programs.assistant_turn import AssistantTurnStage
from toolsynth.programs.extend_chain import ExtendChainStage, extended_task
from toolsynth.programs.generate_functions import GenerateFunctionsStage
from toolsynth.programs.judge_composition import JudgeCompositionStage
from toolsynth.programs.simulate_tool import SimulateToolStage
from toolsynth.programs.stage import Stage, StageRejected, run_sync
from toolsynth.programs.widen_parallel import WidenParallelStage, widened_task
from toolsynth.types import FunctionSpec, Subtask, render_steps
from toolsynth.validators.findings import errors
from toolsynth.validators.registry import codes_of
from toolsynth.validators.tasks import check_subtasks

BASE = os.environ.get("TOOLSYNTH_REAL_MODEL_BASE")
MODEL = os.environ.get("TOOLSYNTH_REAL_MODEL", "openai/qwen2.5-coder-1.5b")

pytestmark = [
    pytest.mark.real_model,
    pytest.mark.skipif(not BASE, reason="TOOLSYNTH_REAL_MODEL_BASE is not set (no real model server to use)"),
]

SUBTASKS = [
    Subtask(id=1, instruction="Get the current exchange rate from US dollars to euros."),
    Subtask(id=2, instruction="Convert 250 US dollars to euros with that rate.", depends_on=[1]),
]
RATE = FunctionSpec(
    name="get_exchange_rate",
    description="Get the current exchange rate between two currencies.",
    parameters={
        "type": "object",
        "properties": {
            "base": {"type": "string", "description": "ISO code of the currency to convert from"},
            "target": {"type": "string", "description": "ISO code of the currency to convert to"},
        },
        "required": ["base", "target"],
    },
    returns={"type": "object", "properties": {"rate": {"type": "number"}}, "required": ["rate"]},
)


@pytest.fixture(scope="module")
def real_lm() -> Iterator[dspy.LM]:
    lm = dspy.LM(MODEL, api_base=BASE, api_key="local", engine="litellm", cache=False, num_retries=0)
    with dspy.context(lm=lm):
        yield lm


def attempt(stage: Stage, **inputs: Any) -> tuple[dspy.Prediction | None, UsageMeter]:
    meter = UsageMeter()
    with running_with(meter=meter):
        try:
            return run_sync(stage.run(**inputs)), meter
        except StageRejected:
            return None, meter


@pytest.mark.parametrize(
    ("stage", "inputs"),
    [
        (JudgeCompositionStage(), {"composite_instruction": "Get the USD to EUR rate, then convert 250 USD.",
                                   "steps": render_steps(SUBTASKS)}),
        (GenerateFunctionsStage(), {"composite_instruction": "Get the USD to EUR rate, then convert 250 USD.",
                                    "subtasks": SUBTASKS}),
        (AssistantTurnStage(), {"tools": [RATE.to_openai_tool()], "language": "English",
                                "conversation": [{"role": "user", "content": "What is 1 USD in EUR today?"}]}),
        (SimulateToolStage(), {"function": RATE, "arguments": {"base": "USD", "target": "EUR"},
                               "earlier_results": []}),
    ],
    ids=["judge", "functions", "assistant", "tool"],
)  # fmt: skip
def test_every_reply_of_the_nested_stages_is_readable(real_lm: dspy.LM, stage: Stage, inputs: dict[str, Any]) -> None:
    prediction, meter = attempt(stage, **inputs)
    outcome = meter.outcomes_json()[stage.stage_name]
    assert outcome["unreadable_replies"] == 0, outcome
    assert structured_outputs.mode(real_lm) in ("json_schema", "json_object_schema")
    if prediction is not None and stage.stage_name == "AssistantTurn" and prediction.tool_calls:
        assert prediction.tool_calls[0].name == "get_exchange_rate"


def test_one_seed_end_to_end_ends_in_samples_or_stage_rejections(real_lm: dspy.LM) -> None:
    meter = UsageMeter()
    chat = "USER: How many euros do I get for 250 US dollars?\n\nASSISTANT: About 231 euros at today's rate."
    with running_with(meter=meter):
        result = ButtonProgram(expand=0)(chat=chat, source_id="real")
    assert result.samples or result.rejections
    assert "output_unparseable" not in {c for r in result.rejections for c in r.codes}


PARALLEL = weather_comparison()


@pytest.mark.parametrize(
    ("stage", "build"),
    [(WidenParallelStage(), widened_task), (ExtendChainStage(), extended_task)],
    ids=["widen", "extend"],
)
def test_the_deepening_stages_are_read_and_checked(real_lm: dspy.LM, stage: Stage, build: Any) -> None:
    """Every reply is read; the deeper composite passes the checks, or the stage gave up on what the checks found
    in the steps themselves (the 1.5B model sometimes restates a step in all three attempts), never on its format.
    A composite the stage gives up on keeps its size in a run."""
    prediction, meter = attempt(
        stage,
        check_with={"composite": PARALLEL},
        request=PARALLEL.instruction,
        steps=PARALLEL.steps_text(),
        language="English",
    )
    outcome = meter.outcomes_json()[stage.stage_name]
    assert outcome["unreadable_replies"] == 0
    if prediction is None:
        assert set(outcome["attempt_codes"]) <= codes_of("tasks"), outcome
        return
    deeper = build(PARALLEL, prediction)
    assert len(deeper.subtasks) == 4 and errors(check_subtasks(deeper.subtasks, deeper.instruction)) == []
