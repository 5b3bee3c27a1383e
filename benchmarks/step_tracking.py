"""Which step each LM call belongs to, for the runner benchmark's call recorder.

A run lends its programs a step memo; a stage asks it for its step's key just before it calls the LM. A
`StepReportingMemo` is a view of that memo that records each key asked for in a context variable, so the LM
call that follows knows its step (`current_step`). `StepTrackingProgram` is the CLI's `ButtonProgram` lending
that view around each seed it runs, whatever memo the runner lent (its store); the stage-barrier schedule
reports the keys through its own memo (`benchmarks.barrier.DictMemo(on_get=track_step)`).
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from toolsynth.execution import StepMemo, current_memo, lending_memo
from toolsynth.programs.button import ButtonProgram, ButtonResult

_step: ContextVar[str | None] = ContextVar("bench_step", default=None)


def track_step(key: str) -> None:
    """The LM call that follows in this context belongs to step `key`."""
    _step.set(key)


def current_step() -> str | None:
    return _step.get()


class StepReportingMemo:
    """A view of a step memo (or of none) that reports every key asked for (`track_step`)."""

    def __init__(self, memo: StepMemo | None) -> None:
        self.memo = memo

    def get(self, key: str) -> Any | None:
        track_step(key)
        return None if self.memo is None else self.memo.get(key)

    def put(self, key: str, value: Any) -> None:
        if self.memo is not None:
            self.memo.put(key, value)


class StepTrackingProgram(ButtonProgram):
    """`ButtonProgram` whose steps report their keys through a `StepReportingMemo` over the lent memo."""

    async def aforward(
        self, chat: Any = None, scenario: str | None = None, source_id: str = "0", language: str | None = None
    ) -> ButtonResult:
        with lending_memo(StepReportingMemo(current_memo())):
            return await super().aforward(chat=chat, scenario=scenario, source_id=source_id, language=language)


_TAGGING: list[Any] = []
"""This process's `CallRecorder` and its open `installed()` context (kept: a collected one would uninstall it)."""


class TaggingProgram(StepTrackingProgram):
    """`StepTrackingProgram` that sends each call's id (`step#attempt`) to the server for
    `bench_runner.timed_demo_responder`, from whichever process runs it: a Ray actor gets a pickled copy and
    installs the tagging wrapper (`bench_runner.CallRecorder(tag=True)`) there on its first seed."""

    async def aforward(
        self, chat: Any = None, scenario: str | None = None, source_id: str = "0", language: str | None = None
    ) -> ButtonResult:
        if not _TAGGING:
            from benchmarks.bench_runner import CallRecorder

            recorder = CallRecorder(tag=True)
            installed = recorder.installed()
            installed.__enter__()  # for the life of the process
            _TAGGING.extend([recorder, installed])
        return await super().aforward(chat=chat, scenario=scenario, source_id=source_id, language=language)


def tagged_calls() -> list[Any]:
    """The calls `TaggingProgram` made in this process (`bench_runner.Call`)."""
    return list(_TAGGING[0].calls) if _TAGGING else []
