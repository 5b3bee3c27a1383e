"""The adapter every stage talks through: DSPy's JSON adapter, plus schema-constrained decoding and a
reply reader that normalises near-misses and reports every problem as a finding.

Structured outputs. Servers that can constrain decoding to a JSON Schema each take it in their own
dialect, so the dialect is chosen per LM (`set_structured_outputs(lm, mode)`, default `auto`):

- `json_schema`: `{"type": "json_schema", "json_schema": {"name", "schema", "strict"}}` (OpenAI, vLLM, SGLang);
- `json_object_schema`: `{"type": "json_object", "schema": ...}` (llama-cpp-python's server);
- `off`: plain JSON mode, no schema;
- `auto`: `json_schema` where litellm knows the provider takes it; for an OpenAI-compatible server at an
  `api_base`, one small probe request per LM and run tries `json_schema`, then `json_object_schema`, and
  settles on the first the server accepts (else `off`, with one warning); the offline demo model: `off`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import weakref
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Annotated, Any

import dspy
from dspy.adapters.utils import format_field_value
from pydantic.fields import FieldInfo

from toolsynth.outputs import (
    example_of,
    has_surrogates,
    load_object,
    normalise,
    output_schema,
    strict_compatible,
    type_adapter,
    validate_fields,
    without_lone_surrogates,
)
from toolsynth.validators.findings import Finding

logger = logging.getLogger("toolsynth")

MODES = ("auto", "json_schema", "json_object_schema", "off")
SCHEMA_DIALECTS = ("json_schema", "json_object_schema")


class OutputInvalid(dspy.AdapterParseError):
    """A reply that could not be read as the signature's outputs; `findings` say why, field by field."""

    def __init__(self, signature: type[dspy.Signature], reply: str, findings: list[Finding], parsed: Any) -> None:
        super().__init__(
            adapter_name="StageAdapter",
            signature=signature,
            lm_response=reply,
            message="; ".join(f"{f.path or '(root)'}: {f.message}" for f in findings[:6]),
            parsed_result=parsed,
        )
        self.findings = findings
        self.parsed = parsed


@dataclass
class ReplyLog:
    """What reading the replies of one prediction did: the near-miss repairs applied (for the manifest)."""

    repairs: list[str] = field(default_factory=list)


_reply_log: ContextVar[ReplyLog | None] = ContextVar("toolsynth_reply_log", default=None)


@contextmanager
def logging_replies() -> Iterator[ReplyLog]:
    """Collect the repairs applied while reading the replies inside this block."""
    log = ReplyLog()
    token = _reply_log.set(log)
    try:
        yield log
    finally:
        _reply_log.reset(token)


@dataclass(frozen=True)
class OutputFields:
    """What reading a signature's replies needs of its output fields, worked out once per signature class (DSPy
    rebuilds `output_fields` from the pydantic model at every access)."""

    types: Mapping[str, Any]
    """Each output field's type."""
    annotations: Mapping[str, Any]
    """Each output field's type, with the constraints pydantic keeps beside it (`min_length`, ...)."""
    defaults: Mapping[str, Any]
    """The fields a reply may leave out, and the value they then take."""


_OUTPUT_FIELDS: weakref.WeakKeyDictionary[type, OutputFields] = weakref.WeakKeyDictionary()


def output_fields(signature: type[dspy.Signature]) -> OutputFields:
    """`OutputFields` of `signature` (a signature's fields never change; new instructions make a new class)."""
    known = _OUTPUT_FIELDS.get(signature)
    if known is None:
        fields = signature.output_fields
        constrained = {
            name: Annotated[f.annotation, *f.metadata] if f.metadata else f.annotation for name, f in fields.items()
        }
        known = _OUTPUT_FIELDS[signature] = OutputFields(
            types=MappingProxyType({name: f.annotation for name, f in fields.items()}),
            annotations=MappingProxyType(constrained),
            defaults=MappingProxyType(
                {
                    name: f.default
                    for name, f in fields.items()
                    if f.default is not None and not callable(f.default) and repr(f.default) != "PydanticUndefined"
                }
            ),
        )
    return known


def output_annotations(signature: type[dspy.Signature]) -> Mapping[str, Any]:
    """Each output field's type, with the constraints pydantic keeps beside it (`min_length`, ...)."""
    return output_fields(signature).annotations


def expected_shape(signature: type[dspy.Signature]) -> str:
    """One line of JSON showing the shape of the answer (used in repair feedback)."""
    return example_of(output_annotations(signature))


class StageAdapter(dspy.JSONAdapter):
    """JSON adapter with per-LM structured outputs and a bounded, normalising reply reader.

    What depends on the signature alone (the system message, the output schema a request carries) is built once
    per signature class and instructions, not per request: building it (pydantic JSON schemas of every field)
    cost more CPU than the rest of a request's formatting (benchmarks/README.md, CPU per LM call).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._system_messages: weakref.WeakKeyDictionary[type, tuple[str, str]] = weakref.WeakKeyDictionary()
        self._formats: weakref.WeakKeyDictionary[type, dict[str, str]] = weakref.WeakKeyDictionary()

    def format_system_message(self, signature: type[dspy.Signature]) -> str:
        instructions = signature.instructions
        cached = self._system_messages.get(signature)
        if cached is not None and cached[0] == instructions:
            return cached[1]
        message = super().format_system_message(signature)
        self._system_messages[signature] = (instructions, message)
        return message

    def format_user_message_content(
        self,
        signature: type[dspy.Signature],
        inputs: dict[str, Any],
        prefix: str = "",
        suffix: str = "",
        main_request: bool = False,
    ) -> str:
        """DSPy's user message, each input written by `input_text`: the same text, without building a new pydantic
        `TypeAdapter` for every value of every request (`test_user_messages_are_dspys_own`)."""
        parts = [prefix]
        for name, info in signature.input_fields.items():
            if name in inputs:
                parts.append(f"[[ ## {name} ## ]]\n{input_text(info, inputs[name])}")
        if main_request:
            requirements = self.user_message_output_requirements(signature)
            if requirements is not None:
                parts.append(requirements)
        parts.append(suffix)
        return "\n\n".join(parts).strip()

    def request_format(self, mode: str, signature: type[dspy.Signature]) -> dict[str, Any]:
        """`response_format(mode, signature)`, built once per signature and mode; each request gets its own copy
        (litellm may edit what it is given)."""
        per_mode = self._formats.setdefault(signature, {})
        if mode not in per_mode:
            per_mode[mode] = json.dumps(response_format(mode, signature))
        copy: dict[str, Any] = json.loads(per_mode[mode])
        return copy

    def parse(self, signature: type[dspy.Signature], completion: str) -> dict[str, Any]:
        """The reply's typed outputs, or `OutputInvalid` with findings. Lone surrogates (raw, as JSON escapes, or in
        JSON text inside a field) become U+FFFD here: no provider takes them in a prompt and no store can hold them,
        and the reply they came in (echoed in a repair prompt) must not carry them either."""
        annotations = output_annotations(signature)
        raw_surrogates = has_surrogates(completion)
        completion = without_lone_surrogates(completion)
        loaded = load_object(completion)
        log = _reply_log.get()
        if loaded.fields is None:
            raise OutputInvalid(signature, completion, loaded.findings, None)
        fields, repairs = normalise(loaded.fields, annotations)
        if raw_surrogates or has_surrogates(fields):
            fields = without_lone_surrogates(fields)
            repairs.append("lone_surrogates_replaced")
        if log is not None:
            log.repairs += loaded.repairs + repairs
        typed, findings = validate_fields(fields, annotations, output_fields(signature).defaults)
        if findings:
            raise OutputInvalid(signature, completion, findings, fields)
        return typed

    async def acall(
        self,
        lm: Any,
        lm_kwargs: dict[str, Any],
        signature: type[dspy.Signature],
        demos: list[dict[str, Any]],
        inputs: dict[str, Any],
    ) -> list[dict[str, Any]]:
        """`JSONAdapter.acall` without DSPy's per-call capability planning.

        DSPy 3.4 wraps every adapter call in a planning step that looks the LM's capabilities up in litellm's model
        table, in a worker thread, on every request: about 0.15 ms of CPU plus a thread hop per call for a model
        litellm does not list (any local server), a third of toolsynth's CPU above bare litellm
        (benchmarks/README.md). This adapter reads one capability, whether the LM takes a `response_format`, and
        `structured_outputs` keeps it per LM; the request DSPy sends is the same. Where a DSPy release no longer
        exposes the unwrapped call, the wrapped one runs (`test_adapter_calls_skip_capability_planning`)."""
        self._prepare_response_format(lm, lm_kwargs, signature)
        if _UNPLANNED_ADAPTER_ACALL is None:
            return await super().acall(lm, lm_kwargs, signature, demos, inputs)
        replies: list[dict[str, Any]] = await _UNPLANNED_ADAPTER_ACALL(self, lm, lm_kwargs, signature, demos, inputs)
        return replies

    # DSPy 3.4's JSONAdapter picks `response_format` in this hook just before each request; the test
    # `test_structured_outputs_reach_the_server` fails if a DSPy release renames it.
    def _prepare_response_format(self, lm: Any, lm_kwargs: dict[str, Any], signature: type[dspy.Signature]) -> None:
        mode = structured_outputs.mode(lm)
        if mode in SCHEMA_DIALECTS:
            lm_kwargs["response_format"] = self.request_format(mode, signature)
        elif structured_outputs.takes_response_format(lm):
            lm_kwargs["response_format"] = {"type": "json_object"}


def input_text(info: FieldInfo, value: Any) -> str:
    """How DSPy writes an input value into a prompt (`dspy.adapters.utils.format_field_value`), the value made
    JSON-ready by a `TypeAdapter` kept per type (`outputs.type_adapter`). DSPy builds one per value: half the CPU of
    formatting a request (benchmarks/README.md, CPU per LM call)."""
    if isinstance(value, list) and info.annotation is str:
        text: str = format_field_value(field_info=info, value=value)  # DSPy numbers such a list: no adapter there
        return text
    ready = json_ready(value)
    if isinstance(ready, (dict, list)):
        return json.dumps(ready, ensure_ascii=False)
    return str(ready)


def json_ready(value: Any) -> Any:
    """`value` as JSON data, as DSPy's `serialize_for_json` makes it: pydantic's JSON mode, a nested value it cannot
    serialise as its `str`, and the whole value as its `str` if pydantic cannot handle its type at all."""
    try:
        return type_adapter(type(value)).dump_python(value, mode="json", fallback=str)
    except Exception:  # what DSPy does too: a value is never refused for its type
        return str(value)


_UNPLANNED_ADAPTER_ACALL: Callable[..., Awaitable[list[dict[str, Any]]]] | None = getattr(
    dspy.Adapter.acall, "__wrapped__", None
)
"""`dspy.Adapter.acall` as written, under the decorator that plans capabilities per call (None if a DSPy release
drops the decorator or stops exposing what it wraps)."""


def response_format(mode: str, signature: type[dspy.Signature]) -> dict[str, Any]:
    schema = output_schema(output_annotations(signature))
    if mode == "json_object_schema":
        return {"type": "json_object", "schema": schema}
    strict = strict_compatible(schema)
    return {"type": "json_schema", "json_schema": {"name": signature.__name__, "schema": schema, "strict": strict}}


class ProbeStructuredOutputs(dspy.Signature):
    """Answer the question."""

    question: str = dspy.InputField()
    answer: bool = dspy.OutputField()


@dataclass
class _LMState:
    resolved: str | None = None
    trying: str | None = None
    static_looked_up: bool = False
    static: str | None = None
    """`_static_choice` once `static_looked_up` (None then means "a probe is needed")."""
    takes_response_format: bool | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class StructuredOutputs:
    """Which structured-output dialect each LM gets; `auto` is resolved once per LM (see the module doc)."""

    def __init__(self) -> None:
        self._states: weakref.WeakKeyDictionary[Any, _LMState] = weakref.WeakKeyDictionary()

    def set(self, lm: Any, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"structured outputs must be one of {', '.join(MODES)}, got {mode!r}")
        state = self._state(lm)
        state.resolved = None if mode == "auto" else mode

    def mode(self, lm: Any) -> str:
        """The dialect the next request of `lm` uses (`auto` not yet probed counts as `off`)."""
        state = self._states.get(lm)
        if state is not None and state.trying is not None:
            return state.trying
        if state is not None and state.resolved is not None:
            return state.resolved
        return self._static(lm) or "off"

    def needs_probe(self, lm: Any) -> bool:
        state = self._states.get(lm)
        if state is not None and state.resolved is not None:
            return False
        return self._static(lm) is None

    def takes_response_format(self, lm: Any) -> bool:
        """Whether litellm lists `response_format` among the LM's parameters (plain JSON mode, then), once per LM."""
        state = self._state(lm)
        if state.takes_response_format is None:
            state.takes_response_format = "response_format" in getattr(lm, "supported_params", ())
        return state.takes_response_format

    def _static(self, lm: Any) -> str | None:
        """`_static_choice(lm)`, once per LM: it reads litellm's model table, which is not free."""
        state = self._state(lm)
        if not state.static_looked_up:
            state.static, state.static_looked_up = _static_choice(lm), True
        return state.static

    async def resolve(self, lm: Any, probe: Callable[[str], Awaitable[bool]]) -> str:
        """Settle `auto` for an LM at an `api_base`: `probe()` sends one request in the dialect being tried
        and returns whether the server accepted it. Concurrent callers wait for the first one's answer."""
        state = self._state(lm)
        async with state.lock:
            if state.resolved is not None:
                return state.resolved
            for dialect in SCHEMA_DIALECTS:
                state.trying = dialect
                try:
                    accepted = await probe(dialect)
                finally:
                    state.trying = None
                if accepted:
                    state.resolved = dialect
                    return dialect
            logger.warning(
                "toolsynth: the server at %s accepts no JSON-schema response format; using plain JSON mode",
                getattr(lm, "kwargs", {}).get("api_base"),
            )
            state.resolved = "off"
            return "off"

    def _state(self, lm: Any) -> _LMState:
        state = self._states.get(lm)
        if state is None:
            state = self._states[lm] = _LMState()
        return state


def _static_choice(lm: Any) -> str | None:
    """`auto` without a request: None means a probe is needed (an OpenAI-compatible server at an api_base)."""
    if not isinstance(lm, dspy.LM) or "response_format" not in getattr(lm, "supported_params", ()):
        return "off"  # the demo model and custom engines
    if lm.kwargs.get("api_base"):
        return None
    return "json_schema" if lm.supports_response_schema else "off"


structured_outputs = StructuredOutputs()
"""The process-wide choice per LM; `set_structured_outputs(lm, mode)` overrides `auto`."""


def set_structured_outputs(lm: Any, mode: str) -> None:
    """Choose the structured-output dialect for one LM: auto, json_schema, json_object_schema or off."""
    structured_outputs.set(lm, mode)


def is_dialect_refusal(exc: BaseException) -> bool:
    """A server refusing the response format itself (rather than failing the request for another reason)."""
    text = str(exc).lower()
    return any(word in text for word in ("response_format", "json_schema", "response format", "schema"))
