"""A record that fails inside the program ends as that record's `run` rejection (`internal_error`); the others go on."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from toolsynth.demo_model import demo_lm
from toolsynth.programs import ButtonProgram, ButtonResult
from toolsynth.readers import Seed
from toolsynth.runner import RunOptions, run


class FailsOnOneSeed(ButtonProgram):
    async def aforward(self, *args: Any, **kwargs: Any) -> ButtonResult:
        if kwargs.get("source_id") == "broken":
            raise KeyError("a bug in the program")
        return await super().aforward(*args, **kwargs)


def test_an_exception_in_one_record_is_its_internal_error_rejection(tmp_path: Path) -> None:
    chat = "USER: What's the weather in Paris?\n\nASSISTANT: 18 °C and sunny."
    seeds = [Seed(source_id=sid, chat=chat) for sid in ("broken", "fine")]
    manifest = run(
        seeds,
        FailsOnOneSeed(expand=0),
        tmp_path,
        lm=demo_lm(0),
        models={"default": "demo"},
        options=RunOptions(quiet=True),
    )
    rejected = [json.loads(line) for line in (tmp_path / "rejected.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(r["id"], r["stage"], r["codes"]) for r in rejected] == [("broken", "run", ["internal_error"])]
    assert "KeyError" in rejected[0]["message"]
    assert manifest["counts"]["accepted"] >= 1
