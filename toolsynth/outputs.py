"""Reading a stage's reply: bounded JSON parsing, near-miss normalisation, typed validation with findings.

Small models answer in JSON that is almost right: `"content": null`, tool calls in the OpenAI wire shape
with `arguments` as a JSON string, `"yes"` where a boolean is asked for, one object where a list is asked
for, or the whole answer wrapped in one extra object. `normalise` repairs exactly those shapes, driven by
the output field's type, and names each repair so the run can count it. `validate_fields` then checks every
field against its type and returns one finding per pydantic error, with its `loc` and reason, so a repair
prompt can say precisely what was wrong. Nothing here calls an LM or does I/O.
"""

from __future__ import annotations

import json
import re
import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Union, get_args, get_origin

import json_repair
import pydantic
from pydantic import BaseModel, TypeAdapter

from toolsynth.validators.findings import Finding, error
from toolsynth.validators.limits import non_finite_findings

MAX_REPLY_CHARS = 200_000
"""A reply longer than this is refused before parsing (no stage needs more; parsing is not free)."""
MAX_REPAIR_CHARS = 4_000
"""Only replies up to this size get the JSON repair pass; longer ones must be valid JSON (or hold a JSON object).
The pass runs on the event loop, and its cost grows with the square of the length on some inputs (unquoted keys
and values, `{a: b, a: b, ...}`): about 0.1 s at 4,000 characters, 2.6 s at 20,000 (benchmarks/fuzz_replies.py)."""
MAX_NESTING = 64
"""JSON nested deeper than this is refused: no stage output needs it, and recursion must stay bounded."""

_SURROGATE = re.compile("[\ud800-\udfff]")

_NULL_WORDS = {"null", "none", "n/a", ""}
_TRUE_WORDS = {"true", "yes", "y", "1", "feasible", "ok", "correct", "complete", "done", "是", "可行"}
_FALSE_WORDS = {"false", "no", "n", "0", "infeasible", "not feasible", "incorrect", "incomplete", "否", "不可行"}


@dataclass
class ParsedReply:
    """A reply read as JSON: the object (or None), the repairs applied, and the findings that block it."""

    fields: dict[str, Any] | None
    repairs: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


def load_object(text: str) -> ParsedReply:
    """The reply's JSON object, within the size and nesting bounds; findings when there is none."""
    if len(text) > MAX_REPLY_CHARS:
        return ParsedReply(
            None,
            findings=[
                error(
                    "reply_too_long",
                    "",
                    f"{len(text):,} characters; the limit is {MAX_REPLY_CHARS:,}: answer with one compact JSON object",
                )
            ],
        )
    stripped = _strip_fences(text)
    value, repairs = _loads(stripped)
    if not isinstance(value, dict):
        start, end = stripped.find("{"), stripped.rfind("}")
        if 0 <= start < end:
            value, repairs = _loads(stripped[start : end + 1])
            repairs = ["json_extracted_from_text", *repairs]
    if not isinstance(value, dict):
        return ParsedReply(None, findings=[error("output_unparseable", "", "the reply is not a JSON object")])
    if _depth(value) > MAX_NESTING:
        return ParsedReply(None, findings=[error("reply_too_deep", "", f"nested deeper than {MAX_NESTING} levels")])
    return ParsedReply(value, repairs)


def _strip_fences(text: str) -> str:
    body = text.strip()
    if body.startswith("```"):
        body = body.split("\n", 1)[-1] if "\n" in body else ""
        if body.rstrip().endswith("```"):
            body = body.rstrip()[:-3]
    return body.strip()


def _loads(text: str) -> tuple[Any, list[str]]:
    try:
        return json.loads(text, parse_constant=_reject_constant), []
    except (ValueError, RecursionError):
        pass
    if len(text) > MAX_REPAIR_CHARS or text.count("{") + text.count("[") > 4 * MAX_NESTING:
        return None, []
    try:
        repaired = json_repair.loads(text)
    except (ValueError, RecursionError, TypeError):
        return None, []
    if repaired in ("", None, {}, []):  # json_repair's answers for text with no JSON in it
        return None, []
    return repaired, ["json_repaired"]


def without_lone_surrogates(value: Any) -> Any:
    """JSON-like data with every unpaired UTF-16 surrogate (not encodable as UTF-8) replaced by U+FFFD."""
    if isinstance(value, str):
        if _SURROGATE.search(value) is None:
            return value
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if isinstance(value, list):
        return [without_lone_surrogates(v) for v in value]
    if isinstance(value, dict):
        return {without_lone_surrogates(k): without_lone_surrogates(v) for k, v in value.items()}
    return value


def has_surrogates(value: Any) -> bool:
    """Whether a string (key or value) anywhere in JSON-like data holds a surrogate; measured without recursion."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str) and _SURROGATE.search(item):
            return True
        if isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _depth(value: Any) -> int:
    """Nesting depth, measured without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth > MAX_NESTING:
            return depth
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return deepest


# --------------------------------------------------------------------------------------- normalisation


def normalise(fields: dict[str, Any], annotations: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Repair the known near-misses field by field, by type; returns the fields and the repairs' names."""
    repairs: list[str] = []
    missing = [name for name in annotations if name not in fields]
    if missing:
        wrappers = [v for v in fields.values() if isinstance(v, dict) and set(missing) <= set(v)]
        if len(wrappers) == 1:
            fields = {**fields, **{name: wrappers[0][name] for name in missing}}
            repairs.append("fields_unwrapped")
    out = {name: value for name, value in fields.items() if name in annotations}
    for name, annotation in annotations.items():
        if name in out:
            out[name] = _normalise_value(out[name], annotation, repairs)
    return out, repairs


def _normalise_value(value: Any, annotation: Any, repairs: list[str]) -> Any:
    if _allows_none(annotation) and isinstance(value, str) and value.strip().lower() in _NULL_WORDS:
        repairs.append("null_from_text")
        return None
    if value is None and _allows_none(annotation):
        return None
    annotation = _without_none(annotation)
    origin = get_origin(annotation)
    if annotation is bool:
        return _as_bool(value, repairs)
    if annotation is str:
        if value is None:
            repairs.append("null_as_empty_text")
            return ""
        return value
    if origin is list:
        (item_type,) = get_args(annotation) or (Any,)
        if value is None:
            repairs.append("null_as_empty_list")
            return []
        if not isinstance(value, list):
            repairs.append("single_as_list")
            value = [value]
        return [_normalise_value(item, item_type, repairs) for item in value]
    if origin is dict or annotation is dict:
        return _as_object(value, repairs)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _normalise_model(value, annotation, repairs)
    return value


def _allows_none(annotation: Any) -> bool:
    return annotation is Any or (
        get_origin(annotation) in (Union, types.UnionType) and type(None) in get_args(annotation)
    )


def _without_none(annotation: Any) -> Any:
    """The annotation without `Annotated[...]` metadata and without `| None`."""
    if get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def _as_bool(value: Any, repairs: list[str]) -> Any:
    if isinstance(value, str):
        word = value.strip().strip(".!").lower()
        if word in _TRUE_WORDS or word in _FALSE_WORDS:
            repairs.append("bool_from_text")
            return word in _TRUE_WORDS
    return value


def _as_object(value: Any, repairs: list[str]) -> Any:
    if isinstance(value, str) and value.strip().startswith("{"):
        try:
            decoded = json.loads(value)
        except (ValueError, RecursionError):
            return value
        if isinstance(decoded, dict):
            repairs.append("object_from_json_text")
            return decoded
    return value


def _normalise_model(value: Any, model: type[BaseModel], repairs: list[str]) -> Any:
    if isinstance(value, str) and value.strip().startswith("{"):
        value = _as_object(value, repairs)
    if not isinstance(value, dict):
        return value
    known = model.model_fields
    wrapped = value.get("function")
    if "name" in known and "name" not in value and isinstance(wrapped, dict):
        value = dict(wrapped)  # OpenAI's {"type": "function", "function": {...}} shape
        repairs.append("openai_function_unwrapped")
    if "arguments" in known and "arguments" not in value:
        for alias in ("args", "parameters", "params", "input"):
            if alias in value and ("parameters" not in known or alias != "parameters"):
                value = {**{k: v for k, v in value.items() if k != alias}, "arguments": value[alias]}
                repairs.append("arguments_renamed")
                break
    if "arguments" in known and isinstance(value.get("arguments"), str):
        decoded = _as_object(value["arguments"] or "{}", repairs)
        if decoded == "{}":
            decoded = {}
        value = {**value, "arguments": decoded}
    if model.model_config.get("extra") == "forbid":
        dropped = [k for k in value if k not in known and k in ("id", "type", "index")]
        if dropped:
            value = {k: v for k, v in value.items() if k not in dropped}
            repairs.append("wire_fields_dropped")
    return {k: _normalise_value(v, known[k].annotation, repairs) if k in known else v for k, v in value.items()}


# --------------------------------------------------------------------------------------- validation


def validate_fields(
    fields: dict[str, Any], annotations: Mapping[str, Any], defaults: Mapping[str, Any]
) -> tuple[dict[str, Any], list[Finding]]:
    """Each field typed by its annotation; one finding per missing field and per pydantic error."""
    typed: dict[str, Any] = {}
    findings: list[Finding] = []
    for name, annotation in annotations.items():
        if name not in fields:
            if name in defaults:
                typed[name] = defaults[name]
                continue
            findings.append(error("output_field_missing", name, f"the answer has no `{name}` field"))
            continue
        try:
            typed[name] = type_adapter(annotation).validate_python(fields[name])
        except pydantic.ValidationError as exc:
            for detail in exc.errors(include_url=False)[:8]:
                loc = ".".join([name, *(str(p) for p in detail["loc"])])
                got = json.dumps(detail.get("input"), ensure_ascii=False, default=str)
                got = got if len(got) <= 80 else got[:77] + "..."
                findings.append(error("output_field_invalid", loc, f"{detail['msg']} (got {got})"))
    findings += non_finite_findings(fields, "")
    return typed, findings


_ADAPTERS: dict[Any, TypeAdapter[Any]] = {}


def type_adapter(annotation: Any) -> TypeAdapter[Any]:
    """One pydantic `TypeAdapter` per annotation, built once (building one costs far more than using it).

    Annotations are looked up as themselves (equal ones share an adapter); one that cannot be hashed, by its repr,
    which costs more than the look-up it serves."""
    try:
        known = _ADAPTERS.get(annotation)
        key = annotation
    except TypeError:
        key = repr(annotation)
        known = _ADAPTERS.get(key)
    if known is None:
        known = _ADAPTERS[key] = TypeAdapter(annotation)
    return known


# --------------------------------------------------------------------------------------- shapes


def example_of(annotations: Mapping[str, Any]) -> str:
    """A one-line JSON example of the expected answer, built from the output fields' types."""
    return json.dumps({name: _example(annotation) for name, annotation in annotations.items()}, ensure_ascii=False)


def _example(annotation: Any) -> Any:
    annotation = _without_none(annotation)
    origin = get_origin(annotation)
    if annotation is bool:
        return True
    if annotation in (int, float):
        return 1
    if annotation is str:
        return "..."
    if origin is list:
        (item_type,) = get_args(annotation) or (str,)
        return [_example(item_type)]
    if origin is dict or annotation is dict:
        return {}
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return {name: _example(f.annotation) for name, f in annotation.model_fields.items()}
    return "..."


def output_schema(annotations: Mapping[str, Any]) -> dict[str, Any]:
    """The answer's JSON Schema with every `$ref` written out in full (small models and grammar engines
    handle inline schemas best); `strict_compatible` says whether OpenAI's strict mode can take it."""
    properties = {name: _inline(type_adapter(a).json_schema()) for name, a in annotations.items()}
    return {"type": "object", "properties": properties, "required": list(annotations)}


def _inline(schema: dict[str, Any]) -> dict[str, Any]:
    definitions = schema.get("$defs", {})

    def resolve(node: Any, seen: tuple[str, ...]) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                name = ref.rsplit("/", 1)[-1]
                if name in seen or name not in definitions:  # a recursive type: leave it open
                    return {"type": "object"}
                return resolve(definitions[name], (*seen, name))
            return {k: resolve(v, seen) for k, v in node.items() if k not in ("$defs", "title")}
        if isinstance(node, list):
            return [resolve(v, seen) for v in node]
        return node

    resolved: dict[str, Any] = resolve(schema, ())
    return resolved


def strict_compatible(schema: Any) -> bool:
    """OpenAI strict mode needs every object closed with all properties required; free-form objects fail."""
    if isinstance(schema, dict):
        if schema.get("type") == "object":
            props = schema.get("properties")
            if not isinstance(props, dict) or schema.get("additionalProperties") is not False:
                return False
            if set(schema.get("required", [])) != set(props):
                return False
        return all(strict_compatible(v) for k, v in schema.items() if k not in ("required", "enum", "const"))
    if isinstance(schema, list):
        return all(strict_compatible(v) for v in schema)
    return True
