"""Fuzzing LM replies (issue 10): one bad reply never stops a run.

Corrupted replies (`toolsynth.testing.CorruptingResponder`, and JSON that hypothesis makes) go through the real
path, `dspy.LM(engine="litellm")` → HTTP → the test server, one stage at a time and through `toolsynth synth` in
process. After every run: exit 0 and no traceback; every seed exactly once in samples or rejections; every
accepted row valid (`check_sample`, no error) and strict JSON; the manifest's calls are the server's requests.
The reader itself is held to bounded work per reply, counted in calls (never in wall time).
`python -m benchmarks.fuzz_replies` runs the same at scale (5,000+ corrupted replies).
"""

from __future__ import annotations

import contextlib
import gc
import io
import json
import logging
import random
import sys
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import dspy
import json_repair
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import scripted_lm
from tests.test_runner_faults import check_conserved, read_jsonl, write_seeds
from toolsynth import outputs
from toolsynth.adapter import OutputInvalid, StageAdapter, set_structured_outputs
from toolsynth.cli import main
from toolsynth.demo_model import reply_to
from toolsynth.execution import RetryPolicy, UsageMeter, running_with
from toolsynth.outputs import MAX_REPAIR_CHARS, MAX_REPLY_CHARS
from toolsynth.programs import ButtonProgram
from toolsynth.programs.judge_composition import JudgeCompositionStage
from toolsynth.programs.stage import StageRejected, run_sync
from toolsynth.readers import iter_seeds
from toolsynth.runner import RUN_GC_THRESHOLDS, RunOptions, run
from toolsynth.signatures import AssistantTurn, GenerateFunctions, JudgeComposition, SimulateTool
from toolsynth.testing import CORRUPTION_KINDS, CorruptingResponder, OpenAICompatibleServer, corrupt_reply
from toolsynth.types import Subtask
from toolsynth.validators.findings import errors
from toolsynth.validators.sample import check_sample

MODEL = "openai/toolsynth-test"

GOOD_REPLIES: dict[type[dspy.Signature], str] = {
    JudgeComposition: '{"reasons": "Every subtask is concrete and the dependencies are real.", "feasible": true}',
    AssistantTurn: json.dumps(
        {"content": "", "tool_calls": [{"name": "get_weather", "arguments": {"city": "Lisbon", "unit": "celsius"}}]}
    ),
    SimulateTool: json.dumps({"result": {"city": "Lisbon", "temperature": 21, "condition": "clear"}}),
    GenerateFunctions: json.dumps(
        {
            "functions": [
                {
                    "name": "get_weather",
                    "description": "Weather in a city.",
                    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
                    "returns": {"type": "object", "properties": {"temperature": {"type": "number"}}},
                }
            ],
            "subtask_functions": [{"subtask": 1, "function": "get_weather"}],
        }
    ),
}


def strict_loads(text: str) -> Any:
    """JSON as `JSON.parse` reads it: `NaN`, `Infinity` and `-Infinity` refused."""

    def refuse(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    return json.loads(text, parse_constant=refuse)


# ----------------------------------------------------------------------------------------- the reader, bounded


class ReaderWork:
    """What reading one reply cost: Python-level calls, and each JSON parse and repair pass with its size."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        self.parses: list[int] = []
        self.repairs: list[int] = []
        loads, repair = outputs._loads, json_repair.loads

        def counted_loads(text: str) -> tuple[Any, list[str]]:
            self.parses.append(len(text))
            return loads(text)

        def counted_repair(text: str, *args: Any, **kwargs: Any) -> Any:
            self.repairs.append(len(text))
            return repair(text, *args, **kwargs)

        monkeypatch.setattr(outputs, "_loads", counted_loads)
        monkeypatch.setattr(outputs.json_repair, "loads", counted_repair)

    @contextlib.contextmanager
    def measuring(self) -> Iterator[None]:
        self.calls, self.parses, self.repairs = 0, [], []

        def profile(frame: FrameType, event: str, arg: Any) -> None:
            if event in ("call", "c_call"):
                self.calls += 1

        sys.setprofile(profile)
        try:
            yield
        finally:
            sys.setprofile(None)


def read(signature: type[dspy.Signature], reply: str) -> dict[str, Any] | OutputInvalid:
    try:
        return StageAdapter().parse(signature, reply)
    except OutputInvalid as exc:
        return exc


def test_a_one_megabyte_reply_is_refused_by_its_size_before_any_parse_or_repair(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    work = ReaderWork(monkeypatch)
    rng = random.Random(0)
    cut = corrupt_reply("huge_string", GOOD_REPLIES[SimulateTool], rng)
    while cut.variant != "truncated_1mb":
        cut = corrupt_reply("huge_string", GOOD_REPLIES[SimulateTool], rng)
    with work.measuring():
        outcome = read(SimulateTool, cut.text)
    assert isinstance(outcome, OutputInvalid) and [f.code for f in outcome.findings] == ["reply_too_long"]
    assert work.parses == [] and work.repairs == []
    assert work.calls < 200  # a size check and a finding, whatever the size


@pytest.mark.parametrize("kind", CORRUPTION_KINDS)
def test_every_kind_of_bad_reply_is_read_with_bounded_work(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """At most two parses (the reply, then the JSON object cut out of it) and two repair passes, each on at most
    MAX_REPAIR_CHARS characters; nothing past MAX_REPLY_CHARS is parsed at all; the calls made grow at most
    linearly with the characters parsed, with the repair share capped."""
    work = ReaderWork(monkeypatch)
    rng = random.Random(kind)
    for signature, good in GOOD_REPLIES.items():
        for _ in range(3):
            reply = corrupt_reply(kind, good, rng).text
            with work.measuring():
                outcome = read(signature, reply)
            assert isinstance(outcome, (dict, OutputInvalid))
            if isinstance(outcome, OutputInvalid):
                assert outcome.findings
            assert len(work.parses) <= 2 and len(work.repairs) <= 2
            assert all(size <= MAX_REPAIR_CHARS for size in work.repairs)
            if len(reply) > MAX_REPLY_CHARS:
                assert work.parses == []
            parsed = min(len(reply), MAX_REPLY_CHARS)
            assert work.calls <= 2_000 + parsed + 30 * sum(work.repairs), (kind, len(reply), work.calls)


def test_json_repair_is_tried_only_on_replies_short_enough_for_its_worst_case(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unquoted keys and values cost json_repair time that grows with the square of the length (2.6 s of blocked
    event loop at 20,000 characters): the reader repairs only up to MAX_REPAIR_CHARS (about 0.1 s there)."""
    work = ReaderWork(monkeypatch)
    short = "{" + ", ".join(["reasons: fine"] * 40) + ", feasible: yes}"
    longer = "{" + ", ".join(["a: b"] * (MAX_REPAIR_CHARS // 6 + 1)) + "}"
    with work.measuring():
        assert isinstance(read(JudgeComposition, short), dict)
    assert len(work.repairs) == 1
    with work.measuring():
        outcome = read(JudgeComposition, longer)
    assert isinstance(outcome, OutputInvalid) and len(longer) > MAX_REPAIR_CHARS
    assert work.repairs == [] and len(work.parses) <= 2
    assert MAX_REPAIR_CHARS <= 4_000


# ----------------------------------------------------------------------------------------- one stage, over HTTP

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=25,
)
SURROGATES = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
ANY_TEXT = st.lists(st.one_of(st.characters(), SURROGATES), max_size=200).map("".join)
JUDGE_REPLY = GOOD_REPLIES[JudgeComposition]
REPLIES = st.one_of(
    JSON_VALUES.map(json.dumps),  # NaN and Infinity included
    st.fixed_dictionaries({"reasons": st.one_of(JSON_VALUES, ANY_TEXT), "feasible": JSON_VALUES}).map(json.dumps),
    ANY_TEXT,
    st.builds(
        lambda kind, seed: corrupt_reply(kind, JUDGE_REPLY, random.Random(seed)).text,
        st.sampled_from(CORRUPTION_KINDS),
        st.integers(0, 2**32),
    ),
)


def test_any_reply_over_http_ends_as_a_prediction_or_a_rejection_never_an_exception() -> None:
    with OpenAICompatibleServer() as server:
        lm = dspy.LM(MODEL, api_base=server.url, api_key="local", engine="litellm", cache=False, num_retries=0)
        set_structured_outputs(lm, "off")

        @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
        @given(reply=REPLIES)
        def one_reply(reply: str) -> None:
            server.configure(responder=lambda messages, request: reply)
            server.reset_stats()
            meter = UsageMeter()
            stage = JudgeCompositionStage(max_attempts=2)  # the second attempt echoes the bad reply back
            subtasks = [Subtask(id=1, instruction="Get the weather."), Subtask(id=2, instruction="Compare it.")]
            with running_with(meter=meter, retry=RetryPolicy(retries=0)), dspy.context(lm=lm):
                try:
                    prediction = run_sync(stage.run(composite_instruction="Weather, then compare.", subtasks=subtasks))
                except StageRejected as rejected:
                    assert rejected.codes
                else:
                    assert isinstance(prediction.feasible, bool)
                    assert isinstance(prediction.reasons.encode("utf-8"), bytes)  # raises on a lone surrogate
            assert meter.total().calls == server.stats().chat_requests

        one_reply()


# ----------------------------------------------------------------------------------------- whole runs, in process


class ErrorLog(logging.Handler):
    """Log records that carry a traceback, or an error from asyncio (an exception nobody retrieved). Not litellm's
    logging worker, bound to the event loop of the previous in-process run and collected in this one."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.found: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if "Task was destroyed but it is pending" in message and "LoggingWorker" in message:
            return
        if record.exc_info or (record.name == "asyncio" and record.levelno >= logging.ERROR):
            self.found.append(f"{record.name}: {message}")


def synth(seeds: Path, out: Path, server: OpenAICompatibleServer, *extra: str) -> tuple[int, str, list[str]]:
    """`toolsynth synth` in process: exit status, what it wrote to stderr, and log records with tracebacks."""
    args = ["synth", str(seeds), "-o", str(out), "--quiet", "--concurrency", "4", "--model", MODEL]
    args += ["--api-base", server.url, "--no-cache", "--retries", "0", *extra]
    stderr, log = io.StringIO(), ErrorLog()
    logging.getLogger().addHandler(log)
    try:
        with contextlib.redirect_stderr(stderr):
            code = main(args)
    finally:
        logging.getLogger().removeHandler(log)
    return code, stderr.getvalue(), log.found


def check_run(out: Path, ids: list[str], server: OpenAICompatibleServer) -> dict[str, Any]:
    """Every seed once; accepted rows valid and strict JSON; the manifest's calls are the server's requests."""
    manifest = check_conserved(out, ids)
    for name in ("samples.jsonl", "rejected.jsonl"):
        for line in (out / name).read_text(encoding="utf-8").splitlines():
            strict_loads(line)
    strict_loads((out / "manifest.json").read_text(encoding="utf-8"))
    for row in read_jsonl(out / "samples.jsonl"):
        assert errors(check_sample(row)) == [], (row["id"], errors(check_sample(row)))
    assert manifest["usage"]["total"]["calls"] == server.stats().chat_requests
    return manifest


def test_runs_full_of_corrupted_replies_finish_lose_nothing_and_accept_only_valid_rows(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds.jsonl"
    ids = write_seeds(seeds, 3)
    runs = iter(range(1_000))
    corrupted: list[int] = []
    with pytest.MonkeyPatch.context() as mp, OpenAICompatibleServer() as server:
        mp.setenv("OPENAI_API_KEY", "x")

        @settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
        @given(
            seed=st.integers(0, 2**32),
            rate=st.floats(0.1, 0.6),
            kinds=st.lists(st.sampled_from(CORRUPTION_KINDS), min_size=1, max_size=4, unique=True),
        )
        def one_run(seed: int, rate: float, kinds: list[str]) -> None:
            corrupting = CorruptingResponder(rate, seed, kinds=kinds)
            server.configure(responder=corrupting)
            server.reset_stats()
            out = tmp_path / f"run{next(runs)}"
            code, stderr, logged = synth(seeds, out, server, "--expand", "0")
            assert code == 0, stderr
            assert "Traceback" not in stderr and logged == [], (stderr, logged)
            check_run(out, ids, server)
            corrupted.append(sum(corrupting.sent.values()))

        one_run()
    # A run at a low rate may draw no corruption at all (a few dozen calls); the runs together must have.
    assert sum(corrupted) > 0


def with_lone_surrogate_in_tool_results(messages: list[dict[str, Any]], request: dict[str, Any]) -> str:
    """The demo reply, with a lone surrogate (a JSON escape) in the first text of every tool result."""
    reply = json.loads(reply_to(messages))
    result = reply.get("result")
    if isinstance(result, dict):
        for key, value in result.items():
            if isinstance(value, str):
                result[key] = value + "\udce9"
                break
    return json.dumps(reply)


def test_lone_surrogates_in_accepted_replies_are_stored_as_replacement_characters(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds.jsonl"
    ids = write_seeds(seeds, 3)
    with pytest.MonkeyPatch.context() as mp, OpenAICompatibleServer(responder=with_lone_surrogate_in_tool_results) as s:
        mp.setenv("OPENAI_API_KEY", "x")
        code, stderr, logged = synth(seeds, tmp_path / "out", s)
        assert code == 0 and logged == [], stderr
        manifest = check_run(tmp_path / "out", ids, s)
    assert "internal_error" not in manifest["counts"]["rejected_by_code"]
    assert manifest["counts"]["accepted"] >= len(ids)
    assert "\ufffd" in (tmp_path / "out" / "samples.jsonl").read_text(encoding="utf-8")
    assert manifest["stages"]["SimulateTool"]["reply_repairs"]["lone_surrogates_replaced"] > 0


def test_a_seed_holding_a_lone_surrogate_is_rejected_and_the_other_seeds_finish(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds.jsonl"
    ids = write_seeds(seeds, 2)
    with seeds.open("a", encoding="utf-8") as file:
        file.write('{"id":"s","chat":"USER: hi \\ud800"}\n')  # valid JSON, not valid Unicode
    with pytest.MonkeyPatch.context() as mp, OpenAICompatibleServer() as server:
        mp.setenv("OPENAI_API_KEY", "x")
        code, stderr, logged = synth(seeds, tmp_path / "out", server)
        assert code == 0 and logged == [], stderr
        check_run(tmp_path / "out", [*ids, "s"], server)
    [rejection] = [r for r in read_jsonl(tmp_path / "out" / "rejected.jsonl") if r["source_id"] == "s"]
    assert rejection["codes"] == ["internal_error"] and "lone surrogate" in rejection["message"]
    samples = read_jsonl(tmp_path / "out" / "samples.jsonl")
    assert {r["source_id"] for r in samples} == set(ids)


def test_during_a_run_the_collector_leaves_the_earlier_heap_alone_and_runs_less_often(
    tmp_path: Path,
) -> None:
    """Full collections walking every module's objects held the event loop for 0.2 to 0.5 s (found by
    benchmarks/fuzz_replies.py); during a run they see only what the run allocated. Timing stays in the benchmark:
    this checks the mechanism."""
    frozen_during: list[int] = []
    thresholds_during: set[tuple[int, int, int]] = set()

    def demo_noting_the_frozen_heap(messages: list[dict[str, Any]]) -> str:
        frozen_during.append(gc.get_freeze_count())
        thresholds_during.add(gc.get_threshold())
        return reply_to(messages)

    seeds = tmp_path / "seeds.jsonl"
    write_seeds(seeds, 2)
    lm, _ = scripted_lm(demo_noting_the_frozen_heap)
    before, thresholds_before = gc.get_freeze_count(), gc.get_threshold()
    manifest = run(
        iter_seeds(seeds), ButtonProgram(expand=0), tmp_path / "out", lm=lm, models={}, options=RunOptions(quiet=True)
    )
    assert manifest["counts"]["accepted"] >= 2
    assert frozen_during and min(frozen_during) > before
    assert thresholds_during == {RUN_GC_THRESHOLDS}  # young objects are collected less often during the run
    assert gc.get_freeze_count() == before and gc.get_threshold() == thresholds_before
