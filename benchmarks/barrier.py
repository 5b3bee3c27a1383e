"""A stage-barrier schedule of `ButtonProgram`: the reference pipeline's schedule, for comparison.

Every record finishes a stage before any record starts the next. Built on the step memo a run lends the
programs (`toolsynth.execution.running_with(memo=...)`): phase P runs the program for every pending seed
with a `PhasedMemo`, which gives back finished steps and raises `PhaseLimitReached` for a step not yet
finished whose phase (`phase_of`, read from its step key) is after P. Waiting for every task to settle
before P + 1 runs phase P of every record, and only phase P, between two barriers. Finished steps come
from the memo, so each LM call is still made exactly once.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dspy

from toolsynth.execution import CallLimit, UsageMeter, running_with
from toolsynth.programs.button import ButtonProgram, ButtonResult
from toolsynth.readers import Seed

PIPELINE_PHASES = {
    "scenario": 0,
    "expand": 1,
    "tasks": 2,
    "compose": 3,
    "judge": 4,
    "functions": 5,
    "judge_sample": 100,
}
"""The phase of each step before and after the conversation (`judge_sample` after every conversation round)."""
CONVERSATION_PHASES = {"assistant": 4, "tool": 5, "user": 6}
"""Conversation steps: this plus 3 per turn. Turn t ≥ 1 runs the assistant (4 + 3t), its tool calls (5 + 3t) and
the user's reply (6 + 3t); the user's opening, `user/0`, runs at 6."""
MAX_PHASE = 200
"""Far above any real pipeline depth (phases grow by 3 per conversation turn)."""

_STEP_KEY = re.compile(r"/(?P<step>[a-z_]+)(?:/(?P<turn>\d+))?(?:/\d+)?$")
"""`<record>/<step>`, `<record>/<step>/<round or turn>`, `<record>/tool/<turn>/<call>` (ButtonProgram's keys)."""


class PhaseLimitReached(Exception):
    """A record reached a step of a later phase: it waits for the next barrier."""


def phase_of(key: str) -> int:
    """The barrier phase of a `ButtonProgram` step, from its key (e.g. `7-s0-t0/compose`, `7-s0-t0/tool/2/1`)."""
    match = _STEP_KEY.search(key)
    if match is not None and match["step"] in CONVERSATION_PHASES and match["turn"] is not None:
        return CONVERSATION_PHASES[match["step"]] + 3 * int(match["turn"])
    if match is not None and match["step"] in PIPELINE_PHASES:
        return PIPELINE_PHASES[match["step"]]
    raise ValueError(f"no barrier phase for the step key {key!r}")


class DictMemo:
    """An in-memory `StepMemo`; `on_get` sees every key asked for (the benchmark's step tracker)."""

    def __init__(self, on_get: Callable[[str], None] | None = None) -> None:
        self.values: dict[str, Any] = {}
        self.on_get = on_get

    def get(self, key: str) -> Any | None:
        if self.on_get is not None:
            self.on_get(key)
        return self.values.get(key)

    def put(self, key: str, value: Any) -> None:
        self.values[key] = value


class PhasedMemo:
    """The `StepMemo` lent during one phase: finished steps come back from `memo`; asking for a step not yet
    finished whose phase is after `phase` raises `PhaseLimitReached` instead of letting it run."""

    def __init__(self, memo: DictMemo, phase: int) -> None:
        self.memo = memo
        self.phase = phase

    def get(self, key: str) -> Any | None:
        stored = self.memo.get(key)
        if stored is None and phase_of(key) > self.phase:
            raise PhaseLimitReached(key)
        return stored

    def put(self, key: str, value: Any) -> None:
        self.memo.put(key, value)


@dataclass
class BarrierReport:
    wall_seconds: float
    phases: list[tuple[int, float]] = field(default_factory=list)
    """(phase, seconds) for every phase that ran."""
    results: dict[str, ButtonResult] = field(default_factory=dict)
    meter: UsageMeter = field(default_factory=UsageMeter)


async def run_barrier(
    program: ButtonProgram,
    seeds: Sequence[Seed],
    *,
    concurrency: int,
    on_get: Callable[[str], None] | None = None,
) -> BarrierReport:
    """Run `seeds` through `program` stage by stage under one bound of `concurrency` LM calls in flight."""
    memo = DictMemo(on_get)
    limit = CallLimit(concurrency)
    report = BarrierReport(wall_seconds=0.0)
    pending = list(seeds)
    started = time.perf_counter()
    phase = 0
    while pending:
        if phase > MAX_PHASE:
            raise RuntimeError(f"{len(pending)} seeds still pending after phase {MAX_PHASE}")
        phase_started = time.perf_counter()
        with running_with(memo=PhasedMemo(memo, phase), limit=limit, meter=report.meter):
            outcomes = await asyncio.gather(
                *(
                    program.aforward(chat=s.chat, scenario=s.scenario, source_id=s.source_id, language=s.language)
                    for s in pending
                ),
                return_exceptions=True,
            )
        await _settle()  # a branch cut short by the phase leaves its siblings running: the barrier waits for them
        still = []
        for seed, outcome in zip(pending, outcomes, strict=True):
            if isinstance(outcome, PhaseLimitReached):
                still.append(seed)
            elif isinstance(outcome, BaseException):
                raise outcome
            else:
                report.results[seed.source_id] = outcome
        report.phases.append((phase, time.perf_counter() - phase_started))
        pending = still
        phase += 1
    report.wall_seconds = time.perf_counter() - started
    return report


async def _settle() -> None:
    """Wait until every task running the program's code is done (their `PhaseLimitReached` are expected).

    Only the program's tasks: libraries keep their own background tasks alive (litellm's logging worker).
    """
    while True:
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done() and _ours(t)]
        if not others:
            return
        await asyncio.gather(*others, return_exceptions=True)


_SOURCE = Path(__file__).resolve().parent.parent
_VENDORED = ("site-packages", "dist-packages")


def _ours(task: asyncio.Task[Any]) -> bool:
    code = getattr(task.get_coro(), "cr_code", None)
    filename = str(getattr(code, "co_filename", ""))
    return filename.startswith(str(_SOURCE)) and not any(part in filename for part in _VENDORED)


def run_barrier_sync(
    program: ButtonProgram,
    seeds: Sequence[Seed],
    *,
    lm: dspy.LM,
    concurrency: int,
    on_get: Callable[[str], None] | None = None,
) -> BarrierReport:
    """`run_barrier` in its own event loop, with `lm` and the JSON adapter the runner uses."""
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
        return asyncio.run(run_barrier(program, seeds, concurrency=concurrency, on_get=on_get))
