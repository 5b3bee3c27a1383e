"""The pipeline over a real tool library (`--tools`) on the demo model: calls name library functions, tool messages
are the real results, failing tools become tool errors and rejections with their codes, and a killed run resumed
runs every call once."""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import signal
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path
from typing import Any

import dspy
import pytest

from tests.support import ROOT, demo_unless, scripted_lm, stage_of
from tests.tool_servers import HOTELS_SPEC, WEATHER_MCP_SERVER, hotels_server
from toolsynth.cli import main
from toolsynth.demo_model import demo_lm
from toolsynth.programs import ButtonProgram
from toolsynth.tools.loading import ToolLibrary

SEEDS = ROOT / "examples" / "seeds.jsonl"
BOOKSHOP = str(ROOT / "examples" / "tools" / "bookshop.py")
CART = str(ROOT / "examples" / "tools" / "cart.py")


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def replay(library: ToolLibrary, sample: dict[str, Any]) -> list[tuple[Any, Any]]:
    """(the tool message's content, the same call run again now) for every call of the sample, in order, in a
    fresh session (so an environment's state builds up as it did)."""

    async def go() -> list[tuple[Any, Any]]:
        session = library.open_session()
        answers = {m["tool_call_id"]: m["content"] for m in sample["messages"] if m["role"] == "tool"}
        pairs = []
        for message in sample["messages"]:
            for call in message.get("tool_calls") or []:
                fn = call["function"]
                outcome = await session.call(fn["name"], json.loads(fn["arguments"]), 10.0)
                pairs.append((json.loads(answers[call["id"]]), outcome.to_json()))
        await session.close()
        return pairs

    return asyncio.run(go())


@pytest.mark.parametrize("sources", [[BOOKSHOP], [BOOKSHOP, CART]], ids=["module", "module+environment"])
def test_synth_over_a_tool_library_calls_library_functions_and_shows_their_real_results(
    tmp_path: Path, sources: list[str]
) -> None:
    out = tmp_path / "out"
    argv = ["synth", str(SEEDS), "-o", str(out), "--quiet", "--no-report"]
    argv += [a for s in sources for a in ("--tools", s)]
    argv += ["--mix", "call=3,clarify=1,follow_up=1,no_call=1", "--distractors", "1"]
    assert main(argv) == 0
    samples = read_jsonl(out / "samples.jsonl")
    assert len(samples) >= 9
    library = ToolLibrary.load(sources)
    names = {f.name for f in library.functions()}
    calls = 0
    for sample in samples:
        assert {t["function"]["name"] for t in sample["tools"]} <= names  # nothing invented, distractors included
        called = [c["function"]["name"] for m in sample["messages"] for c in m.get("tool_calls") or []]
        assert set(called) <= names
        assert [e["name"] for e in sample["meta"]["execution"]] == called
        for shown, again in replay(library, sample):
            assert shown == again
            calls += 1
    assert calls > len(samples)  # samples chain or parallelise calls; no_call ones make none
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"]["tool_calls_executed"] == calls
    assert manifest["program"]["tools"]["sources"] == sources
    assert all(s["meta"]["provenance"]["tools"] == sources for s in samples)
    library.close()


FAILING = '''
import time
from typing import Literal

from pydantic import BaseModel


class Tide(BaseModel):
    port: str
    high_water: str


def tide_table(port: Literal["Brest", "Cadiz"]) -> Tide:
    """Get the tide table of a port."""
    return Tide(port=port, high_water="06:40" if port == "Brest" else "11:05")


def storm_warning(port: Literal["Brest", "Cadiz"]) -> dict[str, str]:
    """Get the storm warning of a port."""
    raise ConnectionError("the warning service is down")


def swell_report(port: Literal["Brest", "Cadiz"]) -> dict[str, str]:
    """Get the swell report of a port."""
    time.sleep(3)
    return {"port": port}
'''


def test_tools_that_raise_or_hang_become_tool_errors_and_rejections_and_the_run_goes_on(tmp_path: Path) -> None:
    module = tmp_path / "harbour.py"
    module.write_text(textwrap.dedent(FAILING), encoding="utf-8")
    program = ButtonProgram(tools=[str(module)], tool_timeout=0.3, parallel_ratio=1.0, tasks_per_scenario=3)
    with dspy.context(lm=demo_lm(0), adapter=dspy.JSONAdapter()):
        result = program(chat="USER: Is it safe to sail out of Brest today?", source_id="harbour")
    rejected = {r.id: r for r in result.rejections}
    codes = Counter(code for r in result.rejections for code in r.codes)
    assert codes["executed_call_raised"] >= 2
    failing = {e["name"]: e["error"] for r in result.rejections for e in r.meta.get("execution", []) if not e["ok"]}
    assert failing == {"storm_warning": "tool_raised", "swell_report": "tool_timeout"}
    messages = " ".join(r.message for r in rejected.values())
    assert "ConnectionError: the warning service is down" in messages and "ran past 0.3s" in messages
    assert [s.meta["execution"][0]["name"] for s in result.samples] == ["tide_table"] * len(result.samples)
    assert result.samples  # the working tool's task still became a sample
    program.library.close() if program.library else None


CALL_LOG_MODULE = '''
import json
import os
import shlex
import signal
import threading
import time
from typing import Literal

from pydantic import BaseModel

_stopping = threading.Event()


def _record(tool: str, **arguments: object) -> None:
    """Each finished call appends one line to $CALL_LOG. With $KILL_AT set, the call that finds that many lines
    there stops new calls from starting, lets the running ones finish, and SIGKILLs the run."""
    log, kill_at = os.environ["CALL_LOG"], int(os.environ.get("KILL_AT", "0"))
    if _stopping.is_set():
        time.sleep(3600)
    if kill_at:
        with open(log, "a+", encoding="utf-8") as f:
            f.seek(0)
            if len(f.readlines()) >= kill_at:
                _stopping.set()
                time.sleep(1.0)
                os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(0.02)
    with open(log, "a", encoding="utf-8") as f:
        f.write(json.dumps({"tool": tool, "arguments": arguments}, sort_keys=True) + "\\n")


class Reading(BaseModel):
    station: str
    level_cm: int


def river_level(station: Literal["Koblenz", "Mainz", "Bonn"]) -> Reading:
    """Read the river level at a gauge station."""
    _record("river_level", station=station)
    return Reading(station=station, level_cm={"Koblenz": 312, "Mainz": 288, "Bonn": 401}[station])


def flood_risk(station: str, level_cm: int) -> dict[str, object]:
    """Rate the flood risk at a gauge station.

    Args:
        station: The gauge station.
        level_cm: The river level there, in centimetres.
    """
    _record("flood_risk", station=station, level_cm=level_cm)
    return {"station": station, "risk": "high" if level_cm > 350 else "low"}
'''


def run_cli(out: Path, module: Path, env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    command = [sys.executable, "-m", "toolsynth.cli", "synth", str(SEEDS), "-o", str(out), "--quiet", "--no-report"]
    command += ["--tools", str(module), "--tasks-per-scenario", "2", "--limit", "4"]
    return subprocess.run(
        command,
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        timeout=240,
    )


@pytest.mark.slow
def test_a_run_sigkilled_mid_way_and_resumed_runs_each_call_exactly_once(tmp_path: Path) -> None:
    module = tmp_path / "river.py"
    module.write_text(textwrap.dedent(CALL_LOG_MODULE), encoding="utf-8")
    reference_log, log = tmp_path / "reference.log", tmp_path / "calls.log"
    assert run_cli(tmp_path / "reference", module, {"CALL_LOG": str(reference_log)}).returncode == 0
    reference = read_jsonl(reference_log)
    assert len(reference) >= 8

    killed = run_cli(tmp_path / "out", module, {"CALL_LOG": str(log), "KILL_AT": str(len(reference) // 2)})
    assert killed.returncode == -signal.SIGKILL, killed.stderr.decode()[-2000:]
    before = len(read_jsonl(log))
    assert len(reference) // 2 <= before < len(reference)

    resumed = run_cli(tmp_path / "out", module, {"CALL_LOG": str(log)})
    assert resumed.returncode == 0, resumed.stderr.decode()[-2000:]
    calls = read_jsonl(log)
    key = json.dumps
    assert Counter(key(c, sort_keys=True) for c in calls) == Counter(key(c, sort_keys=True) for c in reference)
    counts = json.loads((tmp_path / "out" / "manifest.json").read_text())["counts"]
    assert counts["tool_calls_executed"] == len(reference) - before
    assert 0 < counts["tool_calls_replayed"] <= before  # read back in conversations the kill cut short
    assert (tmp_path / "out" / "samples.jsonl").read_bytes() == (tmp_path / "reference" / "samples.jsonl").read_bytes()


def test_the_seeds_tools_reach_every_writing_stage_s_prompt_and_selection_invents_nothing() -> None:
    prompts: dict[str, list[str]] = {}

    def invent(messages: list[dict[str, Any]]) -> str | None:
        prompts.setdefault(stage_of(messages), []).append(messages[-1]["content"])
        if stage_of(messages) == "SelectFunctions":
            return json.dumps({"subtask_functions": [{"subtask": 1, "function": "find_a_book"}]})
        return None

    lm, _ = scripted_lm(demo_unless(invent))
    program = ButtonProgram(tools=[BOOKSHOP], max_attempts=2, parallel_ratio=0.0)
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
        result = program(chat="USER: Which Orwell books do you have?", source_id="books")
    for stage in ("ExtractScenario", "ExpandScenario", "GenerateAtomicTask", "ComposeSequential", "JudgeComposition"):
        assert all("[[ ## tools ## ]]" in p and "search_books" in p for p in prompts[stage]), stage
    assert all("[[ ## library ## ]]" in p for p in prompts["SelectFunctions"])
    assert "GenerateFunctions" not in prompts and "SimulateTool" not in prompts
    assert result.samples == []
    assert {r.stage for r in result.rejections} == {"SelectFunctions"}
    assert all("function_not_in_library" in r.codes for r in result.rejections)
    program.library.close() if program.library else None


@pytest.mark.slow
def test_one_library_of_a_python_module_an_openapi_api_and_an_mcp_server(tmp_path: Path) -> None:
    pytest.importorskip("mcp", reason="the mcp extra is not installed (pip install 'toolsynth[mcp]')")
    mcp = "mcp:" + shlex.join([sys.executable, str(WEATHER_MCP_SERVER)])
    with hotels_server() as url:
        sources = [BOOKSHOP, str(HOTELS_SPEC), mcp]
        argv = ["synth", str(SEEDS), "-o", str(tmp_path / "out"), "--quiet", "--no-report", "--tools-base-url", url]
        argv += [a for s in sources for a in ("--tools", s)] + ["--tools-per-seed", "5", "--expand", "2"]
        assert main(argv) == 0
        samples = read_jsonl(tmp_path / "out" / "samples.jsonl")
        library = ToolLibrary.load(sources, base_url=url)
        try:
            owner = {f.name: source.label for source in library.sources for f in source.functions()}
            used: set[str] = set()
            for sample in samples:
                called = [c["function"]["name"] for m in sample["messages"] for c in m.get("tool_calls") or []]
                assert set(called) <= set(owner)
                used |= {owner[name] for name in called}
                for shown, again in replay(library, sample):
                    assert shown == again
        finally:
            library.close()
    assert used == set(sources)  # calls of all three kinds ran in one run
