"""Loading tool sources from `--tools` texts, and the library a run draws its functions from.

    load_tool_source("examples/tools/bookshop.py")            # a Python file, or an import path (pkg.tools)
    load_tool_source("api.yaml", base_url="http://127.0.0.1:8000")   # an OpenAPI 3.x document (.json/.yaml/.yml)
    load_tool_source("mcp:python examples/tools/mcp_server.py")       # an MCP server over stdio

A `ToolLibrary` holds several sources as one: its functions are theirs, a function name two sources share is an
error naming both, and one `LibrarySession` per conversation routes each call to its source's session (opened on
first use), checking the arguments first.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Sequence
from typing import Any

from toolsynth.tools.arguments import invalid_arguments
from toolsynth.tools.contract import ToolOutcome, ToolSession, ToolSource, ToolSourceError
from toolsynth.types import FunctionSpec

OPENAPI_SUFFIXES = (".json", ".yaml", ".yml")


def load_tool_source(text: str, base_url: str | None = None) -> ToolSource:
    """The source a `--tools` text names: `mcp:COMMAND`, an OpenAPI document, or a Python module."""
    text = text.strip()
    if not text:
        raise ToolSourceError("an empty tool source: give a .py file, an import path, an OpenAPI file or mcp:COMMAND")
    if text.startswith("mcp:"):
        command = text[4:].strip()
        if not command:
            raise ToolSourceError(f"{text}: name the command that starts the MCP server after 'mcp:'")
        mcp_source: Any = _adapter("toolsynth.tools.mcp_source", "MCPSource", "MCP servers", text)
        source: ToolSource = mcp_source(command)
        return source
    if text.lower().endswith(OPENAPI_SUFFIXES):
        openapi_source: Any = _adapter("toolsynth.tools.openapi_source", "OpenAPISource", "OpenAPI documents", text)
        source = openapi_source(text, base_url)
        return source
    from toolsynth.tools.python_source import PythonSource

    return PythonSource(text)


def _adapter(module: str, name: str, what: str, text: str) -> Any:
    """The adapter class, imported only when a source of its kind is asked for."""
    try:
        loaded = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name != module:
            raise ToolSourceError(f"{text}: support for {what} needs {exc.name!r}, which is not installed") from exc
        raise ToolSourceError(f"{text}: this toolsynth has no support for {what} ({module} is missing)") from exc
    return getattr(loaded, name)


class ToolLibrary:
    """Several tool sources as one library of uniquely named functions."""

    def __init__(self, sources: Sequence[ToolSource]) -> None:
        if not sources:
            raise ToolSourceError("a tool library needs at least one source")
        self.sources = list(sources)
        self._owner: dict[str, ToolSource] = {}
        self._specs: dict[str, FunctionSpec] = {}
        for source in self.sources:
            for spec in source.functions():
                if spec.name in self._owner:
                    raise ToolSourceError(
                        f"the function {spec.name!r} is in two tool sources: {self._owner[spec.name].label} and "
                        f"{source.label}; every function of a run needs its own name"
                    )
                self._owner[spec.name] = source
                self._specs[spec.name] = spec

    @classmethod
    def load(cls, texts: Sequence[str], base_url: str | None = None) -> ToolLibrary:
        """The library of `--tools` texts; sources loaded before a failing one are closed again."""
        sources: list[ToolSource] = []
        try:
            for text in texts:
                sources.append(load_tool_source(text, base_url))
            return cls(sources)
        except BaseException:
            for source in sources:
                source.close()
            raise

    @property
    def labels(self) -> list[str]:
        return [source.label for source in self.sources]

    def functions(self) -> list[FunctionSpec]:
        return list(self._specs.values())

    def __contains__(self, name: object) -> bool:
        return name in self._specs

    def spec(self, name: str) -> FunctionSpec:
        return self._specs[name]

    def source_of(self, name: str) -> ToolSource:
        return self._owner[name]

    def open_session(self) -> LibrarySession:
        return LibrarySession(self)

    def close(self) -> None:
        for source in self.sources:
            source.close()


class LibrarySession:
    """One conversation's calls across the library: each source's session opens on its first call."""

    def __init__(self, library: ToolLibrary) -> None:
        self.library = library
        self._sessions: dict[int, ToolSession] = {}
        self._opening = asyncio.Lock()  # parallel first calls to one source share one session

    async def call(self, name: str, arguments: dict[str, Any], timeout: float) -> ToolOutcome:
        if name not in self.library:
            return ToolOutcome(ok=False, error="tool_arguments_invalid", message=f"{name!r} is not in the tool library")
        refused = invalid_arguments(self.library.spec(name), arguments)
        if refused is not None:
            return refused
        source = self.library.source_of(name)
        try:
            async with self._opening:
                session = self._sessions.get(id(source))
                if session is None:
                    session = self._sessions[id(source)] = await source.open_session()
            return await session.call(name, arguments, timeout)
        except (ToolSourceError, OSError, RuntimeError) as exc:  # a source that broke mid-run: this call's error
            return ToolOutcome(ok=False, error="tool_raised", message=f"{source.label}: {type(exc).__name__}: {exc}")

    async def close(self) -> None:
        sessions, self._sessions = list(self._sessions.values()), {}
        for session in sessions:
            await session.close()
