"""Bounds that keep validation cheap: size and depth of JSON values, safe JSON parsing, safe regexes.

Everything here is iterative (no recursion), so even a value nested a million levels deep is measured
without a ``RecursionError``. Callers measure first and only then hand a value to recursive code
(jsonschema, our own walkers).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import regex
from jsonschema import Draft202012Validator, ValidationError, validators
from jsonschema.exceptions import best_match
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource, Unresolvable

from toolsynth.validators.findings import Finding, error, info, render_loc, warning

MAX_SCHEMA_DEPTH = 32
MAX_SCHEMA_NODES = 5_000
MAX_INSTANCE_DEPTH = 32
MAX_INSTANCE_NODES = 50_000
MAX_TEXT_CHARS = 1_000_000
MAX_PATTERN_CHARS = 1_000
PATTERN_TIMEOUT_S = 0.05
MAX_SCHEMA_ERRORS = 50
MAX_TOOLS = 128  # OpenAI's chat completions API refuses more functions than this in one request
MAX_CALLS_PER_MESSAGE = 64  # BUTTON's parallel groups hold a handful of calls; far more is a model looping


@dataclass(frozen=True)
class Size:
    depth: int
    nodes: int
    chars: int
    exceeded: bool


def measure(value: Any, max_depth: int, max_nodes: int, max_chars: int = MAX_TEXT_CHARS) -> Size:
    """Depth (containers), node count and string characters of a JSON-like value; stops early past a bound."""
    depth = nodes = chars = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, level = stack.pop()
        nodes += 1
        if isinstance(item, str):
            chars += len(item)
        elif isinstance(item, dict):
            depth = max(depth, level)
            for key, child in item.items():
                chars += len(key) if isinstance(key, str) else 0
                stack.append((child, level + 1))
        elif isinstance(item, (list, tuple)):
            depth = max(depth, level)
            stack.extend((child, level + 1) for child in item)
        if depth > max_depth or nodes > max_nodes or chars > max_chars:
            return Size(depth, nodes, chars, True)
    return Size(depth, nodes, chars, False)


def check_bounds(value: Any, path: str, what: str) -> list[Finding]:
    """`schema_too_deep`/`schema_too_large` (what="schema") or `instance_too_deep`/`instance_too_large`."""
    is_schema = what == "schema"
    max_depth = MAX_SCHEMA_DEPTH if is_schema else MAX_INSTANCE_DEPTH
    max_nodes = MAX_SCHEMA_NODES if is_schema else MAX_INSTANCE_NODES
    size = measure(value, max_depth, max_nodes)
    too_deep, too_large = (
        ("schema_too_deep", "schema_too_large") if is_schema else ("instance_too_deep", "instance_too_large")
    )
    if size.depth > max_depth:
        return [error(too_deep, path, f"nests deeper than {max_depth} levels; not validated")]
    if size.exceeded:
        return [
            error(
                too_large,
                path,
                f"has more than {max_nodes} values or {MAX_TEXT_CHARS} characters; not validated",
            )
        ]
    return []


_NON_FINITE = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}


def non_finite_findings(value: Any, path: str) -> list[Finding]:
    """`number_not_finite` for every NaN or ±Infinity inside a JSON-like value, in document order.

    Python's ``json`` reads and writes ``NaN``/``Infinity`` (and reads ``1e999`` as infinity), but they are not
    JSON: ``JSON.parse`` and strict parsers refuse them. Iterative; at most ``MAX_SCHEMA_ERRORS`` are reported.
    """
    findings: list[Finding] = []
    stack: list[tuple[Any, Any]] = [(value, None)]  # (item, trail): trail is (parent trail, key), built lazily
    while stack:
        item, trail = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            if len(findings) == MAX_SCHEMA_ERRORS:
                findings.append(info("findings_truncated", path, "more non-finite numbers; the rest are omitted"))
                break
            keys: list[Any] = []
            while trail is not None:
                trail, key = trail
                keys.append(key)
            shown = _NON_FINITE[repr(item)]
            findings.append(
                error(
                    "number_not_finite",
                    join_path(path, reversed(keys)),
                    f"{shown} is not a JSON number (numbers past ±1.8e308 overflow to it); use a finite number or null",
                )
            )
        elif isinstance(item, dict):
            stack.extend((child, (trail, key)) for key, child in reversed(item.items()))
        elif isinstance(item, (list, tuple)):
            stack.extend((item[i], (trail, i)) for i in range(len(item) - 1, -1, -1))
    return findings


class JsonParseError(ValueError):
    """Text that is not JSON, or too deep or large to parse safely: ``code`` is then the finding code of the bound
    (``instance_too_deep``, ``instance_too_large``); it is None for text that is simply not JSON."""

    def __init__(self, code: str | None, message: str) -> None:
        super().__init__(message)
        self.code = code


# A JSON string (possibly unterminated), a bracket, or a number: enough to follow nesting without parsing.
_JSON_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?|[\[{]|[\]}]|-?\d+(?P<fraction>[.eE][-+.\deE]*)?')


def nesting_excess_at(text: str, limit: int) -> int | None:
    """Offset of the first bracket nesting deeper than ``limit`` (brackets in strings ignored), else None."""
    level = 0
    for token in _JSON_TOKEN.finditer(text):
        first = token.group()[0]
        if first in "[{":
            level += 1
            if level > limit:
                return token.start()
        elif first in "]}":
            level -= 1
    return None


def long_integer_at(text: str, max_digits: int) -> int | None:
    """Offset of the first integer (outside strings) with more than ``max_digits`` digits, else None."""
    for token in _JSON_TOKEN.finditer(text):
        digits = token.group().lstrip("-")
        if digits[:1].isdigit() and token.group("fraction") is None and len(digits) > max_digits:
            return token.start()
    return None


def parse_json(text: str) -> Any:
    """``json.loads`` that refuses oversized or over-nested text instead of hanging or recursing."""
    if len(text) > MAX_TEXT_CHARS:
        raise JsonParseError("instance_too_large", f"is {len(text)} characters; at most {MAX_TEXT_CHARS} are parsed")
    if nesting_excess_at(text, MAX_INSTANCE_DEPTH) is not None:
        raise JsonParseError("instance_too_deep", f"nests deeper than {MAX_INSTANCE_DEPTH} levels; not parsed")
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise JsonParseError(None, f"is not valid JSON ({exc})") from None


# --- regular expressions -------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""(?P<backref>\\[1-9]|\\k<|\(\?P=)
      |(?P<escape>\\.)
      |(?P<cls>\[\^?\]?(?:\\.|[^\]])*\])
      |(?P<open>\((?:\?(?:[:=!>|]|<[=!]|P?<[A-Za-z_]\w*>|[a-zA-Z]+[:)]))?)
      |(?P<close>\))
      |(?P<alt>\|)
      |(?P<quant>(?:[*+?]|\{\d*(?:,\d*)?\})[?+]?)
      |(?P<atom>[\s\S])""",
    re.VERBOSE,
)


@dataclass
class _Group:
    variable: bool = False  # the body can match different lengths through a quantifier
    firsts: list[str] = field(default_factory=list)  # first token of each alternative
    at_start: bool = True
    alternates: bool = False
    repeated_atoms: list[str] = field(default_factory=list)  # atoms under a variable quantifier
    last: str | None = None  # the body's final token when it is a plain, unquantified atom


def _quantifier(text: str) -> tuple[bool, bool]:
    """(repeats more than once, repeats a variable number of times) for a quantifier token."""
    q = text.rstrip("?+") if len(text) > 1 and text[0] == "{" else text[0]
    if q in ("*", "+"):
        return True, True
    if q == "?":
        return False, True
    lo, comma, hi = q[1:-1].partition(",")
    low = int(lo or "0")
    if not comma:
        return low > 1, False
    high = int(hi) if hi else None
    return high is None or high > 1, high is None or high > low


def _literal(token: str) -> str | None:
    """The one character a token matches literally (``x``, ``\\.``), else None."""
    if len(token) == 1 and token not in ".^$":
        return token
    if len(token) == 2 and token[0] == "\\" and not token[1].isalnum():
        return token[1]
    return None


def _delimited(group: _Group) -> bool:
    """The body ends with a literal that none of its repeated atoms can match, so repetitions cannot overlap."""
    char = _literal(group.last) if group.last is not None and not group.alternates else None
    if char is None:
        return False
    for atom in group.repeated_atoms:
        try:
            if re.fullmatch(atom, char):
                return False
        except re.error:
            return False
    return True


def unsafe_pattern_reason(pattern: str) -> str | None:
    """Why a pattern risks catastrophic backtracking, or None.

    Flags the classic exponential shapes: a repeated group whose body repeats a variable number of
    times (``(a+)+``, ``(\\w*\\s?)*``) unless a literal delimiter ends each repetition
    (``([a-z]+\\.)*`` is fine), a repeated group of alternatives that start alike (``(a|aa)*``,
    ``(.|x)+``), and back-references. Anything subtler is caught by the match time limit.
    """
    if len(pattern) > MAX_PATTERN_CHARS:
        return f"is longer than {MAX_PATTERN_CHARS} characters"
    frames = [_Group()]
    last: _Group | str | None = None
    for tok in _TOKEN.finditer(pattern):
        kind, text = tok.lastgroup, tok.group()
        top = frames[-1]
        if kind == "backref":
            return "uses a back-reference"
        if kind == "open":
            if top.at_start:
                top.firsts.append("(")
            top.at_start = False
            top.last = None
            frames.append(_Group())
            last = None
        elif kind == "alt":
            top.at_start = True
            top.alternates = True
            last = None
        elif kind == "close":
            if len(frames) > 1:
                last = frames.pop()
                parent = frames[-1]
                parent.variable = parent.variable or last.variable
                parent.repeated_atoms += last.repeated_atoms
        elif kind == "quant":
            if last is None:
                continue
            repeats, variable = _quantifier(text)
            if isinstance(last, _Group) and repeats:
                if last.variable and not _delimited(last):
                    return "repeats a group whose body itself repeats (nested quantifier)"
                firsts = last.firsts
                if len(firsts) > 1 and (len(set(firsts)) < len(firsts) or "." in firsts):
                    return "repeats a group of alternatives that can match the same text"
            if variable:
                top.variable = True
                top.repeated_atoms += last.repeated_atoms if isinstance(last, _Group) else [last]
            top.last = None
            last = None
        else:  # atom, escape, class
            if top.at_start:
                top.firsts.append(text)
            top.at_start = False
            top.last = text
            last = text
    return None


class PatternTimeout(Exception):
    """A pattern did not finish matching within ``PATTERN_TIMEOUT_S``."""


_compiled: dict[str, Any] = {}


def compile_pattern(pattern: str) -> Any:
    """The compiled pattern (cached); raises ``regex.error`` when it does not compile."""
    found = _compiled.get(pattern)
    if found is None:
        found = regex.compile(pattern)
        if len(_compiled) > 512:
            _compiled.clear()
        _compiled[pattern] = found
    return found


def safe_search(pattern: str, text: str) -> bool:
    """``re.search`` semantics with a hard time limit (raises PatternTimeout) for patterns already vetted."""
    try:
        return compile_pattern(pattern).search(text, timeout=PATTERN_TIMEOUT_S) is not None
    except TimeoutError:
        raise PatternTimeout(pattern) from None


# --- guarded JSON Schema validation --------------------------------------------------------------


def join_path(base: str, parts: Any) -> str:
    """``base`` extended by keys (``.city`` or ``["odd key"]``) and indices (``[2]``)."""
    return render_loc(parts, base)


def shorten(text: str, limit: int = 240) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def refusing_registry(refused: list[str]) -> Registry:
    """A registry that never retrieves anything: every remote or file ``$ref`` lands in ``refused``."""

    def retrieve(uri: str) -> Resource:
        refused.append(uri)
        raise NoSuchResource(ref=uri)  # type: ignore[call-arg]

    return Registry(retrieve=retrieve)  # type: ignore[call-arg]


def validator_class(schema: Any) -> tuple[type[Any], str | None]:
    """The validator class for the schema's ``$schema`` (default Draft 2020-12) and the unknown URI, if any."""
    declared = schema.get("$schema") if isinstance(schema, dict) else None
    if isinstance(declared, str):
        cls = validators.validator_for({"$schema": declared}, default=None)
        if cls is None:
            return Draft202012Validator, declared
        return cls, None
    return Draft202012Validator, None


class _PatternSkipped(ValidationError):
    """Marker: a pattern judged unsafe was not applied to this instance."""


def _guarded_pattern(validator: Any, pattern: Any, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if not (isinstance(pattern, str) and validator.is_type(instance, "string")):
        return
    reason = unsafe_pattern_reason(pattern)
    if reason is not None:
        yield _PatternSkipped(f"pattern {shorten(pattern, 80)!r} {reason}; not applied")
        return
    try:
        matched = safe_search(pattern, instance)
    except regex.error as exc:
        yield _PatternSkipped(f"pattern {shorten(pattern, 80)!r} does not compile ({exc}); not applied")
        return
    if not matched:
        yield ValidationError(f"{shorten(instance, 80)!r} does not match {shorten(pattern, 80)!r}")


def _guarded_pattern_properties(validator: Any, patterns: Any, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if not (isinstance(patterns, dict) and validator.is_type(instance, "object")):
        return
    for pattern, subschema in patterns.items():
        reason = unsafe_pattern_reason(pattern)
        if reason is not None:
            yield _PatternSkipped(f"patternProperties key {shorten(pattern, 80)!r} {reason}; not applied")
            continue
        for key, value in instance.items():
            try:
                if safe_search(pattern, key):
                    yield from validator.descend(value, subschema, path=key, schema_path=pattern)
            except regex.error as exc:
                yield _PatternSkipped(f"patternProperties key {shorten(pattern, 80)!r} does not compile ({exc})")
                break


_guarded: dict[type[Any], type[Any]] = {}


def guarded_class(cls: type[Any]) -> type[Any]:
    """``cls`` with ``pattern``/``patternProperties`` replaced by time-limited, unsafe-pattern-refusing ones."""
    if cls not in _guarded:
        _guarded[cls] = validators.extend(
            cls, {"pattern": _guarded_pattern, "patternProperties": _guarded_pattern_properties}
        )
    return _guarded[cls]


MAX_BRANCH_REASONS = 3


def violation(err: ValidationError, path: str) -> tuple[str, str]:
    """Where a schema violation is and why, for a person or an LM repairing the value.

    A failed ``anyOf``/``oneOf`` (an error with ``context``) says only "is not valid under any of the given
    schemas"; the branch error that jsonschema's ``best_match`` finds most relevant (deepest, of a branch whose
    type fits) says what to fix, so it is reported, at its own path, after the failing keyword: ``[anyOf] '2024'
    is not of type 'integer'``. When no branch is closer than another, each branch's reason is listed.
    """
    if not err.context:
        return join_path(path, err.absolute_path), err.message
    best = best_match([err])
    if best is not None and best is not err:
        return join_path(path, best.absolute_path), f"[{err.validator}] {best.message}"
    reasons = list(dict.fromkeys(branch.message for branch in err.context))
    shown = "; ".join(shorten(r, 80) for r in reasons[:MAX_BRANCH_REASONS])
    more = f"; and {len(reasons) - MAX_BRANCH_REASONS} more" if len(reasons) > MAX_BRANCH_REASONS else ""
    return join_path(path, err.absolute_path), f"[{err.validator}] {err.message}: {shown}{more}"


def validate_instance(schema: Any, instance: Any, path: str, code: str) -> list[Finding]:
    """Every way ``instance`` violates ``schema`` as a ``code`` finding, guarded against every known hazard.

    The caller has bounded the size and depth of both. Remote ``$ref`` is refused (``remote_ref``), a
    slow pattern aborts (``validation_timeout``), an unsafe pattern is skipped (``pattern_skipped``
    warning), anything else that stops validation is ``validation_aborted``; never an exception.
    """
    cls, _ = validator_class(schema)
    refused: list[str] = []
    findings: list[Finding] = []
    skipped: set[str] = set()
    count = 0
    try:
        validator = guarded_class(cls)(schema, registry=refusing_registry(refused))
        for err in validator.iter_errors(instance):
            if isinstance(err, _PatternSkipped):
                if err.message not in skipped:
                    skipped.add(err.message)
                    findings.append(warning("pattern_skipped", join_path(path, err.absolute_path), err.message))
                continue
            count += 1
            if count > MAX_SCHEMA_ERRORS:
                more = f"more than {MAX_SCHEMA_ERRORS} violations; the rest are omitted"
                findings.append(info("findings_truncated", path, more))
                break
            where, reason = violation(err, path)
            findings.append(error(code, where, shorten(reason)))
    except PatternTimeout as exc:
        slow = f"pattern {shorten(str(exc), 80)!r} took longer than {PATTERN_TIMEOUT_S}s; validation stopped"
        findings.append(error("validation_timeout", path, slow))
    except Unresolvable as exc:
        if refused:
            findings.append(error("remote_ref", path, f"$ref {refused[0]!r} points outside the schema; never fetched"))
        else:
            findings.append(error("ref_unresolvable", path, shorten(f"$ref cannot be resolved: {exc}")))
    except RecursionError:
        findings.append(error("validation_aborted", path, "validation recursed too deeply (a $ref cycle?)"))
    except Exception as exc:  # a malformed schema can break jsonschema in many ways; report, never raise
        broken = f"schema could not be applied: {type(exc).__name__}: {exc}"
        findings.append(error("validation_aborted", path, shorten(broken)))
    return findings
