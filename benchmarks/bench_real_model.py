"""Benchmark against a real model behind an OpenAI-compatible server: what a run accepts, and what it costs.

    ../shared/tools/local-model.sh start        # Qwen2.5-Coder-1.5B-Instruct behind llama-cpp-python, port 8089
    python -m benchmarks.bench_real_model --api-base http://127.0.0.1:8089/v1 --model openai/qwen2.5-coder-1.5b \
        --seeds examples/seeds.jsonl --out /tmp/bench-real --server-log ~/.cache/toolsynth-local-model/server.log

It runs `toolsynth synth` as a user would (default settings, `--concurrency 1`, `--no-cache`), then reports:
seeds with an accepted sample, acceptance, calls and tokens per accepted sample, unreadable replies, each
stage's first-try pass rate, repair success rate and rejection codes, `toolsynth validate` errors in the
accepted samples, and, given the server's access log, whether the manifest's calls equal the requests the
server received. `--json FILE` keeps the figures. A run resumes if interrupted (same --out).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CHAT_REQUEST_MARK = '"POST /v1/chat/completions HTTP/1.1"'


def server_requests(log: Path | None) -> int | None:
    if log is None or not log.exists():
        return None
    return log.read_text(encoding="utf-8", errors="replace").count(CHAT_REQUEST_MARK)


def run_synth(args: argparse.Namespace) -> tuple[int, float]:
    command = [
        sys.executable, "-m", "toolsynth.cli", "synth", str(args.seeds), "-o", str(args.out),
        "--model", args.model, "--api-base", args.api_base, "--concurrency", "1", "--no-cache",
        *(["--limit", str(args.limit)] if args.limit else []), *args.extra,
    ]  # fmt: skip
    env = {**os.environ, "OPENAI_API_KEY": os.environ.get("OPENAI_API_KEY", "local")}
    started = time.monotonic()
    code = subprocess.call(command, cwd=ROOT, env=env)
    return code, time.monotonic() - started


def validate_errors(samples: Path) -> int:
    if not samples.exists() or not samples.read_text(encoding="utf-8").strip():
        return 0
    done = subprocess.run(
        [sys.executable, "-m", "toolsynth.cli", "validate", str(samples), "--json"],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    rows = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    return sum(1 for row in rows for f in row.get("findings", []) if f.get("severity") == "error")


def report(out: Path, wall: float, requests: int | None) -> dict[str, Any]:
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    counts, usage = manifest["counts"], manifest["usage"]["total"]
    accepted = counts["accepted"]
    stages = manifest.get("stages", {})
    return {
        "seeds": counts["inputs"],
        "seeds_with_samples": counts["seeds_with_samples"],
        "accepted": accepted,
        "rejected": counts["rejected"],
        "acceptance": round(accepted / max(1, accepted + counts["rejected"]), 3),
        "calls": usage["calls"],
        "tokens": usage["total_tokens"],
        "calls_per_accepted": round(usage["calls"] / accepted, 1) if accepted else None,
        "tokens_per_accepted": round(usage["total_tokens"] / accepted) if accepted else None,
        "unreadable_replies": sum(s.get("unreadable_replies", 0) for s in stages.values()),
        "output_unparseable_rejections": counts["rejected_by_code"].get("output_unparseable", 0),
        "rejected_by_code": counts["rejected_by_code"],
        "validate_errors_in_accepted": validate_errors(out / "samples.jsonl"),
        "server_requests": requests,
        "manifest_calls_equal_server_requests": None if requests is None else requests == usage["calls"],
        "wall_seconds": round(wall, 1),
        "stages": {
            name: {k: s[k] for k in ("runs", "first_try_pass_rate", "repair_success_rate", "unreadable_replies")}
            | {"attempt_codes": s["attempt_codes"], "reply_repairs": s["reply_repairs"]}
            for name, s in stages.items()
        },
    }


def print_report(figures: dict[str, Any]) -> None:
    print(
        f"seeds {figures['seeds']} (with an accepted sample: {figures['seeds_with_samples']})  "
        f"accepted {figures['accepted']}  rejected {figures['rejected']}  acceptance {figures['acceptance']}"
    )
    print(
        f"calls {figures['calls']}  tokens {figures['tokens']}  per accepted sample: "
        f"{figures['calls_per_accepted']} calls, {figures['tokens_per_accepted']} tokens  "
        f"wall {figures['wall_seconds']} s"
    )
    print(
        f"unreadable replies {figures['unreadable_replies']}  output_unparseable rejections "
        f"{figures['output_unparseable_rejections']}  "
        f"validate errors in accepted {figures['validate_errors_in_accepted']}"
        f"  server requests {figures['server_requests']} (equal to the manifest: "
        f"{figures['manifest_calls_equal_server_requests']})"
    )
    print(f"rejections by code: {figures['rejected_by_code']}")
    print(f"{'stage':32} {'runs':>5} {'first try':>10} {'repaired':>9} {'unreadable':>11}  failing codes")
    for name, s in figures["stages"].items():
        first = "-" if s["first_try_pass_rate"] is None else f"{s['first_try_pass_rate']:.2f}"
        repair = "-" if s["repair_success_rate"] is None else f"{s['repair_success_rate']:.2f}"
        print(f"{name:32} {s['runs']:>5} {first:>10} {repair:>9} {s['unreadable_replies']:>11}  {s['attempt_codes']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--api-base", required=True)
    parser.add_argument("--model", default="openai/qwen2.5-coder-1.5b")
    parser.add_argument("--seeds", type=Path, default=ROOT / "examples" / "seeds.jsonl")
    parser.add_argument("--limit", type=int)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--server-log", type=Path, help="the server's access log, to count the requests it received")
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("extra", nargs="*", help="more `toolsynth synth` options, after --")
    args = parser.parse_args(argv)
    before = server_requests(args.server_log)
    code, wall = run_synth(args)
    after = server_requests(args.server_log)
    if code != 0:
        print(f"toolsynth synth exited {code}", file=sys.stderr)
        return code
    figures = report(args.out, wall, None if before is None or after is None else after - before)
    print_report(figures)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
