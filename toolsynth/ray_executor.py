"""The streaming runner on Ray: seeds sharded across actors, each shard checkpointed on its own, merged in order.

`run_on_ray` mirrors `toolsynth.runner.run`. The input is sharded by position (record `i` goes to shard
`i % actors`), so a resume reshards exactly as the first run did; `OUTDIR/ray.json` keeps the actor count, the
number of inputs and a digest of their ids, and a resume with another actor count or another input is refused
(records appended at the end of the input are allowed). Each actor runs `runner.run` on its shard with its own
store in `OUTDIR/shards/<k>/` and its share of the run-wide concurrency bound. When the actors are done, the
driver merges the shards' stores into `OUTDIR/samples.jsonl`, `rejected.jsonl` and `manifest.json`, in input
order, as one process would have written them.

What an actor gets: its seeds, the program with no LM attached (`ButtonProgram.use_lms({})` on a copy), the
`ModelConfig` (model names, `api_base`, timeout: no key field) and its `RunOptions`. API keys reach actors only
through their environment: the cluster's own, or the driver's variables named by `env_vars` (by default those
whose names start with a configured model's provider, e.g. `OPENAI_`), sent as the actors' `runtime_env`
`env_vars`, which Ray keeps with the actor's definition and never writes to its object store or spill files.

Every path under OUTDIR is opened by the actors and then by the driver, so on a cluster of several machines
OUTDIR must be on a file system every node mounts at the same path (README, "Ray").
"""

from __future__ import annotations

import contextlib
import hashlib
import heapq
import json
import logging
import os
import shutil
import signal
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TextIO

from toolsynth.execution import StageOutcomes, StageUsage, UsageMeter
from toolsynth.lm import DEMO_MODEL_NAME, ROLES, ModelConfig
from toolsynth.programs.button import ButtonProgram
from toolsynth.readers import Seed, SeedError
from toolsynth.runner import Progress, RunAborted, RunInterrupted, RunOptions, fingerprint, finish_outputs, run
from toolsynth.store import (
    ConfigChanged,
    JsonlViews,
    OutputLocked,
    RunStore,
    StoreError,
    dumps,
    lock_directory,
    write_json_atomic,
)

RAY_FILE = "ray.json"
"""The sharding of a Ray run, its fingerprint and its runs, in OUTDIR."""
SHARDS = "shards"
DEFAULT_ACTORS = 2
LOCK_WAIT_SECONDS = 30.0
"""How long a shard's store waits for the process of a killed actor to let go of it."""


class RayRunError(RuntimeError):
    """A Ray run that cannot start or did not finish; the message says what to do."""


class RayUnavailable(RayRunError):
    """Ray is not installed (`pip install 'toolsynth[ray]'`)."""


class ShardingChanged(StoreError):
    """OUTDIR holds a run sharded otherwise (another actor count, another input, or a single-process run)."""


class ShardFailed(RayRunError):
    """An actor died more often than `restarts` allows; what the other shards finished is merged and kept."""


@dataclass(frozen=True)
class ShardJob:
    """Everything one actor is given: no LM object and no key (`models` holds names only)."""

    index: int
    outdir: str
    seeds: list[Seed | SeedError]
    program: ButtonProgram
    models: ModelConfig
    options: RunOptions


class ShardWorker:
    """One Ray actor: `runner.run` on one shard, with LMs built here from the model names and this environment."""

    def run(self, job: ShardJob) -> dict[str, Any]:
        missing = job.models.missing_credentials()
        if missing:
            names = ", ".join(sorted({key for keys in missing.values() for key in keys}))
            raise RunAborted(
                f"shard {job.index}: the actor's environment lacks {names} (pid {os.getpid()}). Set it in the "
                "cluster's environment, or in the driver's: the driver forwards it as the actors' runtime_env."
            )
        lms = job.models.build()
        job.program.use_lms({role: lm for role, lm in lms.items() if role != "generator"})
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        while True:
            try:
                return run(
                    job.seeds,
                    job.program,
                    job.outdir,
                    lm=lms["generator"],
                    models=job.models.describe(),
                    options=job.options,
                    total=len(job.seeds),
                )
            except OutputLocked:  # the process of an actor killed a moment ago still holds the shard
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)


# ----------------------------------------------------------------------------------------- sharding


def shard_of(position: int, actors: int) -> int:
    return position % actors


def split_concurrency(concurrency: int, actors: int) -> list[int]:
    """The run-wide bound on LM calls in flight, split as evenly as it goes (the first shards get the rest)."""
    if actors < 1:
        raise ValueError(f"actors must be >= 1, got {actors}")
    if concurrency < actors:
        raise ValueError(
            f"a concurrency of {concurrency} cannot be split among {actors} actors: give at least one each"
        )
    share, rest = divmod(concurrency, actors)
    return [share + (k < rest) for k in range(actors)]


def shard_dir(outdir: str | Path, index: int) -> Path:
    return Path(outdir) / SHARDS / str(index)


def shard_actor_name(outdir: str | Path, index: int) -> str:
    """The Ray name of the actor running shard `index` of the run in `outdir` (for `ray.get_actor`)."""
    digest = hashlib.sha256(str(Path(outdir).resolve()).encode()).hexdigest()[:12]
    return f"toolsynth-{digest}-shard-{index}"


def _input_id(item: Seed | SeedError) -> str:
    return item.where if isinstance(item, SeedError) else item.source_id


def _ids_digest(items: Iterable[Seed | SeedError]) -> str:
    digest = hashlib.sha256()
    for item in items:
        digest.update(_input_id(item).encode("utf-8", "surrogatepass") + b"\0")
    return digest.hexdigest()


def _sharding(
    out: Path, items: list[Seed | SeedError], actors: int | None, digest: str, restart: bool
) -> tuple[int, dict[str, Any]]:
    """The actor count to use and the sharding record to keep; refuses a resume that would shard otherwise."""
    path = out / RAY_FILE
    if (out / "state.sqlite").exists():
        raise ShardingChanged(
            f"{out} holds a single-process run (state.sqlite): run it without --ray to resume it, "
            "or use another output directory."
        )
    before = _read_record(path) if path.exists() else None
    if before is None or restart:
        count = actors or DEFAULT_ACTORS
        return count, {"format": 1, "actors": count, "sharding": "input position modulo actors", "runs": []}
    stored = int(before["actors"])
    if actors is not None and actors != stored:
        raise ShardingChanged(
            f"{out} was sharded over {stored} actors; a run with {actors} would put finished seeds in other "
            f"shards. Resume with {stored} actors (--ray-actors {stored}), or use --restart to start over."
        )
    if before.get("fingerprint") not in (None, digest):
        raise ConfigChanged(
            f"{out} holds a run made with another configuration or program (stored: "
            f"{dumps(before.get('config'))}). Use --restart to discard it, or a new output directory."
        )
    known = int(before.get("inputs", 0))
    if len(items) < known or _ids_digest(items[:known]) != before.get("inputs_sha256"):
        raise ShardingChanged(
            f"{out} was sharded by position over an input whose first {known} records had other ids than this "
            "input's: a Ray run resumes on the same input, or on it with records appended at the end. "
            "Restore that input, or use --restart."
        )
    return stored, before


def _read_record(path: Path) -> dict[str, Any]:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        int(record["actors"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ShardingChanged(
            f"{path} cannot be read ({exc}); it was left as it is. Use --restart to start over."
        ) from exc
    if not isinstance(record, dict):
        raise ShardingChanged(f"{path} is not a JSON object; use --restart to start over.")
    return record


# ----------------------------------------------------------------------------------------- keys


def forwarded_env(models: ModelConfig, names: Iterable[str] = ()) -> dict[str, str]:
    """The driver's environment variables the actors get: `names`, and those named for a model's provider.

    A provider's variables are the ones whose name starts with its litellm name and `_` (`OPENAI_API_KEY`,
    `ANTHROPIC_API_KEY`, `AZURE_API_BASE`, ...). Values never leave the driver except as the actors' runtime_env.
    """
    import litellm

    prefixes = set()
    for name in {models.model_for(role) for role in ROLES} - {DEMO_MODEL_NAME}:
        try:
            provider = litellm.get_llm_provider(model=name)[1]
        except Exception:  # litellm raises a bare Exception for a model it cannot place
            continue
        if provider:
            prefixes.add(provider.upper() + "_")
    wanted = set(names)
    return {k: v for k, v in os.environ.items() if k in wanted or k.startswith(tuple(prefixes))}


# ----------------------------------------------------------------------------------------- merging


class MergedShards:
    """The shards' finished seeds in input order (a `RowSource`): shard `k`'s `i`-th input was input `i*n + k`."""

    def __init__(self, stores: list[RunStore]) -> None:
        self.stores = stores

    def positioned(self) -> Iterator[tuple[int, list[dict[str, Any]], list[dict[str, Any]]]]:
        n = len(self.stores)

        def globally(k: int, store: RunStore) -> Iterator[tuple[int, list[dict[str, Any]], list[dict[str, Any]]]]:
            for position, samples, rejections in store.positioned_rows():
                yield position * n + k, samples, rejections

        yield from heapq.merge(*(globally(k, s) for k, s in enumerate(self.stores)), key=lambda row: row[0])

    def rows(self) -> Iterator[tuple[list[dict[str, Any]], list[dict[str, Any]]]]:
        for _, samples, rejections in self.positioned():
            yield samples, rejections


def merged_usage(manifests: list[dict[str, Any]]) -> UsageMeter:
    """The shards' usage and stage outcomes (their manifests' `usage` and `stages`) added up in one meter."""
    meter = UsageMeter()
    for manifest in manifests:
        usage = manifest["usage"]
        for table, rows in ((meter.by_stage, usage["by_stage"]), (meter.by_role, usage["by_role"])):
            for name, row in rows.items():
                total = table.setdefault(name, StageUsage())
                total.calls += row["calls"]
                total.prompt_tokens += row["prompt_tokens"]
                total.completion_tokens += row["completion_tokens"]
                total.cost = None if total.cost is None or row["cost_usd"] is None else total.cost + row["cost_usd"]
        for name, row in manifest["stages"].items():
            o = meter.outcomes.setdefault(name, StageOutcomes())
            o.runs += row["runs"]
            o.attempts += row["attempts"]
            o.first_try += row["first_try_pass"]
            o.repaired += row["repaired"]
            o.rejected += row["rejected"]
            o.unreadable_replies += row["unreadable_replies"]
            o.attempt_codes = dict(Counter(o.attempt_codes) + Counter(row["attempt_codes"]))
            o.repairs = dict(Counter(o.repairs) + Counter(row["reply_repairs"]))
        for name, count in manifest["counts"].items():
            if name == "scenario_duplicates_removed":
                meter.note(name, count)
    return meter


def _open_shard(path: Path) -> RunStore:
    """A shard's store, once the process of an actor that just ended has let go of it."""
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    while True:
        try:
            return RunStore(path / "state.sqlite")
        except OutputLocked:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


# ----------------------------------------------------------------------------------------- the driver


@dataclass(frozen=True)
class _Outcome:
    status: str
    """complete | interrupted | aborted (an error that fails every record) | failed (an actor died too often)"""
    error: str | None = None
    signum: int | None = None


@dataclass
class _Shard:
    index: int
    job: Any  # the ObjectRef of its ShardJob
    actor: Any = None
    ref: Any = None
    attempts: int = 0
    status: str = "pending"
    manifest: dict[str, Any] | None = None
    error: str | None = None


def run_on_ray(
    seeds: Iterable[Seed | SeedError],
    program: ButtonProgram,
    outdir: str | Path,
    *,
    models: ModelConfig,
    options: RunOptions | None = None,
    total: int | None = None,
    stream: TextIO | None = None,
    address: str | None = None,
    actors: int | None = None,
    env_vars: Iterable[str] = (),
    restarts: int = 1,
    actor_options: dict[str, Any] | None = None,
    init_options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """`runner.run` across Ray actors; returns the merged manifest it wrote to `outdir`.

    Connects to the cluster at `address` (`ray.init(address=...)`; None starts a local instance) unless Ray is
    already initialised in this process. `actors` defaults to the count a resumed run was sharded over, else 2.
    The program's own role LMs are not sent: every actor builds its LMs from `models`. `env_vars` names more
    driver variables to forward (`forwarded_env`). An actor that dies is replaced `restarts` times, resuming its
    shard from its store; after that the run ends with `ShardFailed`, and the same call resumes it.
    `actor_options` go to `ray.remote(...).options` (e.g. `num_cpus`), `init_options` to `ray.init`.
    """
    if address is None and "ray" not in sys.modules and "RAY_ADDRESS" not in os.environ:
        # A local instance: Ray would advertise this machine's network address; keep it on the loopback interface.
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    try:
        import ray
    except ImportError as exc:
        raise RayUnavailable(
            "ray is not installed: pip install 'toolsynth[ray]' (or pip install ray) to run on Ray"
        ) from exc
    options = options or RunOptions()
    items = list(seeds)
    out = Path(outdir)
    started = time.monotonic()
    digest, description = fingerprint(program, models.describe())
    with contextlib.suppress(OSError):
        out.mkdir(parents=True, exist_ok=True)
    lock = lock_directory(out)
    try:
        count, record = _sharding(out, items, actors, digest, options.restart)
        try:
            split_concurrency(options.concurrency, count)
        except ValueError as exc:
            raise RayRunError(f"{exc}: raise --concurrency, or use fewer actors") from exc
        if options.restart:
            _remove_other_shards(out, count)
        record.update(
            actors=count,
            inputs=max(len(items), int(record.get("inputs", 0))),
            inputs_sha256=_ids_digest(items[: max(len(items), int(record.get("inputs", 0)))]),
            fingerprint=digest,
            config=description,
        )
        write_json_atomic(out / RAY_FILE, record)
        jobs = shard_jobs(items, program, out, models, options, count)
        env = forwarded_env(models, env_vars)
        started_ray = False
        if not ray.is_initialized():
            quiet = {"log_to_driver": False, "logging_level": logging.WARNING} if options.quiet else {}
            ray.init(address=address, **{**quiet, **(init_options or {})})
            started_ray = True
        try:
            shards = [_Shard(job.index, ray.put(job)) for job in jobs]
            outcome = _drive(ray, shards, out, env, restarts, actor_options or {}, stream, options.quiet)
        finally:
            if started_ray:
                ray.shutdown()
        return _merge(out, shards, count, record, description, digest, options, outcome, started)
    finally:
        if lock is not None:
            os.close(lock)  # releases the flock (`store.lock_directory`)


def shard_jobs(
    items: list[Seed | SeedError],
    program: ButtonProgram,
    outdir: str | Path,
    models: ModelConfig,
    options: RunOptions,
    actors: int,
) -> list[ShardJob]:
    """What each actor is sent: its seeds (input positions `k, k + actors, ...`), a copy of the program with no
    LM (an LM object may hold a key; actors build theirs from `models`), the model names and its share of the
    concurrency. Exports, dedup and the estimate belong to the merged run, not to a shard."""
    bare = program.deepcopy()
    bare.use_lms({})
    shares = split_concurrency(options.concurrency, actors)
    shard_options = [replace(options, concurrency=share, exports=(), dedup=None, estimate=None) for share in shares]
    return [
        ShardJob(k, str(shard_dir(outdir, k)), items[k::actors], bare, models, shard_options[k]) for k in range(actors)
    ]


def _remove_other_shards(out: Path, count: int) -> None:
    """On --restart with fewer actors: the shard directories past the new count belong to the discarded run."""
    root = out / SHARDS
    if root.is_dir():
        for child in root.iterdir():
            if child.name.isdigit() and int(child.name) >= count:
                shutil.rmtree(child)


def _drive(
    ray: Any,
    shards: list[_Shard],
    out: Path,
    env: dict[str, str],
    restarts: int,
    actor_options: dict[str, Any],
    stream: TextIO | None,
    quiet: bool,
) -> _Outcome:
    """Start every shard's actor and wait for them; returns the run's status and error."""
    worker = ray.remote(ShardWorker)
    runtime_env = {"env_vars": env} if env else None

    def start(shard: _Shard) -> None:
        opts = {"name": shard_actor_name(out, shard.index), **actor_options}
        if runtime_env is not None:
            opts["runtime_env"] = runtime_env
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        while True:
            try:
                shard.actor = worker.options(**opts).remote()
                break
            except ray.exceptions.ActorAlreadyExistsError:  # the actor of a shard killed a moment ago, still named
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        shard.ref = shard.actor.run.remote(shard.job)
        shard.attempts += 1
        shard.status = "running"

    def say(line: str) -> None:
        if not quiet:
            print(line, file=stream or sys.stderr, flush=True)

    interrupted: int | None = None
    previous = _on_sigterm()
    try:
        for shard in shards:
            start(shard)
        fatal: BaseException | None = None
        while fatal is None and any(s.status == "running" for s in shards):
            running = {s.ref: s for s in shards if s.status == "running"}
            done, _ = ray.wait(list(running), num_returns=1)
            shard = running[done[0]]
            try:
                shard.manifest = ray.get(done[0])
            except ray.exceptions.RayActorError as exc:  # the actor died (killed, its node lost, out of memory)
                shard.error = f"shard {shard.index}: actor died ({_first_line(exc)})"
                if shard.attempts <= restarts:
                    say(f"{shard.error}; resuming the shard on a new actor")
                    _kill(ray, shard)
                    start(shard)
                else:
                    shard.status = "failed"
                continue
            except (RunAborted, ConfigChanged, StoreError) as exc:
                shard.status, shard.error, fatal = "failed", f"shard {shard.index}: {exc}", exc
                continue
            except ray.exceptions.RayTaskError as exc:
                shard.status, shard.error, fatal = "failed", f"shard {shard.index}: {_first_line(exc)}", exc
                continue
            shard.status = "complete"
            counts = shard.manifest["counts"] if shard.manifest else {}
            say(
                f"shard {shard.index + 1}/{len(shards)} done: {counts.get('inputs', 0)} seeds, "
                f"{counts.get('accepted', 0)} accepted, {counts.get('rejected', 0)} rejected"
            )
    except KeyboardInterrupt as exc:
        interrupted = getattr(exc, "signum", signal.SIGINT)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        for shard in shards:  # a finished actor holds nothing; an unfinished one stops here (its steps are kept)
            _kill(ray, shard)
    if interrupted is not None:
        for shard in shards:
            shard.status = "interrupted" if shard.status == "running" else shard.status
        return _Outcome("interrupted", None, interrupted)
    failed = [s for s in shards if s.status == "failed"]
    if failed:
        return _Outcome("aborted" if fatal is not None else "failed", "; ".join(s.error or "" for s in failed))
    return _Outcome("complete")


def _on_sigterm() -> Any:
    """SIGTERM stops the driver as Ctrl-C does (main thread only); returns the handler it replaced."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        return None

    def stop(signum: int, frame: Any) -> None:
        raise RunInterrupted(signum)

    return signal.signal(signal.SIGTERM, stop)


def _kill(ray: Any, shard: _Shard) -> None:
    if shard.actor is not None:
        with contextlib.suppress(Exception):
            ray.kill(shard.actor)
        shard.actor = None


def _first_line(exc: BaseException) -> str:
    lines = [line for line in str(exc).strip().splitlines() if line.strip()]
    return lines[-1][:400] if lines else type(exc).__name__


def _merge(
    out: Path,
    shards: list[_Shard],
    count: int,
    record: dict[str, Any],
    description: dict[str, Any],
    digest: str,
    options: RunOptions,
    outcome: _Outcome,
    started: float,
) -> dict[str, Any]:
    """Merge the shards' stores into OUTDIR's views and manifest (in input order); raise for a run that failed."""
    status, error = outcome.status, outcome.error
    stores: list[RunStore] = []
    try:
        for k in range(count):
            stores.append(_open_shard(shard_dir(out, k)))
        merged = MergedShards(stores)
        JsonlViews(out).rebuild(merged)
        returned = [s.manifest for s in shards if s.manifest is not None]
        progress = Progress(resumed=sum(m["counts"]["resumed_seeds"] for m in returned), started=started)
        meter = merged_usage(returned)
        manifest = finish_outputs(out, merged, description, digest, meter, progress, status, error, options)
    finally:
        for store in stores:
            store.close()
    manifest["ray"] = {
        "actors": count,
        "sharding": record["sharding"],
        "shards": [
            {"index": s.index, "status": s.status, "actors_started": s.attempts, "error": s.error} for s in shards
        ],
    }
    record["runs"] = [*record.get("runs", []), {"status": status, "usage": manifest["usage"]["total"], "error": error}]
    write_json_atomic(out / RAY_FILE, record)
    manifest["runs"] = record["runs"]
    write_json_atomic(out / "manifest.json", manifest)
    if outcome.signum is not None:
        raise RunInterrupted(outcome.signum)
    if status == "aborted":
        raise RunAborted(error or "a shard failed")
    if status == "failed":
        raise ShardFailed(f"{error}. What finished is kept: run the same command again to resume.")
    return manifest
