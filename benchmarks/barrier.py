"""A stage-barrier schedule of `ButtonProgram`: the reference pipeline's schedule, for comparison.

Every record finishes a stage before any record starts the next. Built from the programs' own hooks
(`toolsynth.execution.running_with`): with a step memo lent, running the program for every pending
seed at phase limit L = 0, 1, 2, … (a step whose level is above L raises `PhaseLimitReached`) and
waiting for every task to settle before raising L runs stage L of every record, and only stage L,
between two barriers. Finished steps come from the memo, so each LM call is still made exactly once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dspy

from toolsynth.execution import CallLimit, PhaseLimitReached, UsageMeter, running_with
from toolsynth.programs.button import ButtonProgram, ButtonResult
from toolsynth.readers import Seed

MAX_LEVEL = 200
"""Far above any real pipeline depth (levels grow by 3 per conversation round)."""


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


@dataclass
class BarrierReport:
    wall_seconds: float
    phases: list[tuple[int, float]] = field(default_factory=list)
    """(phase limit, seconds) for every phase that ran."""
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
    level = 0
    while pending:
        if level > MAX_LEVEL:
            raise RuntimeError(f"{len(pending)} seeds still pending after phase {MAX_LEVEL}")
        phase_started = time.perf_counter()
        with running_with(memo=memo, limit=limit, meter=report.meter, phase_limit=level):
            outcomes = await asyncio.gather(
                *(
                    program.aforward(chat=s.chat, scenario=s.scenario, source_id=s.source_id, language=s.language)
                    for s in pending
                ),
                return_exceptions=True,
            )
        await _settle()  # a branch cut short by the limit leaves its siblings running: the barrier waits for them
        still = []
        for seed, outcome in zip(pending, outcomes, strict=True):
            if isinstance(outcome, PhaseLimitReached):
                still.append(seed)
            elif isinstance(outcome, BaseException):
                raise outcome
            else:
                report.results[seed.source_id] = outcome
        report.phases.append((level, time.perf_counter() - phase_started))
        pending = still
        level += 1
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
