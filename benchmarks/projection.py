"""What 1,000,000 samples take: calls, tokens, wall time and machines at given provider rate limits.

    python -m benchmarks.projection                                  # the figures measured in benchmarks/README.md
    python -m benchmarks.projection --cpu-json results.json          # CPU per call from a bench_runner --json file
    python -m benchmarks.projection --calls-per-sample 155 --tokens-per-call 636   # the 1.5B model's run

Arithmetic only, no run: the inputs are measured elsewhere (calls per accepted sample and tokens per call by the
runner benchmark or a real-model run, CPU per call by `bench_runner --only cpu`). A provider's limits cap the call
rate at min(RPM, TPM / tokens per call) per minute; the wall time is the calls over that rate. One runner process
is one event loop, so it does at most 1 / (CPU per call) calls a second on one core; the processes needed are the
call rate times the CPU per call over a target use of each core, and the calls in flight to keep that rate are
the rate times the mean latency (Little's law).
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

TIERS = ((500, 200_000), (5_000, 2_000_000), (30_000, 150_000_000))
"""(requests per minute, tokens per minute): assumed limits, of the order providers publish for a small model at a
new, a mid and a top account tier. Use your own with --tier RPM:TPM."""


@dataclass(frozen=True)
class Projection:
    rpm: int
    tpm: int
    calls: float
    tokens: float
    calls_per_second: float
    bound_by: str
    wall_hours: float
    cpu_hours: float
    in_flight: float
    processes: int
    machines: int


def project(
    samples: int,
    calls_per_sample: float,
    tokens_per_call: float,
    cpu_ms_per_call: float,
    rpm: int,
    tpm: int,
    latency_s: float,
    core_use: float,
    cores_per_machine: int,
) -> Projection:
    calls = samples * calls_per_sample
    tokens = calls * tokens_per_call
    by_requests, by_tokens = rpm / 60, tpm / 60 / tokens_per_call
    rate = min(by_requests, by_tokens)
    processes = max(1, math.ceil(rate * cpu_ms_per_call / 1000 / core_use))
    return Projection(
        rpm=rpm,
        tpm=tpm,
        calls=calls,
        tokens=tokens,
        calls_per_second=rate,
        bound_by="requests" if by_requests <= by_tokens else "tokens",
        wall_hours=calls / rate / 3600,
        cpu_hours=calls * cpu_ms_per_call / 1000 / 3600,
        in_flight=rate * latency_s,
        processes=processes,
        machines=math.ceil(processes / cores_per_machine),
    )


def _tier(text: str) -> tuple[int, int]:
    rpm, _, tpm = text.partition(":")
    return int(rpm.replace(",", "")), int(tpm.replace(",", ""))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.projection", description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=1_000_000)
    parser.add_argument(
        "--calls-per-sample", type=float, default=11.8, help="LM calls per accepted sample (demo pipeline: 11.8)"
    )
    parser.add_argument(
        "--tokens-per-call", type=float, default=741, help="prompt + completion tokens per call (demo prompts: 741)"
    )
    parser.add_argument("--cpu-ms", type=float, default=4.2, help="the runner's CPU per LM call, ms")
    parser.add_argument("--cpu-json", type=Path, help="take the CPU per call from a bench_runner --json file")
    parser.add_argument("--latency", type=float, default=2.0, help="mean seconds per call at the provider")
    parser.add_argument("--core-use", type=float, default=0.7, help="share of a core each runner process may use")
    parser.add_argument("--cores", type=int, default=8, help="cores per machine (one runner process per core)")
    parser.add_argument("--tier", type=_tier, action="append", help="RPM:TPM (repeatable; default: three tiers)")
    args = parser.parse_args(argv)
    cpu_ms = args.cpu_ms
    if args.cpu_json is not None:
        cpu_ms = json.loads(args.cpu_json.read_text(encoding="utf-8"))["cpu"]["ours"]["cpu_ms_per_call"]
    print(
        f"{args.samples:,} samples x {args.calls_per_sample} calls x {args.tokens_per_call:.0f} tokens; "
        f"{cpu_ms:.2f} ms CPU per call; {args.latency} s per call; {args.cores} cores per machine, "
        f"each runner process at most {args.core_use:.0%} of a core"
    )
    print(
        "| limits (RPM / TPM) | calls | tokens | calls/s (bound by) | wall time | CPU | in flight | processes "
        "| machines |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for rpm, tpm in args.tier or TIERS:
        p = project(
            args.samples, args.calls_per_sample, args.tokens_per_call, cpu_ms, rpm, tpm, args.latency,
            args.core_use, args.cores,
        )  # fmt: skip
        wall = f"{p.wall_hours:,.1f} h" if p.wall_hours < 48 else f"{p.wall_hours / 24:,.1f} days"
        print(
            f"| {rpm:,} / {tpm:,} | {p.calls / 1e6:,.1f} M | {p.tokens / 1e9:,.2f} B | {p.calls_per_second:,.1f} "
            f"({p.bound_by}) | {wall} | {p.cpu_hours:,.1f} core-h | {p.in_flight:,.0f} | {p.processes} | {p.machines} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
