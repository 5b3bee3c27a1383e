"""Local `$ref` resolution for the schemas tool sources read: inlined, cycle-safe, and never fetched.

A function's `parameters` and `returns` must stand alone (an exporter or a validator sees one function at a
time), so every `#/...` ref is replaced by a copy of what it names. A schema that refers to itself stops at
its first repeat with an open placeholder. A ref to anything else (another file, a URL) is an error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from toolsynth.tools.contract import ToolSourceError

# Keywords whose values are data, not schemas: copied as they are.
VALUE_KEYWORDS = frozenset({"enum", "const", "default", "examples", "example"})


def pointer(*parts: str | int) -> str:
    """A JSON pointer (RFC 6901) from its unescaped parts."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


class LocalRefs:
    """Resolves the refs of one JSON document (`root`); errors come from `fail(where, message)`."""

    def __init__(self, root: Any, scope: str, fail: Callable[[str, str], ToolSourceError]) -> None:
        self.root = root
        self.scope = scope
        self.fail = fail

    def lookup(self, ref: str, where: str) -> Any:
        """What a local ref names; `where` is the JSON pointer of the ref, for the error."""
        if not ref.startswith("#"):
            raise self.fail(
                where, f"$ref {ref!r} points outside {self.scope}; only local refs ('#/...') are resolved, none fetched"
            )
        node: Any = self.root
        for raw in unquote(ref[1:]).split("/")[1:]:
            part = raw.replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                raise self.fail(where, f"$ref {ref!r} resolves to nothing in {self.scope}")
        return node

    def deref(self, node: Any, where: str) -> tuple[Any, str]:
        """Follow a chain of `$ref` objects to the object they name, and that object's pointer."""
        seen: list[str] = []
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            ref = node["$ref"]
            if ref in seen:
                raise self.fail(where, f"$ref {ref!r} leads back to itself")
            seen.append(ref)
            node = self.lookup(ref, where)
            where = unquote(ref[1:])
        return node, where

    def inline(
        self,
        node: Any,
        where: str,
        rewrite: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
        expanding: tuple[str, ...] = (),
    ) -> Any:
        """A copy of the schema with every ref inlined; `rewrite` may adjust each schema object afterwards."""
        if isinstance(node, list):
            return [self.inline(item, f"{where}/{i}", rewrite, expanding) for i, item in enumerate(node)]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str):
            if ref in expanding:
                return {"description": f"(recursive: same schema as {ref})"}
            inlined = self.inline(self.lookup(ref, where), unquote(ref[1:]), rewrite, (*expanding, ref))
            siblings = {k: v for k, v in node.items() if k != "$ref"}
            if siblings and isinstance(inlined, dict):
                return {**inlined, **self.inline(siblings, where, rewrite, expanding)}
            return inlined
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in VALUE_KEYWORDS:
                out[key] = value
            elif key in ("properties", "patternProperties", "$defs", "definitions") and isinstance(value, dict):
                out[key] = {
                    name: self.inline(sub, f"{where}/{key}{pointer(name)}", rewrite, expanding)
                    for name, sub in value.items()
                }
            else:
                out[key] = self.inline(value, f"{where}{pointer(key)}", rewrite, expanding)
        return rewrite(out) if rewrite is not None else out


def standalone(schema: dict[str, Any], scope: str, fail: Callable[[str, str], ToolSourceError]) -> dict[str, Any]:
    """A schema with its own `#/$defs/...` refs inlined and its definitions dropped (the MCP tool schemas)."""
    if "$ref" not in str(schema):
        return schema
    inlined = LocalRefs(schema, scope, fail).inline(schema, "")
    for key in ("$defs", "definitions"):
        inlined.pop(key, None)
    return inlined
