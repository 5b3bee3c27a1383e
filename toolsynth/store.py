"""The run's embedded store: SQLite in the output directory.

It holds every finished step of every record (the programs' `StepMemo`), every finished seed with its
samples and rejections, the fingerprint of the configuration that produced them, and one row per run.
Each step is committed as it completes (WAL journal), so a killed run loses at most the calls in flight.
`samples.jsonl` and `rejected.jsonl` are views of this store: rewritten from it when a run starts and
appended to as seeds finish. Everything written here is strict JSON: NaN and Infinity are refused (`dumps`).
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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


class ConfigChanged(RuntimeError):
    """The output directory holds a run made with another configuration or program."""


class RunStore:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    # -- configuration -------------------------------------------------------------------------
    def bind(self, fingerprint: str, description: dict[str, Any], *, restart: bool) -> None:
        """Tie the store to one configuration; refuse another unless `restart` wipes it."""
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
        row = self.db.execute("SELECT value FROM steps WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def put(self, key: str, value: Any) -> None:
        self.db.execute("INSERT OR REPLACE INTO steps VALUES (?, ?)", (key, dumps(value)))

    # -- seeds ---------------------------------------------------------------------------------
    def finished(self) -> set[str]:
        return {r[0] for r in self.db.execute("SELECT source_id FROM seeds")}

    def finish(
        self, source_id: str, position: int, samples: list[dict[str, Any]], rejections: list[dict[str, Any]]
    ) -> None:
        retryable = any("lm_error" in r.get("codes", []) for r in rejections)
        self.db.execute(
            "INSERT OR REPLACE INTO seeds VALUES (?, ?, ?, ?, ?)",
            (
                source_id,
                position,
                dumps(samples),
                dumps(rejections),
                int(retryable),
            ),
        )

    def forget_rejected(self, only_retryable: bool = False) -> int:
        """Make seeds with rejections pending again; their finished steps stay memoised."""
        where = "retryable = 1" if only_retryable else "rejections != '[]'"
        with self.db:
            return self.db.execute(f"DELETE FROM seeds WHERE {where}").rowcount

    def rows(self) -> Iterator[tuple[list[dict[str, Any]], list[dict[str, Any]]]]:
        for samples, rejections in self.db.execute("SELECT samples, rejections FROM seeds ORDER BY position"):
            yield json.loads(samples), json.loads(rejections)

    # -- runs ----------------------------------------------------------------------------------
    def record_run(self, summary: dict[str, Any]) -> None:
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO runs VALUES (?, ?)", (time.time(), dumps(summary)))

    def runs(self) -> list[dict[str, Any]]:
        return [json.loads(r[0]) for r in self.db.execute("SELECT summary FROM runs ORDER BY started")]


class JsonlViews:
    """`samples.jsonl` and `rejected.jsonl`: rebuilt atomically from the store, then appended to."""

    def __init__(self, outdir: Path) -> None:
        self.samples = outdir / "samples.jsonl"
        self.rejected = outdir / "rejected.jsonl"

    def rebuild(self, store: RunStore) -> None:
        tmp_s, tmp_r = self.samples.with_suffix(".jsonl.tmp"), self.rejected.with_suffix(".jsonl.tmp")
        with tmp_s.open("w", encoding="utf-8") as fs, tmp_r.open("w", encoding="utf-8") as fr:
            for samples, rejections in store.rows():
                fs.writelines(_line(s) for s in samples)
                fr.writelines(_line(r) for r in rejections)
        os.replace(tmp_s, self.samples)
        os.replace(tmp_r, self.rejected)

    def append(self, samples: list[dict[str, Any]], rejections: list[dict[str, Any]]) -> None:
        """One write per file, so a kill leaves whole lines (the store has them anyway)."""
        for path, rows in ((self.samples, samples), (self.rejected, rejections)):
            if rows:
                _append_all(path, "".join(_line(r) for r in rows).encode("utf-8"))


def dumps(value: Any, indent: int | None = None) -> str:
    """Strict JSON text: a NaN or Infinity raises ValueError instead of writing what no JSON parser reads."""
    return json.dumps(value, ensure_ascii=False, allow_nan=False, indent=indent)


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
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(dumps(value, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
