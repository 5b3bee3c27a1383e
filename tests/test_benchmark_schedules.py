"""The benchmark's stage-barrier schedule and step tracking work through the step memo alone."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import dspy
import pytest

from benchmarks.barrier import DictMemo, PhasedMemo, PhaseLimitReached, phase_of, run_barrier_sync
from benchmarks.step_tracking import StepTrackingProgram, current_step
from tests.support import scripted_lm
from toolsynth.demo_model import demo_lm, reply_to
from toolsynth.programs import ButtonProgram
from toolsynth.readers import Seed
from toolsynth.runner import RunOptions, run

SEEDS = [
    Seed(source_id="w", chat="USER: What's the weather like in Paris right now?\n\nASSISTANT: It is 18 °C and sunny."),
    Seed(source_id="c", chat="USER: 美元兑欧元的汇率是多少？\n\nASSISTANT: 1 美元约等于 0.92 欧元。"),
]


@pytest.mark.parametrize(
    ("key", "phase"),
    [
        ("w/scenario", 0),
        ("w/expand", 1),
        ("w-s1/tasks", 2),
        ("w-s1-t0/compose", 3),
        ("w-s1-t0/compose/2", 3),
        ("w-s1-t0/judge/2", 4),
        ("w-s1-t0/functions", 5),
        ("w-s1-t0/user/0", 6),
        ("w-s1-t0/assistant/1", 7),
        ("w-s1-t0/tool/1/0", 8),
        ("w-s1-t0/user/1", 9),
        ("w-s1-t0/assistant/2", 10),
        ("a/b-s0-t0/tool/3/2", 14),
        ("w-s1-t0/judge_sample", 100),
    ],
)
def test_the_phase_of_a_step_is_read_from_its_key(key: str, phase: int) -> None:
    assert phase_of(key) == phase


def test_a_key_of_no_known_step_has_no_phase() -> None:
    with pytest.raises(ValueError, match="w/summarise"):
        phase_of("w/summarise")


def test_a_phased_memo_holds_back_only_unfinished_steps_of_later_phases() -> None:
    memo = DictMemo()
    memo.put("w-s0-t0/functions", {"outputs": {}})
    phased = PhasedMemo(memo, phase=4)
    assert phased.get("w-s0-t0/judge") is None
    assert phased.get("w-s0-t0/functions") == {"outputs": {}}
    with pytest.raises(PhaseLimitReached):
        phased.get("w-s0-t0/user/0")


def test_the_barrier_schedule_gives_the_streaming_samples_phase_by_phase() -> None:
    program = ButtonProgram(expand=0, judge_samples=True)
    with dspy.context(lm=demo_lm(0), adapter=dspy.JSONAdapter()):
        streaming = [program(chat=s.chat, source_id=s.source_id) for s in SEEDS]
    asked: list[str] = []
    report = run_barrier_sync(
        ButtonProgram(expand=0, judge_samples=True), SEEDS, lm=demo_lm(0), concurrency=4, on_get=asked.append
    )
    expected = [[sample.to_openai() for sample in result.samples] for result in streaming]
    assert [[sample.to_openai() for sample in report.results[s.source_id].samples] for s in SEEDS] == expected
    assert all(expected)
    assert [phase for phase, _ in report.phases] == list(range(101))  # the sample judge runs at phase 100
    assert report.meter.total().calls == len(set(asked))  # the demo needs no repair: one call per step


def test_each_lm_call_of_a_real_run_knows_its_step(tmp_path: Path) -> None:
    steps: list[str | None] = []

    def answer(messages: list[dict[str, Any]]) -> str:
        steps.append(current_step())
        return reply_to(messages)

    lm, engine = scripted_lm(answer)
    manifest = run(SEEDS, StepTrackingProgram(expand=0), tmp_path, lm=lm, models={}, options=RunOptions(quiet=True))
    assert manifest["counts"]["accepted"] == len(SEEDS)
    assert None not in steps and len(set(steps)) == len(steps) == engine.calls
    assert {step.split("/", 1)[0] for step in steps if step} == {"w", "w-s0", "w-s0-t0", "c", "c-s0", "c-s0-t0"}
    assert {phase_of(step) for step in steps if step} >= {0, 2, 3, 4, 5, 6, 7, 8}
    rows = [json.loads(line) for line in (tmp_path / "samples.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [row["source_id"] for row in rows] == ["w", "c"]
