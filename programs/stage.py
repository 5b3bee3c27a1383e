"""The one pattern every stage shares: predict, check the typed output, retry with the findings.

A stage is a `dspy.Module` holding one `dspy.Predict` of its signature (so optimizers see it and
`save`/`load` keep its instructions and demos). When the checks return errors, the same signature,
extended by a `feedback` input that lists them, is asked again (bounded by `max_attempts`); after that
the stage raises `StageRejected` carrying its name, the finding codes and a message.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import random
import threading
from collections.abc import Coroutine
from typing import Any, ClassVar, TypeVar

import dspy
from pydantic import TypeAdapter

from toolsynth.execution import (
    PhaseLimitReached,
    current_memo,
    current_meter,
    current_phase_limit,
    current_retry_policy,
    lm_slot,
    retry_after_seconds,
)
from toolsynth.lm import cost_of
from toolsynth.validators.findings import Finding, as_feedback, codes, errors

T = TypeVar("T")

FEEDBACK_FIELD = dspy.InputField(
    desc="problems found in your previous answer to these same inputs; answer again and fix every one"
)


class StageRejected(Exception):
    """A stage gave up on a record: which stage, which finding codes, and why."""

    def __init__(self, stage: str, codes: list[str], message: str) -> None:
        super().__init__(f"{stage}: {message}")
        self.stage = stage
        self.codes = codes
        self.message = message

    def to_json(self) -> dict[str, Any]:
        return {"stage": self.stage, "codes": self.codes, "message": self.message}


class Stage(dspy.Module):
    """Base class: subclasses set `signature`, `role`, and implement `check`."""

    signature: ClassVar[type[dspy.Signature]]
    role: ClassVar[str] = "generator"
    level: ClassVar[int]
    """Position in the pipeline; conversation stages add 3 per round (used by stage-barrier schedules)."""

    def __init__(self, max_attempts: int = 3, lm: dspy.LM | None = None) -> None:
        super().__init__()
        self.predict = dspy.Predict(self.signature)
        self.max_attempts = max(1, max_attempts)
        self.role_lm = lm

    @property
    def stage_name(self) -> str:
        return self.signature.__name__

    def check(self, prediction: dspy.Prediction, inputs: dict[str, Any]) -> list[Finding]:
        """Findings on one prediction; errors trigger a retry. Override per stage."""
        return []

    async def run(
        self, key: str | None = None, check_with: dict[str, Any] | None = None, round: int = 0, **inputs: Any
    ) -> dspy.Prediction:
        """Predict and check, with bounded retries; memoised under `key` when a run lends a memo.

        `check_with` carries facts the checks need that are not inputs of the signature; `round` is the
        conversation round of a conversation stage.
        """
        memo = current_memo()
        if key is not None and memo is not None:
            stored = memo.get(key)
            if stored is not None:
                if "rejected" in stored:
                    raise StageRejected(**stored["rejected"])
                return dspy.Prediction(**self.revive(stored["outputs"]))
        limit = current_phase_limit()
        if limit is not None and self.level + 3 * round > limit:
            raise PhaseLimitReached(key)
        try:
            prediction = await self._attempts(inputs, {**inputs, **(check_with or {})})
        except StageRejected as rejected:
            if key is not None and memo is not None and "lm_error" not in rejected.codes:
                memo.put(key, {"rejected": rejected.to_json()})
            raise
        if key is not None and memo is not None:
            memo.put(key, {"outputs": self.dump(prediction)})
        return prediction

    def dump(self, prediction: dspy.Prediction) -> dict[str, Any]:
        fields = self.signature.output_fields
        return {
            name: TypeAdapter(fields[name].annotation).dump_python(prediction[name], mode="json") for name in fields
        }

    def revive(self, stored: dict[str, Any]) -> dict[str, Any]:
        fields = self.signature.output_fields
        return {name: TypeAdapter(fields[name].annotation).validate_python(stored[name]) for name in fields}

    async def _attempts(self, inputs: dict[str, Any], facts: dict[str, Any]) -> dspy.Prediction:
        """Attempts are hidden from DSPy's trace; only an accepted answer is traced, as the stage's own
        predictor's answer to the original inputs, so optimizers never learn from a rejected attempt."""
        findings: list[Finding] = []
        previous = ""
        outer_trace = dspy.settings.trace
        for _ in range(self.max_attempts):
            predictor = self.predict
            call_inputs = dict(inputs)
            if findings:
                predictor = dspy.Predict(self.predict.signature.append("feedback", FEEDBACK_FIELD))
                predictor.demos = self.predict.demos
                call_inputs["feedback"] = f"Your previous answer:\n{previous}\n\nProblems:\n{as_feedback(findings)}"
            try:
                with dspy.context(trace=None):
                    prediction = await self._predict(predictor, call_inputs)
            except dspy.AdapterParseError as exc:
                findings = [Finding("output_unparseable", "error", "", _first_line(str(exc)))]
                previous = str(getattr(exc, "lm_response", "") or "")[:2000]
                continue
            findings = errors(self.check(prediction, facts))
            if not findings:
                if outer_trace is not None:
                    outer_trace.append((self.predict, dict(inputs), prediction))
                return prediction
            previous = str(self.dump_lenient(prediction))[:2000]
        raise StageRejected(
            self.stage_name,
            codes(findings),
            f"gave up after {self.max_attempts} attempts: {as_feedback(findings, limit=4)}",
        )

    def dump_lenient(self, prediction: dspy.Prediction) -> dict[str, Any]:
        try:
            return self.dump(prediction)
        except Exception:  # a prediction that does not even dump is still worth showing
            return {k: str(v) for k, v in prediction.items()}

    async def _predict(self, predictor: dspy.Predict, inputs: dict[str, Any]) -> dspy.Prediction:
        """One prediction; transient LM errors are retried with backoff, outside the call slot."""
        policy = current_retry_policy()
        rng = random.Random()
        for attempt in range(policy.retries + 1):
            try:
                return await self._predict_once(predictor, inputs)
            except dspy.LMError as exc:
                if not dspy.is_retryable_lm_error(exc):
                    raise
                if attempt == policy.retries:
                    raise StageRejected(self.stage_name, ["lm_error"], _first_line(str(exc))) from exc
                await asyncio.sleep(policy.delay(attempt, retry_after_seconds(exc), rng))
        raise AssertionError("unreachable")

    async def _predict_once(self, predictor: dspy.Predict, inputs: dict[str, Any]) -> dspy.Prediction:
        async with lm_slot():
            lm = self.role_lm or dspy.settings.lm
            with (
                dspy.context(**({"lm": self.role_lm} if self.role_lm is not None else {})),
                dspy.track_usage() as tracker,
            ):
                prediction = await predictor.acall(**inputs)
        meter = current_meter()
        if meter is not None:
            model = str(getattr(lm, "model", "unknown"))
            for entries in tracker.usage_data.values():
                for usage in entries:
                    prompt = int(usage.get("prompt_tokens") or 0)
                    completion = int(usage.get("completion_tokens") or 0)
                    meter.record(self.stage_name, self.role, prompt, completion, cost_of(model, prompt, completion))
        return prediction


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else "no detail"
    return line[:300]


_thread_loops = threading.local()


def run_sync(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine from sync code, also when the caller already runs an event loop.

    Each thread keeps one event loop for its sync calls, so clients bound to a loop (litellm's async
    HTTP pools and logging worker) are reused rather than orphaned call after call.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        runner = getattr(_thread_loops, "runner", None)
        if runner is None:
            runner = _thread_loops.runner = asyncio.Runner()
        return runner.run(coroutine, context=contextvars.copy_context())  # the caller's dspy settings
    context = contextvars.copy_context()
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(context.run, asyncio.run, coroutine).result()
