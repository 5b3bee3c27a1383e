"""MCP servers as tool sources: listing, real calls, error results, timeouts, failed starts and a clean close."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import shlex
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

pytest.importorskip("mcp", reason="the mcp extra is not installed (pip install 'toolsynth[mcp]')")

from tests.tool_servers import WEATHER_MCP_SERVER
from toolsynth.tools.contract import ToolOutcome, ToolSession, ToolSource, ToolSourceError
from toolsynth.tools.loading import load_tool_source
from toolsynth.tools.mcp_source import MCPSource, function_spec
from toolsynth.validators.functions import check_function_specs

ODD_SERVER = '''
import asyncio, json, os, sys
from pathlib import Path
from mcp.server.mcpserver import MCPServer
from pydantic import BaseModel

Path(sys.argv[1]).write_text(str(os.getpid()))
server = MCPServer("odd")

@server.tool()
async def nap(seconds: float) -> str:
    """Sleep, then answer."""
    await asyncio.sleep(seconds)
    return "awake"

@server.tool(structured_output=False)
def shout(text: str) -> str:
    """Plain text, no structured content."""
    return text.upper() + "!"

@server.tool(structured_output=False)
def numbers() -> str:
    """JSON in a text block."""
    return json.dumps([1, 2, 3])

class Stay(BaseModel):
    check_in: str
    nights: int

@server.tool()
def book(stay: Stay, guests: list[Stay]) -> Stay:
    """A nested model: the SDK's schemas refer to it through $defs."""
    return stay

@server.tool()
def crash() -> dict:
    """Raises something unexpected."""
    raise RuntimeError("secret detail")

server.run()
'''


def command(*words: str | Path) -> str:
    return shlex.join([sys.executable, *map(str, words)])


def call(source: MCPSource, name: str, arguments: dict[str, Any], timeout: float = 10) -> ToolOutcome:
    async def once() -> ToolOutcome:
        session = await source.open_session()
        assert isinstance(session, ToolSession)
        try:
            return await session.call(name, arguments, timeout)
        finally:
            await session.close()

    return asyncio.run(once())


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def gone(pid: int, within: float = 10) -> bool:
    deadline = time.monotonic() + within
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not alive(pid)


@pytest.fixture(scope="module")
def weather() -> Iterator[MCPSource]:
    source = MCPSource(command(WEATHER_MCP_SERVER))
    yield source
    source.close()


@pytest.fixture(scope="module")
def example_module() -> ModuleType:
    """The example server's module, imported (not run) to compute what its tools return."""
    spec = importlib.util.spec_from_file_location("weather_mcp_server_under_test", WEATHER_MCP_SERVER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # pydantic resolves the models' annotations through it
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def odd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[MCPSource, int]]:
    folder = tmp_path_factory.mktemp("odd_mcp")
    (folder / "odd_server.py").write_text(ODD_SERVER)
    source = MCPSource(command(folder / "odd_server.py", folder / "pid"))
    yield source, int((folder / "pid").read_text())
    source.close()


def test_tools_are_listed_with_input_and_output_schemas(weather: MCPSource) -> None:
    assert isinstance(weather, ToolSource)
    assert weather.label == f"mcp:{command(WEATHER_MCP_SERVER)}"
    functions = {f.name: f for f in weather.functions()}
    assert list(functions) == ["list_cities", "get_current_weather", "get_forecast", "convert_currency"]
    assert check_function_specs([f.to_openai_tool() | {"returns": f.returns} for f in functions.values()]) == []
    current = functions["get_current_weather"]
    assert current.description == "Get the current weather conditions for a city."
    assert current.parameters["required"] == ["location"]
    assert current.parameters["properties"]["unit"]["enum"] == ["celsius", "fahrenheit"]
    assert current.returns["type"] == "object"
    assert set(current.returns["properties"]) == {
        "location",
        "temperature",
        "unit",
        "condition",
        "humidity",
        "wind_kph",
    }
    # A typed list return: the SDK wraps it as {"result": [...]}, an object schema already.
    forecast = functions["get_forecast"].returns
    assert forecast["properties"]["result"]["type"] == "array"


def test_calls_run_on_the_server_and_return_its_structured_content(
    weather: MCPSource, example_module: ModuleType
) -> None:
    outcome = call(weather, "get_current_weather", {"location": "Toronto, Canada", "unit": "fahrenheit"})
    assert outcome.ok, outcome.message
    assert outcome.result == example_module.get_current_weather("Toronto, Canada", "fahrenheit").model_dump()
    forecast = call(weather, "get_forecast", {"location": "Lisbon", "days": 2})
    assert forecast.result == {"result": [d.model_dump() for d in example_module.get_forecast("Lisbon", 2)]}
    assert call(weather, "list_cities", {}).to_json() == {"result": list(example_module.CITIES)}


def test_a_tool_error_result_is_a_tool_raised_outcome(weather: MCPSource) -> None:
    outcome = call(weather, "convert_currency", {"amount": 5, "from_currency": "EUR", "to_currency": "XYZ"})
    assert (outcome.ok, outcome.error) == (False, "tool_raised")
    assert "unknown currency 'XYZ'" in outcome.message
    unknown = call(weather, "get_tide", {})
    assert unknown.error == "tool_raised" and "get_tide" in unknown.message
    invalid = call(weather, "get_forecast", {"location": "Lisbon", "days": "many"})
    assert invalid.error == "tool_raised" and "days" in invalid.message


def test_calls_from_many_threads_and_loops_at_once(weather: MCPSource, example_module: ModuleType) -> None:
    cities = ["Lisbon", "Tokyo", "Berlin", "Shanghai", "Toronto", "Lisbon"]
    results: dict[int, ToolOutcome] = {}

    def worker(i: int) -> None:
        results[i] = call(weather, "get_current_weather", {"location": cities[i]})

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(cities))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert [results[i].result for i in range(len(cities))] == [
        example_module.get_current_weather(c).model_dump() for c in cities
    ]


def test_text_content_is_parsed_as_json_or_kept_as_text(odd: tuple[MCPSource, int]) -> None:
    source, _ = odd
    assert call(source, "numbers", {}).to_json() == {"result": [1, 2, 3]}
    shout = call(source, "shout", {"text": "hi"})
    assert shout.ok and shout.result == {"text": "HI!"}
    returns = {f.name: f.returns for f in source.functions()}
    assert returns["shout"] == {"type": "object", "additionalProperties": True}  # no output schema


def test_schema_definitions_are_inlined(odd: tuple[MCPSource, int]) -> None:
    book = next(f for f in odd[0].functions() if f.name == "book")
    assert "$ref" not in str(book.model_dump()) and "$defs" not in book.parameters
    stay = book.parameters["properties"]["stay"]
    assert stay["type"] == "object" and stay["properties"]["nights"]["type"] == "integer"
    assert book.parameters["properties"]["guests"]["items"] == stay
    assert book.returns["properties"] == stay["properties"]
    assert call(odd[0], "book", {"stay": {"check_in": "2026-01-02", "nights": 2}, "guests": []}).result == {
        "check_in": "2026-01-02",
        "nights": 2,
    }


def test_an_unexpected_exception_in_the_tool_is_tool_raised(odd: tuple[MCPSource, int]) -> None:
    outcome = call(odd[0], "crash", {})
    assert (outcome.ok, outcome.error) == (False, "tool_raised")
    assert "crash" in outcome.message


def test_a_call_that_hangs_times_out_and_the_server_goes_on(odd: tuple[MCPSource, int]) -> None:
    source, _ = odd
    started = time.monotonic()
    outcome = call(source, "nap", {"seconds": 30}, timeout=0.5)
    assert (outcome.ok, outcome.error) == (False, "tool_timeout")
    assert "within 0.5 s" in outcome.message
    assert time.monotonic() - started < 5
    assert call(source, "nap", {"seconds": 0}).result == {"result": "awake"}


def test_a_server_that_fails_to_start_names_the_command_and_its_stderr(tmp_path: Path) -> None:
    script = tmp_path / "broken_server.py"
    script.write_text("import sys\nprint('config file settings.toml is missing', file=sys.stderr)\nsys.exit(2)\n")
    with pytest.raises(ToolSourceError) as caught:
        MCPSource(command(script))
    message = str(caught.value)
    assert f"mcp:{command(script)}" in message and "did not start" in message
    assert "config file settings.toml is missing" in message
    with pytest.raises(ToolSourceError, match=r"mcp:no-such-mcp-server-binary --stdio: the MCP server did not start"):
        MCPSource("no-such-mcp-server-binary --stdio")
    with pytest.raises(ToolSourceError, match="the command is empty"):
        MCPSource("  ")
    with pytest.raises(ToolSourceError, match="cannot split the command"):
        MCPSource('python "unclosed')


def test_a_server_that_never_answers_is_stopped_after_the_start_timeout(tmp_path: Path) -> None:
    script = tmp_path / "mute_server.py"
    script.write_text("import os, sys, time\nopen(sys.argv[1], 'w').write(str(os.getpid()))\ntime.sleep(120)\n")
    with pytest.raises(ToolSourceError, match=r"no tool list within 1 s"):
        MCPSource(command(script, tmp_path / "pid"), start_timeout=1)
    assert gone(int((tmp_path / "pid").read_text()))


def test_close_stops_the_server_and_its_thread(tmp_path: Path) -> None:
    (tmp_path / "odd_server.py").write_text(ODD_SERVER)
    before = set(threading.enumerate())
    source = MCPSource(command(tmp_path / "odd_server.py", tmp_path / "pid"))
    pid = int((tmp_path / "pid").read_text())
    assert alive(pid)
    source.close()
    assert gone(pid)
    assert not [t for t in set(threading.enumerate()) - before if t.name.startswith("toolsynth mcp:")]
    source.close()  # idempotent
    after = call(source, "shout", {"text": "late"})
    assert (after.ok, after.error) == (False, "tool_raised") and "closed" in after.message


def test_close_answers_a_call_still_running(tmp_path: Path) -> None:
    (tmp_path / "odd_server.py").write_text(ODD_SERVER)
    source = MCPSource(command(tmp_path / "odd_server.py", tmp_path / "pid"))
    outcomes: list[ToolOutcome] = []
    caller = threading.Thread(target=lambda: outcomes.append(call(source, "nap", {"seconds": 60}, timeout=60)))
    caller.start()
    time.sleep(0.5)
    source.close()
    caller.join(timeout=20)
    assert not caller.is_alive()
    assert outcomes[0].error == "tool_raised" and "closed during the call" in outcomes[0].message
    assert gone(int((tmp_path / "pid").read_text()))


def test_a_tool_schema_with_a_remote_ref_is_refused() -> None:
    from mcp.types import Tool

    tool = Tool(name="fetchy", input_schema={"type": "object", "properties": {"a": {"$ref": "https://x.test/a.json"}}})
    with pytest.raises(ToolSourceError) as caught:
        function_spec(tool, "mcp:server")
    message = str(caught.value)
    assert message.startswith("mcp:server: tool 'fetchy': /properties/a: $ref 'https://x.test/a.json' points outside")
    listed = function_spec(Tool(name="n", input_schema={"type": "object"}, output_schema={"type": "array"}), "mcp:s")
    assert listed.parameters == {"type": "object", "properties": {}}
    assert listed.returns == {"type": "object", "properties": {"result": {"type": "array"}}, "required": ["result"]}
    assert listed.description == "n"


def test_the_loader_dispatches_mcp_commands_here() -> None:
    source = load_tool_source(f"mcp: {command(WEATHER_MCP_SERVER)}")
    try:
        assert isinstance(source, MCPSource) and source.command == command(WEATHER_MCP_SERVER)
        assert "get_forecast" in [f.name for f in source.functions()]
    finally:
        source.close()


def test_a_server_that_exits_mid_run_gives_tool_errors_not_hangs(tmp_path: Path) -> None:
    script = tmp_path / "dying_server.py"
    script.write_text(
        "import os\nfrom mcp.server.mcpserver import MCPServer\nserver = MCPServer('dying')\n\n"
        "@server.tool()\ndef die() -> str:\n    os._exit(1)\n\n"
        "@server.tool()\ndef ping() -> str:\n    return 'pong'\n\nserver.run()\n"
    )
    source = MCPSource(command(script))
    try:
        assert call(source, "ping", {}).result == {"result": "pong"}
        started = time.monotonic()
        outcomes = [call(source, name, {}, timeout=20) for name in ("die", "ping")]
        assert [(o.ok, o.error) for o in outcomes] == [(False, "tool_raised")] * 2
        assert "Connection closed" in outcomes[1].message
        assert time.monotonic() - started < 5
    finally:
        source.close()
