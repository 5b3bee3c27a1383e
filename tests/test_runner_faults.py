"""The runner under faults, over the real path: `toolsynth synth` → dspy.LM(engine="litellm") → HTTP → test server.

What must hold, however a run ends or is disturbed:
- conservation: every seed ends exactly once, as samples or rejections; no sample twice; counts add up;
- no paid work repeated: a resumed run asks only for steps that were not finished (the calls in flight
  at a kill are the only ones asked twice), a finished run re-run asks nothing;
- files stay whole: every line of samples.jsonl / rejected.jsonl is valid JSON at any instant.

The demo responder is deterministic, so an uninterrupted reference run fixes the exact number of requests
and the exact samples every disturbed run must end with.

Runs pass `--no-cache`: the CLI's litellm LMs otherwise keep DSPy's request cache on (memory + disk, keyed
without `api_base`), which would answer the demo responder's repeated prompts itself and make request
counts depend on timing.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support import ROOT
from toolsynth import execution
from toolsynth.cli import main
from toolsynth.execution import RetryPolicy
from toolsynth.testing import Faults, Latency, OpenAICompatibleServer

MODEL = "openai/toolsynth-test"
CONCURRENCY = 4
N_SEEDS = 8
LATENCY = Latency.lognormal(0.02, 0.5)

# One chat per demo domain; each seed gets its own numbers so no two seeds are the same text.
CHATS = (
    "USER: What's the exchange rate from USD to EUR? I have {n} dollars to convert.\n\n"
    "ASSISTANT: 1 USD is about 0.92 EUR.",
    "USER: Will it rain in Oslo this weekend? I'm staying {n} days.\n\nASSISTANT: Light rain is expected on Saturday.",
    "USER: Find me a flight from Paris to Tokyo for {n} passengers.\n\nASSISTANT: There is a direct flight at 10:40.",
)


def write_seeds(path: Path, n: int = N_SEEDS) -> list[str]:
    ids = [f"seed-{i:03d}" for i in range(n)]
    path.write_text(
        "".join(
            json.dumps({"id": sid, "chat": CHATS[i % len(CHATS)].format(n=i + 2)}) + "\n" for i, sid in enumerate(ids)
        ),
        encoding="utf-8",
    )
    return ids


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Every line must be one whole JSON object (a torn line fails here)."""
    if not path.exists():
        return []
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").split("\n"), start=1):
        if line == "":
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as exc:  # pragma: no cover - the failure message is the point
            raise AssertionError(f"{path.name}:{number} is not valid JSON: {exc}: {line[:200]!r}") from exc
    if path.read_bytes()[-1:] not in (b"", b"\n"):
        raise AssertionError(f"{path.name} ends in a partial line")
    return rows


def synth_args(seeds: Path, out: Path, url: str, *extra: str) -> list[str]:
    return [
        "synth",
        str(seeds),
        "-o",
        str(out),
        "--quiet",
        "--concurrency",
        str(CONCURRENCY),
        "--model",
        MODEL,
        "--api-base",
        url,
        "--no-cache",
        *extra,
    ]


def synth_in_process(seeds: Path, out: Path, url: str, *extra: str) -> int:
    return main(synth_args(seeds, out, url, *extra))


@dataclass(frozen=True)
class FastRetry(RetryPolicy):
    """The CLI's policy with a 50 ms backoff base: 20 % faults then cost seconds, not minutes, of backoff."""

    base_seconds: float = 0.05
    max_seconds: float = 1.0


@pytest.fixture
def fast_retry(monkeypatch: pytest.MonkeyPatch) -> list[float | None]:
    """The CLI builds `toolsynth.execution.RetryPolicy(retries=--retries)`: make it `FastRetry`, and record the
    Retry-After hint each backoff was given."""
    hints: list[float | None] = []

    def delay(self: RetryPolicy, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        hints.append(retry_after)
        return RetryPolicy.delay(self, attempt, retry_after, rng)

    monkeypatch.setattr(FastRetry, "delay", delay)
    monkeypatch.setattr(execution, "RetryPolicy", FastRetry)
    return hints


@dataclass(frozen=True)
class Reference:
    """An uninterrupted run of the seeds: how many requests it took and what it wrote."""

    seeds: Path
    ids: list[str]
    out: Path
    requests: int
    samples: str
    rejected: str


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Reference:
    root = tmp_path_factory.mktemp("reference")
    seeds = root / "seeds.jsonl"
    ids = write_seeds(seeds)
    with pytest.MonkeyPatch.context() as mp, OpenAICompatibleServer() as server:
        mp.setenv("OPENAI_API_KEY", "x")
        assert synth_in_process(seeds, root / "out", server.url) == 0
        requests = server.stats().chat_requests
    out = root / "out"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["usage"]["total"]["calls"] == requests
    assert manifest["counts"]["accepted"] >= N_SEEDS  # the demo responder completes every branch
    return Reference(
        seeds, ids, out, requests, (out / "samples.jsonl").read_text(), (out / "rejected.jsonl").read_text()
    )


# ----------------------------------------------------------------------------------------- checks


def check_files_whole(out: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """At any instant: whole JSON lines, no sample or rejection twice, nothing the store does not hold."""
    samples, rejected = read_jsonl(out / "samples.jsonl"), read_jsonl(out / "rejected.jsonl")
    for rows, what in ((samples, "sample"), (rejected, "rejection")):
        twice = [k for k, n in Counter(r["id"] for r in rows).items() if n > 1]
        assert not twice, f"{what} ids written twice: {twice}"
    if (out / "state.sqlite").exists():
        db = sqlite3.connect(f"file:{out / 'state.sqlite'}?mode=ro", uri=True)
        try:
            stored = {r[0] for r in db.execute("SELECT source_id FROM seeds")}
        finally:
            db.close()
        written = {r["source_id"] for r in samples + rejected}
        assert written <= stored, f"seeds in the files but not in the store: {sorted(written - stored)}"
    return samples, rejected


def check_conserved(out: Path, ids: list[str]) -> dict[str, Any]:
    """A finished run: every seed exactly once (as its samples and/or rejections), counts add up."""
    samples, rejected = check_files_whole(out)
    manifest = json.loads((out / "manifest.json").read_text())
    counts = manifest["counts"]
    assert manifest["status"] == "complete"
    seen = {r["source_id"] for r in samples} | {r["source_id"] for r in rejected}
    assert seen == set(ids), f"lost: {sorted(set(ids) - seen)}, unknown: {sorted(seen - set(ids))}"
    by_seed_samples = Counter(s["source_id"] for s in samples)
    assert all(n <= 2 for n in by_seed_samples.values())  # expand=1: two scenario branches per seed at most
    assert counts["inputs"] == len(ids)
    assert counts["accepted"] == len(samples) and counts["rejected"] == len(rejected)
    assert counts["seeds_with_samples"] == len(by_seed_samples)
    assert counts["seeds_with_samples"] + counts["seeds_without_samples"] == counts["inputs"]
    assert sum(counts["rejected_by_stage"].values()) == counts["rejected"]
    assert sum(counts["accepted_by_strategy"].values()) == counts["accepted"]
    return manifest


# ----------------------------------------------------------------------------------------- subprocesses


def start_cli(seeds: Path, out: Path, url: str, logs: Path, *extra: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "OPENAI_API_KEY": "x", "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    logs.mkdir(parents=True, exist_ok=True)
    with (logs / "stderr.log").open("ab") as err:
        return subprocess.Popen(
            [sys.executable, "-m", "toolsynth.cli", *synth_args(seeds, out, url, *extra)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )


def signal_after(
    proc: subprocess.Popen[bytes], server: OpenAICompatibleServer, requests: int, sig: int, timeout: float = 60.0
) -> int:
    """Send `sig` once the server has seen `requests` chat requests; returns the requests in flight then."""
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        stats = server.stats()
        if stats.chat_requests >= requests:
            proc.send_signal(sig)
            return stats.in_flight
        time.sleep(0.003)
    proc.kill()
    raise AssertionError(
        f"the run ended (rc {proc.returncode}) or stalled before {requests} requests "
        f"(seen {server.stats().chat_requests})"
    )


def finish(proc: subprocess.Popen[bytes], logs: Path, timeout: float = 90.0) -> int:
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise AssertionError(f"the run did not end; stderr:\n{(logs / 'stderr.log').read_text()[-3000:]}") from None


# ----------------------------------------------------------------------------------------- tests


@pytest.mark.slow
def test_sigkill_at_random_points_then_resume_loses_nothing_and_repeats_only_calls_in_flight(
    reference: Reference, tmp_path: Path
) -> None:
    rng = random.Random(1729)
    fractions = sorted(rng.sample(range(8, 92, 9), 3))  # three kill points, at least 9 % of the run apart
    kill_at = [max(1, reference.requests * f // 100) for f in fractions]
    out, logs = tmp_path / "out", tmp_path / "logs"
    in_flight_at_kills = []
    with OpenAICompatibleServer(latency=LATENCY, seed=7) as server:
        for threshold in kill_at:
            proc = start_cli(reference.seeds, out, server.url, logs)
            in_flight_at_kills.append(signal_after(proc, server, threshold, signal.SIGKILL))
            assert finish(proc, logs) == -signal.SIGKILL
            check_files_whole(out)  # right after each kill: whole lines, nothing twice
        proc = start_cli(reference.seeds, out, server.url, logs)
        assert finish(proc, logs) == 0, (logs / "stderr.log").read_text()[-3000:]
        total = server.stats().chat_requests

    manifest = check_conserved(out, reference.ids)
    assert (out / "samples.jsonl").read_text() == reference.samples
    assert (out / "rejected.jsonl").read_text() == reference.rejected
    # Every step was asked for at least once; beyond that only calls in flight at a kill were asked again:
    # a call holds its slot from request to parsed answer (at most CONCURRENCY), and one more may sit in the
    # synchronous stretch between releasing its slot and committing its step. The server saw
    # `in_flight_at_kills` of them still unanswered.
    repeated = total - reference.requests
    assert 0 <= repeated <= len(kill_at) * (CONCURRENCY + 1), (total, reference.requests, kill_at, in_flight_at_kills)
    assert manifest["counts"]["resumed_seeds"] < N_SEEDS  # the last run did finish work itself


@pytest.mark.slow
@pytest.mark.parametrize(("signum", "exit_code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["int", "term"])
def test_ctrl_c_or_sigterm_stops_cleanly_and_the_next_run_completes(
    reference: Reference, tmp_path: Path, signum: int, exit_code: int
) -> None:
    out, logs = tmp_path / "out", tmp_path / "logs"
    with OpenAICompatibleServer(latency=LATENCY, seed=11) as server:
        proc = start_cli(reference.seeds, out, server.url, logs)
        signal_after(proc, server, reference.requests * 2 // 5, signum)
        assert finish(proc, logs, timeout=30) == exit_code, (logs / "stderr.log").read_text()[-3000:]
        assert "run the same command again to resume" in (logs / "stderr.log").read_text()

        samples, rejected = check_files_whole(out)
        manifest = json.loads((out / "manifest.json").read_text())
        assert manifest["status"] == "interrupted"
        assert manifest["runs"][-1]["status"] == "interrupted"
        assert manifest["counts"]["accepted"] == len(samples) and manifest["counts"]["rejected"] == len(rejected)
        assert manifest["counts"]["inputs"] < N_SEEDS
        assert manifest["usage"]["total"]["calls"] > 0

        proc = start_cli(reference.seeds, out, server.url, logs)
        assert finish(proc, logs) == 0, (logs / "stderr.log").read_text()[-3000:]
        total = server.stats().chat_requests

    manifest = check_conserved(out, reference.ids)
    assert (out / "samples.jsonl").read_text() == reference.samples
    assert [r["status"] for r in manifest["runs"]] == ["interrupted", "complete"]
    assert 0 <= total - reference.requests <= CONCURRENCY + 1


def test_twenty_percent_faults_lose_no_seed_and_enough_retries_leave_no_lm_error(
    reference: Reference,
    tmp_path: Path,
    fast_retry: list[float | None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "x")
    faults = Faults(
        rates={"rate_limit": 0.10, "server_error": 0.05, "drop": 0.03, "timeout": 0.02},
        retry_after=0.01,
        hang_seconds=3.0,
    )
    out = tmp_path / "out"
    with OpenAICompatibleServer(faults=faults, seed=5) as server:
        assert synth_in_process(reference.seeds, out, server.url, "--retries", "8", "--timeout", "1") == 0
    stats = server.stats()  # after stop(): stalled `timeout` requests are logged when cut short
    assert set(stats.by_fault) == {"rate_limit", "server_error", "drop", "timeout"}, stats.by_fault
    assert sum(stats.by_fault.values()) >= stats.chat_requests // 10
    manifest = check_conserved(out, reference.ids)
    assert "lm_error" not in manifest["counts"]["rejected_by_code"]
    # Faults change nothing in what a run produces: every failed request was asked again, nothing else.
    assert (out / "samples.jsonl").read_text() == reference.samples
    assert stats.completions == reference.requests
    # Every request is metered, the failed ones too: the manifest's calls are the requests the server received.
    assert manifest["usage"]["total"]["calls"] == stats.chat_requests


def test_rerun_asks_nothing_and_retry_rejected_reruns_only_rejected_seeds_reusing_their_steps(
    reference: Reference, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "x")
    out = tmp_path / "out"
    with OpenAICompatibleServer(faults=Faults(every={"server_error": 40}), seed=3) as server:
        # 1. No retries: the failed requests become `lm_error` rejections, every other step is checkpointed.
        assert synth_in_process(reference.seeds, out, server.url, "--retries", "0") == 0
        first = server.stats()
        manifest = check_conserved(out, reference.ids)
        rejected_seeds = {r["source_id"] for r in read_jsonl(out / "rejected.jsonl")}
        assert set(manifest["counts"]["rejected_by_code"]) == {"lm_error"}
        assert 1 <= len(rejected_seeds) < N_SEEDS

        # 2. A finished run re-run: nothing asked, nothing changed.
        server.configure(faults=Faults())
        server.reset_stats()
        before = (out / "samples.jsonl").read_text()
        assert synth_in_process(reference.seeds, out, server.url) == 0
        assert server.stats().chat_requests == 0
        assert (out / "samples.jsonl").read_text() == before
        assert json.loads((out / "manifest.json").read_text())["counts"]["resumed_seeds"] == N_SEEDS
        assert json.loads((out / "manifest.json").read_text())["usage"]["total"]["calls"] == 0

        # 3. --retry-rejected: only the rejected seeds run again, and only their unfinished steps are asked.
        assert synth_in_process(reference.seeds, out, server.url, "--retry-rejected") == 0
        again = server.stats().chat_requests
        manifest = check_conserved(out, reference.ids)
        assert manifest["counts"]["resumed_seeds"] == N_SEEDS - len(rejected_seeds)
        assert manifest["counts"]["rejected"] == 0
        assert (out / "samples.jsonl").read_text() == reference.samples
        # Plus one: each run that sends a request first probes the server's structured-output dialect once.
        assert again == reference.requests - first.completions + 1, (again, reference.requests, first.completions)

        # 4. --retry-rejected once nothing is rejected: nothing to run, nothing asked.
        assert synth_in_process(reference.seeds, out, server.url, "--retry-rejected") == 0
        assert server.stats().chat_requests == again
    assert check_conserved(out, reference.ids)["counts"]["resumed_seeds"] == N_SEEDS


def test_retry_after_of_a_rate_limit_is_honoured(
    reference: Reference, tmp_path: Path, fast_retry: list[float | None], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "x")
    seeds = tmp_path / "one.jsonl"
    write_seeds(seeds, 1)
    with OpenAICompatibleServer(faults=Faults(script=["rate_limit"], retry_after=0.25)) as server:
        assert synth_in_process(seeds, tmp_path / "out", server.url, "--expand", "0") == 0
        assert server.stats().by_fault == {"rate_limit": 1}
    assert fast_retry == [0.25]  # the backoff was given the server's Retry-After


def test_a_run_keeps_no_per_call_state_in_dspy_trace_or_history(tmp_path: Path) -> None:
    import dspy
    from dspy.clients import base_lm

    seeds = tmp_path / "two.jsonl"
    write_seeds(seeds, 2)
    trace = dspy.settings.trace
    trace_before = len(trace) if trace is not None else 0
    last_before = base_lm.GLOBAL_HISTORY[-1] if base_lm.GLOBAL_HISTORY else None
    assert main(["synth", str(seeds), "-o", str(tmp_path / "out"), "--quiet"]) == 0  # the offline demo model
    assert (len(trace) if trace is not None else 0) == trace_before, "the run grew DSPy's trace"
    last_after = base_lm.GLOBAL_HISTORY[-1] if base_lm.GLOBAL_HISTORY else None
    assert last_after is last_before, "the run grew DSPy's LM history"


def test_a_request_refused_for_one_record_rejects_that_record_and_the_run_goes_on(
    reference: Reference, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 400 (context length, content filter, a bad request) belongs to its record: the others finish."""
    monkeypatch.setenv("OPENAI_API_KEY", "x")
    out = tmp_path / "out"
    with OpenAICompatibleServer(faults=Faults(script=[None] * 20 + ["bad_request"]), seed=3) as server:
        assert synth_in_process(reference.seeds, out, server.url) == 0
        requests = server.stats().chat_requests
    manifest = check_conserved(out, reference.ids)
    [refused] = [r for r in read_jsonl(out / "rejected.jsonl") if "lm_request_refused" in r["codes"]]
    assert "does not exist" in refused["message"]
    assert manifest["counts"]["accepted"] >= N_SEEDS
    assert manifest["usage"]["total"]["calls"] == requests


def test_a_server_that_refuses_every_request_stops_the_run_with_one_message(
    reference: Reference, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "x")
    out = tmp_path / "out"
    with OpenAICompatibleServer(faults=Faults(rates={"bad_request": 1.0})) as server:
        assert synth_in_process(reference.seeds, out, server.url) == 2
        requests = server.stats().chat_requests
    assert "the model cannot be used" in capsys.readouterr().err
    assert requests <= 3 + CONCURRENCY  # the breaker's threshold, plus what was already in flight
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "aborted" and manifest["usage"]["total"]["calls"] == requests
