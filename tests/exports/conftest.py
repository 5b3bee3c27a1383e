"""The demo model's samples of the shipped seeds and of the eval set, made once and exported on demand."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support import ROOT
from toolsynth.cli import main
from toolsynth.exports import ExportOptions, ExportReport, export_samples

DEMO_SEED_FILES = {"seeds": ROOT / "examples" / "seeds.jsonl", "evalset": ROOT / "evals" / "data" / "evalset.jsonl"}

Exporter = Callable[[str, str, ExportOptions], tuple[Path, ExportReport]]


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="session")
def demo_samples(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """`samples.jsonl` of `toolsynth synth` on the offline demo model, per seed file (one run each per session:
    every export test reads the same samples)."""
    runs = {}
    for name, seeds in DEMO_SEED_FILES.items():
        out = tmp_path_factory.mktemp(f"demo-{name}")
        assert main(["synth", str(seeds), "-o", str(out), "--quiet"]) == 0
        runs[name] = out / "samples.jsonl"
    return runs


@pytest.fixture(scope="session")
def exported(demo_samples: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Exporter:
    """`exported(samples name, format, options)` → the export file and its report, written once per session."""
    made: dict[tuple[str, str, ExportOptions], tuple[Path, ExportReport]] = {}

    def export(name: str, fmt: str, options: ExportOptions) -> tuple[Path, ExportReport]:
        key = (name, fmt, options)
        if key not in made:
            path = tmp_path_factory.mktemp(f"{name}-{fmt}") / f"{fmt}.jsonl"
            made[key] = (path, export_samples(demo_samples[name], fmt, path, options))
        return made[key]

    return export
