"""Python tools: the public functions of a module, and the public methods of its environment classes.

    source = PythonSource("examples/tools/bookshop.py")      # a file path
    source = PythonSource("mypackage.tools")                 # or an import path

A public function (no leading underscore, defined in the module itself) becomes a `FunctionSpec`: its parameters'
JSON Schema comes from the type hints through pydantic, its description from the docstring's summary, and each
parameter's description from the docstring's `Args:` section (Google style) or `:param name:` lines. The return
annotation gives `returns`: an object result as is, any other result wrapped as `{"result": ...}`, the shape of the
tool message (`ToolOutcome.to_json`).

A public class defined in the module (not a pydantic model, dataclass, enum or exception) whose own public methods
are tools is a *stateful environment*: each conversation (`ToolSession`) gets one instance, made with no
arguments on the first call to one of its methods, and every later call of that conversation sees its state.

A call is checked against `parameters` (jsonschema, then pydantic, which builds model-typed arguments) before it
runs. A sync tool runs in its own daemon thread, an async one on the event loop, both under the call's timeout.
What goes wrong comes back as a `ToolOutcome` error: `tool_arguments_invalid`, `tool_raised`, `tool_timeout` or
`tool_result_not_json`. A timed-out thread cannot be killed: it runs on in the background.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import enum
import importlib
import importlib.util
import inspect
import json
import re
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, get_type_hints

import pydantic
from pydantic import BaseModel, Field, TypeAdapter, create_model
from pydantic_core import PydanticSerializationError, to_jsonable_python

from toolsynth.tools.arguments import invalid_arguments
from toolsynth.tools.contract import ToolOutcome, ToolSourceError
from toolsynth.tools.schemas import LocalRefs
from toolsynth.types import FunctionSpec


@dataclass(frozen=True)
class _Tool:
    spec: FunctionSpec
    model: type[BaseModel]
    """Validates and builds the keyword arguments."""
    function: Callable[..., Any] | None
    """The plain function, or None for an environment method (looked up on the conversation's instance)."""
    owner: type | None = None


class PythonSource:
    """The tools of one Python module (a `.py` path or an import path)."""

    def __init__(self, target: str) -> None:
        self.label = target
        self.module = _import(target)
        self._tools: dict[str, _Tool] = {}
        for name, value in sorted(vars(self.module).items()):
            if name.startswith("_") or getattr(value, "__module__", None) != self.module.__name__:
                continue
            if inspect.isfunction(value):
                self._add(name, _tool(self.label, name, value, None))
            elif inspect.isclass(value) and _is_environment(value):
                _check_constructible(self.label, value)
                for method_name, method in sorted(vars(value).items()):
                    if not method_name.startswith("_") and inspect.isfunction(method):
                        self._add(method_name, _tool(self.label, method_name, method, value))
        if not self._tools:
            raise ToolSourceError(f"{target}: no public function or environment class to use as a tool")

    def _add(self, name: str, tool: _Tool) -> None:
        if name in self._tools:
            raise ToolSourceError(
                f"{self.label}: two tools are named {name!r} ({_where(self._tools[name])} and {_where(tool)})"
            )
        self._tools[name] = tool

    def functions(self) -> list[FunctionSpec]:
        return [tool.spec for tool in self._tools.values()]

    async def open_session(self) -> PythonSession:
        return PythonSession(self._tools)

    def close(self) -> None:
        return None


class PythonSession:
    """One conversation's calls: environment instances made on first use, calls run one at a time in order."""

    def __init__(self, tools: dict[str, _Tool]) -> None:
        self._tools = tools
        self._instances: dict[type, Any] = {}
        self._lock = asyncio.Lock()

    async def call(self, name: str, arguments: dict[str, Any], timeout: float) -> ToolOutcome:
        tool = self._tools.get(name)
        if tool is None:
            return ToolOutcome(ok=False, error="tool_arguments_invalid", message=f"no tool named {name!r}")
        refused = invalid_arguments(tool.spec, arguments)
        if refused is not None:
            return refused
        try:
            built = tool.model.model_validate(arguments)
        except pydantic.ValidationError as exc:
            return ToolOutcome(ok=False, error="tool_arguments_invalid", message=_short(str(exc)))
        kwargs = {field: getattr(built, field) for field in type(built).model_fields if field in arguments}
        async with self._lock:  # parallel calls of one conversation run in the order they were made
            return await self._run(tool, kwargs, timeout)

    async def _run(self, tool: _Tool, kwargs: dict[str, Any], timeout: float) -> ToolOutcome:
        try:
            function = tool.function
            if function is None:
                assert tool.owner is not None
                if tool.owner not in self._instances:
                    self._instances[tool.owner] = tool.owner()
                function = getattr(self._instances[tool.owner], tool.spec.name)
            if inspect.iscoroutinefunction(function):
                value = await asyncio.wait_for(function(**kwargs), timeout)
            else:
                value = await asyncio.wait_for(_in_thread(function, kwargs), timeout)
        except TimeoutError:
            return ToolOutcome(ok=False, error="tool_timeout", message=f"{tool.spec.name} ran past {timeout:g}s")
        except Exception as exc:  # the tool's own failure is the call's result, never the run's
            return ToolOutcome(ok=False, error="tool_raised", message=_short(f"{type(exc).__name__}: {exc}"))
        return _outcome(tool.spec.name, value)

    async def close(self) -> None:
        self._instances.clear()


def _outcome(name: str, value: Any) -> ToolOutcome:
    """A returned value as a JSON result: pydantic models, dataclasses, dates and the like converted, anything else
    (an open file, NaN) refused."""
    try:
        result = to_jsonable_python(value)
        json.dumps(result, allow_nan=False)
    except (PydanticSerializationError, TypeError, ValueError) as exc:
        return ToolOutcome(
            ok=False, error="tool_result_not_json", message=_short(f"{name} returned {type(value).__name__}: {exc}")
        )
    return ToolOutcome(ok=True, result=result)


def _in_thread(function: Callable[..., Any], kwargs: dict[str, Any]) -> asyncio.Future[Any]:
    """Run `function` in a new daemon thread: a hung tool holds only its own thread, never a pool's worker."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()

    def settle(value: Any, exc: BaseException | None) -> None:
        if future.done():
            return
        if exc is not None:
            future.set_exception(exc)
        else:
            future.set_result(value)

    def work() -> None:
        try:
            value, exc = function(**kwargs), None
        except BaseException as raised:  # handed to the awaiting call as its result
            value, exc = None, raised
        with contextlib.suppress(RuntimeError):  # the loop is gone: the call timed out and the run moved on
            loop.call_soon_threadsafe(settle, value, exc)

    threading.Thread(target=work, name=f"toolsynth-tool-{getattr(function, '__name__', 'call')}", daemon=True).start()
    return future


def _import(target: str) -> ModuleType:
    path = Path(target)
    try:
        if target.endswith(".py"):
            if not path.is_file():
                raise ToolSourceError(f"{target}: no such Python file")
            name = "toolsynth_tools_" + re.sub(r"\W", "_", path.resolve().as_posix())
            spec = importlib.util.spec_from_file_location(name, path)
            if spec is None or spec.loader is None:
                raise ToolSourceError(f"{target}: cannot be loaded as a Python module")
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module  # pydantic and dataclasses resolve the module's own names through it
            try:
                spec.loader.exec_module(module)
            except BaseException:
                sys.modules.pop(name, None)
                raise
            return module
        return importlib.import_module(target)
    except ToolSourceError:
        raise
    except Exception as exc:
        raise ToolSourceError(f"{target}: importing it failed: {type(exc).__name__}: {exc}") from exc


def _is_environment(cls: type) -> bool:
    if issubclass(cls, BaseModel | enum.Enum | BaseException) or dataclasses.is_dataclass(cls):
        return False
    if getattr(cls, "__annotations__", None) and not any(inspect.isfunction(v) for v in vars(cls).values()):
        return False  # a TypedDict or a plain record type
    return any(not n.startswith("_") and inspect.isfunction(v) for n, v in vars(cls).items())


def _check_constructible(label: str, cls: type) -> None:
    try:
        parameters = list(inspect.signature(cls).parameters.values())
    except (TypeError, ValueError):
        return
    needed = [p.name for p in parameters if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    if needed:
        raise ToolSourceError(
            f"{label}: class {cls.__name__} has public methods, so it is a tool environment, but it cannot be made "
            f"without arguments (its constructor needs {', '.join(needed)}); give them defaults, or name the class "
            "with a leading underscore to keep it out of the tools"
        )


def _tool(label: str, name: str, function: Callable[..., Any], owner: type | None) -> _Tool:
    where = f"{label}: {owner.__name__ + '.' if owner else ''}{name}"
    try:
        hints = get_type_hints(function, include_extras=True)
    except Exception as exc:
        raise ToolSourceError(f"{where}: its type hints cannot be read: {exc}") from exc
    summary, described = parse_docstring(inspect.getdoc(function) or "")
    fields: dict[str, Any] = {}
    parameters = list(inspect.signature(function).parameters.values())
    if owner is not None:
        parameters = parameters[1:]  # self
    for p in parameters:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        if p.kind is p.POSITIONAL_ONLY:
            raise ToolSourceError(f"{where}: parameter {p.name!r} is positional-only; tools take keyword arguments")
        default: Any = ... if p.default is p.empty else p.default
        field = Field(default, description=described[p.name]) if p.name in described else Field(default)
        fields[p.name] = (hints.get(p.name, Any), field)  # a hint's own Field(description=...) stays otherwise
    try:
        model = create_model(f"{name}_arguments", **fields)
        parameters_schema = inline_refs(model.model_json_schema())
        returns = _returns_schema(hints["return"]) if "return" in hints else {}
    except (pydantic.PydanticUserError, pydantic.PydanticSchemaGenerationError, TypeError) as exc:
        raise ToolSourceError(f"{where}: its type hints have no JSON Schema: {exc}") from exc
    parameters_schema.setdefault("properties", {})
    parameters_schema.pop("description", None)
    description = summary or name.replace("_", " ").capitalize()
    spec = FunctionSpec(name=name, description=description, parameters=parameters_schema, returns=returns)
    return _Tool(spec, model, None if owner else function, owner)


def _returns_schema(annotation: Any) -> dict[str, Any]:
    if annotation is None or annotation is type(None):
        return {"type": "object", "properties": {"result": {"type": "null"}}, "required": ["result"]}
    schema = inline_refs(TypeAdapter(annotation).json_schema(mode="serialization"))
    if schema.get("type") == "object" or not schema:
        return schema
    if any(isinstance(b, dict) and b.get("type") == "object" for b in schema.get("anyOf", [])):
        return {}  # an object or something else: the tool message takes either shape
    return {"type": "object", "properties": {"result": schema}, "required": ["result"]}


def inline_refs(schema: dict[str, Any], where: str = "a pydantic schema") -> dict[str, Any]:
    """A pydantic JSON Schema standing alone: its `$defs` written out in place (a self-reference stops at its first
    repeat, `toolsynth.tools.schemas`) and its generated `title`s dropped."""

    def fail(pointer: str, message: str) -> ToolSourceError:
        return ToolSourceError(f"{where} at {pointer or '/'}: {message}")

    inlined: dict[str, Any] = LocalRefs(schema, where, fail).inline(schema, "", _untitled)
    inlined.pop("$defs", None)
    return inlined


def _untitled(node: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in node.items() if not (k == "title" and isinstance(v, str))}


_SECTION = re.compile(r"^(Args|Arguments|Parameters|Returns|Return|Raises|Yields|Examples?|Notes?):\s*$")
_ARG_LINE = re.compile(r"^\s*\*{0,2}(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")
_SPHINX_PARAM = re.compile(r"^:param\s+(?:[^:]*\s)?(\w+):\s*(.*)$")


def parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """(summary, description by parameter name) of a Google-style (`Args:`) or Sphinx-style (`:param x:`)
    docstring; the summary is the text before the first section."""
    summary: list[str] = []
    described: dict[str, str] = {}
    section: str | None = None
    current: str | None = None
    for line in doc.splitlines():
        stripped = line.strip()
        heading = _SECTION.match(stripped)
        sphinx = _SPHINX_PARAM.match(stripped)
        if heading:
            section, current = heading.group(1), None
        elif sphinx:
            section, current = "sphinx", sphinx.group(1)
            described[current] = sphinx.group(2).strip()
        elif stripped.startswith(":"):
            section, current = "sphinx", None
        elif section is None:
            summary.append(stripped)
        elif section in ("Args", "Arguments", "Parameters") and stripped:
            indented = line[: len(line) - len(line.lstrip())]
            match = _ARG_LINE.match(line)
            if match and (current is None or len(indented) <= _indent_of(doc, current)):
                current = match.group(1)
                described[current] = match.group(2).strip()
            elif current is not None:
                described[current] = f"{described[current]} {stripped}".strip()
        elif section == "sphinx" and current is not None and stripped:
            described[current] = f"{described[current]} {stripped}".strip()
    text = " ".join(part for part in summary if part).strip()
    return text, {k: v for k, v in described.items() if v}


def _indent_of(doc: str, name: str) -> int:
    for line in doc.splitlines():
        match = _ARG_LINE.match(line)
        if match and match.group(1) == name:
            return len(line) - len(line.lstrip())
    return 0


def _where(tool: _Tool) -> str:
    return f"{tool.owner.__name__}.{tool.spec.name}" if tool.owner else f"function {tool.spec.name}"


def _short(text: str, limit: int = 500) -> str:
    return text if len(text) <= limit else text[:limit] + " ...(cut)"
