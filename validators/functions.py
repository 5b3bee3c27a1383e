"""Function specs: names, descriptions, ``parameters``/``returns`` schemas, and dialect normalisation.

A spec is the inner OpenAI function object ``{name, description, parameters, returns?}``; lists may
also hold ``{"type": "function", "function": {...}}`` wrappers. Schemas are checked against the
meta-schema of their ``$schema`` (default Draft 2020-12) plus rules the meta-schema cannot express
(``required`` ⊆ ``properties``, non-empty and well-typed ``enum``, safe patterns, no remote ``$ref``).
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any
from urllib.parse import urljoin

import regex
from jsonschema_specifications import REGISTRY as SPECIFICATIONS
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT202012

from toolsynth.validators.findings import Finding, error, info, warning
from toolsynth.validators.limits import (
    MAX_SCHEMA_DEPTH,
    MAX_SCHEMA_ERRORS,
    MAX_SCHEMA_NODES,
    MAX_TOOLS,
    JsonParseError,
    check_bounds,
    join_path,
    measure,
    non_finite_findings,
    parse_json,
    refusing_registry,
    shorten,
    unsafe_pattern_reason,
    validator_class,
    violation,
)

NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")
JSON_TYPES = ("null", "boolean", "integer", "number", "string", "array", "object")

_SCHEMA_ONE = (
    "additionalProperties",
    "additionalItems",
    "not",
    "if",
    "then",
    "else",
    "contains",
    "propertyNames",
    "unevaluatedItems",
    "unevaluatedProperties",
    "contentSchema",
    "items",
)
_SCHEMA_MAP = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas", "dependencies")
_SCHEMA_LIST = ("allOf", "anyOf", "oneOf", "prefixItems", "items")


# --- helpers -------------------------------------------------------------------------------------


def matches_type(value: Any, json_type: str) -> bool:
    """Whether a JSON value is of a JSON Schema type (unknown type names match nothing)."""
    if json_type == "null":
        return value is None
    if json_type == "boolean":
        return isinstance(value, bool)
    if json_type == "integer":
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer()
        )
    if json_type == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if json_type == "string":
        return isinstance(value, str)
    if json_type == "array":
        return isinstance(value, list)
    if json_type == "object":
        return isinstance(value, dict)
    return False


def declared_types(schema: dict[str, Any]) -> list[str] | None:
    """The schema's ``type`` as a list of known names, or None when it declares none."""
    t = schema.get("type")
    if isinstance(t, str):
        return [t] if t in JSON_TYPES else None
    if isinstance(t, list) and t and all(isinstance(x, str) and x in JSON_TYPES for x in t):
        return list(t)
    return None


def subschemas(schema: Any, path: str, base: str = "") -> Iterator[tuple[str, dict[str, Any], str]]:
    """Every schema object inside ``schema`` (itself included) as (path, schema, base URI); iterative."""
    stack: list[tuple[str, Any, str]] = [(path, schema, base)]
    while stack:
        where, node, uri = stack.pop()
        if not isinstance(node, dict):
            continue
        own_id = node.get("$id")
        if isinstance(own_id, str):
            uri = urljoin(uri, own_id)
        yield where, node, uri
        children: list[tuple[str, Any, str]] = []
        for key in _SCHEMA_ONE:
            if isinstance(node.get(key), dict):
                children.append((join_path(where, [key]), node[key], uri))
        for key in _SCHEMA_MAP:
            if isinstance(node.get(key), dict):
                children += [(join_path(where, [key, k]), v, uri) for k, v in node[key].items()]
        for key in _SCHEMA_LIST:
            if isinstance(node.get(key), list):
                children += [(join_path(where, [key, i]), v, uri) for i, v in enumerate(node[key])]
        stack.extend(reversed(children))


def unwrap_tool(tool: Any, path: str) -> tuple[Any, str]:
    """The inner function object of a ``{"type": "function", "function": {...}}`` wrapper (else as is)."""
    if isinstance(tool, dict) and isinstance(tool.get("function"), dict) and "name" not in tool:
        return tool["function"], f"{path}.function"
    return tool, path


# --- schema checks -------------------------------------------------------------------------------


class SeenValid:
    """Digests of the last `size` schemas (canonical JSON) found meta-valid with no finding, most recent last.

    Checking a schema against the Draft 2020-12 meta-schema costs about a millisecond (its `$dynamicRef`s), and a
    run checks each generated schema at least twice (the function stage, then the whole sample), a user's tool
    library on every sample: a schema seen valid before is valid again, wherever it sits (its findings' paths
    would be the only difference, and it has none). Only digests are kept, so the memory is bounded whatever the
    schemas' size; invalid schemas are always checked in full, for their findings.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._digests: OrderedDict[bytes, None] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def digest(schema: dict[str, Any]) -> bytes | None:
        try:
            text = json.dumps(schema, sort_keys=True, ensure_ascii=False, allow_nan=False)
        except (TypeError, ValueError, RecursionError):  # not JSON data: always checked in full
            return None
        return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()

    def __len__(self) -> int:
        return len(self._digests)

    def clear(self) -> None:
        with self._lock:
            self._digests.clear()

    def __contains__(self, digest: bytes) -> bool:
        with self._lock:
            if digest not in self._digests:
                return False
            self._digests.move_to_end(digest)
            return True

    def add(self, digest: bytes) -> None:
        with self._lock:
            self._digests[digest] = None
            if len(self._digests) > self.size:
                self._digests.popitem(last=False)


META_VALID = SeenValid(4096)
"""The schemas `check_schema` found meta-valid lately (digests only)."""


def _meta_findings(schema: dict[str, Any], path: str, code: str) -> list[Finding]:
    digest = SeenValid.digest(schema)
    if digest is not None and digest in META_VALID:
        return []
    findings = _meta_check(schema, path, code)
    if digest is not None and not findings:
        META_VALID.add(digest)
    return findings


def _meta_check(schema: dict[str, Any], path: str, code: str) -> list[Finding]:
    cls, unknown = validator_class(schema)
    findings: list[Finding] = []
    if unknown is not None:
        findings.append(
            warning(
                "schema_dialect_unknown",
                join_path(path, ["$schema"]),
                f"unknown $schema {shorten(unknown, 80)!r}; checked as Draft 2020-12",
            )
        )
    try:
        meta = cls(cls.META_SCHEMA, registry=refusing_registry([]))
        for n, err in enumerate(meta.iter_errors(schema)):
            if n >= MAX_SCHEMA_ERRORS:
                findings.append(info("findings_truncated", path, "too many schema errors; the rest are omitted"))
                break
            parts = list(err.absolute_path)
            where, message = violation(err, path)
            if parts and parts[-1] == "type" and _names_unknown_type(err.instance):
                where = join_path(path, parts)
                message = f"unknown type {err.instance!r}; JSON Schema types are {', '.join(JSON_TYPES)}"
            findings.append(error(code, where, shorten(message)))
    except Exception as exc:  # never raise on bad data
        findings.append(error("validation_aborted", path, shorten(f"meta-schema check failed: {exc}")))
    return findings


def _names_unknown_type(value: Any) -> bool:
    names = value if isinstance(value, list) else [value]
    return any(isinstance(n, str) and n not in JSON_TYPES for n in names)


def _ref_findings(schema: dict[str, Any], path: str) -> list[Finding]:
    """Every ``$ref``/``$dynamicRef`` resolves inside the schema (or to a known meta-schema); nothing is fetched."""
    refs = [
        (where, node[key], base)
        for where, node, base in subschemas(schema, path)
        for key in ("$ref", "$dynamicRef")
        if isinstance(node.get(key), str)
    ]
    if not refs:
        return []
    findings: list[Finding] = []
    refused: list[str] = []
    try:
        root = DRAFT202012.create_resource(schema)
        registry = SPECIFICATIONS.combine(refusing_registry(refused)).with_resource("", root).crawl()
        resolver = registry.resolver()
    except Exception as exc:
        return [error("ref_unresolvable", path, shorten(f"schema ids cannot be indexed: {exc}"))]
    for where, ref, base in refs:
        before = len(refused)
        try:
            if _ref_loops(resolver.lookup(urljoin(base, ref))):
                findings.append(error("ref_cycle", where, f"$ref {shorten(ref, 120)!r} leads back to itself"))
        except Unresolvable:
            if len(refused) > before:
                findings.append(
                    error(
                        "remote_ref",
                        where,
                        f"$ref {shorten(ref, 120)!r} points outside the schema; it is never fetched",
                    )
                )
            else:
                findings.append(error("ref_unresolvable", where, f"$ref {shorten(ref, 120)!r} resolves to nothing"))
        except Exception as exc:
            findings.append(error("ref_unresolvable", where, shorten(f"$ref {ref!r} cannot be resolved: {exc}")))
    return findings


def _ref_loops(resolved: Any, limit: int = 64) -> bool:
    """A chain of schemas that are each another ``$ref`` comes back to a schema already seen."""
    seen: list[Any] = []
    while isinstance(resolved.contents, dict) and isinstance(resolved.contents.get("$ref"), str):
        if any(resolved.contents is s for s in seen) or len(seen) > limit:
            return True
        seen.append(resolved.contents)
        resolved = resolved.resolver.lookup(resolved.contents["$ref"])
    return False


def _pattern_findings(pattern: Any, where: str) -> list[Finding]:
    if not isinstance(pattern, str):
        return []
    reason = unsafe_pattern_reason(pattern)
    if reason is not None:
        return [error("pattern_unsafe", where, f"pattern {shorten(pattern, 80)!r} {reason}; simplify it")]
    try:
        regex.compile(pattern)
    except (regex.error, RecursionError, ValueError) as exc:
        return [error("pattern_invalid", where, shorten(f"pattern {pattern!r} does not compile: {exc}"))]
    return []


def _keyword_findings(node: dict[str, Any], where: str) -> list[Finding]:
    """Rules per schema object that the meta-schema does not express."""
    findings: list[Finding] = []
    props, required = node.get("properties"), node.get("required")
    if isinstance(props, dict) and isinstance(required, list) and "patternProperties" not in node:
        for name in required:
            if isinstance(name, str) and name not in props:
                findings.append(
                    error(
                        "required_not_in_properties",
                        join_path(where, ["required"]),
                        f"{name!r} is required but not among the properties",
                    )
                )
    types = declared_types(node)
    enum = node.get("enum")
    if isinstance(enum, list):
        if not enum:
            findings.append(error("enum_empty", join_path(where, ["enum"]), "an empty enum admits no value"))
        elif types is not None:
            for i, value in enumerate(enum):
                if not any(matches_type(value, t) for t in types):
                    findings.append(
                        error(
                            "enum_type_mismatch",
                            join_path(where, ["enum", i]),
                            f"{shorten(repr(value), 60)} is not of type {' or '.join(types)}",
                        )
                    )
    if "default" in node and types is not None and not any(matches_type(node["default"], t) for t in types):
        findings.append(
            warning(
                "default_type_mismatch",
                join_path(where, ["default"]),
                f"default {shorten(repr(node['default']), 60)} is not of type {' or '.join(types)}",
            )
        )
    findings += _pattern_findings(node.get("pattern"), join_path(where, ["pattern"]))
    if isinstance(node.get("patternProperties"), dict):
        for key in node["patternProperties"]:
            findings += _pattern_findings(key, join_path(where, ["patternProperties", key]))
    return findings


def check_schema(schema: Any, path: str, invalid_code: str) -> list[Finding]:
    """A JSON Schema (``parameters`` or ``returns``): bounded, meta-valid, sound keywords, local refs only."""
    if isinstance(schema, bool):
        return []
    if not isinstance(schema, dict):
        return [error(invalid_code, path, f"must be a JSON Schema object, not {type(schema).__name__}")]
    bounds = check_bounds(schema, path, "schema")
    if bounds:
        return bounds
    findings = _meta_findings(schema, path, invalid_code)
    for where, node, _ in subschemas(schema, path):
        findings += _keyword_findings(node, where)
    return findings + _ref_findings(schema, path)


# --- function specs ------------------------------------------------------------------------------


def _name_findings(name: Any, path: str) -> list[Finding]:
    if not isinstance(name, str) or not name:
        return [error("function_name_missing", path, "a function needs a non-empty string name")]
    if not NAME_RE.match(name):
        return [
            error(
                "function_name_invalid",
                path,
                f"{shorten(name, 80)!r} is not an identifier (letters, digits, _ or -; at most 64)",
            )
        ]
    return []


def check_function_spec(spec: Any, path: str = "function") -> list[Finding]:
    """One function object ``{name, description, parameters, returns?}`` (a tool wrapper is unwrapped)."""
    spec, path = unwrap_tool(spec, path)
    if not isinstance(spec, dict):
        return [error("function_spec_not_object", path, f"must be an object, not {type(spec).__name__}")]
    findings = _name_findings(spec.get("name"), f"{path}.name") + non_finite_findings(spec, path)
    description = spec.get("description")
    if not isinstance(description, str) or not description.strip():
        findings.append(
            error("function_description_missing", f"{path}.description", "say what the function does in a description")
        )
    if "parameters" in spec:
        findings += _parameters_findings(spec["parameters"], f"{path}.parameters")
    if "returns" in spec:
        findings += check_schema(spec["returns"], f"{path}.returns", "returns_schema_invalid")
    return findings


def _parameters_findings(params: Any, path: str) -> list[Finding]:
    if not isinstance(params, dict) or params.get("type") != "object":
        shown = params.get("type") if isinstance(params, dict) else type(params).__name__
        return [error("parameters_not_object", path, f'must be a schema with "type": "object" (got {shown!r})')]
    findings = check_schema(params, path, "parameters_schema_invalid")
    if any(f.code in ("schema_too_deep", "schema_too_large") for f in findings):
        return findings
    props = params.get("properties")
    if isinstance(props, dict):
        for name, prop in props.items():
            text = prop.get("description") if isinstance(prop, dict) else None
            if isinstance(prop, dict) and not (isinstance(text, str) and text.strip()):
                findings.append(
                    warning(
                        "parameter_description_missing",
                        join_path(path, ["properties", name]),
                        f"parameter {name!r} has no description",
                    )
                )
    return findings


def check_function_specs(specs: Any, path: str = "tools", *, dialects: bool = False) -> list[Finding]:
    """A list of function objects or tool wrappers: each valid, names unique.

    With ``dialects=True`` each spec is first normalised (``normalize_function_spec``) and the
    normalisations are reported as ``dialect_normalized`` info findings.
    """
    if not isinstance(specs, list):
        return [error("tools_not_list", path, f"must be a list of functions, not {type(specs).__name__}")]
    findings: list[Finding] = []
    if len(specs) > MAX_TOOLS:
        findings.append(
            error("tools_too_many", path, f"declares {len(specs)} functions; at most {MAX_TOOLS} fit one request")
        )
    seen: dict[str, int] = {}
    for i, tool in enumerate(specs):
        where = f"{path}[{i}]"
        is_wrapper = isinstance(tool, dict) and "function" in tool and "name" not in tool
        if is_wrapper and tool.get("type") != "function":
            findings.append(
                error(
                    "tool_type_invalid",
                    f"{where}.type",
                    f'a tool wrapper needs "type": "function" (got {tool.get("type")!r})',
                )
            )
        inner, inner_path = unwrap_tool(tool, where)
        if dialects:
            normalized, notes = normalize_function_spec(inner, inner_path)
            findings += notes
            if normalized is None:
                continue
            inner = normalized
        findings += check_function_spec(inner, inner_path)
        name = inner.get("name") if isinstance(inner, dict) else None
        if isinstance(name, str):
            if name in seen:
                findings.append(
                    error(
                        "function_name_duplicate",
                        f"{inner_path}.name",
                        f"{name!r} is already declared at {path}[{seen[name]}]",
                    )
                )
            else:
                seen[name] = i
    return findings


def function_map(specs: Any) -> dict[str, dict[str, Any]]:
    """Name → inner function object for every usable spec in a tools list (first one wins)."""
    out: dict[str, dict[str, Any]] = {}
    if isinstance(specs, list):
        for tool in specs:
            inner, _ = unwrap_tool(tool, "")
            if isinstance(inner, dict) and isinstance(inner.get("name"), str):
                out.setdefault(inner["name"], inner)
    return out


# --- dialects ------------------------------------------------------------------------------------

TYPE_ALIASES: dict[str, str | None] = {
    "dict": "object",
    "float": "number",
    "tuple": "array",
    "any": None,  # BFCL
    "int": "integer",
    "str": "string",
    "bool": "boolean",
    "list": "array",
    "double": "number",
}


def _aliased_types(schema: Any) -> tuple[Any, list[str]]:
    """A copy of the schema with BFCL/Python type names mapped to JSON Schema types, and what changed."""
    changes: list[str] = []

    def fix(node: Any) -> Any:
        if isinstance(node, list):
            return [fix(x) for x in node]
        if not isinstance(node, dict):
            return node
        out = {k: (v if k in ("enum", "const", "default", "examples") else fix(v)) for k, v in node.items()}
        t = out.get("type")
        names = t if isinstance(t, list) else [t]
        if any(isinstance(x, str) and x in TYPE_ALIASES for x in names):
            mapped = [TYPE_ALIASES.get(x, x) if isinstance(x, str) else x for x in names]
            changes.extend(
                f"{x!r}→{TYPE_ALIASES[x] or 'no type'!r}" for x in names if isinstance(x, str) and x in TYPE_ALIASES
            )
            if None in mapped:
                del out["type"]
            else:
                out["type"] = mapped if isinstance(t, list) else mapped[0]
        return out

    if measure(schema, MAX_SCHEMA_DEPTH, MAX_SCHEMA_NODES).exceeded:
        return schema, []  # too big to rewrite; the checks report it
    return fix(schema), changes


def _is_flat_map(value: Any) -> bool:
    """``{"city": {"type": "string"}, ...}``: a map of names to schemas, not itself a schema."""
    if not isinstance(value, dict) or not value:
        return False
    schema_words = {"type", "properties", "$ref", "anyOf", "oneOf", "allOf", "items", "enum", "const", "$schema"}
    if schema_words & value.keys():
        return False
    return all(isinstance(v, dict) for v in value.values())


def _loaded(value: Any, where: str, notes: list[Finding]) -> Any:
    if isinstance(value, str):
        try:
            parsed = parse_json(value)
        except JsonParseError:
            return value
        notes.append(info("dialect_normalized", where, "schema given as a JSON string; parsed"))
        return parsed
    return value


def normalize_function_spec(spec: Any, path: str = "function") -> tuple[dict[str, Any] | None, list[Finding]]:
    """A spec in a known dialect rewritten to the canonical function object, with ``info`` notes.

    Handles tool wrappers, BUTTON/DataFlow flat parameter maps with a separate ``required`` list and
    ``responses``/``response`` for ``returns``, schemas given as JSON strings, per-property
    ``"required": true``, and BFCL/Python type names (``dict``, ``float``, ``tuple``, ``any``, ...).
    Returns None and error findings when the spec is not an object or has no name.
    """
    spec, path = unwrap_tool(spec, path)
    if not isinstance(spec, dict):
        return None, [error("function_spec_not_object", path, f"must be an object, not {type(spec).__name__}")]
    if not isinstance(spec.get("name"), str) or not spec["name"]:
        return None, [error("function_name_missing", f"{path}.name", "a function needs a non-empty string name")]
    notes: list[Finding] = []
    out = dict(spec)
    params = _loaded(out.get("parameters"), f"{path}.parameters", notes)
    top_required = out.pop("required", None)
    if _is_flat_map(params) or params == {}:
        props = {k: dict(v) for k, v in params.items()}
        required = [k for k, v in props.items() if v.pop("required", None) is True]
        if isinstance(top_required, list):
            required = [r for r in top_required if isinstance(r, str)] + [r for r in required if r not in top_required]
            top_required = None
        params = {"type": "object", "properties": props, **({"required": required} if required else {})}
        notes.append(info("dialect_normalized", f"{path}.parameters", "flat parameter map wrapped in an object schema"))
    elif isinstance(params, dict) and "type" not in params and isinstance(params.get("properties"), dict):
        params = {"type": "object", **params}
        notes.append(info("dialect_normalized", f"{path}.parameters", 'added the missing "type": "object"'))
    if isinstance(params, dict) and isinstance(top_required, list) and "required" not in params:
        params = {**params, "required": top_required}
        notes.append(info("dialect_normalized", f"{path}.required", "top-level required list moved into parameters"))
    elif top_required is not None:
        out["required"] = top_required  # not understood: leave it for the checks to see
    if params is not None:
        params, changes = _aliased_types(params)
        if changes:
            notes.append(info("dialect_normalized", f"{path}.parameters", "type names mapped: " + ", ".join(changes)))
        out["parameters"] = params
    for alias in ("responses", "response"):
        if alias in out and "returns" not in out:
            out["returns"] = out.pop(alias)
            notes.append(info("dialect_normalized", f"{path}.{alias}", f"{alias!r} renamed to 'returns'"))
    if "returns" in out:
        returns = _loaded(out["returns"], f"{path}.returns", notes)
        if _is_flat_map(returns):
            returns = {"type": "object", "properties": returns}
            notes.append(info("dialect_normalized", f"{path}.returns", "flat result map wrapped in an object schema"))
        returns, changes = _aliased_types(returns)
        if changes:
            notes.append(info("dialect_normalized", f"{path}.returns", "type names mapped: " + ", ".join(changes)))
        out["returns"] = returns
    return out, notes


def normalize_schema(schema: Any) -> Any:
    """A ``parameters``/``returns`` schema with dialect quirks removed, quietly (for validating instances)."""
    if isinstance(schema, str):
        try:
            schema = parse_json(schema)
        except JsonParseError:
            return schema
    if _is_flat_map(schema):
        schema = {"type": "object", "properties": schema}
    return _aliased_types(schema)[0]
