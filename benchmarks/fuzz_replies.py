"""Fuzzing LM replies at scale (issue 10): one bad reply never stops a run.

    .venv/bin/python -m benchmarks.fuzz_replies --json /tmp/fuzz.json   # 500 seeds, 40 % of replies corrupted
    .venv/bin/python -m benchmarks.fuzz_replies --seeds 30              # a quick look

`toolsynth synth` runs in a child process (`--concurrency 16 --no-cache`, the real path `dspy.LM(engine="litellm")`
→ HTTP) against the test server in this process, whose `CorruptingResponder` replaces a seeded share of the demo
model's replies with every kind of corruption (`toolsynth.testing.CORRUPTION_KINDS`). The child is the CLI's own
`main`, plus a watchdog task on the run's event loop that measures how late a 5 ms sleep wakes up: the longest such
delay is the longest time the event loop was blocked (by our code, or by a thread holding the GIL); where the loop
thread was during each block over 100 ms is sampled and reported.

`remote_ref` corruptions put `$ref`/`$schema` URLs into function schemas and other objects; they point at a second
local server that logs every request it gets, so a fetch of one would show there. Reported, with the figure that
must hold in brackets: corrupted replies per kind (>= 5,000 in all, every kind), exit status (0), tracebacks on
stderr (0), seeds lost or duplicated (0), requests other than chat completions (0), hits on the `$ref` server (0),
accepted rows that `toolsynth validate` flags or a strict JSON parser refuses (0), `internal_error` rejections (0: an
exception in a record's steps is caught, but a check that raises instead of reporting is a bug), the longest
event-loop block and the wall time. Exit status 1 when a bracketed figure is missed. Not collected by pytest.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EVALSET = ROOT / "evals" / "data" / "evalset.jsonl"
MODEL = "openai/toolsynth-test"
WATCH_INTERVAL = 0.005
"""Seconds the watchdog sleeps; how much later than this it wakes is how long the loop was blocked."""

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


# --------------------------------------------------------------------------- the child: the CLI, watched


@dataclass
class LoopWatchdog:
    """How late a 5 ms sleep wakes up on the run's event loop, and where the loop thread was when it was late.

    A task on the loop sleeps 5 ms at a time and records how much later it woke; a thread looks every 10 ms and,
    when the task has not woken for `SAMPLE_AFTER` seconds, records the loop thread's stack (what blocked it).
    """

    blocks: list[float] = field(default_factory=list)
    stacks: Counter[str] = field(default_factory=Counter)
    last_tick: float = 0.0
    running: bool = False

    async def watch(self) -> None:
        loop = asyncio.get_running_loop()
        self.last_tick = time.monotonic()
        threading.Thread(target=self._sample, args=(threading.get_ident(),), daemon=True).start()
        while True:
            started = loop.time()
            await asyncio.sleep(WATCH_INTERVAL)
            self.blocks.append(loop.time() - started - WATCH_INTERVAL)
            self.last_tick = time.monotonic()

    def _sample(self, loop_thread: int) -> None:
        sampled_tick = -1.0
        while self.running:
            time.sleep(0.01)
            tick = self.last_tick
            if tick != sampled_tick and time.monotonic() - tick > SAMPLE_AFTER:
                frame = sys._current_frames().get(loop_thread)
                if frame is not None:
                    self.stacks[_where(frame)] += 1
                sampled_tick = tick

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.blocks)
        return {
            "samples": len(ordered),
            "max_seconds": round(ordered[-1], 4) if ordered else None,
            "p99_seconds": round(ordered[int(0.99 * (len(ordered) - 1))], 4) if ordered else None,
            "over_100ms": sum(b > 0.1 for b in ordered),
            "over_50ms": sum(b > 0.05 for b in ordered),
            "blocked_at": dict(self.stacks.most_common(8)),
        }


SAMPLE_AFTER = 0.1
"""Seconds without a watchdog wake-up after which the loop thread's stack is recorded."""


def _where(frame: FrameType) -> str:
    """The innermost frames of a stack, as `file:line function`, innermost last."""
    lines = [f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in traceback.extract_stack(frame)]
    return " < ".join(reversed(lines[-6:]))


def run_child(report: Path, cli_args: list[str]) -> int:
    """`toolsynth.cli.main(cli_args)` with the watchdog on the run's event loop; writes its figures to `report`."""
    from toolsynth import runner
    from toolsynth.cli import main

    watchdog = LoopWatchdog()
    run_all = runner._run_all

    async def watched(*args: Any, **kwargs: Any) -> None:
        watchdog.running = True
        task = asyncio.create_task(watchdog.watch())
        try:
            await run_all(*args, **kwargs)
        finally:
            watchdog.running = False
            task.cancel()

    runner._run_all = watched
    try:
        return main(cli_args)
    finally:
        report.write_text(json.dumps(watchdog.summary()), encoding="utf-8")


# --------------------------------------------------------------------------- seeds and checks


def write_seeds(path: Path, count: int) -> list[str]:
    """`count` glaive-format seeds: the eval set's chats in turn (English and Chinese), each with its own closing
    line so that no two are the same."""
    records = [json.loads(line) for line in EVALSET.read_text(encoding="utf-8").splitlines() if line.strip()]
    chats = [r for r in records if "chat" in r]
    ids = [f"fuzz-{i:04d}" for i in range(count)]
    rows = []
    for i, sid in enumerate(ids):
        base = chats[i % len(chats)]
        chat = f"{base['chat']}\n\nUSER: Thanks, that was request number {i + 1}."
        rows.append({"id": sid, "system": base.get("system", ""), "chat": chat, "language": base["language"]})
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return ids


def strict_loads(text: str) -> Any:
    """JSON as `JSON.parse` reads it: `NaN`, `Infinity` and `-Infinity` refused."""

    def refuse(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    return json.loads(text, parse_constant=refuse)


def strict_rows(path: Path) -> tuple[list[dict[str, Any]], int]:
    """The rows of a jsonl file a strict parser reads, and how many lines it refuses."""
    rows, refused = [], 0
    for line in path.read_text(encoding="utf-8").splitlines() if path.exists() else []:
        try:
            rows.append(strict_loads(line))
        except ValueError:
            refused += 1
    return rows, refused


def conservation(out: Path, ids: list[str]) -> dict[str, int]:
    """Seeds missing from both files, unknown seeds, and rows written twice."""
    samples, _ = strict_rows(out / "samples.jsonl")
    rejected, _ = strict_rows(out / "rejected.jsonl")
    seen = {r.get("source_id") for r in samples + rejected}
    twice = sum(n - 1 for n in Counter(r.get("id") for r in samples).values() if n > 1)
    twice += sum(n - 1 for n in Counter(r.get("id") for r in rejected).values() if n > 1)
    return {"lost": len(set(ids) - seen), "unknown": len(seen - set(ids)), "duplicated": twice}


def validate_flags(samples: Path) -> int:
    """Accepted rows with an error finding, per `toolsynth validate --json`."""
    done = subprocess.run(
        [sys.executable, "-m", "toolsynth.cli", "validate", str(samples), "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    rows = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    return sum(any(f["severity"] == "error" for f in row["findings"]) for row in rows)


# --------------------------------------------------------------------------- the run


@dataclass(frozen=True)
class Options:
    seeds: int
    rate: float
    seed: int
    concurrency: int


def fuzz(options: Options, work: Path) -> dict[str, Any]:
    from toolsynth.testing import CORRUPTION_KINDS, CorruptingResponder, OpenAICompatibleServer
    from toolsynth.testing.server import CHAT_PATHS

    seeds, out, loop_report, stderr_path = work / "seeds.jsonl", work / "out", work / "loop.json", work / "stderr.log"
    ids = write_seeds(seeds, options.seeds)
    with OpenAICompatibleServer() as ref_server:
        ref_url = f"{ref_server.base_url}/schemas/remote.json"
        corrupting = CorruptingResponder(options.rate, options.seed, ref_url=ref_url)
        with OpenAICompatibleServer(responder=corrupting, seed=options.seed) as server:
            cli = ["synth", str(seeds), "-o", str(out), "--quiet", "--no-cache", "--model", MODEL]
            cli += ["--api-base", server.url, "--concurrency", str(options.concurrency)]
            started = time.monotonic()
            with stderr_path.open("w", encoding="utf-8") as stderr:
                child = subprocess.run(
                    [sys.executable, "-m", "benchmarks.fuzz_replies", "--child", str(loop_report), "--", *cli],
                    cwd=ROOT,
                    env={**os.environ, "OPENAI_API_KEY": "local-test-key"},
                    stdout=subprocess.DEVNULL,
                    stderr=stderr,
                    check=False,
                )
            wall = time.monotonic() - started
        requests = server.requests
        ref_hits = len(ref_server.requests)
    stderr_text = stderr_path.read_text(encoding="utf-8", errors="replace")
    samples, refused_samples = strict_rows(out / "samples.jsonl")
    rejections, refused_rejections = strict_rows(out / "rejected.jsonl")
    manifest = strict_loads((out / "manifest.json").read_text(encoding="utf-8"))
    sent = corrupting.sent
    return {
        "seeds": options.seeds,
        "rate": options.rate,
        "seed": options.seed,
        "concurrency": options.concurrency,
        "exit_status": child.returncode,
        "wall_seconds": round(wall, 1),
        "chat_requests": sum(r.method == "POST" and r.path in CHAT_PATHS for r in requests),
        "replies": corrupting.replies,
        "corrupted": sum(sent.values()),
        "corrupted_by_kind": {kind: sent.get(kind, 0) for kind in CORRUPTION_KINDS},
        "corrupted_by_variant": dict(sorted(corrupting.variants.items())),
        "tracebacks": stderr_text.count("Traceback (most recent call last)"),
        "stderr_lines": stderr_text.splitlines()[:20],
        **conservation(out, ids),
        "other_requests": sum(not (r.method == "POST" and r.path in CHAT_PATHS) for r in requests),
        "ref_server_hits": ref_hits,
        "accepted": len(samples),
        "rejected": manifest["counts"]["rejected"],
        "rejected_by_code": manifest["counts"]["rejected_by_code"],
        "internal_errors": [r["message"] for r in rejections if "internal_error" in r["codes"]][:10],
        "accepted_flagged_by_validate": validate_flags(out / "samples.jsonl"),
        "lines_refused_by_strict_json": refused_samples + refused_rejections,
        "accepted_rows_holding_the_remote_ref": sum(ref_url in json.dumps(row) for row in samples),
        "manifest_calls": manifest["usage"]["total"]["calls"],
        "event_loop": json.loads(loop_report.read_text(encoding="utf-8")) if loop_report.exists() else {},
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
    }


def misses(report: dict[str, Any]) -> list[str]:
    """The figures that must hold and do not."""
    zero = ["tracebacks", "lost", "unknown", "duplicated", "other_requests", "ref_server_hits"]
    zero += ["accepted_flagged_by_validate", "lines_refused_by_strict_json", "exit_status"]
    found = [f"{name} = {report[name]}" for name in zero if report[name] != 0]
    if report["internal_errors"]:
        found.append(f"internal_error rejections: {report['internal_errors']}")
    if report["corrupted"] < 5_000:
        found.append(f"corrupted = {report['corrupted']} < 5,000")
    if report["seeds"] < 200:
        found.append(f"seeds = {report['seeds']} < 200")
    found += [f"no {kind} reply" for kind, n in report["corrupted_by_kind"].items() if n == 0]
    if report["manifest_calls"] != report["chat_requests"]:
        found.append(f"manifest calls {report['manifest_calls']} != chat requests {report['chat_requests']}")
    return found


def show(report: dict[str, Any]) -> None:
    loop = report["event_loop"]
    print(f"seeds {report['seeds']}, rate {report['rate']}, seed {report['seed']}, concurrency {report['concurrency']}")
    print(f"chat requests {report['chat_requests']}, corrupted replies {report['corrupted']}:")
    for kind, n in report["corrupted_by_kind"].items():
        print(f"  {kind:<18} {n:>6}")
    print(f"exit status {report['exit_status']}, tracebacks {report['tracebacks']}")
    print(f"seeds lost {report['lost']}, unknown {report['unknown']}, rows duplicated {report['duplicated']}")
    print(f"requests other than chat {report['other_requests']}, $ref server hits {report['ref_server_hits']}")
    print(f"accepted {report['accepted']}, rejected {report['rejected']}")
    print(f"accepted rows flagged by validate {report['accepted_flagged_by_validate']}")
    print(f"lines refused by a strict JSON parser {report['lines_refused_by_strict_json']}")
    print(
        f"event loop: longest block {loop.get('max_seconds')} s, p99 {loop.get('p99_seconds')} s, "
        f"blocks > 100 ms {loop.get('over_100ms')}, > 50 ms {loop.get('over_50ms')} ({loop.get('samples')} samples)"
    )
    for where, n in loop.get("blocked_at", {}).items():
        print(f"  blocked {n}x at {where}")
    print(f"wall {report['wall_seconds']} s; manifest calls {report['manifest_calls']}")
    print(f"rejected by code: {report['rejected_by_code']}")
    for message in report["internal_errors"]:
        print(f"  internal_error: {message}")
    missed = misses(report)
    print("all figures hold" if not missed else "MISSED: " + "; ".join(missed))


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["--child"]:
        return run_child(Path(args[1]), args[3:])
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fuzz_replies", description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=500)
    parser.add_argument("--rate", type=float, default=0.4, help="share of replies corrupted")
    parser.add_argument("--seed", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--json", type=Path, help="also write the report here")
    parsed = parser.parse_args(args)
    options = Options(parsed.seeds, parsed.rate, parsed.seed, parsed.concurrency)
    with tempfile.TemporaryDirectory(prefix="toolsynth-fuzz-") as work:
        report = fuzz(options, Path(work))
    show(report)
    if parsed.json is not None:
        parsed.json.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 1 if misses(report) else 0


if __name__ == "__main__":
    raise SystemExit(main())
