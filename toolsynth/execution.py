"""What a run lends the programs while they execute: a step memo, a bound on LM calls, a usage meter.

Programs never know where records are stored. They ask the current `StepMemo` (a context variable
set by the runner) for a step's stored result before computing it, and report each finished step to
it. Outside a runner the memo is absent and every step is computed.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import threading
from collections.abc import AsyncIterator, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Protocol


class StepMemo(Protocol):
    """Finished steps keyed by `record/step`; values are JSON-compatible."""

    def get(self, key: str) -> Any | None: ...

    def put(self, key: str, value: Any) -> None: ...


@dataclass
class StageUsage:
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float | None = 0.0

    def add(self, prompt: int, completion: int, cost: float | None) -> None:
        self.calls += 1
        self.prompt_tokens += prompt
        self.completion_tokens += completion
        self.cost = None if cost is None or self.cost is None else self.cost + cost

    def to_json(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
            "cost_usd": None if self.cost is None else round(self.cost, 6),
        }


@dataclass
class UsageMeter:
    """LM calls, tokens and cost per stage and per role (thread-safe)."""

    by_stage: dict[str, StageUsage] = field(default_factory=dict)
    by_role: dict[str, StageUsage] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, stage: str, role: str, prompt: int, completion: int, cost: float | None) -> None:
        with self._lock:
            self.by_stage.setdefault(stage, StageUsage()).add(prompt, completion, cost)
            self.by_role.setdefault(role, StageUsage()).add(prompt, completion, cost)

    def total(self) -> StageUsage:
        out = StageUsage()
        with self._lock:
            for u in self.by_stage.values():
                out.calls += u.calls
                out.prompt_tokens += u.prompt_tokens
                out.completion_tokens += u.completion_tokens
                out.cost = None if u.cost is None or out.cost is None else out.cost + u.cost
        return out

    def to_json(self) -> dict[str, Any]:
        with self._lock:
            stages = {k: v.to_json() for k, v in sorted(self.by_stage.items())}
            roles = {k: v.to_json() for k, v in sorted(self.by_role.items())}
        return {"total": self.total().to_json(), "by_stage": stages, "by_role": roles}


@dataclass(frozen=True)
class RetryPolicy:
    """Backoff for transient LM errors (429, 5xx, timeouts, resets): full jitter, capped, Retry-After first."""

    retries: int = 4
    base_seconds: float = 1.0
    max_seconds: float = 30.0

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        if retry_after is not None and retry_after >= 0:
            wait = min(float(retry_after), self.max_seconds)
            return wait + rng.uniform(0, min(1.0, wait / 4))  # spread the herd that got the same hint
        return rng.uniform(0, min(self.max_seconds, self.base_seconds * 2**attempt))


def retry_after_seconds(exc: BaseException) -> float | None:
    """The server's Retry-After, from DSPy's error or, where DSPy drops it (litellm engine), from the
    provider exception underneath (litellm keeps the response headers there)."""
    hint = getattr(exc, "retry_after", None)
    if isinstance(hint, int | float):
        return float(hint)
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            return None
        for headers in (
            getattr(seen, "litellm_response_headers", None),
            getattr(getattr(seen, "response", None), "headers", None),
        ):
            value = _header_seconds(headers)
            if value is not None:
                return value
        seen = seen.__cause__ or seen.__context__
    return None


def _header_seconds(headers: Any) -> float | None:
    if headers is None:
        return None
    try:
        millis = headers.get("retry-after-ms")
        if millis is not None:
            return float(millis) / 1000
        seconds = headers.get("retry-after")
        return None if seconds is None else float(seconds)
    except (AttributeError, TypeError, ValueError):  # an HTTP date or an odd header object: back off normally
        return None


class PhaseLimitReached(Exception):
    """A step beyond the current phase was reached (stage-barrier schedules only, see `running_with`)."""


_memo: ContextVar[StepMemo | None] = ContextVar("toolsynth_step_memo", default=None)


class CallLimit:
    """The run-wide bound on LM calls in flight, with a gauge of how many are."""

    def __init__(self, concurrency: int) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {concurrency}")
        self.concurrency = concurrency
        self.in_flight = 0
        self._semaphore = asyncio.Semaphore(concurrency)

    async def __aenter__(self) -> None:
        await self._semaphore.acquire()
        self.in_flight += 1

    async def __aexit__(self, *exc: object) -> None:
        self.in_flight -= 1
        self._semaphore.release()


_limit: ContextVar[CallLimit | None] = ContextVar("toolsynth_call_limit", default=None)
_meter: ContextVar[UsageMeter | None] = ContextVar("toolsynth_usage_meter", default=None)
_retry: ContextVar[RetryPolicy | None] = ContextVar("toolsynth_retry_policy", default=None)
_phase: ContextVar[int | None] = ContextVar("toolsynth_phase_limit", default=None)


def current_memo() -> StepMemo | None:
    return _memo.get()


def current_meter() -> UsageMeter | None:
    return _meter.get()


def current_phase_limit() -> int | None:
    return _phase.get()


def current_retry_policy() -> RetryPolicy:
    return _retry.get() or RetryPolicy()


@contextlib.contextmanager
def running_with(
    memo: StepMemo | None = None,
    limit: CallLimit | None = None,
    meter: UsageMeter | None = None,
    retry: RetryPolicy | None = None,
    phase_limit: int | None = None,
) -> Iterator[None]:
    """Lend a memo, a call bound, a meter and a retry policy to every program called inside this block.

    `phase_limit` makes steps whose level is above it raise `PhaseLimitReached` instead of running:
    with a memo, raising it level by level runs a stage-barrier schedule (every record finishes a
    stage before any starts the next), the schedule the benchmark compares the streaming one with.
    """
    memo_token, limit_token, meter_token = _memo.set(memo), _limit.set(limit), _meter.set(meter)
    retry_token, phase_token = _retry.set(retry or RetryPolicy()), _phase.set(phase_limit)
    try:
        yield
    finally:
        _phase.reset(phase_token)
        _retry.reset(retry_token)
        _meter.reset(meter_token)
        _limit.reset(limit_token)
        _memo.reset(memo_token)


@contextlib.asynccontextmanager
async def lm_slot() -> AsyncIterator[None]:
    """Hold one of the run's in-flight LM call slots (no bound outside a runner)."""
    limit = _limit.get()
    if limit is None:
        yield
        return
    async with limit:
        yield
