"""`toolsynth eval` and `toolsynth optimize`: argparse parsers and runners (wired in `toolsynth.cli`).

    toolsynth eval [INPUT] [--split dev|train|all] [--limit N] -o OUTDIR [--program P] [--model M] ...
    toolsynth optimize --optimizer {bootstrap,mipro,gepa} -o PROGRAM.json [--model M] [--reflection-model M]
                       [--stage NAME] [--max-calls N] [--train-limit N] [--dev-limit N] ...

Exit codes: 0 done; 1 the optimizer stopped on an LM error; 2 usage error, unreadable input, or an
estimate above `--max-calls`.
"""

from __future__ import annotations

import argparse
import io
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from pathlib import Path
from typing import Any

from toolsynth.redact import redact
from toolsynth.store import write_json_atomic

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
DEFAULT_MAX_CALLS = 5000


def _cli() -> Any:
    from toolsynth import cli

    return cli


def add_eval_parser(subparsers: Any) -> argparse.ArgumentParser:
    """The `eval` subcommand."""
    cli = _cli()
    p = subparsers.add_parser(
        "eval",
        help="score a program on the eval set (or a seeds file)",
        description="Run the program on eval seeds; print and write scores, diversity "
        "and the worst seeds with feedback (OUTDIR/eval.json).",
    )
    p.add_argument(
        "input",
        type=Path,
        nargs="?",
        help="seeds .jsonl/.json (default: the shipped eval set); records without 'split' are dev",
    )
    p.add_argument("-o", "--output", type=Path, required=True, help="output directory (eval.json)")
    p.add_argument("--split", choices=["dev", "train", "all"], default="dev")
    p.add_argument("--limit", type=int, help="only the first N seeds of the split")
    p.add_argument("--threads", type=int, default=8, help="seeds run in parallel")
    p.add_argument("--worst", type=int, default=5, help="how many of the worst seeds to print")
    p.add_argument(
        "--lm-judge",
        action="store_true",
        help="also score each sample with an LM judge (the judge role's model; one call per sample)",
    )
    cli._add_model_options(p)
    cli._add_program_options(p)
    p.set_defaults(func=run_eval)
    return p


def add_optimize_parser(subparsers: Any) -> argparse.ArgumentParser:
    """The `optimize` subcommand."""
    from toolsynth.evals.optimize import OPTIMIZERS

    cli = _cli()
    p = subparsers.add_parser(
        "optimize",
        help="optimize the program's prompts/demos (DSPy optimizers)",
        description="Compile the program on the train split, compare before/after on the "
        "dev split and save the optimized program (load it with --program).",
    )
    p.add_argument("--optimizer", choices=OPTIMIZERS, required=True)
    p.add_argument("-o", "--output", type=Path, required=True, help="where to save the program (.json)")
    p.add_argument("--evalset", type=Path, help="seeds with a 'split' field (default: the shipped eval set)")
    p.add_argument("--stage", help="optimize only this stage's predictor, e.g. conversation.assistant")
    p.add_argument("--reflection-model", help="GEPA's reflection LM and MIPROv2's prompt model (default: --model)")
    p.add_argument("--reflection-api-base", help="base URL for --reflection-model")
    p.add_argument(
        "--max-calls",
        type=int,
        default=DEFAULT_MAX_CALLS,
        help=f"refuse to start when the estimated LM calls exceed this (default {DEFAULT_MAX_CALLS})",
    )
    p.add_argument("--estimate-only", action="store_true", help="print the estimate and stop")
    p.add_argument("--train-limit", type=int, help="only the first N train seeds")
    p.add_argument("--dev-limit", type=int, help="only the first N dev seeds")
    p.add_argument("--demos", type=int, default=2, help="bootstrapped demos per predictor (bootstrap, mipro)")
    p.add_argument("--candidates", type=int, default=3, help="MIPROv2 instruction/demo candidates")
    p.add_argument("--trials", type=int, default=4, help="MIPROv2 trials")
    p.add_argument(
        "--metric-calls", type=int, help="GEPA budget: program runs scored (default: validation seeds + 8 minibatches)"
    )
    p.add_argument("--threads", type=int, default=4)
    p.add_argument("--verbose", action="store_true", help="show the optimizers' own INFO logs")
    cli._add_model_options(p)
    cli._add_program_options(p)
    p.set_defaults(func=run_optimize)
    return p


def _setup(args: argparse.Namespace) -> tuple[Any, dict[str, Any], Any]:
    """(model config, role LMs, program) as `synth` builds them; run inside `_lm_context(lms)`."""
    cli = _cli()
    config = cli.model_config(args)
    lms = config.build()
    program = cli.build_program(args, lms)
    if config.is_demo:
        print(
            "toolsynth: running on the offline demo model (no --model): scores are of demo data and show "
            "nothing about a real model.",
            file=sys.stderr,
        )
    return config, lms, program


def _lm_context(lms: dict[str, Any]) -> Any:
    import dspy

    return dspy.context(lm=lms["generator"], adapter=dspy.JSONAdapter())


def run_eval(args: argparse.Namespace) -> int:
    """`toolsynth eval`: scores, diversity and worst seeds printed; `OUTDIR/eval.json` written."""
    from toolsynth.evals.dataset import load_examples
    from toolsynth.evals.evaluate import evaluate_program, format_report
    from toolsynth.evals.metrics import lm_judge_metric
    from toolsynth.readers import SeedError

    try:
        examples = load_examples(args.input, split=args.split, limit=args.limit)
    except (SeedError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if not examples:
        print(f"error: no seeds in the {args.split} split of {args.input or 'the eval set'}", file=sys.stderr)
        return EXIT_USAGE
    try:
        config, lms, program = _setup(args)
    except (OSError, ValueError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    judge = lm_judge_metric(lms["judge"]) if args.lm_judge else None
    with _quiet(True), _lm_context(lms):
        report = evaluate_program(program, examples, num_threads=args.threads, lm_judge=judge)
    report.extra = {
        "input": str(args.input) if args.input else "toolsynth.evals/data/evalset.jsonl",
        "split": args.split,
        "program": str(args.program) if args.program else None,
        "models": config.describe(),
        "program_config": program.config(),
    }
    args.output.mkdir(parents=True, exist_ok=True)
    path = args.output / "eval.json"
    write_json_atomic(path, report.to_json())
    print(format_report(report, worst=args.worst))
    print(f"wrote {path}")
    return EXIT_OK


def _reflection_lm(args: argparse.Namespace, lms: dict[str, Any]) -> Any:
    if not args.reflection_model:
        return None  # the configured LM (the demo model answers the optimizers' prompts too)
    from toolsynth.lm import ModelConfig

    config = ModelConfig(model=args.reflection_model, api_base=args.reflection_api_base, timeout=args.timeout)
    return config.build()["generator"]


@contextmanager
def _quiet(enabled: bool) -> Iterator[None]:
    """Hush DSPy's INFO logs (every trial), MIPROv2's prints and its warnings about its own extra inputs."""
    levels = {"dspy": logging.WARNING, "dspy.predict.predict": logging.ERROR}
    saved = {name: logging.getLogger(name).level for name in levels}
    if not enabled:
        yield
        return
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)
    try:
        with redirect_stdout(io.StringIO()):
            yield
    finally:
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


def _table(before: dict[str, Any], after: dict[str, Any]) -> str:
    keys = ["completeness", "consistency", "acceptance", "score", "samples", "rejections"]
    lines = [f"{'dev split':<14}{'before':>10}{'after':>10}{'delta':>10}"]
    for k in keys:
        b, a = before[k], after[k]
        fmt = "{:>10.3f}" if isinstance(b, float) else "{:>10}"
        delta = a - b
        lines.append(
            f"{k:<14}"
            + fmt.format(b)
            + fmt.format(a)
            + (f"{delta:>+10.3f}" if isinstance(b, float) else f"{delta:>+10}")
        )
    return "\n".join(lines)


def run_optimize(args: argparse.Namespace) -> int:
    """`toolsynth optimize`: estimate, refuse above `--max-calls`, compile, compare on dev, save."""
    import dspy

    from toolsynth.evals.dataset import load_examples
    from toolsynth.evals.evaluate import CallCounter, evaluate_program, format_diversity
    from toolsynth.evals.optimize import (
        OptimizerSettings,
        compile_program,
        dry_run_calls,
        estimate_calls,
        focused,
        program_changes,
    )
    from toolsynth.readers import SeedError

    if args.output.suffix != ".json":
        print("error: -o must name a .json file (the saved program)", file=sys.stderr)
        return EXIT_USAGE
    try:
        train = load_examples(args.evalset, split="train", limit=args.train_limit)
        dev = load_examples(args.evalset, split="dev", limit=args.dev_limit)
    except (SeedError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if not train or not dev:
        print(
            f"error: need train and dev seeds; got {len(train)} train and {len(dev)} dev "
            "(records need a 'split' field: 'train' or 'dev')",
            file=sys.stderr,
        )
        return EXIT_USAGE
    try:
        config, lms, program = _setup(args)
        with focused(program, args.stage):  # raises ValueError on an unknown or unused stage
            n_predictors = len(program.predictors())
    except (OSError, ValueError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    settings = OptimizerSettings(
        demos=args.demos,
        candidates=args.candidates,
        trials=args.trials,
        metric_calls=args.metric_calls,
        threads=args.threads,
        seed=args.seed,
    )
    with _quiet(True), _lm_context(lms):
        per_seed = dry_run_calls(program, train, seed=args.seed)
    estimate = estimate_calls(
        args.optimizer, per_seed, len(train), len(dev), n_predictors, settings, max_attempts=args.max_attempts
    )
    print(
        f"optimize {args.optimizer} on {len(train)} train seeds, compare on {len(dev)} dev seeds; "
        f"optimizing {args.stage or 'every stage'} ({n_predictors} predictor(s))"
    )
    print(estimate.explain())
    if estimate.total > args.max_calls:
        print(
            f"error: the estimate ({estimate.total:,} LM calls) exceeds --max-calls {args.max_calls:,}; "
            "lower --train-limit/--dev-limit or the optimizer budget, or raise --max-calls",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if args.estimate_only:
        return EXIT_OK
    counter = CallCounter()
    try:
        with _quiet(not args.verbose), _lm_context(lms), dspy.context(callbacks=[counter]):
            before = evaluate_program(program, dev, num_threads=args.threads)
            compiled = compile_program(
                program,
                args.optimizer,
                train,
                settings=settings,
                stage=args.stage,
                reflection_lm=_reflection_lm(args, lms),
            )
            after = evaluate_program(compiled, dev, num_threads=args.threads)
    except dspy.LMError as exc:
        stopped = f"the optimizer stopped on an LM error after {counter.calls:,} calls: {redact(str(exc))}"
        print(f"error: {stopped}", file=sys.stderr)
        return EXIT_FAILED
    args.output.parent.mkdir(parents=True, exist_ok=True)
    compiled.save(str(args.output))
    changes = program_changes(program, compiled)
    print(_table(before.summary(), after.summary()))
    print("diversity after (reported, not optimized)")
    print(format_diversity(after.to_json()["diversity"]))
    changed = {k: v for k, v in changes.items() if v["demos"] != v["demos_before"] or v["instruction_changed"]}
    print(
        "changed predictors: "
        + (
            ", ".join(
                f"{k} ({v['demos']} demos{', new instruction' if v['instruction_changed'] else ''})"
                for k, v in changed.items()
            )
            or "none"
        )
    )
    print(f"LM calls: {counter.calls:,} made, {estimate.total:,} estimated")
    report = {
        "optimizer": args.optimizer,
        "stage": args.stage,
        "train": len(train),
        "dev": len(dev),
        "settings": vars(settings),
        "estimate": {"total": estimate.total, "lines": estimate.lines},
        "lm_calls": counter.calls,
        "before": before.summary(),
        "after": after.summary(),
        "predictors": changes,
        "models": config.describe(),
    }
    sidecar = args.output.with_suffix(".report.json")
    write_json_atomic(sidecar, report)
    print(f"saved {args.output} (load it with --program {args.output}); report in {sidecar}")
    return EXIT_OK
