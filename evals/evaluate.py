"""Run a program over eval examples and report scores, diversity and the worst seeds with feedback.

`evaluate_program` runs `dspy.Evaluate` (threads) with the combined metric, then assesses every
prediction (`metrics.assess`) for the per-metric means, per-seed details and the diversity of all
samples. Every figure is a mean over seeds; a seed whose program raised scores 0.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import dspy
from dspy.utils.callback import BaseCallback

from toolsynth.evals.diversity import diversity
from toolsynth.evals.metrics import WEIGHTS, Assessment, assess, combined, sample_rows
from toolsynth.execution import METER_SETTING, UsageMeter

SCORE_KEYS = ("completeness", "consistency", "acceptance", "score")


class CallCounter(BaseCallback):
    """Counts LM calls (a DSPy callback; thread-safe): `with dspy.context(callbacks=[counter]): ...`."""

    def __init__(self) -> None:
        self.calls = 0
        self._lock = threading.Lock()

    def on_lm_start(self, call_id: str, instance: Any, inputs: dict[str, Any]) -> None:
        with self._lock:
            self.calls += 1


@dataclass
class SeedResult:
    """One seed's prediction and its assessment."""

    example: dspy.Example
    prediction: Any
    assessment: Assessment
    lm_judge: float | None = None

    def to_json(self) -> dict[str, Any]:
        a = self.assessment
        out: dict[str, Any] = {
            "source_id": self.example.get("source_id"),
            "domain": self.example.get("domain"),
            "split": self.example.get("split"),
            **{k: round(getattr(a, k), 4) for k in SCORE_KEYS},
            "samples": [s.to_json() for s in a.samples],
            "rejections": [{k: r.get(k) for k in ("id", "stage", "codes", "message")} for r in a.rejections],
            "feedback": a.feedback(),
        }
        if self.lm_judge is not None:
            out["lm_judge"] = round(self.lm_judge, 4)
        return out


@dataclass
class EvalReport:
    """Means over seeds, diversity of all samples, per-seed details."""

    seeds: list[SeedResult]
    lm_calls: int = 0
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)
    stages: dict[str, Any] = field(default_factory=dict)
    """Per stage: first-try pass rate, repair success rate, rejections and the codes that failed attempts."""

    @property
    def n(self) -> int:
        return len(self.seeds)

    def mean(self, key: str) -> float:
        return sum(getattr(s.assessment, key) for s in self.seeds) / self.n if self.seeds else 0.0

    def lm_judge(self) -> float | None:
        judged = [s.lm_judge for s in self.seeds if s.lm_judge is not None]
        return sum(judged) / len(judged) if judged else None

    def rows(self) -> list[dict[str, Any]]:
        return [row for s in self.seeds for row in sample_rows(s.prediction)]

    def summary(self) -> dict[str, Any]:
        """The headline figures (no per-seed details)."""
        rejections = [r for s in self.seeds for r in s.assessment.rejections]
        out: dict[str, Any] = {"n": self.n, **{k: round(self.mean(k), 4) for k in SCORE_KEYS}}
        if self.lm_judge() is not None:
            out["lm_judge"] = round(self.lm_judge() or 0.0, 4)
        by_behaviour: dict[str, list[float]] = {}
        for seed in self.seeds:
            for score in seed.assessment.samples:
                by_behaviour.setdefault(score.behaviour, []).append(score.completeness)
        out.update(
            completeness_by_behaviour={
                b: {"samples": len(v), "completeness": round(sum(v) / len(v), 4)}
                for b, v in sorted(by_behaviour.items())
            },
            samples=sum(len(s.assessment.samples) for s in self.seeds),
            rejections=len(rejections),
            seeds_without_samples=sum(not s.assessment.samples for s in self.seeds),
            rejection_stages=dict(Counter(str(r.get("stage")) for r in rejections).most_common()),
            rejection_codes=dict(Counter(c for r in rejections for c in r.get("codes") or []).most_common()),
            weights=dict(WEIGHTS),
            lm_calls=self.lm_calls,
            seconds=round(self.seconds, 2),
            stages=self.stages,
        )
        return out

    def to_json(self) -> dict[str, Any]:
        """`eval.json`: the summary, diversity, run facts and per-seed details."""
        return {
            **self.summary(),
            "diversity": diversity(self.rows()),
            **self.extra,
            "seeds": [s.to_json() for s in self.seeds],
        }

    def worst(self, k: int = 5) -> list[SeedResult]:
        return sorted(self.seeds, key=lambda s: (s.assessment.score, str(s.example.get("source_id"))))[:k]


def evaluate_program(
    program: dspy.Module,
    examples: list[dspy.Example],
    *,
    num_threads: int = 8,
    lm_judge: Any = None,
    display_progress: bool = False,
) -> EvalReport:
    """Run `program` on `examples` with `dspy.Evaluate` and assess every prediction.

    `lm_judge` is an optional extra metric (`metrics.lm_judge_metric(lm)`), reported beside the scores.
    """
    if not examples:
        return EvalReport([])
    counter = CallCounter()
    meter = UsageMeter()
    started = time.monotonic()
    callbacks = [*dspy.settings.get("callbacks", []), counter]
    with dspy.context(callbacks=callbacks, **{METER_SETTING: meter}):
        evaluator = dspy.Evaluate(
            devset=examples,
            metric=combined,
            num_threads=num_threads,
            display_progress=display_progress,
            display_table=False,
            max_errors=len(examples) + 1,
            provide_traceback=False,
        )
        result = evaluator(program)
        seeds = []
        for example, prediction, _ in result.results:
            judged = float(lm_judge(example, prediction)) if lm_judge is not None else None
            seeds.append(SeedResult(example, prediction, assess(prediction), judged))
    return EvalReport(seeds, lm_calls=counter.calls, seconds=time.monotonic() - started, stages=meter.outcomes_json())


def format_scores(report: EvalReport) -> str:
    s = report.summary()
    lines = [
        f"seeds {s['n']}  samples {s['samples']}  rejections {s['rejections']}  "
        f"seeds without samples {s['seeds_without_samples']}  LM calls {s['lm_calls']}  {s['seconds']} s"
    ]
    for key in SCORE_KEYS + (("lm_judge",) if "lm_judge" in s else ()):
        weight = WEIGHTS.get(key)
        note = f"  (weight {weight})" if weight is not None else "  (combined)" if key == "score" else ""
        lines.append(f"  {key:<13} {s[key]:.3f}{note}")
    if s["completeness_by_behaviour"]:
        lines.append(
            "  completeness by behaviour: "
            + ", ".join(
                f"{b} {v['completeness']:.3f} ({v['samples']})" for b, v in s["completeness_by_behaviour"].items()
            )
        )
    if s["rejection_stages"]:
        lines.append("  rejections by stage: " + ", ".join(f"{k} {v}" for k, v in s["rejection_stages"].items()))
    return "\n".join(lines)


def format_stages(stages: dict[str, Any]) -> str:
    """Where the model fails: each stage's first-try pass rate, repair success rate and failing codes."""
    if not stages:
        return "  no stage ran"
    lines = [f"  {'stage':30} {'runs':>5} {'first try':>10} {'repaired':>9} {'rejected':>9}  failing codes"]
    for name, s in stages.items():
        first = "-" if s["first_try_pass_rate"] is None else f"{s['first_try_pass_rate']:.2f}"
        repaired = "-" if s["repair_success_rate"] is None else f"{s['repair_success_rate']:.2f}"
        codes = ", ".join(f"{code} {n}" for code, n in sorted(s["attempt_codes"].items(), key=lambda kv: -kv[1])[:4])
        lines.append(f"  {name:30} {s['runs']:>5} {first:>10} {repaired:>9} {s['rejected']:>9}  {codes or '-'}")
    return "\n".join(lines)


def format_diversity(figures: dict[str, Any]) -> str:
    dn = figures["distinct_n"]
    strategies = ", ".join(f"{k} {v} ({figures['strategy_shares'][k]:.0%})" for k, v in figures["strategies"].items())
    return "\n".join(
        [
            f"  distinct scenarios       {figures['distinct_scenarios']} ({figures['distinct_scenarios_ratio']:.0%} "
            f"of samples); composite tasks {figures['distinct_composite_tasks']}",
            f"  distinct function names  {figures['distinct_functions']} "
            f"({figures['distinct_functions_ratio']:.0%} of declarations)",
            f"  distinct-1/2/3 (user)    {dn['distinct_1']:.3f} / {dn['distinct_2']:.3f} / {dn['distinct_3']:.3f}",
            f"  strategies               {strategies or 'none'}",
        ]
    )


def format_worst(report: EvalReport, k: int = 5, lines_per_seed: int = 6) -> str:
    out = []
    flawed = [s for s in report.worst(k) if s.assessment.score < 1.0 or s.assessment.faults]
    if not flawed:
        return "  none: every seed scored 1.00 and no problem was found"
    for seed in flawed:
        feedback = seed.assessment.feedback(limit=lines_per_seed).splitlines()
        out.append(f"  [{seed.example.get('source_id')}] " + feedback[0])
        out += [f"      {line}" for line in feedback[1:]]
    return "\n".join(out)


def format_report(report: EvalReport, worst: int = 5) -> str:
    """Scores, diversity and the worst seeds with their feedback, as printed by `toolsynth eval`."""
    return "\n".join(
        [
            "scores (mean over seeds)",
            format_scores(report),
            "diversity (reported, not optimized)",
            format_diversity(diversity(report.rows())),
            "stages (pass rates: where the model fails)",
            format_stages(report.stages),
            f"worst seeds (up to {worst}) with their feedback",
            format_worst(report, worst),
        ]
    )
