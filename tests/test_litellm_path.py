"""The real path: dspy.LM(engine="litellm") → litellm → HTTP → a local OpenAI-compatible server.

The server answers through the demo model's logic, so whole runs complete; faults are injected by it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import dspy
import pytest

from tests.support import ROOT
from toolsynth.cli import main
from toolsynth.programs import ButtonProgram
from toolsynth.testing import Faults, OpenAICompatibleServer
from toolsynth.validators.findings import errors
from toolsynth.validators.sample import check_sample

SECRET = "sk-toolsynth-test-secret-0123456789"
CHAT = "USER: Find me the exchange rate from USD to JPY.\n\nASSISTANT: 1 USD is about 151 JPY."


@pytest.fixture
def server() -> Iterator[OpenAICompatibleServer]:
    with OpenAICompatibleServer() as running:
        yield running


def test_button_program_over_litellm_http(server: OpenAICompatibleServer) -> None:
    lm = dspy.LM(
        "openai/toolsynth-test", api_base=server.url, api_key="local", engine="litellm", cache=False, num_retries=0
    )
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
        result = ButtonProgram(expand=0, tasks_per_scenario=2, parallel_ratio=0.5)(chat=CHAT, source_id="http")
    assert result.rejections == []
    assert len(result.samples) == 2
    for sample in result.samples:
        assert errors(check_sample(sample.to_openai())) == []
        assert sample.meta["provenance"]["models"]["assistant"] == "openai/toolsynth-test"
        assert sample.meta["provenance"]["demo"] is False
    stats = server.stats()
    assert stats.chat_requests >= 10 and stats.by_status.get(200) == stats.chat_requests


def synth_http(server: OpenAICompatibleServer, out: Path, *extra: str) -> int:
    return main(
        [
            "synth",
            str(ROOT / "examples" / "seeds.jsonl"),
            "-o",
            str(out),
            "--limit",
            "3",
            "--quiet",
            "--model",
            "openai/toolsynth-test",
            "--api-base",
            server.url,
            "--no-cache",
            *extra,
        ]
    )


def test_cli_over_http_resumes_without_requests_and_never_writes_the_key(
    server: OpenAICompatibleServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    out = tmp_path / "out"
    assert synth_http(server, out) == 0
    first = server.stats().chat_requests
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["demo"] is False and manifest["models"]["default"] == "openai/toolsynth-test"
    assert manifest["usage"]["total"]["calls"] == first
    assert manifest["counts"]["inputs"] == 3 and manifest["counts"]["accepted"] >= 3

    assert synth_http(server, out) == 0
    assert server.stats().chat_requests == first  # a finished run re-run asks nothing

    for path in out.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path


def test_missing_key_is_refused_before_any_request(
    server: OpenAICompatibleServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert synth_http(server, tmp_path / "out") == 2
    assert "OPENAI_API_KEY" in capsys.readouterr().err
    assert server.stats().chat_requests == 0 and not (tmp_path / "out").exists()


def test_unauthorized_stops_the_run_fast_with_one_message(
    server: OpenAICompatibleServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "wrong-key")
    server.configure(faults=Faults(rates={"auth": 1.0}))
    started = time.monotonic()
    assert synth_http(server, tmp_path / "out", "--concurrency", "2") == 2
    assert time.monotonic() - started < 30
    err = capsys.readouterr().err
    assert "stopping the run" in err
    assert server.stats().chat_requests <= 4  # not one request per record and retry
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["status"] == "aborted" and manifest["counts"]["inputs"] == 0


def test_transient_faults_are_retried_and_lose_nothing(
    server: OpenAICompatibleServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "local")
    server.configure(faults=Faults(rates={"rate_limit": 0.1, "server_error": 0.1}, retry_after=0.01))
    out = tmp_path / "out"
    assert synth_http(server, out, "--retries", "6") == 0
    stats = server.stats()
    assert stats.by_fault  # faults really happened
    samples = [json.loads(x) for x in (out / "samples.jsonl").read_text().splitlines()]
    rejected = [json.loads(x) for x in (out / "rejected.jsonl").read_text().splitlines()]
    first_three = [json.loads(x)["id"] for x in (ROOT / "examples" / "seeds.jsonl").read_text().splitlines()[:3]]
    assert {r["source_id"] for r in samples + rejected} == set(first_three)
    assert not any("lm_error" in r["codes"] for r in rejected)


def test_retry_after_from_the_server_is_honoured(server: OpenAICompatibleServer) -> None:
    from toolsynth.adapter import set_structured_outputs
    from toolsynth.execution import RetryPolicy, retry_after_seconds, running_with
    from toolsynth.programs.extract_scenario import ExtractScenarioStage
    from toolsynth.programs.stage import run_sync

    server.configure(faults=Faults(script=["rate_limit"], retry_after=0.05))
    lm = dspy.LM(
        "openai/toolsynth-test", api_base=server.url, api_key="local", engine="litellm", cache=False, num_retries=0
    )
    with pytest.raises(dspy.LMRateLimitError) as caught, dspy.context(lm=lm):
        lm("hello")
    assert retry_after_seconds(caught.value) == pytest.approx(0.05)

    server.configure(faults=Faults(script=["rate_limit"], retry_after=0.05))
    server.reset_stats()
    set_structured_outputs(lm, "json_schema")  # no probe request: this test counts requests
    policy = RetryPolicy(retries=1, base_seconds=60.0)  # without Retry-After this would sleep up to a minute
    started = time.monotonic()
    with running_with(retry=policy), dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
        scenario = run_sync(ExtractScenarioStage().run(chat=CHAT)).scenario
    assert scenario and time.monotonic() - started < 5
    assert [r.status for r in server.requests if r.path.endswith("chat/completions")] == [429, 200]
