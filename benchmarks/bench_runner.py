"""Runner benchmark: latency-bound schedule, CPU per LM call, calls per sample, re-run, memory.

    .venv/bin/python -m benchmarks.bench_runner            # the full benchmark (about an hour on 2 busy cores)
    .venv/bin/python -m benchmarks.bench_runner --quick    # a smaller version of every part (about 2 minutes)

Every LM call goes through the real path — `dspy.LM("openai/toolsynth-test", engine="litellm", num_retries=0,
cache=False)` → litellm → HTTP — to `toolsynth.testing.server` running in a separate process (its CPU is
not ours), answering with the demo model's logic.

Latency and the critical path. The latency is injected per call by this module's `timed_demo_responder`
(lognormal, median 1 s, sigma 0.6 by default), drawn from a hash of a call id that the client sends in the
request body (`toolsynth_call`, added by a wrapper around `litellm.acompletion`). The call id is
`<step key>#<attempt>`, the step key being the key the program asks its step memo for just before the
call. So the client knows each call's exact injected latency without trusting its own clock, both
schedules see the same latency for the same step, and the step keys give the dependency structure
(`<seed>/scenario` → `<seed>/expand` → `<seed>-s<i>/tasks` → `<seed>-s<i>-t<j>/compose` → judge →
functions → user/assistant/tool turns; tool calls of one turn are parallel, branches `-s<i>`, `-t<j>` are
parallel). The lower bound of any schedule's wall time is max(longest per-seed chain, total latency /
concurrency).

Not collected by pytest; the module keeps its top-level imports light because the server process
imports it for the responder.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import gc
import hashlib
import http.client
import json
import math
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "seeds.jsonl"
MODEL = "openai/toolsynth-test"
LATENCY_ENV = "TOOLSYNTH_BENCH_LATENCY"
"""`MEDIAN:SIGMA` seconds for `timed_demo_responder`, read in the server process."""
CALL_FIELD = "toolsynth_call"

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


# --------------------------------------------------------------------------- latency keyed by call id


def call_latency(call_id: str, median: float, sigma: float) -> float:
    """The injected latency of one call: lognormal(median, sigma), drawn from a hash of its id."""
    digest = hashlib.sha256(f"latency|{call_id}".encode()).digest()
    draw = random.Random(int.from_bytes(digest[:8], "big")).gauss(0.0, 1.0)
    return math.exp(math.log(median) + sigma * draw)


def timed_demo_responder(messages: list[dict[str, Any]], request: dict[str, Any]) -> str:
    """Sleep the call's latency (see `call_latency`; none without `TOOLSYNTH_BENCH_LATENCY`), answer as the demo."""
    from toolsynth.testing.server import demo_responder

    spec = os.environ.get(LATENCY_ENV)
    if spec:
        median, sigma = (float(x) for x in spec.split(":"))
        time.sleep(call_latency(str(request.get(CALL_FIELD, "")), median, sigma))
    return demo_responder(messages, request)


# --------------------------------------------------------------------------- the server process


class ServerProcess:
    """`python -m toolsynth.testing.server` in its own process; its URL is the first line it prints."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "toolsynth.testing.server", "--port", "0", *args],
            cwd=ROOT,
            env={**os.environ, **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        assert self.proc.stdout is not None
        self.url = self.proc.stdout.readline().decode().strip()
        self.proc.stdout.close()  # the server points its stdout at /dev/null after the URL
        if not self.url.startswith("http"):
            self.stop()
            raise RuntimeError(f"the test server did not start (printed {self.url!r})")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def timed_server(median: float, sigma: float) -> ServerProcess:
    """The test server answering as the demo model after each call's lognormal latency (`timed_demo_responder`)."""
    return ServerProcess(
        "--responder",
        "benchmarks.bench_runner:timed_demo_responder",
        "--seed",
        "1",
        env={LATENCY_ENV: f"{median}:{sigma}"},
    )


# --------------------------------------------------------------------------- recording calls


@dataclass
class Call:
    call_id: str
    step: str
    started: float
    ended: float
    kwargs: dict[str, Any] | None


@dataclass
class CallRecorder:
    """Wraps `litellm.acompletion`: each call gets an id (`step#attempt`), a timing and, optionally, its kwargs."""

    tag: bool = False
    """Send the call id in the request body (`extra_body`), for `timed_demo_responder`."""
    keep_kwargs: bool = False
    calls: list[Call] = field(default_factory=list)
    attempts: Counter[str] = field(default_factory=Counter)

    @contextlib.contextmanager
    def installed(self) -> Iterator[CallRecorder]:
        import litellm

        from benchmarks.step_tracking import current_step

        original = litellm.acompletion

        async def acompletion(*args: Any, **kwargs: Any) -> Any:
            step = current_step() or "untracked/0"
            call_id = f"{step}#{self.attempts[step]}"
            self.attempts[step] += 1
            if self.tag:
                kwargs["extra_body"] = {**(kwargs.get("extra_body") or {}), CALL_FIELD: call_id}
            started = time.perf_counter()
            try:
                return await original(*args, **kwargs)
            finally:
                self.calls.append(
                    Call(call_id, step, started, time.perf_counter(), dict(kwargs) if self.keep_kwargs else None)
                )

        litellm.acompletion = acompletion
        try:
            yield self
        finally:
            litellm.acompletion = original


# --------------------------------------------------------------------------- critical path

_BRANCH = re.compile(r"^(?P<parent>.+)-[st]\d+$")
_TOOL = re.compile(r"^tool/(?P<turn>\d+)/\d+$")


def per_seed_chains(latency_by_step: dict[str, float]) -> dict[str, float]:
    """Longest chain of dependent calls per seed, from the step keys and each step's total latency.

    A record prefix (before the first `/`) runs its steps one after another, except the tool calls of one
    turn (`tool/<turn>/<i>`), which run together; its branches (`<prefix>-s<i>`, `<prefix>-t<j>`) start
    once its own steps are done and run in parallel.
    """
    own: dict[str, float] = defaultdict(float)
    tools: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for step, seconds in latency_by_step.items():
        prefix, _, rest = step.partition("/")
        tool = _TOOL.match(rest)
        if tool:
            turn = tools[prefix]
            turn[tool["turn"]] = max(turn[tool["turn"]], seconds)
        else:
            own[prefix] += seconds
    prefixes = set(own) | set(tools)
    children: dict[str, list[str]] = defaultdict(list)
    roots = []
    for prefix in prefixes:
        match = _BRANCH.match(prefix)
        if match and match["parent"] in prefixes:
            children[match["parent"]].append(prefix)
        else:
            roots.append(prefix)

    def chain(prefix: str) -> float:
        mine = own.get(prefix, 0.0) + sum(tools.get(prefix, {}).values())
        return mine + max((chain(c) for c in children[prefix]), default=0.0)

    return {root: chain(root) for root in roots}


@dataclass
class Bound:
    calls: int
    total_latency: float
    longest_chain: float
    longest_seed: str
    concurrency: int

    @property
    def throughput_bound(self) -> float:
        return self.total_latency / self.concurrency

    @property
    def seconds(self) -> float:
        return max(self.longest_chain, self.throughput_bound)


def critical_path(calls: Sequence[Call], concurrency: int, latency: Callable[[Call], float]) -> Bound:
    by_step: dict[str, float] = defaultdict(float)
    for call in calls:
        by_step[call.step] += latency(call)  # attempts of one step run one after another
    chains = per_seed_chains(by_step)
    seed = max(chains, key=lambda k: chains[k])
    return Bound(len(calls), sum(by_step.values()), chains[seed], seed, concurrency)


# --------------------------------------------------------------------------- seeds, program, LM


def write_seeds(path: Path, n: int) -> Path:
    """`n` seeds cycling the shipped examples, ids made unique."""
    rows = [json.loads(line) for line in EXAMPLES.read_text(encoding="utf-8").splitlines() if line.strip()]
    with path.open("w", encoding="utf-8") as handle:
        for i in range(n):
            row = dict(rows[i % len(rows)])
            row["id"] = f"{row.get('id', 'seed')}-{i:05d}"
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def load_seeds(path: Path) -> list[Any]:
    from toolsynth.readers import read_seeds

    return read_seeds(path)


def http_lm(url: str) -> Any:
    import dspy

    return dspy.LM(MODEL, api_base=url, api_key="x", engine="litellm", num_retries=0, cache=False)


def new_program(track_steps: bool = False) -> Any:
    """The CLI's default program; with `track_steps`, one whose LM calls know their step (`step_tracking`)."""
    from benchmarks.step_tracking import StepTrackingProgram
    from toolsynth.programs import ButtonProgram

    return StepTrackingProgram() if track_steps else ButtonProgram()


MODELS = {"default": MODEL, "benchmark": True}
"""The run's model description (no api_base: a re-run against another server resumes the same run)."""


def run_streaming(
    seeds: list[Any], out: Path, lm: Any, concurrency: int, track_steps: bool = False
) -> tuple[dict[str, Any], float]:
    from toolsynth.runner import RunOptions, run

    program = new_program(track_steps)
    options = RunOptions(concurrency=concurrency, quiet=True)
    started = time.perf_counter()
    manifest = run(seeds, program, out, lm=lm, models=MODELS, options=options, total=len(seeds))
    return manifest, time.perf_counter() - started


# --------------------------------------------------------------------------- 1. latency-bound


def bench_latency(n: int, concurrency: int, median: float, sigma: float, work: Path) -> dict[str, Any]:
    from benchmarks.barrier import run_barrier_sync
    from benchmarks.step_tracking import track_step
    from toolsynth.testing import OpenAICompatibleServer

    seeds = load_seeds(write_seeds(work / f"seeds-{n}.jsonl", n))
    latency = lambda call: call_latency(call.call_id, median, sigma)  # noqa: E731
    result: dict[str, Any] = {"seeds": n, "concurrency": concurrency, "latency": f"lognormal({median}, {sigma})"}
    with timed_server(median, sigma) as server:
        lm = http_lm(server.url)
        _warm_up(lm)

        out = work / "streaming"
        recorder = CallRecorder(tag=True)
        with recorder.installed():
            manifest, wall = run_streaming(seeds, out, lm, concurrency, track_steps=True)
        bound = critical_path(recorder.calls, concurrency, latency)
        observed = critical_path(recorder.calls, concurrency, lambda c: c.ended - c.started)
        accepted = manifest["counts"]["accepted"]
        streaming_samples = _sample_set(out / "samples.jsonl")
        result["streaming"] = {
            "wall_seconds": wall,
            "calls": bound.calls,
            "accepted": accepted,
            "rejected": manifest["counts"]["rejected"],
            "total_latency_seconds": bound.total_latency,
            "longest_chain_seconds": bound.longest_chain,
            "longest_chain_seed": bound.longest_seed,
            "throughput_bound_seconds": bound.throughput_bound,
            "lower_bound_seconds": bound.seconds,
            "ratio": wall / bound.seconds,
            "observed_bound_seconds": observed.seconds,
            "client_overhead_ms_per_call": 1000 * (observed.total_latency - bound.total_latency) / bound.calls,
            "manifest_calls": manifest["usage"]["total"]["calls"],
        }
        result["calls_per_accepted_sample"] = bound.calls / accepted if accepted else math.inf

        barrier_recorder = CallRecorder(tag=True)
        with barrier_recorder.installed():
            report = run_barrier_sync(new_program(), seeds, lm=lm, concurrency=concurrency, on_get=track_step)
        barrier_bound = critical_path(barrier_recorder.calls, concurrency, latency)
        barrier_samples = {
            json.dumps(s.to_openai(), sort_keys=True) for r in report.results.values() for s in r.samples
        }
        result["barrier"] = {
            "wall_seconds": report.wall_seconds,
            "calls": barrier_bound.calls,
            "phases": len(report.phases),
            "lower_bound_seconds": barrier_bound.seconds,
            "same_samples_as_streaming": barrier_samples == streaming_samples,
        }
        result["speedup"] = report.wall_seconds / wall

    with OpenAICompatibleServer() as counting:  # a finished run re-run: count at a server
        manifest, _ = run_streaming(seeds, out, http_lm(counting.url), concurrency)
        result["rerun"] = {
            "server_requests": counting.stats().chat_requests,
            "manifest_calls": manifest["usage"]["total"]["calls"],
            "resumed_seeds": manifest["counts"]["resumed_seeds"],
        }
    return result


def _warm_up(lm: Any, work: Path | None = None) -> None:
    """Import litellm and make a first call outside the measured runs (with `work`: a whole one-seed run)."""
    if work is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            asyncio.run(lm.acall("ping"))
        return
    seeds = load_seeds(write_seeds(work / "warm.jsonl", 1))
    run_streaming(seeds, work / "warm", lm, 4)
    shutil.rmtree(work / "warm", ignore_errors=True)


def _sample_set(path: Path) -> set[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return {json.dumps(json.loads(line), sort_keys=True) for line in lines if line}


# --------------------------------------------------------------------------- 2. CPU per call


def bench_cpu(n: int, concurrency: int, work: Path, profile: Path | None = None, rounds: int = 1) -> dict[str, Any]:
    """CPU per call of the runner (as the CLI runs it: no call recorder, no step tracking) and of the same requests
    (recorded in one run beforehand) through bare litellm, DSPy's LM and raw HTTP; bare litellm again under the
    runner's collector thresholds, and DSPy's LM under the runner's thresholds and default executor.

    With `rounds` > 1 they are measured in turn that many times (the runner each time on a fresh output directory)
    and each one's least CPU per call is kept: on a shared machine the other processes only ever add CPU time
    (cache misses, preemption), and measuring in turn spreads a busy spell over all of them. The median of the
    per-round differences is reported too.
    """
    from toolsynth.execution import RunExecutor
    from toolsynth.runner import RUN_GC_THRESHOLDS
    from toolsynth.validators.functions import META_VALID

    seeds = load_seeds(write_seeds(work / f"cpu-seeds-{n}.jsonl", n))
    result: dict[str, Any] = {"seeds": n, "concurrency": concurrency, "rounds": rounds}
    per_round: dict[str, list[dict[str, float]]] = defaultdict(list)
    with ServerProcess("--latency", "none", "--seed", "2") as server:
        lm = http_lm(server.url)
        _warm_up(lm, work)
        import litellm

        requests: list[dict[str, Any]] = []

        async def replay(one: Callable[[dict[str, Any]], Any], executor: Any = None) -> None:
            if executor is not None:  # as the runner sets it (`toolsynth.execution.RunExecutor`)
                asyncio.get_running_loop().set_default_executor(executor)
            gate = asyncio.Semaphore(concurrency)

            async def bounded(kwargs: dict[str, Any]) -> None:
                async with gate:
                    await one(kwargs)

            await asyncio.gather(*(bounded(k) for k in requests))

        async def bare_litellm(kwargs: dict[str, Any]) -> Any:
            return await litellm.acompletion(**kwargs)

        async def dspy_lm(kwargs: dict[str, Any]) -> Any:
            extra = {"response_format": kwargs["response_format"]} if kwargs.get("response_format") else {}
            return await lm.acall(messages=kwargs["messages"], **extra)

        recorder = CallRecorder(keep_kwargs=True)  # the requests, from one run outside the measured ones
        with recorder.installed():
            run_streaming(seeds, work / "cpu-requests", lm, concurrency)
        requests.extend(c.kwargs for c in recorder.calls if c.kwargs is not None)
        calls = result["calls"] = len(requests)
        asyncio.run(bare_litellm(requests[0]))
        for turn in range(rounds):
            META_VALID.clear()  # each measured run starts with no schema seen, as a new process does
            cpu, wall, manifest = _measure(
                functools.partial(run_streaming, seeds, work / f"cpu-run-{turn}", lm, concurrency),
                profile if turn == 0 else None,
            )
            if manifest[0]["usage"]["total"]["calls"] != calls:
                raise RuntimeError(f"the measured run made {manifest[0]['usage']['total']['calls']} calls, not {calls}")
            per_round["ours"].append(_per_call(cpu, wall, calls))
            cpu, wall, _ = _measure(lambda: asyncio.run(replay(bare_litellm)))
            per_round["litellm"].append(_per_call(cpu, wall, len(requests)))
            with collector_thresholds(RUN_GC_THRESHOLDS):  # the runner's own; the difference is not a GC setting
                cpu, wall, _ = _measure(lambda: asyncio.run(replay(bare_litellm)))
            per_round["litellm_run_gc"].append(_per_call(cpu, wall, len(requests)))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                if turn == 0:
                    asyncio.run(dspy_lm(requests[0]))
                cpu, wall, _ = _measure(lambda: asyncio.run(replay(dspy_lm)))
            per_round["dspy_litellm"].append(_per_call(cpu, wall, len(requests)))
            with warnings.catch_warnings(), collector_thresholds(RUN_GC_THRESHOLDS):
                warnings.simplefilter("ignore", DeprecationWarning)
                cpu, wall, _ = _measure(lambda: asyncio.run(replay(dspy_lm, RunExecutor())))
            per_round["dspy_litellm_run_settings"].append(_per_call(cpu, wall, len(requests)))
            cpu, wall, _ = _measure(lambda: _raw_http(server.url, requests))
            per_round["raw_http"].append(_per_call(cpu, wall, len(requests)))
    for key, rows in per_round.items():
        result[key] = min(rows, key=lambda row: row["cpu_ms_per_call"])
        result[key]["all_rounds_ms"] = [round(row["cpu_ms_per_call"], 3) for row in rows]
    result["ours_minus_litellm_ms"] = result["ours"]["cpu_ms_per_call"] - result["litellm"]["cpu_ms_per_call"]
    result["ours_over_litellm"] = result["ours"]["cpu_ms_per_call"] / result["litellm"]["cpu_ms_per_call"]
    result["ours_minus_litellm_run_gc_ms"] = (
        result["ours"]["cpu_ms_per_call"] - result["litellm_run_gc"]["cpu_ms_per_call"]
    )
    for baseline in ("litellm", "litellm_run_gc"):  # round by round: a steadier figure than least against least
        rounds_of = (result["ours"]["all_rounds_ms"], result[baseline]["all_rounds_ms"])
        differences = [ours - base for ours, base in zip(*rounds_of, strict=True)]
        result[f"ours_minus_{baseline}_median_per_round_ms"] = statistics.median(differences)
    result["load_average_at_end"] = os.getloadavg()
    return result


@contextlib.contextmanager
def collector_thresholds(thresholds: tuple[int, int, int]) -> Iterator[None]:
    before = gc.get_threshold()
    gc.set_threshold(*thresholds)
    try:
        yield
    finally:
        gc.set_threshold(*before)


def _measure(work: Callable[[], Any], profile: Path | None = None) -> tuple[float, float, Any]:
    gc.collect()
    cpu, wall = time.process_time(), time.perf_counter()
    if profile is None:
        value = work()
    else:
        import cProfile

        profiler = cProfile.Profile()
        value = profiler.runcall(work)
        profiler.dump_stats(str(profile))
    return time.process_time() - cpu, time.perf_counter() - wall, value


def _per_call(cpu: float, wall: float, calls: int) -> dict[str, Any]:
    return {"cpu_seconds": cpu, "wall_seconds": wall, "cpu_ms_per_call": 1000 * cpu / calls}


def _raw_http(url: str, requests: list[dict[str, Any]]) -> None:
    parsed = urlparse(url)
    conn = http.client.HTTPConnection(parsed.hostname or "127.0.0.1", parsed.port, timeout=30)
    path = parsed.path.rstrip("/") + "/chat/completions"
    headers = {"Content-Type": "application/json", "Authorization": "Bearer x"}
    try:
        for kwargs in requests:
            body = {"model": kwargs["model"].split("/", 1)[-1], "messages": kwargs["messages"]}
            if kwargs.get("response_format"):
                body["response_format"] = kwargs["response_format"]
            conn.request("POST", path, json.dumps(body), headers)
            response = conn.getresponse()
            payload = json.loads(response.read())
            if response.status != 200 or not payload["choices"][0]["message"]["content"]:
                raise RuntimeError(f"raw HTTP call failed: {response.status} {payload}")
    finally:
        conn.close()


# --------------------------------------------------------------------------- 3. memory


_PEAK_ENV = "TOOLSYNTH_BENCH_PEAK_FILE"
_MEASURED_CLI = (
    "import atexit, os, runpy\n"
    "def _peak():\n"
    "    status = open('/proc/self/status').read().split('VmHWM:')[1].split()[0]\n"
    f"    open(os.environ['{_PEAK_ENV}'], 'w').write(status)\n"
    "atexit.register(_peak)\n"
    "runpy.run_module('toolsynth.cli', run_name='__main__', alter_sys=True)\n"
)
"""`python -m toolsynth.cli` that writes its own peak RSS (VmHWM, kB) at exit. Not `getrusage`: a child's
`ru_maxrss` also counts the parent's memory it was forked from before exec (Linux keeps the larger)."""


def bench_memory(sizes: Sequence[int], work: Path) -> dict[str, Any]:
    """Peak RSS of `toolsynth synth` on the offline demo model, one child process per size."""
    result: dict[str, Any] = {}
    for n in sizes:
        seeds = write_seeds(work / f"mem-seeds-{n}.jsonl", n)
        peak_file, log = work / f"mem-{n}.peak", work / f"mem-{n}.stderr"
        command = [sys.executable, "-c", _MEASURED_CLI, "synth", str(seeds), "-o", str(work / f"mem-{n}"), "--quiet"]
        started = time.perf_counter()
        with log.open("wb") as err:
            code = subprocess.call(
                command, cwd=ROOT, env={**os.environ, _PEAK_ENV: str(peak_file)}, stdout=subprocess.DEVNULL, stderr=err
            )
        if code != 0:
            raise RuntimeError(f"demo run of {n} seeds failed ({code}): {log.read_text()[-2000:]}")
        manifest = json.loads((work / f"mem-{n}" / "manifest.json").read_text())
        wall = time.perf_counter() - started
        result[str(n)] = {
            "peak_rss_mb": int(peak_file.read_text()) / 1024,
            "wall_seconds": wall,
            "accepted": manifest["counts"]["accepted"],
            "calls": manifest["usage"]["total"]["calls"],
        }
    return result


# --------------------------------------------------------------------------- report


def machine() -> dict[str, Any]:
    import dspy
    import litellm  # noqa: F401 - version below

    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    from importlib.metadata import version

    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "dspy": dspy.__version__,
        "litellm": version("litellm"),
        "load_average_at_start": os.getloadavg(),
    }


def print_report(results: dict[str, Any]) -> None:
    lines = []
    if "latency" in results:
        lat = results["latency"]
        s, b = lat["streaming"], lat["barrier"]
        lines += [
            f"latency-bound: {lat['seeds']} seeds, concurrency {lat['concurrency']}, {lat['latency']} s per call",
            f"  streaming wall             {s['wall_seconds']:8.1f} s   ({s['calls']} calls, {s['accepted']} accepted)",
            f"  lower bound                {s['lower_bound_seconds']:8.1f} s   = max(longest chain "
            f"{s['longest_chain_seconds']:.1f} s, total latency {s['total_latency_seconds']:.0f} s / "
            f"{lat['concurrency']} = {s['throughput_bound_seconds']:.1f} s)",
            f"  wall / bound               {s['ratio']:8.2f}     (target <= 1.2)",
            f"  client overhead per call   {s['client_overhead_ms_per_call']:8.1f} ms  (observed - injected latency)",
            f"  stage-barrier wall         {b['wall_seconds']:8.1f} s   ({b['phases']} phases, {b['calls']} calls, "
            f"same samples: {b['same_samples_as_streaming']})",
            f"  speed-up over barrier      {lat['speedup']:8.2f} x   (target >= 1.5)",
            f"  LM calls per accepted sample {lat['calls_per_accepted_sample']:6.2f}",
            f"  re-run of the finished run: {lat['rerun']['server_requests']} requests at the server "
            f"(manifest calls {lat['rerun']['manifest_calls']}, resumed seeds {lat['rerun']['resumed_seeds']})",
        ]
    if "cpu" in results:
        cpu = results["cpu"]
        lines.append(
            f"CPU per LM call, zero-latency server, {cpu['seeds']} seeds, {cpu['calls']} calls, "
            f"concurrency {cpu['concurrency']}:"
        )
        for key, label in (
            ("ours", "toolsynth runner"),
            ("dspy_litellm", "dspy.LM.acall (litellm)"),
            ("dspy_litellm_run_settings", "  runner's GC and executor"),
            ("litellm", "litellm.acompletion"),
            ("litellm_run_gc", "  the same, runner's GC"),
            ("raw_http", "http.client"),
        ):
            if key not in cpu:  # a JSON written before this row existed
                continue
            row = cpu[key]
            rounds = ", ".join(f"{x:.2f}" for x in row["all_rounds_ms"])
            lines.append(
                f"  {label:26s} {row['cpu_ms_per_call']:7.2f} ms CPU/call  ({row['wall_seconds']:.1f} s wall; "
                f"rounds: {rounds})"
            )
        lines.append(
            f"  ours - litellm             {cpu['ours_minus_litellm_ms']:7.2f} ms        (target <= 1 ms; "
            f"ours / litellm {cpu['ours_over_litellm']:.2f}; load at the end {cpu['load_average_at_end'][0]:.1f})"
        )
        if "ours_minus_litellm_run_gc_ms" in cpu:
            lines.append(f"  ours - litellm, same GC    {cpu['ours_minus_litellm_run_gc_ms']:7.2f} ms")
        if "ours_minus_litellm_run_gc_median_per_round_ms" in cpu:
            lines.append(
                f"  median per round: ours - litellm {cpu['ours_minus_litellm_median_per_round_ms']:.2f} ms, "
                f"same GC {cpu['ours_minus_litellm_run_gc_median_per_round_ms']:.2f} ms"
            )
    if "memory" in results:
        mem = results["memory"]
        lines.append("memory (peak RSS, offline demo model, toolsynth synth subprocess):")
        for n, row in mem.items():
            if n.isdigit():
                lines.append(
                    f"  {int(n):6d} seeds  {row['peak_rss_mb']:7.1f} MB   ({row['wall_seconds']:.0f} s, "
                    f"{row['calls']} calls)"
                )
        lines.append(f"  growth                 {mem['growth_mb']:7.1f} MB   (target <= 30 MB)")
    print("\n".join(lines))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_runner", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes and latency, every part (a few minutes)")
    parser.add_argument("--only", choices=["latency", "cpu", "memory"], action="append", help="run only these parts")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--profile-cpu", type=Path, help="cProfile the runner's (first) CPU run into this file")
    parser.add_argument(
        "--cpu-rounds", type=int, default=3, help="measure the CPU part this many times in turn, keep each least"
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args(argv)
    parts = set(args.only or ["latency", "cpu", "memory"])
    quick = args.quick
    work = Path(tempfile.mkdtemp(prefix="toolsynth-bench-"))
    results: dict[str, Any] = {
        "command": " ".join(
            [Path(sys.executable).name, "-m", "benchmarks.bench_runner", *(argv if argv is not None else sys.argv[1:])]
        ),
        "quick": quick,
        "machine": machine(),
    }
    try:
        if "latency" in parts:
            n, median = (20, 0.2) if quick else (100, 1.0)
            results["latency"] = bench_latency(n, 64, median, 0.6, work)
        if "cpu" in parts:
            results["cpu"] = bench_cpu(
                15 if quick else 100, 64, work, args.profile_cpu, 1 if quick else args.cpu_rounds
            )
        if "memory" in parts:
            sizes = (100, 1000) if quick else (1000, 10000)
            memory = bench_memory(sizes, work)
            memory["growth_mb"] = memory[str(sizes[-1])]["peak_rss_mb"] - memory[str(sizes[0])]["peak_rss_mb"]
            results["memory"] = memory
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print_report(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
