"""`toolsynth synth --tools` over the OpenAPI and MCP examples, end to end on the demo model.

Every call in the samples names a function of the library, and every tool message is the real result: the
test runs each sample's calls again, in order, against the same server and compares.
"""

from __future__ import annotations

import asyncio
import json
import shlex
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import ROOT
from tests.tool_servers import HOTELS_SPEC, WEATHER_MCP_SERVER, hotels_server
from toolsynth.cli import main
from toolsynth.tools.contract import ToolSource
from toolsynth.tools.openapi_source import OpenAPISource
from toolsynth.validators.findings import errors
from toolsynth.validators.sample import check_sample

SEEDS = ROOT / "examples" / "seeds.jsonl"


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def synth(out: Path, *tools: str) -> list[dict[str, Any]]:
    assert main(["synth", str(SEEDS), "-o", str(out), "--quiet", *tools]) == 0
    return read_jsonl(out / "samples.jsonl")


async def replay(source: ToolSource, sample: dict[str, Any]) -> list[tuple[Any, Any]]:
    """(recorded tool message, the same call's result now) for every call of the sample, in order."""
    recorded = {m["tool_call_id"]: json.loads(m["content"]) for m in sample["messages"] if m["role"] == "tool"}
    session = await source.open_session()
    pairs = []
    try:
        for message in sample["messages"]:
            for call in message.get("tool_calls") or []:
                arguments = json.loads(call["function"]["arguments"])
                outcome = await session.call(call["function"]["name"], arguments, 10)
                pairs.append((recorded[call["id"]], outcome.to_json()))
    finally:
        await session.close()
    return pairs


def check_grounded(samples: list[dict[str, Any]], source: ToolSource, at_least: int) -> None:
    library = {f.name: f.to_openai_tool() for f in source.functions()}
    assert len(samples) >= at_least
    for sample in samples:
        assert errors(check_sample(sample)) == [], sample["id"]
        for tool in sample["tools"]:
            assert tool == library[tool["function"]["name"]]  # offered as the library has it, nothing invented
        calls = [c for m in sample["messages"] for c in m.get("tool_calls") or []]
        assert calls and all(c["function"]["name"] in library for c in calls)
        pairs = asyncio.run(replay(source, sample))
        assert len(pairs) == len(calls)
        for recorded, now in pairs:
            assert recorded == now


@pytest.fixture(scope="module")
def hotels_url() -> Iterator[str]:
    with hotels_server() as url:
        yield url


@pytest.mark.slow
def test_an_openapi_library_grounds_the_run_and_its_calls_are_real(tmp_path: Path, hotels_url: str) -> None:
    samples = synth(tmp_path / "out", "--tools", str(HOTELS_SPEC), "--tools-base-url", hotels_url)
    source = OpenAPISource(HOTELS_SPEC, base_url=hotels_url)
    check_grounded(samples, source, at_least=5)
    bookings = [
        json.loads(c["function"]["arguments"])
        for sample in samples
        for m in sample["messages"]
        for c in m.get("tool_calls") or []
        if c["function"]["name"] == "createBooking"
    ]
    assert bookings and all(isinstance(b["guest"], dict) and isinstance(b["stay"], dict) for b in bookings)
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert str(HOTELS_SPEC) in json.dumps(manifest)


@pytest.mark.slow
def test_an_mcp_server_grounds_the_run_and_its_calls_are_real(tmp_path: Path) -> None:
    pytest.importorskip("mcp", reason="the mcp extra is not installed (pip install 'toolsynth[mcp]')")
    from toolsynth.tools.mcp_source import MCPSource

    command = shlex.join([sys.executable, str(WEATHER_MCP_SERVER)])
    samples = synth(tmp_path / "out", "--tools", f"mcp:{command}")
    source = MCPSource(command)
    try:
        check_grounded(samples, source, at_least=3)
    finally:
        source.close()
    # The server's get_current_weather shares the demo domain's name and description, not its parameters: the demo
    # model treats it as a library function (read from its schema), so every branch ends in a sample.
    assert (tmp_path / "out" / "rejected.jsonl").read_text(encoding="utf-8") == ""


def test_a_bad_openapi_source_stops_the_run_before_it_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "api.yaml"
    spec.write_text(
        "openapi: 3.1.0\npaths:\n  /a:\n    get:\n      responses:\n        '200': {$ref: 'other.yaml#/R'}\n"
    )
    args = ["--tools", str(spec), "--tools-base-url", "http://127.0.0.1:9"]
    assert main(["synth", str(SEEDS), "-o", str(tmp_path / "out"), "--quiet", *args]) != 0
    message = capsys.readouterr().err
    assert str(spec) in message and "other.yaml#/R" in message and "Nothing was run" in message
    assert not (tmp_path / "out" / "samples.jsonl").exists()
