"""The runner on Ray (`toolsynth.ray_executor`, `toolsynth synth --ray`) on a local Ray instance (num_cpus=2).

What must hold:
- a Ray run writes what one process writes: the same samples and rejections (ids and content), in input order,
  and the same manifest counts and usage;
- an actor killed mid-run (ray.kill), or the driver killed (SIGKILL), then the run resumed: every input exactly
  once in samples or rejections, the files a single-process run writes, and no finished step asked again;
- API keys reach actors only through their environment: the Ray instance is started without the key, which
  the driver sends as the actors' runtime_env, and nothing sent to an actor holds it.

One Ray instance serves the module (starting one costs seconds). It listens on the loopback interface
(`RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`, set before ray is imported).
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # Ray's addresses on 127.0.0.1, not the network's
ray = pytest.importorskip("ray", reason="ray is not installed: pip install -e '.[dev,ray]'")

from tests.support import ROOT  # noqa: E402
from tests.test_runner_faults import check_conserved, check_files_whole, read_jsonl, write_seeds  # noqa: E402
from toolsynth.lm import ModelConfig  # noqa: E402
from toolsynth.programs import ButtonProgram  # noqa: E402
from toolsynth.ray_executor import (  # noqa: E402
    RAY_FILE,
    ShardFailed,
    ShardingChanged,
    run_on_ray,
    shard_actor_name,
    shard_dir,
    shard_jobs,
)
from toolsynth.readers import iter_seeds  # noqa: E402
from toolsynth.runner import RunOptions, run  # noqa: E402
from toolsynth.testing import Latency, OpenAICompatibleServer  # noqa: E402

KEY = "sk-ray-test-key-7f3a9c"
MODEL = "openai/toolsynth-test"
N_SEEDS = 8


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """A local Ray instance whose processes do not have the key; yields its address."""
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("OPENAI_API_KEY", raising=False)
        mp.setenv("RAY_worker_niceness", "0")  # Ray's 15 starves the actors on a machine busy with other work
        context = ray.init(num_cpus=2, log_to_driver=False, include_dashboard=False)
    try:
        yield context.address_info["gcs_address"]
    finally:
        ray.shutdown()


def http_models(url: str) -> ModelConfig:
    """The test server's model; its response_format dialect named, so no run (or actor) spends a call probing."""
    return ModelConfig(model=MODEL, api_base=url, cache=False, structured_outputs="json_schema")


def single_process(seeds: Path, out: Path, models: ModelConfig, concurrency: int = 4) -> dict[str, Any]:
    """The reference: the same seeds, program and models through `runner.run` in this process."""
    lms = models.build()
    program = ButtonProgram(role_lms={r: lm for r, lm in lms.items() if r != "generator"})
    items = list(iter_seeds(seeds))
    options = RunOptions(concurrency=concurrency, quiet=True)
    return run(items, program, out, lm=lms["generator"], models=models.describe(), options=options, total=len(items))


def on_ray(seeds: Path, out: Path, models: ModelConfig, **kwargs: Any) -> dict[str, Any]:
    items = list(iter_seeds(seeds))
    options = RunOptions(concurrency=4, quiet=True)
    return run_on_ray(items, ButtonProgram(), out, models=models, options=options, total=len(items), **kwargs)


def without_timing(manifest: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in manifest.items() if k not in ("elapsed_seconds", "ray")}


# ----------------------------------------------------------------------------------------- tests


def test_same_samples_rejections_and_manifest_as_one_process(cluster: str, tmp_path: Path) -> None:
    seeds = tmp_path / "seeds.jsonl"
    write_seeds(seeds, 7)
    with seeds.open("a", encoding="utf-8") as handle:  # an unreadable record: rejected at its input position
        handle.write('{"id": "broken", "chat": 42}\n')
        handle.write(json.dumps({"id": "last", "chat": "USER: hi\nASSISTANT: hello"}) + "\n")
    demo = ModelConfig()  # the offline demo model, built inside each actor
    reference = single_process(seeds, tmp_path / "one", demo)
    manifest = on_ray(seeds, tmp_path / "ray", demo, actors=3)

    one, many = tmp_path / "one", tmp_path / "ray"
    assert (many / "samples.jsonl").read_bytes() == (one / "samples.jsonl").read_bytes()
    assert (many / "rejected.jsonl").read_bytes() == (one / "rejected.jsonl").read_bytes()
    assert without_timing(manifest) == without_timing(reference)
    assert json.loads((many / "manifest.json").read_text()) == manifest
    assert manifest["counts"]["bad_inputs"] == 1 and manifest["counts"]["accepted"] > 0
    assert [s["status"] for s in manifest["ray"]["shards"]] == ["complete"] * 3
    sharded = [read_jsonl(shard_dir(many, k) / "samples.jsonl") for k in range(3)]
    assert all(sharded)  # every actor did its part
    assert json.loads((many / RAY_FILE).read_text())["actors"] == 3

    with pytest.raises(ShardingChanged, match="sharded over 3 actors"):
        on_ray(seeds, many, demo, actors=2)
    with pytest.raises(ShardingChanged, match="single-process run"):
        on_ray(seeds, one, demo)


def test_nothing_sent_to_an_actor_holds_the_key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import dspy

    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    seeds = tmp_path / "seeds.jsonl"
    write_seeds(seeds, 4)
    keyed = dspy.LM(MODEL, api_key=KEY, engine="litellm")  # a program whose roles hold an LM with the key
    program = ButtonProgram(role_lms={"user": keyed, "tool": keyed})
    models = http_models("http://127.0.0.1:9/v1")
    jobs = shard_jobs(list(iter_seeds(seeds)), program, tmp_path / "out", models, RunOptions(concurrency=4), 2)
    assert "api_key" not in {f.name for f in dataclasses.fields(ModelConfig)}
    for job in jobs:
        payload = ray.cloudpickle.dumps(job)
        assert KEY.encode() not in payload
        assert b"api_key" not in payload
    assert {s.role_lm for s in program.stages() if s.role in ("user", "tool")} == {keyed}  # the caller's LMs stay


@pytest.mark.slow
def test_actor_killed_mid_run_then_resumed_conserves_every_input(
    cluster: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seeds = tmp_path / "seeds.jsonl"
    ids = write_seeds(seeds, N_SEEDS)
    monkeypatch.setenv("OPENAI_API_KEY", KEY)  # the driver's: sent to the actors as their runtime_env only
    with OpenAICompatibleServer(latency=Latency.lognormal(0.04, 0.5), seed=3) as server:
        models = http_models(server.url)
        single_process(seeds, tmp_path / "one", models)
        reference_requests = server.stats().chat_requests

        out = tmp_path / "ray"
        driver, ended = in_thread(lambda: on_ray(seeds, out, models, actors=2, restarts=0))
        finished = wait_for_finished_seeds(shard_dir(out, 0), at_least=1, thread=driver)
        before_kill = server.stats().chat_requests
        ray.kill(ray.get_actor(shard_actor_name(out, 0)))
        driver.join(120)
        assert not driver.is_alive()
        assert len(ended) == 1 and isinstance(ended[0], ShardFailed), ended
        assert "shard 0: actor died" in str(ended[0]) and "run the same command again" in str(ended[0])
        samples, rejected = check_files_whole(out)
        manifest = json.loads((out / "manifest.json").read_text())
        assert manifest["status"] == "failed"
        assert [s["status"] for s in manifest["ray"]["shards"]] == ["failed", "complete"]
        assert finished <= manifest["counts"]["inputs"] < N_SEEDS
        assert manifest["counts"]["accepted"] == len(samples) and manifest["counts"]["rejected"] == len(rejected)

        resumed = on_ray(seeds, out, models)  # the actor count comes from OUTDIR/ray.json
        total = server.stats().chat_requests

    check_conserved(out, ids)
    assert (out / "samples.jsonl").read_text() == (tmp_path / "one" / "samples.jsonl").read_text()
    assert (out / "rejected.jsonl").read_text() == (tmp_path / "one" / "rejected.jsonl").read_text()
    assert resumed["counts"]["resumed_seeds"] >= finished
    assert [r["status"] for r in resumed["runs"]] == ["failed", "complete"]
    # Only the calls in flight in the killed actor were asked twice: shard 0 holds 2 of the 4 call slots, and
    # one more may sit between its answer and its step's commit.
    repeated = total - 2 * reference_requests
    assert 0 <= repeated <= 2 + 1, (total, reference_requests, before_kill)


@pytest.mark.slow
def test_an_actor_killed_mid_run_is_replaced_and_its_shard_resumed_in_the_same_run(
    cluster: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seeds = tmp_path / "seeds.jsonl"
    ids = write_seeds(seeds, N_SEEDS)
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    out = tmp_path / "ray"
    with OpenAICompatibleServer(latency=Latency.lognormal(0.04, 0.5), seed=9) as server:
        models = http_models(server.url)
        driver, ended = in_thread(lambda: on_ray(seeds, out, models, actors=2, restarts=1))
        wait_for_finished_seeds(shard_dir(out, 1), at_least=1, thread=driver)
        ray.kill(ray.get_actor(shard_actor_name(out, 1)))
        driver.join(120)
    assert not driver.is_alive() and len(ended) == 1 and isinstance(ended[0], dict), ended
    manifest = check_conserved(out, ids)
    assert [s["actors_started"] for s in manifest["ray"]["shards"]] == [1, 2]
    assert manifest["ray"]["shards"][1]["status"] == "complete"
    assert manifest["counts"]["resumed_seeds"] >= 1  # the new actor took the finished seeds from the shard's store


@pytest.mark.slow
def test_driver_killed_then_resumed_with_the_cli_on_an_existing_cluster(cluster: str, tmp_path: Path) -> None:
    seeds = tmp_path / "seeds.jsonl"
    ids = write_seeds(seeds, N_SEEDS)
    out, err = tmp_path / "ray", tmp_path / "stderr.log"
    with OpenAICompatibleServer(latency=Latency.lognormal(0.02, 0.5), seed=5) as server:
        command = [
            *("synth", str(seeds), "-o", str(out), "--quiet", "--no-report", "--concurrency", "4"),
            *("--model", MODEL, "--api-base", server.url, "--no-cache", f"--ray={cluster}", "--ray-actors", "2"),
        ]
        env = {**os.environ, "OPENAI_API_KEY": KEY, "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}
        with err.open("ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "toolsynth.cli", *command], cwd=ROOT, env=env, stdout=log, stderr=log
            )
            wait_for_finished_seeds(shard_dir(out, 1), at_least=1, proc=proc, log=err)
            proc.send_signal(signal.SIGKILL)
            assert proc.wait(30) == -signal.SIGKILL
            check_files_whole(out)
            cli = [sys.executable, "-m", "toolsynth.cli", *command]
            resumed = subprocess.run(cli, cwd=ROOT, env=env, stdout=log, stderr=log, timeout=180)
        assert resumed.returncode == 0, err.read_text()[-3000:]

    manifest = check_conserved(out, ids)
    assert manifest["counts"]["resumed_seeds"] >= 1
    assert manifest["ray"]["actors"] == 2


# ----------------------------------------------------------------------------------------- helpers


def in_thread(call: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    """Run `call` (a driver) in a started thread; the list gets what it returned or raised."""
    ended: list[Any] = []

    def target() -> None:
        try:
            ended.append(call())
        except BaseException as exc:
            ended.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    return thread, ended


def wait_for_finished_seeds(
    shard: Path,
    at_least: int,
    thread: threading.Thread | None = None,
    proc: subprocess.Popen[bytes] | None = None,
    log: Path | None = None,
    timeout: float = 120.0,
) -> int:
    """Poll a shard's store until it holds `at_least` finished seeds; returns how many it holds then."""
    deadline = time.monotonic() + timeout
    store = shard / "state.sqlite"
    while time.monotonic() < deadline:
        if (thread is not None and not thread.is_alive()) or (proc is not None and proc.poll() is not None):
            break
        if store.exists():
            try:
                db = sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=1)
                try:
                    count = int(db.execute("SELECT count(*) FROM seeds").fetchone()[0])
                finally:
                    db.close()
            except sqlite3.Error:
                count = 0
            if count >= at_least:
                return count
        time.sleep(0.01)
    detail = log.read_text()[-3000:] if log is not None and log.exists() else ""
    raise AssertionError(f"{shard} never held {at_least} finished seeds before the run ended or stalled\n{detail}")
