"""The runner keeps no record once it is written: its memory does not grow with the seeds (benchmarks/README.md)."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path
from typing import Any

from toolsynth.demo_model import demo_lm
from toolsynth.programs import ButtonProgram
from toolsynth.programs.button import ButtonResult
from toolsynth.readers import Seed
from toolsynth.runner import RunOptions, run


class WatchedProgram(ButtonProgram):
    """Remembers each seed's result weakly and, as each seed starts, how many earlier results are still alive."""

    def __init__(self) -> None:
        super().__init__()
        self.results: list[weakref.ReferenceType[ButtonResult]] = []
        self.alive: list[int] = []

    async def aforward(self, *args: Any, **kwargs: Any) -> ButtonResult:
        gc.collect()
        self.alive.append(sum(ref() is not None for ref in self.results))
        result = await super().aforward(*args, **kwargs)
        self.results.append(weakref.ref(result))
        return result


def test_no_seed_result_outlives_its_writing(tmp_path: Path) -> None:
    seeds = [
        Seed(source_id=f"s{i}", chat=f"USER: What's the weather in city {i} tomorrow?\n\nASSISTANT: Sunny, 20 °C.")
        for i in range(24)
    ]
    program = WatchedProgram()
    concurrency = 2
    manifest = run(
        seeds,
        program,
        tmp_path / "out",
        lm=demo_lm(0),
        models={"demo": True},
        options=RunOptions(concurrency, quiet=True),
    )
    assert manifest["counts"]["inputs"] == 24 and len(program.results) == 24
    # at most the records in flight (the runner starts a new one when one of 2 x concurrency finishes) are alive
    assert max(program.alive) <= 2 * concurrency
    gc.collect()
    assert [ref for ref in program.results if ref() is not None] == []
