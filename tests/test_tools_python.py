"""Python tool sources, the tool library and `load_tool_source`: specs from type hints and docstrings, real calls,
every failure of a call as a `ToolOutcome` error, never an exception."""

from __future__ import annotations

import asyncio
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support import ROOT
from toolsynth.tools import ToolOutcome, ToolSourceError
from toolsynth.tools.loading import ToolLibrary, load_tool_source
from toolsynth.tools.python_source import PythonSource, inline_refs, parse_docstring
from toolsynth.types import FunctionSpec
from toolsynth.validators.functions import check_function_spec

BOOKSHOP = str(ROOT / "examples" / "tools" / "bookshop.py")
CART = str(ROOT / "examples" / "tools" / "cart.py")

MODULE = '''
from __future__ import annotations

import asyncio
import time
from typing import Annotated, Literal

from pydantic import BaseModel, Field


class Address(BaseModel):
    street: str
    city: str


class Counter:
    """A stateful environment."""

    def __init__(self) -> None:
        self.value = 0

    def bump(self, by: int = 1) -> dict[str, int]:
        """Add to the counter.

        Args:
            by: How much to add,
                at least one.
        """
        self.value += by
        return {"value": self.value}


def ship(
    to: Address, speed: Literal["slow", "fast"] = "slow", note: Annotated[str, Field(description="For the van")] = ""
) -> str:
    """Ship a parcel.

    :param to: Where it goes.
    :param speed: How fast.
    """
    return f"{to.street}, {to.city} ({speed})"


def explode(reason: str) -> dict[str, str]:
    """Always raises."""
    raise RuntimeError(reason)


def hang(seconds: float) -> dict[str, str]:
    """Sleeps."""
    time.sleep(seconds)
    return {"woke": "yes"}


async def ahang(seconds: float) -> dict[str, str]:
    """Sleeps, asynchronously."""
    await asyncio.sleep(seconds)
    return {"woke": "yes"}


def opaque() -> dict[str, object]:
    """Returns something that is not JSON."""
    return {"lock": object()}


def not_a_number() -> float:
    """Returns NaN."""
    return float("nan")


def _private() -> None:
    """Not a tool."""
'''


def write(tmp_path: Path, text: str, name: str = "mytools.py") -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return str(path)


def call(source: Any, name: str, arguments: dict[str, Any], timeout: float = 5.0) -> ToolOutcome:
    async def go() -> ToolOutcome:
        session = await source.open_session()
        try:
            outcome: ToolOutcome = await session.call(name, arguments, timeout)
            return outcome
        finally:
            await session.close()

    return asyncio.run(go())


@pytest.fixture
def source(tmp_path: Path) -> PythonSource:
    return PythonSource(write(tmp_path, MODULE))


def test_public_functions_and_environment_methods_become_valid_specs(source: PythonSource) -> None:
    specs = {f.name: f for f in source.functions()}
    assert set(specs) == {"bump", "ship", "explode", "hang", "ahang", "opaque", "not_a_number"}
    for spec in specs.values():
        assert [f for f in check_function_spec(spec.model_dump()) if f.severity == "error"] == []
    bump = specs["bump"]
    assert bump.description == "Add to the counter."
    assert bump.parameters["properties"]["by"] == {
        "type": "integer",
        "default": 1,
        "description": "How much to add, at least one.",
    }
    assert "required" not in bump.parameters
    ship = specs["ship"].parameters
    assert ship["required"] == ["to"]
    assert ship["properties"]["to"]["properties"]["city"] == {"type": "string"}  # the model inlined, no $ref
    assert ship["properties"]["to"]["description"] == "Where it goes."
    assert ship["properties"]["speed"]["enum"] == ["slow", "fast"]
    assert ship["properties"]["note"]["description"] == "For the van"  # the hint's, with no docstring line
    assert "$defs" not in ship and "title" not in ship
    assert specs["ship"].returns == {
        "type": "object",
        "properties": {"result": {"type": "string"}},
        "required": ["result"],
    }


def test_calls_run_for_real_with_model_arguments_built(source: PythonSource) -> None:
    outcome = call(source, "ship", {"to": {"street": "1 Main St", "city": "Oslo"}, "speed": "fast"})
    assert outcome == ToolOutcome(ok=True, result="1 Main St, Oslo (fast)")
    assert outcome.to_json() == {"result": "1 Main St, Oslo (fast)"}


def test_an_environment_keeps_its_state_within_a_session_and_starts_fresh_in_the_next(source: PythonSource) -> None:
    async def two_calls() -> list[Any]:
        session = await source.open_session()
        first = await session.call("bump", {"by": 2}, 5)
        second = await session.call("bump", {}, 5)
        await session.close()
        return [first.result, second.result]

    assert asyncio.run(two_calls()) == [{"value": 2}, {"value": 3}]
    assert asyncio.run(two_calls()) == [{"value": 2}, {"value": 3}]


@pytest.mark.parametrize(
    ("name", "arguments", "timeout", "code", "says"),
    [
        ("explode", {"reason": "boom"}, 5.0, "tool_raised", "RuntimeError: boom"),
        ("hang", {"seconds": 3}, 0.2, "tool_timeout", "0.2s"),
        ("ahang", {"seconds": 3}, 0.2, "tool_timeout", "0.2s"),
        ("opaque", {}, 5.0, "tool_result_not_json", "opaque returned dict"),
        ("not_a_number", {}, 5.0, "tool_result_not_json", "not_a_number returned float"),
        ("bump", {"by": "two"}, 5.0, "tool_arguments_invalid", "arguments_schema_violation"),
        ("bump", {"by": 1, "extra": 2}, 5.0, "tool_arguments_invalid", "argument_unknown"),
        ("nothing", {}, 5.0, "tool_arguments_invalid", "no tool named"),
    ],
)
def test_every_failure_of_a_call_is_an_error_outcome(
    source: PythonSource, name: str, arguments: dict[str, Any], timeout: float, code: str, says: str
) -> None:
    started = time.monotonic()
    outcome = call(source, name, arguments, timeout)
    assert (outcome.ok, outcome.error) == (False, code)
    assert says in outcome.message
    assert outcome.to_json() == {"error": {"code": code, "message": outcome.message}}
    assert time.monotonic() - started < 2.5  # a hung tool does not hold the call past its timeout


def test_an_import_path_loads_like_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, MODULE, "toolsynth_test_tools_pkg.py")
    monkeypatch.syspath_prepend(str(tmp_path))
    source = load_tool_source("toolsynth_test_tools_pkg")
    assert isinstance(source, PythonSource)
    assert "ship" in {f.name for f in source.functions()}
    sys.modules.pop("toolsynth_test_tools_pkg", None)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("def f(:\n    pass\n", "importing it failed: SyntaxError"),
        ("X = 1\n", "no public function or environment class"),
        (
            "class Needs:\n    def __init__(self, key: str) -> None: ...\n    def go(self) -> int:\n        return 1\n",
            "key",
        ),
        ("def f(x: int, /) -> int:\n    return x\n", "positional-only"),
    ],
)
def test_a_module_that_cannot_be_a_tool_source_is_a_clear_error(tmp_path: Path, text: str, says: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ToolSourceError, match=says) as raised:
        PythonSource(path)
    assert path in str(raised.value)


def test_a_missing_file_names_itself() -> None:
    with pytest.raises(ToolSourceError, match=r"missing\.py: no such Python file"):
        load_tool_source("missing.py")


def test_two_sources_with_one_function_name_name_both(tmp_path: Path) -> None:
    other = write(tmp_path, "def get_book(isbn: str) -> dict[str, str]:\n    '''Clash.'''\n    return {}\n")
    with pytest.raises(ToolSourceError, match="'get_book' is in two tool sources") as raised:
        ToolLibrary.load([BOOKSHOP, other])
    assert BOOKSHOP in str(raised.value) and other in str(raised.value)


def test_the_library_routes_calls_and_refuses_unknown_functions() -> None:
    library = ToolLibrary.load([BOOKSHOP, CART])
    assert {f.name for f in library.functions()} >= {"search_books", "get_book", "add_to_cart", "checkout"}

    async def calls() -> list[ToolOutcome]:
        session = library.open_session()
        out = [
            await session.call("add_to_cart", {"isbn": "978-0-14-143951-8", "quantity": 2}, 5),
            await session.call("checkout", {"cart_id": "cart-1", "payment": "card"}, 5),
            await session.call("get_book", {"isbn": "978-0-14-143951-8"}, 5),
            await session.call("get_book", {"isbn": 978}, 5),
            await session.call("delete_everything", {}, 5),
        ]
        await session.close()
        return out

    added, paid, book, wrong, unknown = asyncio.run(calls())
    assert added.result == {"cart_id": "cart-1", "items": 2, "total_eur": 19.98}
    assert paid.result == {"order_id": "order-1", "charged_eur": 19.98, "payment": "card"}
    assert book.result["title"] == "Pride and Prejudice"
    assert (wrong.error, unknown.error) == ("tool_arguments_invalid", "tool_arguments_invalid")
    assert "not in the tool library" in unknown.message


@pytest.mark.parametrize(
    ("text", "module", "what"),
    [
        ("mcp:python server.py", "toolsynth.tools.mcp_source", "MCP servers"),
        ("api.yaml", "toolsynth.tools.openapi_source", "OpenAPI documents"),
    ],
)
def test_a_source_kind_whose_support_is_missing_says_so(
    monkeypatch: pytest.MonkeyPatch, text: str, module: str, what: str
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # importing it now fails as a missing module does
    with pytest.raises(ToolSourceError, match=f"no support for {what}"):
        load_tool_source(text)


def test_an_mcp_source_needs_a_command() -> None:
    with pytest.raises(ToolSourceError, match="name the command"):
        load_tool_source("mcp:  ")


def test_docstrings_in_google_and_sphinx_style() -> None:
    summary, described = parse_docstring(
        "Find things.\n\nMore words.\n\nArgs:\n    query (str): What to find,\n        in full.\n    limit: "
        "How many.\n\nReturns:\n    The things."
    )
    assert summary == "Find things. More words."
    assert described == {"query": "What to find, in full.", "limit": "How many."}
    assert parse_docstring("Do it.\n:param x: The x.\n:returns: y") == ("Do it.", {"x": "The x."})


def test_a_self_referencing_model_stops_at_its_first_repeat() -> None:
    schema = {
        "$defs": {"Node": {"title": "Node", "type": "object", "properties": {"next": {"$ref": "#/$defs/Node"}}}},
        "type": "object",
        "properties": {"head": {"$ref": "#/$defs/Node"}},
    }
    inlined = inline_refs(schema)
    assert inlined == {
        "type": "object",
        "properties": {
            "head": {
                "type": "object",
                "properties": {"next": {"description": "(recursive: same schema as #/$defs/Node)"}},
            }
        },
    }


class GoneSource:
    """A source whose server went away: sessions cannot be opened any more."""

    label = "gone"

    def functions(self) -> list[FunctionSpec]:
        return [
            FunctionSpec(name="ping", description="Ping.", parameters={"type": "object", "properties": {}}, returns={})
        ]

    async def open_session(self) -> Any:
        raise ToolSourceError("gone: the server exited")

    def close(self) -> None:
        return None


def test_a_source_that_breaks_mid_run_gives_the_call_an_error_not_the_run() -> None:
    session = ToolLibrary([GoneSource()]).open_session()
    outcome = asyncio.run(session.call("ping", {}, 1.0))
    assert (outcome.ok, outcome.error) == (False, "tool_raised")
    assert "the server exited" in outcome.message
