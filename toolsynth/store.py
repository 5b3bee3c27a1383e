"""The run's embedded store: SQLite in the output directory.

It holds every finished step of every record (the programs' `StepMemo`), every finished seed with its
samples and rejections, the fingerprint of the configuration that produced them, and one row per run.
Each step is committed as it completes (WAL journal), so a killed run loses at most the calls in flight.
`samples.jsonl` and `rejected.jsonl` are views of this store: rewritten from it when a run starts and
appended to as seeds finish. Everything written here is strict JSON (NaN and Infinity are refused) with API
keys and bearer tokens masked (`dumps`).

A store that cannot be read as one (truncated, garbage, 0 bytes, another schema) is never replaced silently:
opening it raises `StoreDamaged`, and only `replace_damaged` (the CLI's `--restart`) discards it. Every
SQLite or file-system failure (disk full, read-only directory) is raised as a `StoreError` whose message
names the file and what to do. One run at a time: the store holds an exclusive `flock` on `OUTDIR/.lock`
while it is open, which the kernel drops when the process ends however it ends (even SIGKILL).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import sqlite3
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, TextIO

from toolsynth.redact import json_text_may_hold_secrets, redact_value

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS steps (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS seeds (
    source_id TEXT PRIMARY KEY,
    position INTEGER NOT NULL,
    samples TEXT NOT NULL,
    rejections TEXT NOT NULL,
    retryable INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (started REAL PRIMARY KEY, summary TEXT NOT NULL);
"""
COLUMNS = {
    "meta": ("key", "value"),
    "steps": ("key", "value"),
    "seeds": ("source_id", "position", "samples", "rejections", "retryable"),
    "runs": ("started", "summary"),
}


class ConfigChanged(RuntimeError):
    """The output directory holds a run made with another configuration or program."""


class StoreError(RuntimeError):
    """The output directory cannot be used as it is; the message names the file and what to do."""


class StoreDamaged(StoreError):
    """The store exists but cannot be read as a toolsynth run store."""


class OutputLocked(StoreError):
    """Another run (another process, or another open store in this one) holds the output directory."""


def storage_error(path: Path, exc: sqlite3.Error | OSError) -> StoreError:
    """One clear error for a failure of SQLite or the file system on `path`."""
    if isinstance(exc, sqlite3.Error):
        code = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF
        if code in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
            return StoreDamaged(damaged_message(path, str(exc)))
        full = code == sqlite3.SQLITE_FULL
        denied = code in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM)
        detail = str(exc)
    else:
        full = exc.errno in (errno.ENOSPC, errno.EDQUOT)
        denied = exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS)
        detail = exc.strerror or str(exc)
    if full:
        return StoreError(
            f"cannot write {path}: the disk is full ({detail}). Finished steps are kept: "
            "free some space and run the same command again to resume."
        )
    if denied:
        return StoreError(
            f"cannot write {path} ({detail}). Make {path.parent} writable, or choose another output directory."
        )
    return StoreError(f"cannot use {path} ({detail}). Fix the cause and run the same command again to resume.")


def damaged_message(path: Path, problem: str) -> str:
    return (
        f"{path} is damaged or not a toolsynth run store ({problem}); it was left as it is and nothing was run. "
        "Run again with --restart to replace it with a new store (finished steps will be paid for again), "
        "or move it away to keep it."
    )


@contextlib.contextmanager
def guarded(path: Path) -> Iterator[None]:
    """Raise SQLite and file-system failures inside the block as a `StoreError` naming `path`."""
    try:
        yield
    except (sqlite3.Error, OSError) as exc:
        raise storage_error(path, exc) from exc


class RunStore:
    def __init__(self, path: str | Path, *, replace_damaged: bool = False) -> None:
        """Open (or create) the store; a damaged one raises `StoreDamaged` unless `replace_damaged`."""
        self.path = Path(path)
        with guarded(self.path.parent):
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = lock_directory(self.path.parent)
        try:
            self.db = self._open(replace_damaged)
        except BaseException:
            _unlock(self._lock)
            raise

    def _open(self, replace_damaged: bool) -> sqlite3.Connection:
        try:
            return _open(self.path)
        except StoreDamaged:
            if not replace_damaged:
                raise
        with guarded(self.path):
            for suffix in ("", "-wal", "-shm"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)
        return _open(self.path)

    def close(self) -> None:
        try:
            self.db.close()
        finally:
            _unlock(self._lock)

    # -- configuration -------------------------------------------------------------------------
    def bind(self, fingerprint: str, description: dict[str, Any], *, restart: bool) -> None:
        """Tie the store to one configuration; refuse another unless `restart` wipes it."""
        with guarded(self.path):
            self._bind(fingerprint, description, restart=restart)

    def _bind(self, fingerprint: str, description: dict[str, Any], *, restart: bool) -> None:
        row = self.db.execute("SELECT value FROM meta WHERE key = 'fingerprint'").fetchone()
        if row is not None and row[0] != fingerprint and not restart:
            before = self.db.execute("SELECT value FROM meta WHERE key = 'config'").fetchone()
            raise ConfigChanged(
                f"{self.path.parent} holds a run made with another configuration or program "
                f"(stored: {before[0] if before else '?'}). Use --restart to discard it, or a new output directory."
            )
        if restart or row is None or row[0] != fingerprint:
            with self.db:
                for table in ("steps", "seeds", "runs", "meta"):
                    self.db.execute(f"DELETE FROM {table}")
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO meta VALUES ('fingerprint', ?)", (fingerprint,))
            self.db.execute("INSERT OR REPLACE INTO meta VALUES ('config', ?)", (dumps(description),))

    # -- StepMemo ------------------------------------------------------------------------------
    def get(self, key: str) -> Any | None:
        with guarded(self.path):
            row = self.db.execute("SELECT value FROM steps WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def put(self, key: str, value: Any) -> None:
        text = dumps(value)
        with guarded(self.path):
            self.db.execute("INSERT OR REPLACE INTO steps VALUES (?, ?)", (key, text))

    # -- seeds ---------------------------------------------------------------------------------
    def finished(self) -> set[str]:
        with guarded(self.path):
            return {r[0] for r in self.db.execute("SELECT source_id FROM seeds")}

    def finish(
        self, source_id: str, position: int, samples: list[dict[str, Any]], rejections: list[dict[str, Any]]
    ) -> None:
        retryable = any("lm_error" in r.get("codes", []) for r in rejections)
        row = (source_id, position, dumps(samples), dumps(rejections), int(retryable))
        with guarded(self.path):
            self.db.execute("INSERT OR REPLACE INTO seeds VALUES (?, ?, ?, ?, ?)", row)

    def forget_rejected(self) -> int:
        """Make seeds with rejections pending again; their finished steps stay memoised."""
        with guarded(self.path), self.db:
            return self.db.execute("DELETE FROM seeds WHERE rejections != '[]'").rowcount

    def rows(self) -> Iterator[tuple[list[dict[str, Any]], list[dict[str, Any]]]]:
        with guarded(self.path):
            for samples, rejections in self.db.execute("SELECT samples, rejections FROM seeds ORDER BY position"):
                yield json.loads(samples), json.loads(rejections)

    def positioned_rows(self) -> Iterator[tuple[int, list[dict[str, Any]], list[dict[str, Any]]]]:
        """`rows()` with each seed's position in the input of the run that finished it."""
        with guarded(self.path):
            query = "SELECT position, samples, rejections FROM seeds ORDER BY position"
            for position, samples, rejections in self.db.execute(query):
                yield position, json.loads(samples), json.loads(rejections)

    # -- runs ----------------------------------------------------------------------------------
    def record_run(self, summary: dict[str, Any]) -> None:
        with guarded(self.path), self.db:
            self.db.execute("INSERT OR REPLACE INTO runs VALUES (?, ?)", (time.time(), dumps(summary)))

    def runs(self) -> list[dict[str, Any]]:
        with guarded(self.path):
            return [json.loads(r[0]) for r in self.db.execute("SELECT summary FROM runs ORDER BY started")]


class RowSource(Protocol):
    """Finished seeds in input order, each as its samples and its rejections: a `RunStore`, or shards merged."""

    def rows(self) -> Iterator[tuple[list[dict[str, Any]], list[dict[str, Any]]]]: ...


class JsonlViews:
    """`samples.jsonl` and `rejected.jsonl`: rebuilt atomically from the store, then appended to."""

    def __init__(self, outdir: Path) -> None:
        self.samples = outdir / "samples.jsonl"
        self.rejected = outdir / "rejected.jsonl"

    def rebuild(self, store: RowSource) -> None:
        with _ViewFile(self.samples) as fs, _ViewFile(self.rejected) as fr:
            for samples, rejections in store.rows():
                fs.write(samples)
                fr.write(rejections)
        for view in (self.samples, self.rejected):
            with guarded(view):
                os.replace(_tmp(view), view)

    def append(self, samples: list[dict[str, Any]], rejections: list[dict[str, Any]]) -> None:
        """One write per file, so a kill leaves whole lines (the store has them anyway)."""
        for path, rows in ((self.samples, samples), (self.rejected, rejections)):
            if rows:
                data = "".join(_line(r) for r in rows).encode("utf-8")
                with guarded(path):
                    _append_all(path, data)


class _ViewFile:
    """The temporary file a view is rebuilt in; a failure to write it names the view."""

    def __init__(self, view: Path) -> None:
        self.view = view
        with guarded(view):
            self.handle: TextIO = _tmp(view).open("w", encoding="utf-8")

    def write(self, rows: Iterable[dict[str, Any]]) -> None:
        with guarded(self.view):
            self.handle.writelines(_line(r) for r in rows)

    def __enter__(self) -> _ViewFile:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if kind is None:
            with guarded(self.view):
                self.handle.close()
        else:  # already failing: keep that error
            with contextlib.suppress(OSError):
                self.handle.close()


def _tmp(path: Path) -> Path:
    return path.with_suffix(path.suffix + ".tmp")


_LINE_BREAKS = str.maketrans({"\u2028": "\\u2028", "\u2029": "\\u2029", "\x85": "\\u0085"})
"""Characters that `json.dumps(ensure_ascii=False)` leaves raw but that `str.splitlines` (and some JSONL readers)
take for line ends; in JSON text they only occur inside strings, where their escapes mean the same."""


def dumps(value: Any, indent: int | None = None) -> str:
    """Strict JSON text with secrets masked (`toolsynth.redact`): a NaN or Infinity raises ValueError instead of
    writing what no JSON parser reads, and no character a line splitter takes for a line end is left raw (one JSONL
    row stays one line for every reader). Every JSON toolsynth writes goes through here."""
    text = json.dumps(value, ensure_ascii=False, allow_nan=False, indent=indent)
    if json_text_may_hold_secrets(text):  # rarely: walking every value costs four times the dump
        text = json.dumps(redact_value(value), ensure_ascii=False, allow_nan=False, indent=indent)
    if "\u2028" in text or "\u2029" in text or "\x85" in text:  # `translate` is slow on any non-ASCII text
        text = text.translate(_LINE_BREAKS)
    return text


def _line(row: dict[str, Any]) -> str:
    return dumps(row) + "\n"


def _append_all(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def write_json_atomic(path: Path, value: Any) -> None:
    text = dumps(value, indent=2) + "\n"
    with guarded(path):
        _tmp(path).write_text(text, encoding="utf-8")
        os.replace(_tmp(path), path)


# -- opening ---------------------------------------------------------------------------------------

LOCK_NAME = ".lock"


def lock_directory(outdir: Path) -> int | None:
    """An exclusive `flock` on `outdir/.lock` (its descriptor), or `OutputLocked` naming the holder.

    flock locks belong to the open file description: a second open, in this process or another, conflicts,
    and the kernel releases the lock when its process ends, so no stale lock survives a SIGKILL. The file
    stays (removing it would let two runs lock two different files); it holds the holder's pid, for the
    message. Not available on Windows, where runs are not locked.
    """
    if sys.platform == "win32":
        return None
    import fcntl

    path = outdir / LOCK_NAME
    with guarded(path):
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
            pid = f"pid {holder}, " if holder.isdigit() else ""
            raise OutputLocked(
                f"{outdir} is in use by another toolsynth run ({pid}lock {path}). "
                "Wait for it to finish, or use another output directory."
            ) from None
        except OSError as exc:  # a file system without locks, for one
            raise storage_error(path, exc) from exc
        with guarded(path):
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _unlock(fd: int | None) -> None:
    if fd is not None:
        os.close(fd)  # closing the last descriptor of the open file description releases the flock


def _open(path: Path) -> sqlite3.Connection:
    """A connection to a sound store at `path`, created (atomically, with its schema) when there is none."""
    with guarded(path):
        if not path.exists():
            _create(path)
        elif path.stat().st_size == 0:
            raise StoreDamaged(damaged_message(path, "it is empty: 0 bytes"))
        db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        with guarded(path):
            problem = _schema_problem(db)
            if problem is not None:
                raise StoreDamaged(damaged_message(path, problem))
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(SCHEMA)  # a database with no tables at all (never written to) gets them now
    except BaseException:
        db.close()
        raise
    return db


def _create(path: Path) -> None:
    """Build an empty store beside `path` and move it into place, so `path` never exists half-made."""
    tmp = path.with_name(path.name + ".new")
    for suffix in ("", "-journal"):
        Path(f"{tmp}{suffix}").unlink(missing_ok=True)
    db = sqlite3.connect(tmp)
    try:
        db.executescript(SCHEMA)
    finally:
        db.close()
    os.replace(tmp, path)


def _schema_problem(db: sqlite3.Connection) -> str | None:
    """Why `db` is not a sound toolsynth store (page-level damage, other tables or columns), or None."""
    check = [row[0] for row in db.execute("PRAGMA quick_check").fetchall()]
    if check != ["ok"]:
        return "; ".join(check[:3])
    names = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    if not names:
        return None
    for table, expected in COLUMNS.items():
        if table not in names:
            return f"no table {table!r}; its tables are {', '.join(sorted(names))}"
        found = tuple(row[1] for row in db.execute(f"PRAGMA table_info({table})"))
        if found != expected:
            return f"table {table!r} has columns ({', '.join(found)}), not ({', '.join(expected)})"
    return None
