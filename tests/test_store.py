"""The run's output directory: strict JSON in every file, damaged stores, environment failures, one run at a time."""

from __future__ import annotations

import json
import math
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests.support import ROOT, demo_unless, scripted_lm, stage_of
from toolsynth.demo_model import reply_to
from toolsynth.programs import ButtonProgram
from toolsynth.readers import iter_seeds
from toolsynth.runner import RunOptions, run
from toolsynth.store import RunStore, dumps, write_json_atomic


def strict_loads(text: str) -> Any:
    def refuse(constant: str) -> Any:
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


def with_nan_numbers(value: Any) -> Any:
    """Every number in a JSON value replaced by NaN (booleans kept)."""
    if isinstance(value, dict):
        return {k: with_nan_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [with_nan_numbers(v) for v in value]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return math.nan
    return value


def nan_tool_results(messages: list[dict[str, Any]]) -> str | None:
    """The tool simulator answers as the demo model would, but with NaN for every number (as Python writes it)."""
    if stage_of(messages) != "result":
        return None
    return json.dumps(with_nan_numbers(json.loads(reply_to(messages))))


def run_seeds(outdir: Path, lm: Any, n: int = 2, **options: Any) -> dict[str, Any]:
    seeds = list(iter_seeds(ROOT / "examples" / "seeds.jsonl"))[:n]
    return run(
        seeds,
        ButtonProgram(expand=0),
        outdir,
        lm=lm,
        models={"default": "scripted"},
        options=RunOptions(quiet=True, **options),
        total=len(seeds),
    )


def test_a_model_answering_nan_leaves_only_strict_json_in_every_file(tmp_path: Path) -> None:
    lm, _ = scripted_lm(demo_unless(nan_tool_results))
    out = tmp_path / "out"
    manifest = run_seeds(out, lm)
    assert manifest["counts"]["rejected_by_code"].get("number_not_finite", 0) >= 1
    for name in ("samples.jsonl", "rejected.jsonl"):
        for line in (out / name).read_text(encoding="utf-8").splitlines():
            strict_loads(line)
    strict_loads((out / "manifest.json").read_text(encoding="utf-8"))
    db = sqlite3.connect(out / "state.sqlite")
    try:
        queries = (
            "SELECT value FROM meta WHERE key = 'config'",  # the other meta row is the fingerprint, plain text
            "SELECT value FROM steps",
            "SELECT samples FROM seeds",
            "SELECT rejections FROM seeds",
            "SELECT summary FROM runs",
        )
        texts = [value for query in queries for (value,) in db.execute(query)]
    finally:
        db.close()
    assert texts and all(strict_loads(t) is not None for t in texts)


def test_writers_refuse_nan_rather_than_write_it(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="JSON compliant"):
        dumps({"rate": math.inf})
    with pytest.raises(ValueError, match="JSON compliant"):
        write_json_atomic(tmp_path / "manifest.json", {"elapsed": math.nan})
    assert list(tmp_path.iterdir()) == []  # nothing half-written
    store = RunStore(tmp_path / "out" / "state.sqlite")
    try:
        with pytest.raises(ValueError, match="JSON compliant"):
            store.put("k", {"result": math.nan})
        assert store.get("k") is None
    finally:
        store.close()
