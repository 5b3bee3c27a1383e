"""The runner: streams seeds through `ButtonProgram`, checkpoints every step, loses nothing.

Each seed is its own asyncio task and moves through the stages on its own (no barrier between stages);
one `CallLimit` bounds LM calls in flight for the whole run. Async rather than threads: thousands of
records waiting on the network cost a coroutine each, not a thread each, and one event loop thread
owns the SQLite connection, so checkpoints need no locks.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import json
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import dspy

from toolsynth import __version__
from toolsynth.dedup import dedup_samples_file
from toolsynth.execution import CallLimit, FailureBreaker, RetryPolicy, RunExecutor, UsageMeter, running_with
from toolsynth.exports import export_run
from toolsynth.outputs import without_lone_surrogates
from toolsynth.programs.button import ButtonProgram, ButtonResult
from toolsynth.readers import Seed, SeedError
from toolsynth.stages import StageName
from toolsynth.store import JsonlViews, RowSource, RunStore, StoreError, write_json_atomic
from toolsynth.tools.execute import EXECUTED_NOTE, REPLAYED_NOTE
from toolsynth.types import Rejection


class RunAborted(RuntimeError):
    """An error that would fail every record (bad key, unknown model): the run stops early."""


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM stopped the run; what finished is kept and the same command resumes it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class _StopSignals:
    """SIGINT and SIGTERM cancel the run's main task; `received` remembers which one came."""

    def __init__(self) -> None:
        self.received: int | None = None
        self._installed: list[int] = []

    def install(self, task: asyncio.Task[Any]) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # signal handlers belong to the main thread; elsewhere the caller handles signals
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(signum, self._stop, signum, task)
            except (NotImplementedError, RuntimeError, ValueError):
                continue
            self._installed.append(signum)

    def _stop(self, signum: int, task: asyncio.Task[Any]) -> None:
        if self.received is None:
            self.received = signum
            task.cancel()

    def remove(self) -> None:
        loop = asyncio.get_running_loop()
        for signum in self._installed:
            loop.remove_signal_handler(signum)
        self._installed.clear()


@dataclass
class RunOptions:
    concurrency: int = 16
    restart: bool = False
    retry_rejected: bool = False
    quiet: bool = False
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    exports: tuple[str, ...] = ()
    """Export formats rewritten from the store into `OUTDIR/exports/` at the end of every run (`toolsynth.exports`)."""
    dedup: float | None = None
    """When set, samples.jsonl is written without near-duplicate user requests at this threshold (toolsynth.dedup)."""
    estimate: dict[str, Any] | None = None
    """The cost estimate made before the run (`toolsynth.estimate`), kept in the manifest beside the actual usage."""


@dataclass
class Progress:
    """Counts for the progress line and the manifest."""

    total: int | None = None
    done: int = 0
    resumed: int = 0
    accepted: int = 0
    rejected: int = 0
    started: float = field(default_factory=time.monotonic)


def fingerprint(program: ButtonProgram, models: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """What decides the results: the program's knobs and state (instructions, demos) and the models."""
    description = {"program": program.config(), "models": models, "toolsynth": __version__}
    state = json.dumps(program.dump_state(), sort_keys=True, default=str)
    digest = hashlib.sha256((json.dumps(description, sort_keys=True) + state).encode()).hexdigest()[:16]
    return digest, description


def run(
    seeds: Iterable[Seed | SeedError],
    program: ButtonProgram,
    outdir: str | Path,
    *,
    lm: dspy.LM,
    models: dict[str, Any],
    options: RunOptions | None = None,
    total: int | None = None,
    stream: TextIO | None = None,
) -> dict[str, Any]:
    """Run every seed to a sample or a rejection in `outdir`; returns the manifest it wrote.

    Progress goes to `stream` (default: whatever `sys.stderr` is when the run reports), never with `quiet`.
    """
    options = options or RunOptions()
    out = Path(outdir)
    store = RunStore(out / "state.sqlite", replace_damaged=options.restart)  # creates `out`
    try:
        digest, description = fingerprint(program, models)
        store.bind(digest, description, restart=options.restart)
        if options.retry_rejected:
            store.forget_rejected()
        views = JsonlViews(out)
        views.rebuild(store)
        progress = Progress(total=total)
        meter = UsageMeter()
        stop = _StopSignals()
        status = "interrupted"
        error: str | None = None
        try:
            # No per-call history and no trace: a long run would keep every prompt and every accepted prediction
            # in memory; usage comes from the meter, and only optimizers (which bring their own trace) need one.
            with dspy.context(lm=lm, disable_history=True, trace=None), frozen_heap():
                try:
                    asyncio.run(_run_all(seeds, program, store, views, progress, meter, options, stream, stop))
                except (asyncio.CancelledError, KeyboardInterrupt) as exc:
                    raise RunInterrupted(stop.received or signal.SIGINT) from exc
            if stop.received is not None:  # a cancellation something swallowed: still an interrupted run
                raise RunInterrupted(stop.received)
            status = "complete"
        except RunAborted as exc:
            status, error = "aborted", str(exc)
            raise
        except StoreError as exc:
            status, error = "failed", str(exc)
            raise
        finally:
            # After a storage failure this is best effort: the error that stopped the run is the one reported.
            with contextlib.suppress(StoreError) if status == "failed" else contextlib.nullcontext():
                views.rebuild(store)  # input order, and exactly what the store holds
                manifest = finish_outputs(out, store, description, digest, meter, progress, status, error, options)
                if program.library is not None:  # real calls: run now, and read back from an earlier run's memo
                    for note in (EXECUTED_NOTE, REPLAYED_NOTE):
                        manifest["counts"][note] = meter.notes.get(note, 0)
                store.record_run({"status": status, "usage": manifest["usage"]["total"], "error": error})
                manifest["runs"] = store.runs()
                write_json_atomic(out / "manifest.json", manifest)
        return manifest
    finally:
        store.close()


RUN_GC_THRESHOLDS = (50_000, 20, 20)
"""The cyclic collector's thresholds during a run (Python's default is 700, 10, 10). A run allocates a great many
short-lived containers (prompts, replies, parsed outputs), almost all freed by reference counting; at the default
the collector ran about 750 young and 70 middle-generation passes per 100 seeds, 0.31 ms of CPU per LM call, against
0.08 ms here (benchmarks/README.md). Cyclic garbage waits a little longer to be freed: a bounded amount, the same at
any run size."""


@contextlib.contextmanager
def frozen_heap() -> Iterator[None]:
    """Keep the cyclic garbage collector off what exists before the run (modules, litellm's tables, the program,
    the seeds): it lives through the run anyway, and a full collection walking it held the event loop for 0.2 to
    0.5 s at a time (benchmarks/fuzz_replies.py). Collections during the run see only what the run allocates, and
    run less often (`RUN_GC_THRESHOLDS`)."""
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(*RUN_GC_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


async def _run_all(
    seeds: Iterable[Seed | SeedError],
    program: ButtonProgram,
    store: RunStore,
    views: JsonlViews,
    progress: Progress,
    meter: UsageMeter,
    options: RunOptions,
    stream: TextIO | None,
    stop: _StopSignals,
) -> None:
    main = asyncio.current_task()
    if main is not None:
        stop.install(main)
    asyncio.get_running_loop().set_default_executor(RunExecutor())
    finished = store.finished()
    limit = CallLimit(options.concurrency)
    reporter = _Reporter(progress, limit, meter, stream, options.quiet)
    in_flight: set[asyncio.Task[None]] = set()
    max_records = 2 * options.concurrency

    async def one(position: int, seed: Seed) -> None:
        try:
            result = await program.aforward(
                chat=seed.chat, scenario=seed.scenario, source_id=seed.source_id, language=seed.language
            )
        except (dspy.LMError, StoreError):
            raise  # the stages let through only errors that would fail every record; a store that fails, fails all
        except Exception as exc:  # one record's failure is that record's rejection, never the run's end
            result = ButtonResult(rejections=[_internal_rejection(seed.source_id, exc)])
        samples = [s.to_openai() for s in result.samples]
        rejections = [r.to_json() for r in result.rejections]
        try:
            store.finish(seed.source_id, position, samples, rejections)
        except UnicodeEncodeError:  # lone surrogates from a seed or a reply: stored as U+FFFD
            samples, rejections = without_lone_surrogates(samples), without_lone_surrogates(rejections)
            store.finish(seed.source_id, position, samples, rejections)
        views.append(samples, rejections)
        _count(progress, result)

    with running_with(memo=store, limit=limit, meter=meter, retry=options.retry, breaker=FailureBreaker()):
        reporter.start()
        try:
            for position, seed in enumerate(seeds):
                if isinstance(seed, SeedError):
                    _finish_bad(store, views, progress, position, seed, finished)
                    continue
                if seed.source_id in finished:
                    progress.done += 1
                    progress.resumed += 1
                    continue
                while len(in_flight) >= max_records:
                    done, in_flight = await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
                    _raise_fatal(done, in_flight)
                in_flight.add(asyncio.create_task(one(position, seed)))
            while in_flight:
                done, in_flight = await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
                _raise_fatal(done, in_flight)
        finally:
            for task in in_flight:
                task.cancel()
            if in_flight:
                await asyncio.gather(*in_flight, return_exceptions=True)
            reporter.stop()
            stop.remove()


def _raise_fatal(done: set[asyncio.Task[None]], pending: set[asyncio.Task[None]]) -> None:
    failures = [exc for task in done if (exc := task.exception()) is not None]
    if not failures:
        return
    exc = failures[0]
    if isinstance(exc, dspy.LMError):
        raise RunAborted(f"the model cannot be used, stopping the run: {_one_line(exc)}") from exc
    raise exc


def _finish_bad(
    store: RunStore, views: JsonlViews, progress: Progress, position: int, error: SeedError, finished: set[str]
) -> None:
    """Reject an unreadable record (stage `read`), unless `finished` (the ids done before this run) has it."""
    source_id = error.where
    if source_id in finished:
        progress.done += 1
        progress.resumed += 1
        return
    rejection = {
        "id": source_id,
        "source_id": source_id,
        "stage": StageName.READ,
        "codes": ["bad_record"],
        "message": str(error),
        "meta": {"field": error.field},
    }
    store.finish(source_id, position, [], [rejection])
    views.append([], [rejection])
    progress.done += 1
    progress.rejected += 1


def _internal_rejection(source_id: str, exc: Exception) -> Rejection:
    detail = f"{type(exc).__name__}: {_one_line(exc)}"
    return Rejection(id=source_id, source_id=source_id, stage=StageName.RUN, codes=["internal_error"], message=detail)


def _count(progress: Progress, result: ButtonResult) -> None:
    progress.done += 1
    progress.accepted += len(result.samples)
    progress.rejected += len(result.rejections)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:400] if text else type(exc).__name__


def summarize_rows(rows: Iterable[tuple[list[dict[str, Any]], list[dict[str, Any]]]]) -> dict[str, Any]:
    """The manifest's counts of a run's finished seeds (each its samples and rejections, in input order)."""
    seeds = accepted = rejected = bad = with_samples = 0
    by_stage: Counter[str] = Counter()
    by_code: Counter[str] = Counter()
    strategies: Counter[str] = Counter()
    behaviours: Counter[str] = Counter()
    rejected_behaviours: Counter[str] = Counter()
    distractors: Counter[str] = Counter()
    nested = short_of_target = 0
    sizes: Counter[str] = Counter()
    for samples, rejections in rows:
        seeds += 1
        accepted += len(samples)
        rejected += len(rejections)
        with_samples += bool(samples)
        bad += any(r["stage"] == StageName.READ for r in rejections)
        by_stage.update(r["stage"] for r in rejections)
        by_code.update(c for r in rejections for c in r["codes"])
        strategies.update(str(s.get("meta", {}).get("strategy")) for s in samples)
        behaviours.update(str(s.get("meta", {}).get("behaviour")) for s in samples)
        rejected_behaviours.update(str(r["meta"]["behaviour"]) for r in rejections if "behaviour" in r.get("meta", {}))
        nested += sum(s.get("meta", {}).get("nested_parameters") is True for s in samples)
        sizes.update(str(len(s["meta"]["subtasks"])) for s in samples if s.get("meta", {}).get("subtasks"))
        short_of_target += sum(
            len(s["meta"].get("subtasks") or []) < s["meta"]["subtask_target"]
            for s in samples
            if "subtask_target" in s.get("meta", {})
        )
        distractors.update(str(d.get("kind")) for s in samples for d in s.get("meta", {}).get("distractors") or [])
    return {
        "inputs": seeds,
        "bad_inputs": bad,
        "seeds_with_samples": with_samples,
        "seeds_without_samples": seeds - with_samples,
        "accepted": accepted,
        "rejected": rejected,
        "rejected_by_stage": dict(sorted(by_stage.items())),
        "rejected_by_code": dict(sorted(by_code.items())),
        "accepted_by_strategy": dict(sorted(strategies.items())),
        "accepted_by_behaviour": dict(sorted(behaviours.items())),
        "rejected_by_behaviour": dict(sorted(rejected_behaviours.items())),
        "distractors_offered": dict(sorted(distractors.items())),
        "accepted_nested": nested,
        "accepted_by_subtasks": dict(sorted(sizes.items())),
        "accepted_short_of_subtask_target": short_of_target,
    }


def finish_outputs(
    out: Path,
    rows: RowSource,
    description: dict[str, Any],
    digest: str,
    meter: UsageMeter,
    progress: Progress,
    status: str,
    error: str | None,
    options: RunOptions,
) -> dict[str, Any]:
    """After `samples.jsonl` was rebuilt from `rows`: dedup it and write the exports (`options`), and return the
    manifest of the run (its `runs` history aside)."""
    dedup = dedup_samples_file(out / "samples.jsonl", options.dedup) if options.dedup is not None else None
    exports = export_run(out, options.exports)  # from the view just rebuilt, so in step with the store
    counts = summarize_rows(rows.rows())
    counts["resumed_seeds"] = progress.resumed
    manifest = {
        "status": status,
        "error": error,
        "counts": counts,
        "models": description["models"],
        "demo": bool(description["models"].get("demo")),
        "program": description["program"],
        "fingerprint": digest,
        "usage": meter.to_json(),
        "stages": meter.outcomes_json(),
        "elapsed_seconds": round(time.monotonic() - progress.started, 3),
        "toolsynth": __version__,
        "exports": exports,
    }
    counts["scenario_duplicates_removed"] = meter.notes.get("scenario_duplicates_removed", 0)
    if dedup is not None:
        counts["duplicates_removed"] = len(dedup["removed"])
        manifest["dedup"] = dedup
    if options.estimate is not None:
        manifest["estimate"] = options.estimate
    return manifest


class _Reporter:
    """A live progress line on a terminal; a quiet line every 10 % (or 30 s) elsewhere; nothing with --quiet.

    The stream is looked up when the run starts reporting (not when this module is imported), and a quiet
    run never touches one: callers such as pytest or Jupyter swap and close `sys.stderr`.
    """

    def __init__(
        self, progress: Progress, limit: CallLimit, meter: UsageMeter, stream: TextIO | None, quiet: bool
    ) -> None:
        self.progress, self.limit, self.meter, self.quiet = progress, limit, meter, quiet
        self.stream: TextIO | None = None if quiet else (stream or sys.stderr)
        self.tty = False
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self.stream is not None:
            self.tty = _isatty(self.stream)
            self.task = asyncio.create_task(self._loop())

    def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            self._print(final=True)

    async def _loop(self) -> None:
        last_line, last_done = time.monotonic(), -1
        while True:
            await asyncio.sleep(0.5 if self.tty else 1.0)
            p = self.progress
            step = max(1, (p.total or 100) // 10)
            if self.tty or (p.done // step != last_done // step) or time.monotonic() - last_line > 30:
                self._print()
                last_line, last_done = time.monotonic(), p.done

    def _line(self) -> str:
        p, usage = self.progress, self.meter.total()
        total = f"/{p.total}" if p.total is not None else ""
        cost = "n/a" if usage.cost is None else f"${usage.cost:.4f}"
        return (
            f"seeds {p.done}{total} | accepted {p.accepted} | rejected {p.rejected} | "
            f"calls in flight {self.limit.in_flight} | calls {usage.calls} | "
            f"tokens {usage.prompt_tokens + usage.completion_tokens} | cost {cost} | "
            f"{time.monotonic() - p.started:.0f}s"
        )

    def _print(self, final: bool = False) -> None:
        if self.stream is None:
            return
        if self.tty:
            self.stream.write("\r\x1b[2K" + self._line() + ("\n" if final else ""))
        else:
            self.stream.write(self._line() + "\n")
        self.stream.flush()


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (ValueError, OSError):  # closed or detached: report as plain lines
        return False


def iter_limited(items: Iterable[Seed | SeedError], limit: int | None) -> Iterator[Seed | SeedError]:
    for i, item in enumerate(items):
        if limit is not None and i >= limit:
            return
        yield item
