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
import json
import random
import threading
import weakref
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

import dspy

from toolsynth.adapter import (
    OutputInvalid,
    ProbeStructuredOutputs,
    StageAdapter,
    expected_shape,
    is_dialect_refusal,
    logging_replies,
    output_fields,
    structured_outputs,
)
from toolsynth.execution import (
    current_breaker,
    current_memo,
    current_meter,
    current_retry_policy,
    lm_slot,
    retry_after_seconds,
)
from toolsynth.lm import cost_of
from toolsynth.outputs import type_adapter
from toolsynth.sampling import DEFAULT_SAMPLING, Sampling
from toolsynth.stages import StageName
from toolsynth.validators.findings import Finding, as_feedback, codes, error, errors
from toolsynth.validators.registry import codes_of

T = TypeVar("T")

FEEDBACK_FIELD = dspy.InputField(
    desc="problems found in your previous answer to these same inputs; answer again and fix every one"
)
GROUNDING_FIELDS: dict[str, tuple[Any, Any]] = {
    "tools": (
        list[dict[str, Any]],
        dspy.InputField(
            desc="the user's tools (name, description, parameters, returns): write only what these tools can do, "
            "stating the details their parameters need, and never name a tool"
        ),
    ),
}
"""Inputs a stage may be given besides its signature's own (`Stage.run(..., tools=...)`): they are appended to the
signature for that call, so every model sees them; a run that gives none sends the signature's prompt unchanged."""


@dataclass(frozen=True)
class Revision:
    """An earlier answer of a stage (its outputs) and what a later stage found wrong with it."""

    previous: dict[str, Any]
    findings: list[Finding]


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

    def __init__(self, max_attempts: int = 3, lm: dspy.LM | None = None, sampling: Sampling | None = None) -> None:
        super().__init__()
        self.predict = dspy.Predict(self.signature)
        self.max_attempts = max(1, max_attempts)
        self.role_lm = lm
        self.sampling = sampling if sampling is not None else DEFAULT_SAMPLING.get(self.role)

    @property
    def stage_name(self) -> StageName:
        """The signature's name, as registered in `toolsynth.stages` (an unregistered signature fails here)."""
        return StageName(self.signature.__name__)

    def check(self, prediction: dspy.Prediction, inputs: dict[str, Any]) -> list[Finding]:
        """Findings on one prediction; errors trigger a retry. Override per stage."""
        return []

    async def run(
        self,
        key: str | None = None,
        check_with: dict[str, Any] | None = None,
        revise: Revision | None = None,
        **inputs: Any,
    ) -> dspy.Prediction:
        """Predict and check, with bounded retries; memoised under `key` when a run lends a memo.

        `check_with` carries facts the checks need that are not inputs of the signature; `revise` asks for a
        revision of an earlier answer that a later stage found wanting (its first attempt already carries that
        feedback).
        """
        memo = current_memo()
        if key is not None and memo is not None:
            stored = memo.get(key)
            if stored is not None:
                if "rejected" in stored:
                    raise StageRejected(**stored["rejected"])
                return dspy.Prediction(**self.revive(stored["outputs"]))
        try:
            prediction = await self._attempts(inputs, {**inputs, **(check_with or {})}, revise)
        except StageRejected as rejected:
            if key is not None and memo is not None and "lm_error" not in rejected.codes:
                memo.put(key, {"rejected": rejected.to_json()})
            raise
        if key is not None and memo is not None:
            memo.put(key, {"outputs": self.dump(prediction)})
        return prediction

    def dump(self, prediction: dspy.Prediction) -> dict[str, Any]:
        types = output_fields(self.signature).types
        return {name: type_adapter(kind).dump_python(prediction[name], mode="json") for name, kind in types.items()}

    def revive(self, stored: dict[str, Any]) -> dict[str, Any]:
        types = output_fields(self.signature).types
        return {name: type_adapter(kind).validate_python(stored[name]) for name, kind in types.items()}

    async def _attempts(
        self, inputs: dict[str, Any], facts: dict[str, Any], revise: Revision | None = None
    ) -> dspy.Prediction:
        """Attempts are hidden from DSPy's trace; only an accepted answer is traced, as the stage's own
        predictor's answer to the original inputs, so optimizers never learn from a rejected attempt."""
        findings: list[Finding] = list(revise.findings) if revise is not None else []
        previous = _previous_answer(revise.previous, "") if revise is not None else ""
        outer_trace = dspy.settings.trace
        meter = current_meter()
        grounded = self._grounded(inputs)
        for attempt in range(1, self.max_attempts + 1):
            predictor = grounded
            call_inputs = dict(inputs)
            if findings:
                predictor = dspy.Predict(with_feedback(grounded.signature))
                predictor.demos = self.predict.demos
                call_inputs["feedback"] = repair_feedback(previous, findings, expected_shape(self.signature))
            with logging_replies() as replies:
                try:
                    with dspy.context(trace=None):
                        prediction = await self._predict(predictor, call_inputs)
                except OutputInvalid as exc:
                    findings, previous = exc.findings, _previous_answer(exc.parsed, exc.lm_response)
                except dspy.AdapterParseError as exc:
                    findings = [error("output_unparseable", "", _first_line(str(exc)))]
                    previous = _previous_answer(exc.parsed_result, exc.lm_response)
                else:
                    findings = errors(self.check(prediction, facts))
                    if findings:  # what the repair prompt shows; an accepted answer needs none
                        previous = _previous_answer(self.dump_lenient(prediction), "")
            if meter is not None:
                unreadable = any(f.code in UNREADABLE_CODES for f in findings)
                meter.attempt(self.stage_name, codes(findings), replies.repairs, unreadable)
            if not findings:
                if meter is not None:
                    meter.finished(self.stage_name, attempt, passed=True)
                if outer_trace is not None:
                    outer_trace.append((self.predict, dict(inputs), prediction))
                return prediction
        if meter is not None:
            meter.finished(self.stage_name, self.max_attempts, passed=False)
        raise StageRejected(
            self.stage_name,
            codes(findings),
            f"gave up after {self.max_attempts} attempts: {as_feedback(findings, limit=4)}",
        )

    def _grounded(self, inputs: dict[str, Any]) -> dspy.Predict:
        """The stage's predictor, its signature extended by the `GROUNDING_FIELDS` the inputs carry."""
        extra = [name for name in inputs if name not in self.signature.input_fields and name in GROUNDING_FIELDS]
        if not extra:
            return self.predict
        predictor = dspy.Predict(with_grounding(self.predict.signature, tuple(extra)))
        predictor.demos = self.predict.demos
        return predictor

    def dump_lenient(self, prediction: dspy.Prediction) -> dict[str, Any]:
        try:
            return self.dump(prediction)
        except Exception:  # a prediction that does not even dump is still worth showing
            return {k: str(v) for k, v in prediction.items()}

    async def _predict(self, predictor: dspy.Predict, inputs: dict[str, Any]) -> dspy.Prediction:
        """One prediction; transient LM errors are retried with backoff, outside the call slot.

        A request the provider refuses (context length, content filter, a bad request) rejects this record
        only, unless refusals before any success show the model cannot be used at all (`FailureBreaker`).
        """
        policy = current_retry_policy()
        rng: random.Random | None = None  # seeded from the OS (not free): only for a retry's jitter
        for attempt in range(policy.retries + 1):
            try:
                return await self._predict_once(predictor, inputs)
            except dspy.LMError as exc:
                if isinstance(exc, FATAL_LM_ERRORS):
                    raise
                if not dspy.is_retryable_lm_error(exc):
                    breaker = current_breaker()
                    if breaker is not None and breaker.refused():
                        raise
                    refused_for_length = isinstance(exc, dspy.ContextWindowExceededError)
                    code = "context_window_exceeded" if refused_for_length else "lm_request_refused"
                    raise StageRejected(self.stage_name, [code], _first_line(str(exc))) from exc
                if attempt == policy.retries:
                    raise StageRejected(self.stage_name, ["lm_error"], _first_line(str(exc))) from exc
                rng = rng or random.Random()
                await asyncio.sleep(policy.delay(attempt, retry_after_seconds(exc), rng))
        raise AssertionError("unreachable")

    async def _predict_once(self, predictor: dspy.Predict, inputs: dict[str, Any]) -> dspy.Prediction:
        lm = self.role_lm or dspy.settings.lm
        if lm is not None and structured_outputs.needs_probe(lm):
            await structured_outputs.resolve(lm, lambda _dialect: self._probe(lm))
        config = self.sampling.request_kwargs() if self.sampling is not None else {}
        prediction = await self._metered_call(self.stage_name, lm, predictor, {**inputs, "config": config})
        breaker = current_breaker()
        if breaker is not None:
            breaker.succeeded()
        return prediction

    async def _metered_call(
        self, stage: str, lm: Any, predictor: dspy.Predict, inputs: dict[str, Any]
    ) -> dspy.Prediction:
        """One request under the run's call bound, metered whatever becomes of it (a reply that fails to
        parse and a refused request count as calls too; a reply served from DSPy's cache does not)."""
        async with lm_slot():
            context = {"adapter": STAGE_ADAPTER, **({"lm": self.role_lm} if self.role_lm is not None else {})}
            with dspy.context(**context), dspy.track_usage() as tracker:
                sent = False
                try:
                    return await predictor.acall(**inputs)
                except dspy.LMError:
                    sent = True
                    raise
                finally:
                    self._meter(stage, lm, tracker, sent)

    def _meter(self, stage: str, lm: Any, tracker: Any, failed_request: bool) -> None:
        meter = current_meter()
        if meter is None:
            return
        model = str(getattr(lm, "model", "unknown"))
        entries = [usage for per_model in tracker.usage_data.values() for usage in per_model]
        for usage in entries:
            prompt = int(usage.get("prompt_tokens") or 0)
            completion = int(usage.get("completion_tokens") or 0)
            meter.record(stage, self.role, prompt, completion, cost_of(model, prompt, completion))
        if failed_request and not entries:
            meter.record(stage, self.role, 0, 0, 0.0)

    async def _probe(self, lm: Any) -> bool:
        """One tiny request in `dialect` (already selected): does the server accept that format?"""
        try:
            answer = await self._metered_call(
                StageName.STRUCTURED_OUTPUTS_PROBE,
                lm,
                dspy.Predict(ProbeStructuredOutputs),
                {"question": "Is 2 greater than 1?", "config": {"temperature": 0.0, "max_tokens": 16}},
            )
        except dspy.LMError as exc:
            if isinstance(exc, FATAL_LM_ERRORS) or not is_dialect_refusal(exc):
                raise
            return False
        except dspy.AdapterParseError:
            return False
        return isinstance(answer.answer, bool)


FATAL_LM_ERRORS = (dspy.LMAuthError, dspy.LMBillingError, dspy.LMConfigurationError)
"""Errors that would fail every record: the run stops at once."""

UNREADABLE_CODES = codes_of("reply")
"""Codes of a reply that could not be read as the stage's outputs (counted per stage as unreadable)."""

STAGE_ADAPTER = StageAdapter()


_FEEDBACK_SIGNATURES: weakref.WeakKeyDictionary[type[dspy.Signature], type[dspy.Signature]] = (
    weakref.WeakKeyDictionary()
)


def with_feedback(signature: type[dspy.Signature]) -> type[dspy.Signature]:
    """`signature` with the `feedback` input of a repair attempt: one class per signature (and instructions), so the
    adapter's per-signature caches (system message, output schema) serve repair attempts too."""
    extended = _FEEDBACK_SIGNATURES.get(signature)
    if extended is None or extended.instructions != signature.instructions:
        extended = _FEEDBACK_SIGNATURES[signature] = signature.append("feedback", FEEDBACK_FIELD)
    return extended


_GROUNDED_SIGNATURES: weakref.WeakKeyDictionary[type[dspy.Signature], dict[tuple[str, ...], type[dspy.Signature]]] = (
    weakref.WeakKeyDictionary()
)


def with_grounding(signature: type[dspy.Signature], names: tuple[str, ...]) -> type[dspy.Signature]:
    """`signature` with the `GROUNDING_FIELDS` `names` appended, one class per signature (and instructions) and names:
    a new class per call cost a pydantic model build per request, and missed the adapter's per-signature caches."""
    if not names:
        return signature
    per_names = _GROUNDED_SIGNATURES.setdefault(signature, {})
    extended = per_names.get(names)
    if extended is None or extended.instructions != signature.instructions:
        extended = signature
        for name in names:
            kind, field = GROUNDING_FIELDS[name]
            extended = extended.append(name, field, type_=kind)
        per_names[names] = extended
    return extended


def repair_feedback(previous: str, findings: list[Finding], shape: str) -> str:
    """What a repair attempt is told: its previous answer as JSON, every problem with its path and reason,
    and a one-line example of the expected shape."""
    return (
        f"Your previous answer:\n{previous}\n\nProblems:\n{as_feedback(findings)}\n\n"
        f"Answer again with one JSON object shaped like this example:\n{shape}"
    )


def _previous_answer(parsed: Any, raw: str | None) -> str:
    if isinstance(parsed, dict):
        try:
            text = json.dumps(parsed, ensure_ascii=False, default=str)
        except (TypeError, ValueError, RecursionError):
            text = str(raw or "")
    else:
        text = str(raw or "")
    return text if len(text) <= 2000 else text[:2000] + " ...(cut)"


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
