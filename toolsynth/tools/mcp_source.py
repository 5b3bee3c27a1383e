"""An MCP server over stdio as a tool source, through the official `mcp` SDK (the `toolsynth[mcp]` extra).

`MCPSource("python my_server.py")` starts the server once, lists its tools (`inputSchema` → `parameters`,
`outputSchema` → `returns`) and calls them for real. The MCP client runs on its own event loop in a private
daemon thread, so the source is usable from any thread and any event loop; calls made on the caller's loop are
handed to it and awaited there.

One server process serves the whole run: every conversation's session talks to the same process, so state the
server keeps is shared by the conversations (README, "Bring your own tools").

A result is the call's `structuredContent` when there is one; else its text content, parsed as JSON when it is
JSON and given as `{"text": ...}` when it is plain text (most MCP tools answer in text). A call whose only
content is non-text (images, audio, resources) gives `tool_result_not_json`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import os
import shlex
import tempfile
import threading
from typing import Any

from toolsynth.tools.contract import ToolOutcome, ToolSourceError
from toolsynth.tools.schemas import standalone
from toolsynth.types import FunctionSpec

try:
    import anyio
    import mcp
    from mcp.client.stdio import StdioServerParameters, stdio_client

    HAVE_MCP = True
except ImportError:  # pragma: no cover - only without the extra
    HAVE_MCP = False

PERMISSIVE_RESULT: dict[str, Any] = {"type": "object", "additionalProperties": True}
STDERR_TAIL_LINES = 12
MAX_TOOL_PAGES = 100


class MCPSource:
    """The tools of the MCP server that `command` starts (shell-like words, run without a shell)."""

    def __init__(self, command: str, *, start_timeout: float = 60.0) -> None:
        self.command = command
        self.label = f"mcp:{command}"
        if not HAVE_MCP:
            raise ToolSourceError(f"{self.label}: MCP servers need the mcp package: pip install 'toolsynth[mcp]'")
        try:
            argv = shlex.split(command)
        except ValueError as exc:
            raise ToolSourceError(f"{self.label}: cannot split the command into words: {exc}") from exc
        if not argv:
            raise ToolSourceError(f"{self.label}: the command is empty")
        # Closed by close(), which every path out of a failed start calls too.
        self._stderr = tempfile.TemporaryFile(mode="w+", encoding="utf-8")  # noqa: SIM115
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=f"toolsynth {self.label}", daemon=True)
        self._task: asyncio.Task[None] | None = None
        self._calls: set[asyncio.Task[ToolOutcome]] = set()
        self._session: mcp.ClientSession | None = None
        self._lock = threading.Lock()
        self._closed = False
        self._thread.start()
        ready: concurrent.futures.Future[list[FunctionSpec]] = concurrent.futures.Future()
        params = StdioServerParameters(command=argv[0], args=argv[1:], env=dict(os.environ))

        def begin() -> None:
            self._task = self._loop.create_task(self._serve(params, ready))

        self._loop.call_soon_threadsafe(begin)
        try:
            self._functions = ready.result(timeout=start_timeout)
        except Exception as exc:
            cause = _first_leaf(exc)
            reason = (
                f"no tool list within {start_timeout:g} s"
                if isinstance(exc, concurrent.futures.TimeoutError)
                else f"{type(cause).__name__}: {cause}"
            )
            error = self._start_error(reason)
            self.close()
            raise error from exc

    async def _serve(self, params: StdioServerParameters, ready: concurrent.futures.Future[list[FunctionSpec]]) -> None:
        """Own the connection for the source's lifetime: connect, list, then wait for `close` to cancel it."""
        try:
            async with (
                stdio_client(params, errlog=self._stderr) as (read, write),
                mcp.ClientSession(read, write) as session,
            ):
                await session.initialize()
                functions = await _list_functions(session, self.label)
                self._session = session
                ready.set_result(functions)
                await anyio.sleep_forever()
        except BaseException as exc:
            if not ready.done():
                ready.set_exception(exc if isinstance(exc, Exception) else RuntimeError(repr(exc)))
            if not isinstance(exc, Exception):
                raise
        finally:
            self._session = None

    def _start_error(self, reason: str) -> ToolSourceError:
        tail = self.stderr_tail()
        shown = "\n".join(f"  {line}" for line in tail) if tail else "  (nothing)"
        return ToolSourceError(f"{self.label}: the MCP server did not start: {reason}\nits stderr ends with:\n{shown}")

    def stderr_tail(self, lines: int = STDERR_TAIL_LINES) -> list[str]:
        """The last lines the server wrote to stderr (read without moving the server's write position)."""
        if self._stderr.closed:
            return []
        fd = self._stderr.fileno()
        size = os.fstat(fd).st_size
        start = max(0, size - 16_384)
        text = os.pread(fd, size - start, start).decode("utf-8", "replace")
        return [line for line in text.splitlines() if line.strip()][-lines:]

    def functions(self) -> list[FunctionSpec]:
        return [spec.model_copy(deep=True) for spec in self._functions]

    async def open_session(self) -> MCPSession:
        return MCPSession(self)

    async def call(self, name: str, arguments: dict[str, Any], timeout: float) -> ToolOutcome:
        """Run one call on the source's own loop and await its outcome from the caller's loop."""
        if self._closed:
            return ToolOutcome(ok=False, error="tool_raised", message=f"{self.label}: the source is closed")
        future = asyncio.run_coroutine_threadsafe(self._call_here(name, arguments, timeout), self._loop)
        return await asyncio.wrap_future(future)

    async def _call_here(self, name: str, arguments: dict[str, Any], timeout: float) -> ToolOutcome:
        session = self._session
        if session is None:
            return ToolOutcome(ok=False, error="tool_raised", message=f"{self.label}: the MCP server is not running")
        task = asyncio.current_task()
        assert task is not None
        self._calls.add(task)
        try:
            with anyio.fail_after(timeout):
                result = await session.call_tool(name, arguments)
        except asyncio.CancelledError:
            if not self._closed:
                raise
            return ToolOutcome(ok=False, error="tool_raised", message=f"{name}: the source was closed during the call")
        except TimeoutError:
            return ToolOutcome(ok=False, error="tool_timeout", message=f"{name}: no answer within {timeout:g} s")
        except Exception as exc:
            return ToolOutcome(ok=False, error="tool_raised", message=f"{name}: {type(exc).__name__}: {exc}")
        finally:
            self._calls.discard(task)
        return outcome(result)

    async def _end(self) -> None:
        """Answer the calls still running (as errors), then end the connection."""
        for call in list(self._calls):
            call.cancel()
        await asyncio.gather(*self._calls, return_exceptions=True)
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def close(self) -> None:
        """Stop the server (stdin closed, then terminated if it lingers) and the private loop; idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        if self._loop.is_running():
            # Cancelling the connection's task exits the SDK's stdio client, which closes the server's stdin,
            # waits for it to exit and terminates its process group if it does not.
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(self._end(), self._loop).result(timeout=30)
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        if not self._thread.is_alive():
            self._loop.close()
        self._stderr.close()


class MCPSession:
    """A conversation's handle on the source's one connection (the server's state is shared by all)."""

    def __init__(self, source: MCPSource) -> None:
        self._source = source

    async def call(self, name: str, arguments: dict[str, Any], timeout: float) -> ToolOutcome:
        return await self._source.call(name, arguments, timeout)

    async def close(self) -> None:
        """Nothing per conversation: the connection lives as long as the source."""


def _first_leaf(exc: BaseException) -> BaseException:
    """The first real error inside (possibly nested) exception groups, which anyio's task groups raise."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


async def _list_functions(session: mcp.ClientSession, label: str) -> list[FunctionSpec]:
    """Every page of the server's tool list (a server whose pages never end is an error, not a hang)."""
    functions: list[FunctionSpec] = []
    cursor: str | None = None
    for _ in range(MAX_TOOL_PAGES):
        params = mcp.types.PaginatedRequestParams(cursor=cursor) if cursor else None
        page = await session.list_tools(params=params)
        functions.extend(function_spec(tool, label) for tool in page.tools)
        cursor = page.next_cursor
        if not cursor:
            return functions
    raise ToolSourceError(f"{label}: the tool list goes on for more than {MAX_TOOL_PAGES} pages")


def function_spec(tool: mcp.types.Tool, label: str) -> FunctionSpec:
    """An MCP tool as a FunctionSpec: its schemas' own `$defs` refs inlined, a non-object result wrapped."""

    def fail(where: str, message: str) -> ToolSourceError:
        return ToolSourceError(f"{label}: tool {tool.name!r}: {where or '/'}: {message}")

    parameters = standalone(dict(tool.input_schema or {}), "the tool's input schema", fail)
    parameters.setdefault("type", "object")
    parameters.setdefault("properties", {})
    returns = standalone(dict(tool.output_schema), "the tool's output schema", fail) if tool.output_schema else None
    if not returns:
        returns = dict(PERMISSIVE_RESULT)
    elif returns.get("type") != "object":
        # The conversation shows a non-object result as {"result": ...} (ToolOutcome.to_json).
        returns = {"type": "object", "properties": {"result": returns}, "required": ["result"]}
    description = tool.description or tool.title or tool.name
    return FunctionSpec(name=tool.name, description=description.strip(), parameters=parameters, returns=returns)


def outcome(result: mcp.types.CallToolResult) -> ToolOutcome:
    """A `CallToolResult` as an outcome: the tool's error, its structured content, or its text content."""
    texts = [block.text for block in result.content if isinstance(block, mcp.types.TextContent)]
    text = "\n".join(texts).strip()
    if result.is_error:
        return ToolOutcome(ok=False, error="tool_raised", message=text or "the tool reported an error")
    if result.structured_content is not None:
        return ToolOutcome(ok=True, result=result.structured_content)
    if not texts:
        if not result.content:
            return ToolOutcome(ok=True, result=None)
        kinds = ", ".join(sorted({block.type for block in result.content}))
        return ToolOutcome(ok=False, error="tool_result_not_json", message=f"the result has no text, only {kinds}")
    try:
        return ToolOutcome(ok=True, result=json.loads(text))
    except json.JSONDecodeError:
        return ToolOutcome(ok=True, result={"text": text})
