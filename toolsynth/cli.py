"""`toolsynth` command line: synth, export, report, validate, eval, optimize."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2


def _add_model_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("models (litellm model strings; keys come from the environment)")
    g.add_argument("--model", help="default model, e.g. openai/gpt-4o-mini; none = the offline demo model")
    g.add_argument("--api-base", help="base URL of an OpenAI-compatible server (vLLM, llama.cpp, ...)")
    for role in ("assistant", "user", "tool", "judge"):
        g.add_argument(f"--{role}-model", help=f"model for the {role} role (default: --model)")
    g.add_argument(
        "--temperature",
        type=_per_role(float),
        help="sampling temperature: one value for every role, or ROLE=VALUE,... (roles: generator, user, "
        "assistant, tool, judge); default per role: generator 0.7, user 0.8, assistant 0.3, tool 0.2, judge 0",
    )
    g.add_argument(
        "--max-tokens",
        type=_per_role(int),
        help="reply limit: one value or ROLE=VALUE,...; default per role: generator 1500, user 300, "
        "assistant 1000, tool 600, judge 400",
    )
    g.add_argument(
        "--structured-outputs",
        choices=["auto", "json_schema", "json_object_schema", "off"],
        default="auto",
        help="send each stage's output JSON Schema: json_schema (OpenAI, vLLM, SGLang), json_object_schema "
        "(llama-cpp-python), off; auto = litellm's capability table, or one probe per run for --api-base servers",
    )
    g.add_argument("--timeout", type=float, help="seconds per LM request")
    g.add_argument("--no-cache", action="store_true", help="bypass DSPy's LM response cache")


_FORMATS = ("openai", "hf", "sharegpt", "glm4")


def _export_formats(text: str) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(name.strip() for name in text.split(",") if name.strip()))
    unknown = [name for name in names if name not in _FORMATS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"{', '.join(unknown) or text!r}: choose from {', '.join(_FORMATS)}")
    return names


def _threshold(text: str) -> float:
    value = float(text)
    if not 0.0 < value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text}: a Jaccard similarity within (0, 1]")
    return value


def _add_dedup_options(p: argparse.ArgumentParser, what: str) -> None:
    from toolsynth.dedup import DEFAULT_THRESHOLD

    p.add_argument(
        "--dedup",
        action="store_true",
        help=f"{what} without rows whose first user request repeats an earlier row's, exactly or nearly "
        "(MinHash LSH); the first of each group is kept",
    )
    p.add_argument(
        "--dedup-threshold",
        type=_threshold,
        default=DEFAULT_THRESHOLD,
        help=f"Jaccard similarity of word-trigram sets at which --dedup calls two requests duplicates "
        f"(default {DEFAULT_THRESHOLD})",
    )


def _export(args: argparse.Namespace) -> int:
    from toolsynth.exports import ExportError, ExportOptions, export_samples, samples_file
    from toolsynth.records import InputError
    from toolsynth.store import StoreError, dumps

    options = ExportOptions(json_columns=args.json_columns, call_ids=args.call_ids, single_call=args.single_call)
    try:
        dedup = args.dedup_threshold if args.dedup else None
        report = export_samples(samples_file(args.source), args.format, args.output, options, dedup)
    except (ExportError, InputError, StoreError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    for problem in report.unreadable:
        print(f"error: {problem}", file=sys.stderr)
    print(dumps(report.to_json()) if args.json else report.summary())
    return EXIT_OK


def _per_role(cast: type[float] | type[int]) -> Any:
    from toolsynth.sampling import parse_per_role

    roles = ("generator", "user", "assistant", "tool", "judge")

    def parse(text: str) -> Any:
        try:
            return parse_per_role(text, cast, roles)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from exc

    parse.__name__ = cast.__name__  # argparse names the type in its error message
    return parse


def _mix(text: str) -> str:
    from toolsynth.behaviours import format_mix, parse_mix

    try:
        return format_mix(parse_mix(text))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"a share is within [0, 1], got {text}")
    return value


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def _add_program_options(p: argparse.ArgumentParser) -> None:
    from toolsynth.behaviours import DEFAULT_MAX_SUBTASKS, DEFAULT_MIX, DEFAULT_NESTED_SHARE, MAX_SUBTASKS

    g = p.add_argument_group("program")
    g.add_argument("--program", type=Path, help="a saved (optimized) program JSON to load")
    g.add_argument("--seed", type=int, default=0, help="seed for the program's choices and the demo model")
    g.add_argument(
        "--language", help="write every sample in this language (default: the seed's 'language', else its chat's)"
    )
    g.add_argument("--expand", type=int, default=1, help="new scenarios per seed, besides the extracted one")
    g.add_argument("--tasks-per-scenario", type=int, default=1)
    g.add_argument(
        "--parallel-ratio",
        type=float,
        default=0.5,
        help="share of parallel-then-sequential compositions (the rest are sequential)",
    )
    g.add_argument(
        "--mix",
        type=_mix,
        default=DEFAULT_MIX,
        help=f"behaviour shares per task: call, clarify, no_call, missing_function, follow_up (default: {DEFAULT_MIX})",
    )
    g.add_argument(
        "--distractors",
        type=_count,
        default=0,
        help="functions offered besides the needed ones: about half near-misses, the rest unrelated (default: 0)",
    )
    g.add_argument(
        "--nested-share",
        type=_share,
        default=DEFAULT_NESTED_SHARE,
        help="share of tasks whose functions take an object or array-of-objects parameter that calls fill "
        f"(default: {DEFAULT_NESTED_SHARE:g})",
    )
    g.add_argument(
        "--max-subtasks",
        type=int,
        choices=range(DEFAULT_MAX_SUBTASKS, MAX_SUBTASKS + 1),
        default=DEFAULT_MAX_SUBTASKS,
        metavar="N",
        help=f"largest composite task, {DEFAULT_MAX_SUBTASKS} to {MAX_SUBTASKS}: above {DEFAULT_MAX_SUBTASKS}, "
        "composites are deepened by longer chains and parallel fan-in of up to 3 (default: "
        f"{DEFAULT_MAX_SUBTASKS}, BUTTON's shapes of 2 or 3 subtasks)",
    )
    g.add_argument("--max-turns", type=int, default=8, help="assistant turns per conversation")
    g.add_argument("--max-attempts", type=int, default=3, help="attempts per stage, repairs included")
    g.add_argument(
        "--compose-rounds",
        type=int,
        default=2,
        help="compositions per task: one judged infeasible is composed again with the judge's reasons",
    )
    g.add_argument(
        "--judge",
        action="store_true",
        help="final semantic gate: an LM judge checks each sample is complete and faithful",
    )


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _names(text: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in text.split(",") if name.strip())


def _add_ray_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("Ray (pip install 'toolsynth[ray]')")
    g.add_argument(
        "--ray",
        nargs="?",
        const="",
        metavar="ADDRESS",
        help="shard the seeds across Ray actors: on the cluster at ADDRESS (as ray.init(address=...), e.g. "
        "auto or ray://host:10001), or on a local Ray instance when no ADDRESS is given. Give it after INPUT "
        "(or as --ray=ADDRESS)",
    )
    g.add_argument(
        "--ray-actors",
        type=_positive,
        metavar="N",
        help="actors (shards) of a --ray run; --concurrency is split among them "
        "(default: the count the run in OUTDIR was sharded over, else 2)",
    )
    g.add_argument(
        "--ray-env",
        type=_names,
        default=(),
        metavar="NAME[,NAME...]",
        help="more environment variables to send to the actors (runtime_env); by default those named for the "
        "models' provider (e.g. OPENAI_*) are sent",
    )
    g.add_argument(
        "--ray-restarts",
        type=_count,
        default=1,
        metavar="N",
        help="times a shard whose actor died is resumed on a new actor within the run (default: 1)",
    )


def _seconds(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0 seconds, got {text}")
    return value


def _add_tool_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("real tools (see the README's 'Bring your own tools')")
    g.add_argument(
        "--tools",
        action="append",
        metavar="SOURCE",
        help="ground the run in a tool library and run its calls for real: a Python module (.py file or import "
        "path), an OpenAPI 3.x document (.json/.yaml/.yml) or mcp:COMMAND; repeat to combine sources",
    )
    g.add_argument("--tools-base-url", metavar="URL", help="the base URL the OpenAPI sources' calls go to")
    g.add_argument("--tool-timeout", type=_seconds, default=30.0, help="seconds a real call may take (default: 30)")
    g.add_argument("--tools-per-seed", type=int, default=6, help="library functions sampled per seed (default: 6)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="toolsynth", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    synth = sub.add_parser("synth", help="synthesize samples from seed chats (resumable)")
    synth.add_argument("input", type=Path, help="seeds: .jsonl or .json (glaive, OpenAI, ShareGPT or scenario)")
    synth.add_argument("-o", "--output", type=Path, required=True, help="output directory")
    synth.add_argument("--limit", type=int, help="only the first N records")
    synth.add_argument("--concurrency", type=int, default=16, help="LM calls in flight for the whole run")
    synth.add_argument("--retries", type=int, default=4, help="retries of a transient LM error (backoff, jitter)")
    synth.add_argument("--restart", action="store_true", help="discard what OUTDIR holds and start over")
    synth.add_argument("--retry-rejected", action="store_true", help="run rejected seeds again (finished steps reused)")
    synth.add_argument("--skip-bad", action="store_true", help="reject unreadable records and go on")
    synth.add_argument("--quiet", action="store_true", help="no progress output")
    synth.add_argument(
        "--export",
        type=_export_formats,
        default=(),
        metavar="F[,F...]",
        help="at the end of every run, rewrite these exports of samples.jsonl into OUTDIR/exports/ "
        "(openai, hf, sharegpt, glm4; default options: see `toolsynth export --help`)",
    )
    synth.add_argument("--no-report", action="store_true", help="do not write OUTDIR/report.html at the end")
    _add_dedup_options(synth, "write samples.jsonl (and its exports)")
    synth.add_argument(
        "--estimate-only",
        action="store_true",
        help="print the estimated LM calls, tokens and cost (per seed and for the input) and stop",
    )
    synth.add_argument(
        "--max-cost",
        type=float,
        metavar="USD",
        help="refuse to start (exit 2, nothing sent) when the estimated cost is above this, or unknown",
    )
    _add_model_options(synth)
    _add_program_options(synth)
    _add_ray_options(synth)
    _add_tool_options(synth)

    export = sub.add_parser("export", help="write samples in a training framework's format")
    export.add_argument("source", type=Path, help="a samples.jsonl, or a run's output directory (its samples.jsonl)")
    export.add_argument("--format", required=True, choices=list(_FORMATS), help="the format to write")
    export.add_argument("-o", "--output", type=Path, required=True, help="the export file (.jsonl)")
    export.add_argument(
        "--json-columns",
        action="store_true",
        help="hf: messages, tools and meta as JSON text, so every row has one Arrow schema in every datasets version",
    )
    export.add_argument(
        "--call-ids",
        choices=["keep", "mistral"],
        default="keep",
        help="hf: mistral = call ids rewritten as 9 alphanumeric characters (deterministic; call and result match)",
    )
    export.add_argument(
        "--single-call",
        choices=["split", "drop"],
        help="hf, sharegpt, glm4: parallel calls split into consecutive single calls, or their rows dropped "
        "(glm4 always has one call per turn: split unless drop)",
    )
    export.add_argument("--json", action="store_true", help="print the counts as one JSON object")
    _add_dedup_options(export, "export")

    report = sub.add_parser("report", help="write OUTDIR/report.html: one offline page that shows a run's dataset")
    report.add_argument("outdir", type=Path, help="a run's output directory")

    validate = sub.add_parser("validate", help="check any tool-calling dataset (OpenAI or ShareGPT rows)")
    validate.add_argument("file", type=Path)
    validate.add_argument("--format", choices=["openai", "sharegpt"], help="default: detected per row")
    validate.add_argument("--json", action="store_true", help="one JSON line per row with its findings")

    from toolsynth.evals.commands import add_eval_parser, add_optimize_parser

    add_eval_parser(sub)
    add_optimize_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "synth":
            return _synth(args)
        if args.command == "export":
            return _export(args)
        if args.command == "report":
            return _report(args.outdir)
        if args.command == "validate":
            from toolsynth.validate_cmd import validate_command

            return validate_command(args.file, fmt=args.format, as_json=args.json)
        if args.command in ("eval", "optimize"):
            result: int = args.func(args)
            return result
    except KeyboardInterrupt as exc:
        print("interrupted; run the same command again to resume", file=sys.stderr)
        return 128 + int(getattr(exc, "signum", signal.SIGINT))  # 130 for Ctrl-C, 143 for SIGTERM
    return EXIT_USAGE


def model_config(args: argparse.Namespace) -> Any:
    from toolsynth.lm import ModelConfig

    roles = {r: getattr(args, f"{r}_model") for r in ("assistant", "user", "tool", "judge")}
    return ModelConfig(
        model=args.model,
        api_base=args.api_base,
        timeout=args.timeout,
        structured_outputs=args.structured_outputs,
        role_models={k: v for k, v in roles.items() if v},
        seed=args.seed,
        cache=not args.no_cache,
    )


def build_program(args: argparse.Namespace, lms: dict[str, Any]) -> Any:
    from toolsynth.programs import ButtonProgram
    from toolsynth.sampling import sampling_for

    program = ButtonProgram(
        sampling=sampling_for(temperature=args.temperature, max_tokens=args.max_tokens),
        expand=args.expand,
        tasks_per_scenario=args.tasks_per_scenario,
        parallel_ratio=args.parallel_ratio,
        max_turns=args.max_turns,
        max_attempts=args.max_attempts,
        seed=args.seed,
        language=args.language,
        role_lms={role: lm for role, lm in lms.items() if role != "generator"},
        judge_samples=args.judge,
        compose_rounds=args.compose_rounds,
        mix=args.mix,
        distractors=args.distractors,
        nested_share=args.nested_share,
        max_subtasks=args.max_subtasks,
        **_tool_arguments(args),
    )
    if args.program is not None:
        program.load(str(args.program))
    return program


def _tool_arguments(args: argparse.Namespace) -> dict[str, Any]:
    """`ButtonProgram`'s tool arguments from `--tools` (none for commands without the options)."""
    texts = getattr(args, "tools", None)
    if not texts:
        return {}
    from toolsynth.tools.loading import ToolLibrary

    return {
        "tools": ToolLibrary.load(texts, base_url=args.tools_base_url),
        "tools_per_seed": args.tools_per_seed,
        "tool_timeout": args.tool_timeout,
    }


def _synth(args: argparse.Namespace) -> int:
    from toolsynth.readers import SeedError, iter_seeds
    from toolsynth.runner import iter_limited

    try:
        items = list(iter_limited(iter_seeds(args.input), args.limit))
    except (SeedError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    bad = [i for i in items if isinstance(i, SeedError)]
    if bad and not args.skip_bad:
        for error in bad[:5]:
            print(f"error: {error}", file=sys.stderr)
        more = f" (and {len(bad) - 5} more)" if len(bad) > 5 else ""
        print(f"{len(bad)} bad record(s){more}; fix them or pass --skip-bad. Nothing was run.", file=sys.stderr)
        return EXIT_USAGE
    config = model_config(args)
    if args.ray is not None and args.tools:
        print("error: --tools does not run on Ray yet (README: Known limitations). Nothing was run.", file=sys.stderr)
        return EXIT_USAGE
    if args.ray is None and (args.output / "ray.json").exists():
        print(
            f"error: {args.output} holds a Ray run (ray.json): resume it with --ray, or use another output directory",
            file=sys.stderr,
        )
        return EXIT_USAGE
    # On an existing cluster the keys may be in the cluster's environment only: each actor checks its own.
    missing = {} if args.ray else config.missing_credentials()
    if missing:
        for model, keys in sorted(missing.items()):
            print(
                f"error: {model} needs {' or '.join(keys)} in the environment "
                "(for a local OpenAI-compatible server any non-empty value works). Nothing was run.",
                file=sys.stderr,
            )
        return EXIT_USAGE
    lms = config.build()
    from toolsynth.tools.contract import ToolSourceError

    try:
        program = build_program(args, lms)
    except ToolSourceError as exc:
        print(f"error: {exc}. Nothing was run.", file=sys.stderr)
        return EXIT_USAGE
    try:
        return _synth_program(args, items, config, lms, program)
    finally:
        if program.library is not None:
            program.library.close()


def _synth_program(args: argparse.Namespace, items: list[Any], config: Any, lms: dict[str, Any], program: Any) -> int:
    from toolsynth.ray_executor import RayRunError
    from toolsynth.readers import SeedError
    from toolsynth.redact import redact
    from toolsynth.runner import RunAborted, RunOptions, run
    from toolsynth.store import ConfigChanged, StoreError

    estimate = None
    if not config.is_demo or args.estimate_only or args.max_cost is not None:
        from toolsynth.estimate import estimate_run

        seeds = [item for item in items if not isinstance(item, SeedError)]
        estimate = estimate_run(program, seeds, config.describe()["roles"], demo_seed=args.seed)
        print(estimate.line(), file=sys.stdout if args.estimate_only else sys.stderr)
        refusal = _over_budget(estimate, args.max_cost)
        if refusal:
            print(f"error: {refusal}. Nothing was run.", file=sys.stderr)
            return EXIT_USAGE
        if args.estimate_only:
            return EXIT_OK
    if config.is_demo and not args.quiet:
        print(
            "toolsynth: running on the offline demo model (no --model): samples are demo data, "
            "not a real model's output.",
            file=sys.stderr,
        )
    from toolsynth.execution import RetryPolicy

    options = RunOptions(
        concurrency=args.concurrency,
        restart=args.restart,
        retry_rejected=args.retry_rejected,
        quiet=args.quiet,
        retry=RetryPolicy(retries=args.retries),
        exports=args.export,
        dedup=args.dedup_threshold if args.dedup else None,
        estimate=estimate.to_json() if estimate is not None else None,
    )
    try:
        if args.ray is not None:
            manifest = _run_on_ray(args, items, program, config, options)
        else:
            manifest = run(
                items,
                program,
                args.output,
                lm=lms["generator"],
                models=config.describe(),
                options=options,
                total=len(items),
            )
    except (ConfigChanged, StoreError, RunAborted, RayRunError) as exc:
        print(f"error: {redact(str(exc))}", file=sys.stderr)  # an LM error may repeat the request's key
        return EXIT_USAGE
    counts = manifest["counts"]
    print(
        f"{counts['inputs']} seeds → {counts['accepted']} samples, {counts['rejected']} rejections "
        f"in {args.output}/ (samples.jsonl, rejected.jsonl, manifest.json)"
    )
    if "dedup" in manifest:
        print(f"--dedup: {counts['duplicates_removed']} duplicate samples left out of samples.jsonl (manifest: dedup)")
    status = _print_exports(manifest.get("exports", []))
    if not args.no_report:
        status = max(status, _report(args.output))
    return status


def _run_on_ray(args: argparse.Namespace, items: list[Any], program: Any, config: Any, options: Any) -> Any:
    from toolsynth.ray_executor import run_on_ray

    return run_on_ray(
        items,
        program,
        args.output,
        models=config,
        options=options,
        total=len(items),
        address=args.ray or None,
        actors=args.ray_actors,
        env_vars=args.ray_env,
        restarts=args.ray_restarts,
    )


def _over_budget(estimate: Any, max_cost: float | None) -> str | None:
    """Why a run with this estimate must not start under `--max-cost`, or None."""
    if max_cost is None:
        return None
    cost = estimate.total().cost
    if cost is None:
        return f"--max-cost cannot be checked: litellm has no price for {', '.join(estimate.unpriced_models())}"
    if cost > max_cost:
        return f"the estimated cost ${cost:.6f} is above --max-cost ${max_cost:g}"
    return None


def _report(outdir: Path) -> int:
    from toolsynth.report import write_report

    if not (outdir / "manifest.json").is_file() and not (outdir / "samples.jsonl").is_file():
        print(f"error: {outdir} holds no run (no manifest.json or samples.jsonl)", file=sys.stderr)
        return EXIT_USAGE
    try:
        path = write_report(outdir)
    except (OSError, ValueError) as exc:
        print(f"error: the report was not written: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(f"report: {path}")
    return EXIT_OK


def _print_exports(reports: list[dict[str, Any]]) -> int:
    """Each export's counts on stdout, or why it was not written on stderr (then the status is 2)."""
    from toolsynth.exports import summary_line

    for report in reports:
        print(summary_line(report), file=sys.stderr if "error" in report else sys.stdout)
    return EXIT_USAGE if any("error" in report for report in reports) else EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
