"""Progress output: the stream is looked up when used, and a quiet run touches none."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from tests.support import ROOT
from toolsynth.demo_model import demo_lm
from toolsynth.programs import ButtonProgram
from toolsynth.readers import iter_seeds
from toolsynth.runner import RunOptions, run


def run_two_seeds(outdir: Path, *, quiet: bool, stream: io.StringIO | None = None) -> dict[str, object]:
    seeds = list(iter_seeds(ROOT / "examples" / "seeds.jsonl"))[:2]
    return run(
        seeds,
        ButtonProgram(expand=0),
        outdir,
        lm=demo_lm(0),
        models={"default": "demo"},
        options=RunOptions(quiet=quiet),
        total=len(seeds),
        stream=stream,
    )


class ClosedStream(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.close()


def test_quiet_run_touches_no_stream_even_a_closed_stderr(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stderr", ClosedStream())  # as pytest's capture, Jupyter or a wrapper may leave it
    manifest = run_two_seeds(tmp_path / "out", quiet=True)
    assert manifest["status"] == "complete"


def test_progress_goes_to_the_stderr_of_the_moment_not_of_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    swapped = io.StringIO()
    monkeypatch.setattr(sys, "stderr", swapped)
    run_two_seeds(tmp_path / "out", quiet=False)
    lines = swapped.getvalue().splitlines()
    assert lines and lines[-1].startswith("seeds 2/2 | accepted ")


def test_progress_goes_to_a_given_stream(tmp_path: Path) -> None:
    stream = io.StringIO()
    run_two_seeds(tmp_path / "out", quiet=False, stream=stream)
    assert "seeds 2/2" in stream.getvalue()
