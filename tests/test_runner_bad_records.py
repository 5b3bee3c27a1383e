"""Bad records under --skip-bad: each is one `read` rejection, and the work per record does not grow with the run.

No timing: the store's SQL statements are counted. A run that looked up every finished seed once per bad
record (as it once did) reads the whole `seeds` table per record, which is quadratic in the records.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any, ClassVar

import pytest

import toolsynth.runner
from toolsynth.demo_model import demo_lm
from toolsynth.programs import ButtonProgram
from toolsynth.readers import SeedError
from toolsynth.runner import RunOptions, run
from toolsynth.store import RunStore


class TracedStore(RunStore):
    """A `RunStore` that counts every SQL statement it runs, by its text up to `VALUES` or `WHERE`."""

    statements: ClassVar[Counter[str]] = Counter()

    def __init__(self, path: str | Path, *, replace_damaged: bool = False) -> None:
        super().__init__(path, replace_damaged=replace_damaged)
        self.db.set_trace_callback(TracedStore.count)

    @staticmethod
    def count(sql: str) -> None:
        TracedStore.statements[" ".join(re.split(r"\b(?:VALUES|WHERE)\b", sql)[0].split())] += 1


def bad_records(count: int) -> list[SeedError]:
    return [SeedError("seeds.jsonl", f"line {n}", "(line)", "not valid JSON", "invalid_json") for n in range(count)]


def statements_of_a_run(outdir: Path, records: list[SeedError], monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    TracedStore.statements = Counter()
    monkeypatch.setattr(toolsynth.runner, "RunStore", TracedStore)
    manifest: dict[str, Any] = run(
        records,
        ButtonProgram(expand=0),
        outdir,
        lm=demo_lm(0),
        models={"default": "demo"},
        options=RunOptions(quiet=True),
    )
    assert manifest["counts"]["inputs"] == manifest["counts"]["bad_inputs"] == len(records)
    return TracedStore.statements


def test_statements_per_bad_record_are_constant_and_whole_table_reads_do_not_grow(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    small = statements_of_a_run(tmp_path / "small", bad_records(10), monkeypatch)
    large = statements_of_a_run(tmp_path / "large", bad_records(40), monkeypatch)
    assert large - small == Counter({"INSERT OR REPLACE INTO seeds": 30}), (small, large)
    assert small["SELECT source_id FROM seeds"] == 1


def test_a_resumed_run_leaves_finished_bad_records_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    statements_of_a_run(tmp_path / "out", bad_records(5), monkeypatch)
    again = statements_of_a_run(tmp_path / "out", bad_records(5), monkeypatch)
    assert again["INSERT OR REPLACE INTO seeds"] == 0
    assert (tmp_path / "out" / "rejected.jsonl").read_text(encoding="utf-8").count('"stage": "read"') == 5
