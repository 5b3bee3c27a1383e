"""What a run lends the programs while they execute: a step memo, a bound on LM calls, a usage meter.

Programs never know where records are stored. They ask the current `StepMemo` (a context variable
set by the runner) for a step's stored result before computing it, and report each finished step to
it. Outside a runner the memo is absent and every step is computed.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import functools
import random
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, ParamSpec, Protocol, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


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
class StageOutcomes:
    """How one stage's predictions went: first-try passes, repairs that worked, rejections, and why."""

    runs: int = 0
    first_try: int = 0
    repaired: int = 0
    rejected: int = 0
    attempts: int = 0
    unreadable_replies: int = 0
    attempt_codes: dict[str, int] = field(default_factory=dict)
    repairs: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        retried = self.runs - self.first_try
        return {
            "runs": self.runs,
            "attempts": self.attempts,
            "first_try_pass": self.first_try,
            "repaired": self.repaired,
            "rejected": self.rejected,
            "first_try_pass_rate": round(self.first_try / self.runs, 4) if self.runs else None,
            "repair_success_rate": round(self.repaired / retried, 4) if retried else None,
            "unreadable_replies": self.unreadable_replies,
            "attempt_codes": dict(sorted(self.attempt_codes.items())),
            "reply_repairs": dict(sorted(self.repairs.items())),
        }


@dataclass
class UsageMeter:
    """LM calls, tokens and cost per stage and per role, and each stage's pass rates (thread-safe).

    Every request sent counts as a call, whatever became of it: a reply that failed to parse, a repair
    attempt, a request the server refused, a structured-output probe.
    """

    by_stage: dict[str, StageUsage] = field(default_factory=dict)
    by_role: dict[str, StageUsage] = field(default_factory=dict)
    outcomes: dict[str, StageOutcomes] = field(default_factory=dict)
    notes: dict[str, int] = field(default_factory=dict)
    """Other things a run counts, e.g. `scenario_duplicates_removed`."""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, stage: str, role: str, prompt: int, completion: int, cost: float | None) -> None:
        with self._lock:
            self.by_stage.setdefault(stage, StageUsage()).add(prompt, completion, cost)
            self.by_role.setdefault(role, StageUsage()).add(prompt, completion, cost)

    def attempt(self, stage: str, codes: list[str], repairs: list[str], unreadable: bool) -> None:
        """One attempt of a stage: the finding codes that failed it (none: it passed) and the reply repairs."""
        with self._lock:
            o = self.outcomes.setdefault(stage, StageOutcomes())
            o.attempts += 1
            o.unreadable_replies += unreadable
            for code in codes:
                o.attempt_codes[code] = o.attempt_codes.get(code, 0) + 1
            for name in repairs:
                o.repairs[name] = o.repairs.get(name, 0) + 1

    def note(self, name: str, count: int = 1) -> None:
        with self._lock:
            self.notes[name] = self.notes.get(name, 0) + count

    def finished(self, stage: str, attempts: int, passed: bool) -> None:
        """A stage prediction ended: passed on attempt `attempts`, or rejected after them."""
        with self._lock:
            o = self.outcomes.setdefault(stage, StageOutcomes())
            o.runs += 1
            if passed and attempts == 1:
                o.first_try += 1
            elif passed:
                o.repaired += 1
            else:
                o.rejected += 1

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

    def outcomes_json(self) -> dict[str, Any]:
        with self._lock:
            return {k: v.to_json() for k, v in sorted(self.outcomes.items())}


class FailureBreaker:
    """Tells a request error that would fail every record from one that belongs to its record.

    A request the provider refuses (400, content filter, context length) is that record's rejection. But
    the same refusal for every request of a run means the model or the server cannot be used: when the
    first `threshold` refusals of a run come before any request has succeeded, the run stops.
    """

    def __init__(self, threshold: int = 3) -> None:
        self.threshold = threshold
        self.successes = 0
        self.refusals = 0

    def succeeded(self) -> None:
        self.successes += 1

    def refused(self) -> bool:
        """Count a refusal; True when the run should stop."""
        self.refusals += 1
        return self.successes == 0 and self.refusals >= self.threshold


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
_breaker: ContextVar[FailureBreaker | None] = ContextVar("toolsynth_failure_breaker", default=None)


def current_memo() -> StepMemo | None:
    return _memo.get()


METER_SETTING = "toolsynth_usage_meter"
"""A meter can also be lent through DSPy's settings (`dspy.context(toolsynth_usage_meter=meter)`): threads that
DSPy starts (`dspy.Evaluate`, `dspy.Parallel`) carry its settings over, not other context variables."""


def current_meter() -> UsageMeter | None:
    meter = _meter.get()
    if meter is None:
        import dspy

        lent = dspy.settings.get(METER_SETTING)
        meter = lent if isinstance(lent, UsageMeter) else None
    return meter


def current_breaker() -> FailureBreaker | None:
    return _breaker.get()


def current_retry_policy() -> RetryPolicy:
    return _retry.get() or RetryPolicy()


@contextlib.contextmanager
def running_with(
    memo: StepMemo | None = None,
    limit: CallLimit | None = None,
    meter: UsageMeter | None = None,
    retry: RetryPolicy | None = None,
    breaker: FailureBreaker | None = None,
) -> Iterator[None]:
    """Lend a memo, a call bound, a meter, a retry policy and a failure breaker to every program called inside
    this block."""
    memo_token, limit_token, meter_token = _memo.set(memo), _limit.set(limit), _meter.set(meter)
    retry_token, breaker_token = _retry.set(retry or RetryPolicy()), _breaker.set(breaker)
    try:
        yield
    finally:
        _breaker.reset(breaker_token)
        _retry.reset(retry_token)
        _meter.reset(meter_token)
        _limit.reset(limit_token)
        _memo.reset(memo_token)


@contextlib.contextmanager
def lending_memo(memo: StepMemo | None) -> Iterator[None]:
    """Lend `memo` in place of the current step memo inside this block, keeping the call bound, meter and
    policies: for a view of a run's memo (`current_memo()`) that observes or filters the steps asked for."""
    token = _memo.set(memo)
    try:
        yield
    finally:
        _memo.reset(token)


@contextlib.asynccontextmanager
async def lm_slot() -> AsyncIterator[None]:
    """Hold one of the run's in-flight LM call slots (no bound outside a runner)."""
    limit = _limit.get()
    if limit is None:
        yield
        return
    async with limit:
        yield


INLINE_STEPS = frozenset(
    ("dspy.clients.execution", name) for name in ("prepare", "_cached", "_store", "_price_legacy", "_price_result")
)
"""The steps `dspy.LM.acall` hands to a worker thread (`asyncio.to_thread`) for every request, by module and name:
building the request, reading and writing DSPy's response cache, pricing the reply."""


class RunExecutor(concurrent.futures.ThreadPoolExecutor):
    """A run's default executor: DSPy's per-request steps (`INLINE_STEPS`) run at once on the event loop's thread,
    everything else (a new connection's DNS lookup, ...) in worker threads as usual.

    Building and pricing are short Python steps holding the GIL: a thread runs them no sooner, and the hop there and
    back (a thread wake-up, a future, a wake-up of the loop) cost more CPU than the steps, 0.15-0.3 ms per LM call
    (benchmarks/README.md). With DSPy's cache on, its reads and writes (SQLite on disk) happen on the loop too, as
    the run's own step store's do. Results and errors reach the caller as from a thread, in the caller's context. A
    step DSPy renames, or that a Python release hands over differently, would go to a thread as before; the tests
    in `tests/test_run_executor.py` fail then, so that it is noticed."""

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> concurrent.futures.Future[T]:
        if not runs_inline(fn):
            return super().submit(fn, *args, **kwargs)
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # as a worker thread would: the caller's await raises it
            future.set_exception(exc)
        return future


def runs_inline(fn: Callable[..., Any]) -> bool:
    """Whether `RunExecutor` runs `fn` on the loop: one of `INLINE_STEPS`, itself or as `asyncio.to_thread` hands it
    over (`functools.partial(context.run, step, ...)`)."""
    if isinstance(fn, functools.partial) and isinstance(getattr(fn.func, "__self__", None), contextvars.Context):
        fn = fn.args[0] if fn.args else fn
    return (getattr(fn, "__module__", None), getattr(fn, "__qualname__", None)) in INLINE_STEPS
