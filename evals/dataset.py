"""The eval set as `dspy.Example`s: the shipped `evalset.jsonl`, or any seeds file.

Each record is read like `toolsynth synth` reads seeds (glaive `chat`, OpenAI `messages`, ShareGPT
`conversations` or a bare `scenario`) and becomes `dspy.Example(chat=, scenario=, source_id=, domain=,
split=)` with inputs `chat`, `scenario`, `source_id`. The `split` field ("train" or "dev") decides the
split; a record without one (any ordinary seeds file) is dev, so such a file is all dev. The shipped set
is package data (`toolsynth.evals/data/evalset.jsonl`), read through `importlib.resources` so it loads
from a wheel as well as from a checkout.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import dspy

from toolsynth.readers import SeedError, parse_record

Split = Literal["train", "dev", "all"]
SPLITS: tuple[str, ...] = ("train", "dev", "all")
EVALSET = "evalset.jsonl"
INPUTS = ("chat", "scenario", "source_id")


def _records(text: str, name: str, suffix: str) -> list[tuple[str, str, Any]]:
    """(where, default id, decoded record) per record; a line that is not JSON raises `SeedError`."""
    if suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SeedError(name, f"line {exc.lineno}", "(file)", f"not valid JSON: {exc.msg}") from exc
        items = data if isinstance(data, list) else [data]
        return [(f"index {i}", str(i), item) for i, item in enumerate(items)]
    out = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            out.append((f"line {number}", str(number), json.loads(line)))
        except json.JSONDecodeError as exc:
            raise SeedError(name, f"line {number}", "(line)", f"not valid JSON: {exc.msg}") from exc
    return out


def parse_examples(text: str, name: str = "<seeds>", suffix: str = ".jsonl") -> list[dspy.Example]:
    """Examples from the text of a `.jsonl` (or `.json`) seeds file; a bad record raises `SeedError`."""
    examples = []
    seen: set[str] = set()
    for where, default_id, record in _records(text, name, suffix):
        seed = parse_record(record, name, where, default_id)
        if seed.source_id in seen:
            raise SeedError(name, where, "id", f"duplicate id {seed.source_id!r}")
        seen.add(seed.source_id)
        split = record.get("split", "dev") if isinstance(record, dict) else "dev"
        if split not in ("train", "dev"):
            raise SeedError(name, where, "split", f"must be 'train' or 'dev', not {split!r}")
        domain = record.get("domain") if isinstance(record, dict) else None
        examples.append(
            dspy.Example(
                chat=seed.chat, scenario=seed.scenario, source_id=seed.source_id, domain=domain, split=split
            ).with_inputs(*INPUTS)
        )
    return examples


def default_evalset_text() -> str:
    """The text of the shipped eval set (package data)."""
    return (resources.files("toolsynth.evals") / "data" / EVALSET).read_text(encoding="utf-8")


def load_examples(path: str | Path | None = None, split: str = "all", limit: int | None = None) -> list[dspy.Example]:
    """Examples of `path` (default: the shipped eval set) in one split ("train", "dev" or "all"), first `limit`."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}, not {split!r}")
    if path is None:
        examples = parse_examples(default_evalset_text(), f"toolsynth.evals/data/{EVALSET}")
    else:
        path = Path(path)
        if not path.is_file():
            raise SeedError(str(path), "-", "(file)", "no such file")
        if path.suffix not in (".jsonl", ".json"):
            raise SeedError(str(path), "-", "(file)", "expected a .jsonl or .json file")
        examples = parse_examples(path.read_text(encoding="utf-8"), str(path), path.suffix)
    chosen = [e for e in examples if split == "all" or e.split == split]
    return chosen if limit is None else chosen[: max(0, limit)]


def load_splits(path: str | Path | None = None) -> tuple[list[dspy.Example], list[dspy.Example]]:
    """(train, dev) of `path` (default: the shipped eval set)."""
    examples = load_examples(path)
    return [e for e in examples if e.split == "train"], [e for e in examples if e.split == "dev"]
