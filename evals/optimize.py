"""Prompt optimization of ButtonProgram (or one stage's predictor) with DSPy optimizers.

- `bootstrap`: `dspy.BootstrapFewShot`: runs train seeds until `demos` of them pass the metric
  (combined score ≥ `metrics.PASS_THRESHOLD`) and keeps each stage's traced input/output as a demo.
- `mipro`: `dspy.MIPROv2` with `auto=None`, `num_candidates` and `num_trials` from the settings:
  bootstraps demo sets, has the prompt model propose instructions, searches with optuna (TPE).
- `gepa`: `dspy.GEPA` with the feedback metric (`metrics.combined_with_feedback`), a reflection LM and
  a `max_metric_calls` budget: reflects on traced failures and rewrites instructions.

Labeled demos are off (`max_labeled_demos=0`): a raw seed is not a demo of any stage. The optimizers
see only the train split; MIPROv2 and GEPA use its second half as their own validation set, and the
dev split is kept for the before/after comparison. With `stage`, every other stage is frozen for the
run (DSPy skips sub-modules marked `_compiled`), so only that stage's predictor changes.

LM-call estimate (printed before a run, which is refused above a limit): P calls per seed are measured
by running up to three train seeds on the offline demo model (no cost, no network; one call per stage
and turn, no repair retries, so a real model may need up to `max_attempts` × more); then
    before/after on dev: 2 · D · P
    bootstrap:           T · P                           (bound: stops after `demos` passing seeds)
    mipro:               (C − 1) · T₁ · P                bootstrapped demo sets (C candidates, T₁ train half)
                         + (trials + 1) · V · P          trials on the validation half (V seeds)
                         + 10 + 3 · C · K                prompt model: data summary, then per candidate and
                                                         predictor: describe program, module, propose
    gepa:                (M + 2b) · P                    M metric calls (program runs) + the last iteration's
                                                         overshoot, b = reflection minibatch size
                         + ⌈(M − V) / (2b)⌉ + 1          reflection calls (one per iteration, at most)
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import dspy

from toolsynth.demo_model import demo_lm
from toolsynth.demo_optimizer_replies import demo_optimizer_lm
from toolsynth.evals.evaluate import CallCounter
from toolsynth.evals.metrics import combined, combined_with_feedback
from toolsynth.lm import DEMO_MODEL_NAME
from toolsynth.programs.stage import Stage

OPTIMIZERS = ("bootstrap", "mipro", "gepa")
MIPRO_MINIBATCH = 35


@dataclass
class OptimizerSettings:
    """Budgets: `demos` (bootstrap, mipro), `candidates` and `trials` (mipro), `metric_calls` and
    `minibatch` (gepa; `metric_calls` None = validation size + 8 minibatches)."""

    demos: int = 2
    candidates: int = 3
    trials: int = 4
    metric_calls: int | None = None
    minibatch: int = 3
    threads: int = 4
    seed: int = 0

    def gepa_metric_calls(self, n_val: int) -> int:
        return self.metric_calls if self.metric_calls is not None else n_val + 8 * self.minibatch


@dataclass
class Estimate:
    """Estimated LM calls, with one line per term explaining it."""

    calls_per_seed: float
    total: int
    lines: list[str] = field(default_factory=list)

    def explain(self) -> str:
        return "\n".join([f"estimated LM calls: {self.total:,}", *(f"  {line}" for line in self.lines)])


# --------------------------------------------------------------------------- stages


def stage_table(program: dspy.Module) -> dict[str, Stage]:
    """Every accepted `--stage` name → its stage: predictor path with and without `.predict`, the last
    part of the path (`assistant`), and the signature name (`AssistantTurn`)."""
    by_id = {id(s.predict): s for s in program.stages()}
    table: dict[str, Stage] = {}
    for name, predictor in program.named_predictors():
        stage = by_id.get(id(predictor))
        if stage is None:
            continue
        path = name.removesuffix(".predict")
        for key in (name, path, path.rsplit(".", 1)[-1], stage.stage_name):
            table.setdefault(key, stage)
    return table


def stage_names(program: dspy.Module) -> list[str]:
    """The predictor paths accepted by `--stage` (short forms and signature names work too)."""
    return [name.removesuffix(".predict") for name, _ in program.named_predictors()]


def find_stage(program: dspy.Module, name: str) -> Stage:
    table = stage_table(program)
    if name not in table:
        raise ValueError(f"unknown stage {name!r}; one of: {', '.join(stage_names(program))}")
    return table[name]


def unused_stages(program: dspy.Module) -> list[Stage]:
    """Stages this configuration never calls (the sample judge when off, expansion at `expand=0`, a
    composition strategy the `parallel_ratio` excludes): they get no traces, so they are not optimized."""
    unused = []
    if not getattr(program, "judge_samples", True):
        unused.append(program.judge_sample)
    if getattr(program, "expand", 1) == 0:
        unused.append(program.expand_scenario)
    ratio = getattr(program, "parallel_ratio", 0.5)
    if ratio == 0.0:
        unused.append(program.compose_parallel)
    elif ratio == 1.0:
        unused.append(program.compose_sequential)
    return unused


@contextmanager
def focused(program: dspy.Module, stage: str | None) -> Iterator[None]:
    """Freeze the unused stages and, with `stage`, every other one (DSPy skips sub-modules marked
    `_compiled`); undone on exit."""
    unused = unused_stages(program)
    if stage is None:
        frozen = unused
    else:
        chosen = find_stage(program, stage)
        if any(chosen is s for s in unused):
            raise ValueError(f"stage {stage!r} is not used by this program configuration")
        frozen = [s for s in program.stages() if s is not chosen]
    for s in frozen:
        s._compiled = True
    try:
        yield
    finally:
        for s in frozen:
            s.__dict__.pop("_compiled", None)


def unfreeze(program: dspy.Module) -> dspy.Module:
    """Clear `_compiled` marks on a (copied) program's stages, so `save` and `load` see every predictor."""
    for s in program.stages():
        s.__dict__.pop("_compiled", None)
    return program


# --------------------------------------------------------------------------- the estimate


def dry_run_calls(program: dspy.Module, examples: list[dspy.Example], seed: int = 0, n: int = 3) -> float:
    """Mean LM calls per seed, measured on up to `n` examples with the offline demo model for every role."""
    sample = examples[:n]
    if not sample:
        return 0.0
    copy = program.deepcopy()
    copy.use_lms({})
    counter = CallCounter()
    with dspy.context(lm=demo_lm(seed), adapter=dspy.JSONAdapter(), callbacks=[counter]):
        for example in sample:
            copy(**example.inputs())
    return counter.calls / len(sample)


def halves(train: list[dspy.Example]) -> tuple[list[dspy.Example], list[dspy.Example]]:
    """(optimizer train, optimizer validation): the two halves of the train split (both all of it below 2)."""
    if len(train) < 2:
        return train, train
    cut = (len(train) + 1) // 2
    return train[:cut], train[cut:]


def estimate_calls(
    optimizer: str,
    per_seed: float,
    n_train: int,
    n_dev: int,
    n_predictors: int,
    settings: OptimizerSettings,
    max_attempts: int = 1,
) -> Estimate:
    """The LM calls of one `optimize` run (see the module docstring for the terms)."""
    p = per_seed
    t1, v = (math.ceil(n_train / 2), n_train // 2) if n_train >= 2 else (n_train, n_train)
    lines = [
        f"{p:.1f} calls per seed (dry run of up to 3 train seeds on the offline demo model; without repair "
        f"retries, at most x{max_attempts} with them)"
    ]
    total = 2 * n_dev * p
    lines.append(f"before/after on dev: 2 x {n_dev} seeds x {p:.1f} = {2 * n_dev * p:,.0f}")
    if optimizer == "bootstrap":
        total += n_train * p
        lines.append(
            f"bootstrap: <= {n_train} train seeds x {p:.1f} = {n_train * p:,.0f} "
            f"(stops after {settings.demos} passing seeds)"
        )
    elif optimizer == "mipro":
        sets = max(0, settings.candidates - 1)
        boot = sets * t1 * p
        trials = (settings.trials + 1) * v * p
        prompts = 10 + 3 * settings.candidates * n_predictors
        total += boot + trials + prompts
        lines += [
            f"mipro demo sets: {sets} x <= {t1} seeds x {p:.1f} = {boot:,.0f}",
            f"mipro trials: ({settings.trials} + 1 default) x {v} val seeds x {p:.1f} = {trials:,.0f}",
            f"mipro prompt model: <= 10 data summary + 3 x {settings.candidates} candidates x {n_predictors} "
            f"predictors = {prompts}",
        ]
    elif optimizer == "gepa":
        m = settings.gepa_metric_calls(v)
        runs = m + 2 * settings.minibatch  # the last iteration may overshoot the budget by two minibatches
        reflections = math.ceil(max(0, m - v) / (2 * settings.minibatch)) + 1
        total += runs * p + reflections
        lines += [
            f"gepa: ({m} metric calls + {2 * settings.minibatch} overshoot) x {p:.1f} = {runs * p:,.0f}",
            f"gepa reflection: <= {reflections}",
        ]
    else:
        raise ValueError(f"unknown optimizer {optimizer!r}; one of {', '.join(OPTIMIZERS)}")
    return Estimate(p, math.ceil(total), lines)


# --------------------------------------------------------------------------- compile


def compile_program(
    program: dspy.Module,
    optimizer: str,
    train: list[dspy.Example],
    *,
    settings: OptimizerSettings | None = None,
    stage: str | None = None,
    reflection_lm: dspy.LM | None = None,
) -> dspy.Module:
    """A new, optimized copy of `program` (every stage unfrozen, ready to `save`).

    `reflection_lm` is GEPA's reflection LM and MIPROv2's prompt model; by default the configured LM (on
    the offline demo model: `demo_optimizer_lm`, which also answers the optimizers' own prompts).
    """
    settings = settings or OptimizerSettings()
    if not train:
        raise ValueError("the train split is empty")
    if reflection_lm is None and getattr(dspy.settings.lm, "model", None) == DEMO_MODEL_NAME:
        reflection_lm = demo_optimizer_lm(settings.seed)
    opt_train, opt_val = halves(train)
    with focused(program, stage):
        if optimizer == "bootstrap":
            teleprompter = dspy.BootstrapFewShot(
                metric=combined, max_bootstrapped_demos=settings.demos, max_labeled_demos=0, max_rounds=1
            )
            compiled = teleprompter.compile(program, trainset=train)
        elif optimizer == "mipro":
            mipro = dspy.MIPROv2(
                metric=combined,
                prompt_model=reflection_lm,
                auto=None,
                num_candidates=settings.candidates,
                max_bootstrapped_demos=settings.demos,
                max_labeled_demos=0,
                num_threads=settings.threads,
                seed=settings.seed,
                verbose=False,
                track_stats=False,
            )
            compiled = mipro.compile(
                program,
                trainset=opt_train,
                valset=opt_val,
                num_trials=settings.trials,
                minibatch=len(opt_val) > MIPRO_MINIBATCH,
                minibatch_size=min(MIPRO_MINIBATCH, len(opt_val)),
            )
        elif optimizer == "gepa":
            gepa = dspy.GEPA(
                metric=combined_with_feedback,
                reflection_lm=reflection_lm or dspy.settings.lm,
                max_metric_calls=settings.gepa_metric_calls(len(opt_val)),
                reflection_minibatch_size=settings.minibatch,
                num_threads=settings.threads,
                seed=settings.seed,
                track_stats=False,
            )
            compiled = gepa.compile(program, trainset=opt_train, valset=opt_val)
        else:
            raise ValueError(f"unknown optimizer {optimizer!r}; one of {', '.join(OPTIMIZERS)}")
    return unfreeze(compiled)


def program_changes(before: dspy.Module, after: dspy.Module) -> dict[str, dict[str, Any]]:
    """Per predictor: demos before/after and whether the instruction changed."""
    old = dict(before.named_predictors())
    out = {}
    for name, p in after.named_predictors():
        o = old.get(name)
        out[name] = {
            "demos": len(p.demos),
            "demos_before": len(o.demos) if o is not None else 0,
            "instruction_changed": o is not None and p.signature.instructions != o.signature.instructions,
        }
    return out
