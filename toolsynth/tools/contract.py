"""The contract every tool source meets: Python modules, OpenAPI documents and MCP servers alike.

A `ToolSource` is loaded once per run and is usable synchronously from any thread as soon as it is
constructed (a source that needs an event loop, like an MCP client, runs its own on a private thread). It
lists its functions as `FunctionSpec`s and opens one `ToolSession` per conversation; a session holds
whatever state the conversation's calls share (an environment instance, an HTTP client, an MCP
connection) and runs calls for real.

A call never raises for a problem of the call itself: an exception inside the tool, a timeout, an HTTP
error status or a result that is not JSON comes back as a `ToolOutcome` with `ok=False`, an `error` code
and a message, which the conversation shows the assistant as the tool's error result. Only a problem of the
source as a whole (a module that fails to import, a server that does not start) raises `ToolSourceError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from toolsynth.types import FunctionSpec


class ToolSourceError(RuntimeError):
    """A tool source that cannot be loaded or started; names the source and what is wrong with it."""


@dataclass(frozen=True)
class ToolOutcome:
    """What one real call gave: its JSON result, or an error code and message when it did not succeed.

    `error` codes: `tool_raised` (the implementation raised), `tool_timeout`, `tool_result_not_json`,
    `tool_http_error` (a status >= 400), `tool_arguments_invalid` (rejected before the call was made).
    """

    ok: bool
    result: Any = None
    error: str | None = None
    message: str = ""

    def to_json(self) -> dict[str, Any]:
        """The tool message's content: the result itself, or `{"error": {"code", "message"}}`."""
        if self.ok:
            return self.result if isinstance(self.result, dict) else {"result": self.result}
        return {"error": {"code": self.error, "message": self.message}}


@runtime_checkable
class ToolSession(Protocol):
    """One conversation's handle on a source: its calls share state until `close`."""

    async def call(self, name: str, arguments: dict[str, Any], timeout: float) -> ToolOutcome: ...

    async def close(self) -> None: ...


@runtime_checkable
class ToolSource(Protocol):
    """A library of callable tools. `label` names it in errors and in the manifest (e.g. the path or URL)."""

    label: str

    def functions(self) -> list[FunctionSpec]: ...

    async def open_session(self) -> ToolSession: ...

    def close(self) -> None:
        """Release what the source holds (server processes, clients); idempotent."""
        ...
