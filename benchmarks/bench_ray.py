"""Ray benchmark: calls/s with 1, 2 and 4 actors beside the single-process runner, and the latency bound.

    .venv/bin/python -m benchmarks.bench_ray --json results.json     # about 5 minutes on 2 cores
    .venv/bin/python -m benchmarks.bench_ray --quick                 # smaller sizes

Every LM call takes the real path (`ModelConfig.build()`: dspy.LM(engine="litellm") → HTTP) to
`toolsynth.testing.server` running in its own process. All figures come from one run, on one local Ray instance
(`num_cpus` = the machine's cores, started before anything is timed).

1. Throughput: the server adds no latency, so the figure is what the clients' CPU allows. The same seeds run
   through `runner.run` in this process, then through `run_on_ray` with 1, 2 and 4 actors, each with the same
   run-wide concurrency. Two walls per Ray run: the whole call (actors started, toolsynth imported in each, the
   shards merged), and the slowest shard's own `runner.run` (its manifest's `elapsed_seconds`).
2. Latency-bound: the server sleeps each call's latency, drawn from a hash of the call's id that the client
   sends (`benchmarks.bench_runner.timed_demo_responder`; here the tagging wrapper is installed in whatever
   process runs the program: the Ray actors too). The bound comes from the single-process run's calls (the runs
   make the same calls: checked), as `bench_runner` computes it: max(longest per-seed chain, total latency /
   concurrency), and per shard (its seeds, its share of the concurrency), whose maximum bounds the Ray run.

Not collected by pytest.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.bench_runner import (
    ROOT,
    ServerProcess,
    call_latency,
    critical_path,
    load_seeds,
    machine,
    per_seed_chains,
    timed_server,
    write_seeds,
)
from benchmarks.step_tracking import TaggingProgram, tagged_calls

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # the local Ray instance on 127.0.0.1
# Ray starts its workers at nice 15; the single-process runner and the server run at 0. On a machine shared with
# other work, nice 15 actors get what the rest leaves, so the actors run at 0 here, like the runner they are
# compared with (`--worker-niceness 15` measures Ray's default).
WORKER_NICENESS = "RAY_worker_niceness"
MODEL = "openai/toolsynth-test"


def models(url: str) -> Any:
    from toolsynth.lm import ModelConfig

    return ModelConfig(model=MODEL, api_base=url, cache=False, structured_outputs="json_schema")


def run_single(seeds: list[Any], out: Path, url: str, concurrency: int, program: Any) -> tuple[dict[str, Any], float]:
    from toolsynth.runner import RunOptions, run

    config = models(url)
    lms = config.build()
    program.use_lms({r: lm for r, lm in lms.items() if r != "generator"})
    options = RunOptions(concurrency=concurrency, quiet=True)
    started = time.perf_counter()
    manifest = run(seeds, program, out, lm=lms["generator"], models=config.describe(), options=options)
    return manifest, time.perf_counter() - started


def run_ray(
    seeds: list[Any], out: Path, url: str, concurrency: int, actors: int, program: Any
) -> tuple[dict[str, Any], float, float]:
    """(manifest, wall of the whole call, longest shard's own runner wall)."""
    from toolsynth.ray_executor import RAY_FILE, run_on_ray, shard_dir
    from toolsynth.runner import RunOptions

    options = RunOptions(concurrency=concurrency, quiet=True)
    started = time.perf_counter()
    manifest = run_on_ray(
        seeds, program, out, models=models(url), options=options, actors=actors, env_vars=("PYTHONPATH",)
    )
    wall = time.perf_counter() - started
    assert json.loads((out / RAY_FILE).read_text())["actors"] == actors
    shard_walls = [json.loads((shard_dir(out, k) / "manifest.json").read_text()) for k in range(actors)]
    return manifest, wall, max(m["elapsed_seconds"] for m in shard_walls)


def bench_throughput(n: int, concurrency: int, actor_counts: Sequence[int], work: Path) -> dict[str, Any]:
    from toolsynth.programs import ButtonProgram

    seeds = load_seeds(write_seeds(work / f"tp-seeds-{n}.jsonl", n))
    result: dict[str, Any] = {"seeds": n, "concurrency": concurrency, "runs": {}}
    with ServerProcess("--latency", "none", "--seed", "2") as server:
        run_single(load_seeds(write_seeds(work / "warm.jsonl", 2)), work / "warm", server.url, 4, ButtonProgram())
        manifest, wall = run_single(seeds, work / "tp-single", server.url, concurrency, ButtonProgram())
        calls = manifest["usage"]["total"]["calls"]
        result["runs"]["single process"] = {"calls": calls, "wall_seconds": wall, "calls_per_second": calls / wall}
        reference = (work / "tp-single" / "samples.jsonl").read_bytes()
        for actors in actor_counts:
            out = work / f"tp-ray-{actors}"
            manifest, wall, shard_wall = run_ray(seeds, out, server.url, concurrency, actors, ButtonProgram())
            calls = manifest["usage"]["total"]["calls"]
            result["runs"][f"ray, {actors} actor{'s' if actors > 1 else ''}"] = {
                "calls": calls,
                "wall_seconds": wall,
                "calls_per_second": calls / wall,
                "slowest_shard_runner_seconds": shard_wall,
                "calls_per_second_in_actors": calls / shard_wall,
                "same_samples_as_single_process": (out / "samples.jsonl").read_bytes() == reference,
            }
    return result


def shard_bound(calls: list[Any], positions: dict[str, int], actors: int, concurrency: int, latency: Any) -> float:
    """The largest of the shards' own bounds: each shard's calls (by its seeds' input positions), its concurrency."""
    from toolsynth.ray_executor import shard_of, split_concurrency

    by_step: dict[str, float] = defaultdict(float)
    for call in calls:
        by_step[call.step] += latency(call)
    chains = per_seed_chains(by_step)
    shares = split_concurrency(concurrency, actors)
    totals = [0.0] * actors
    longest = [0.0] * actors
    for step, seconds in by_step.items():
        root = step.split("/", 1)[0]
        totals[shard_of(_position(root, positions), actors)] += seconds
    for root, chain in chains.items():
        k = shard_of(_position(root, positions), actors)
        longest[k] = max(longest[k], chain)
    return max(max(longest[k], totals[k] / shares[k]) for k in range(actors))


def _position(prefix: str, positions: dict[str, int]) -> int:
    """The input position of the seed a step prefix belongs to (`<seed id>` or `<seed id>-s<i>-t<j>`)."""
    start = prefix
    while prefix not in positions:
        if "-" not in prefix:
            raise KeyError(f"no seed of this run owns the step prefix {start!r}")
        prefix = prefix.rsplit("-", 1)[0]
    return positions[prefix]


def bench_latency(n: int, concurrency: int, median: float, sigma: float, work: Path) -> dict[str, Any]:
    seeds = load_seeds(write_seeds(work / f"lat-seeds-{n}.jsonl", n))
    positions = {seed.source_id: i for i, seed in enumerate(seeds)}
    latency = lambda call: call_latency(call.call_id, median, sigma)  # noqa: E731
    result: dict[str, Any] = {"seeds": n, "concurrency": concurrency, "latency": f"lognormal({median}, {sigma})"}
    with timed_server(median, sigma) as server:
        program = TaggingProgram()
        manifest, wall = run_single(seeds, work / "lat-single", server.url, concurrency, program)
        calls = tagged_calls()
        bound = critical_path(calls, concurrency, latency)
        result["single process"] = {
            "wall_seconds": wall,
            "calls": len(calls),
            "lower_bound_seconds": bound.seconds,
            "longest_chain_seconds": bound.longest_chain,
            "throughput_bound_seconds": bound.throughput_bound,
            "ratio": wall / bound.seconds,
        }
        out = work / "lat-ray-2"
        manifest, wall, shard_wall = run_ray(seeds, out, server.url, concurrency, 2, TaggingProgram())
        per_shard = shard_bound(calls, positions, 2, concurrency, latency)
        result["ray, 2 actors"] = {
            "wall_seconds": wall,
            "slowest_shard_runner_seconds": shard_wall,
            "calls": manifest["usage"]["total"]["calls"],
            "same_calls_as_single_process": manifest["usage"]["total"]["calls"] == len(calls),
            "same_samples_as_single_process": (out / "samples.jsonl").read_bytes()
            == (work / "lat-single" / "samples.jsonl").read_bytes(),
            "lower_bound_seconds": bound.seconds,
            "per_shard_bound_seconds": per_shard,
            "ratio_wall": wall / bound.seconds,
            "ratio_runner": shard_wall / bound.seconds,
            "ratio_runner_to_shard_bound": shard_wall / per_shard,
        }
    return result


def print_report(results: dict[str, Any]) -> None:
    lines = []
    if "throughput" in results:
        tp = results["throughput"]
        lines.append(f"throughput, zero-latency server, {tp['seeds']} seeds, run-wide concurrency {tp['concurrency']}:")
        base = tp["runs"]["single process"]["calls_per_second"]
        for name, row in tp["runs"].items():
            extra = ""
            if "calls_per_second_in_actors" in row:
                extra = (
                    f" | in the actors {row['calls_per_second_in_actors']:6.1f} calls/s "
                    f"({row['calls_per_second_in_actors'] / base:4.2f}x) | same samples "
                    f"{row['same_samples_as_single_process']}"
                )
            lines.append(
                f"  {name:18s} {row['calls']:6d} calls  {row['wall_seconds']:6.1f} s  "
                f"{row['calls_per_second']:6.1f} calls/s ({row['calls_per_second'] / base:4.2f}x){extra}"
            )
    if "latency" in results:
        lat = results["latency"]
        s, r = lat["single process"], lat["ray, 2 actors"]
        lines += [
            f"latency-bound: {lat['seeds']} seeds, concurrency {lat['concurrency']}, {lat['latency']} s per call",
            f"  lower bound                 {s['lower_bound_seconds']:7.1f} s  = max(longest chain "
            f"{s['longest_chain_seconds']:.1f} s, total latency / {lat['concurrency']} = "
            f"{s['throughput_bound_seconds']:.1f} s)",
            f"  single process wall         {s['wall_seconds']:7.1f} s  ratio {s['ratio']:.2f}",
            f"  ray 2 actors, whole call    {r['wall_seconds']:7.1f} s  ratio {r['ratio_wall']:.2f}",
            f"  ray 2 actors, slowest shard {r['slowest_shard_runner_seconds']:7.1f} s  ratio {r['ratio_runner']:.2f}"
            f" (to the shards' own bound {r['per_shard_bound_seconds']:.1f} s: "
            f"{r['ratio_runner_to_shard_bound']:.2f})",
            f"  same calls {r['same_calls_as_single_process']} ({r['calls']}), same samples "
            f"{r['same_samples_as_single_process']}",
        ]
    print("\n".join(lines))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_ray", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes")
    parser.add_argument("--only", choices=["throughput", "latency"], action="append", help="run only these parts")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--worker-niceness", type=int, default=0, help="the Ray workers' nice value (Ray's is 15)")
    args = parser.parse_args(argv)
    os.environ[WORKER_NICENESS] = str(args.worker_niceness)
    parts = set(args.only or ["throughput", "latency"])
    import ray

    os.environ["OPENAI_API_KEY"] = os.environ.get("OPENAI_API_KEY") or "x"  # the test server takes any key
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    work = Path(tempfile.mkdtemp(prefix="toolsynth-bench-ray-"))
    results: dict[str, Any] = {
        "command": " ".join([Path(sys.executable).name, "-m", "benchmarks.bench_ray", *(argv or sys.argv[1:])]),
        "machine": machine(),
    }
    ray.init(num_cpus=os.cpu_count(), log_to_driver=False, include_dashboard=False)
    try:
        results["ray"] = ray.__version__
        if "throughput" in parts:
            results["throughput"] = bench_throughput(40 if args.quick else 150, 64, (1, 2, 4), work)
        if "latency" in parts:
            n, median = (20, 0.2) if args.quick else (60, 0.5)
            results["latency"] = bench_latency(n, 64, median, 0.6, work)
    finally:
        ray.shutdown()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    results["load_average_at_end"] = os.getloadavg()
    results["worker_niceness"] = args.worker_niceness
    print_report(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
