"""The eval set as `dspy.Example`s: the shipped `evalset.jsonl`, or any seeds file.

Each record is read by the reader `toolsynth synth` uses (glaive `chat`, OpenAI `messages`, ShareGPT
`conversations` or a bare `scenario`; same ids, same bounds, same errors) and becomes `dspy.Example(chat=,
scenario=, source_id=, language=, domain=, split=)` with inputs `chat`, `scenario`, `source_id`, `language`
(the record's own, or None to detect it). The `split` field ("train" or "dev") decides the
split; a record without one (any ordinary seeds file) is dev, so such a file is all dev. The shipped set
is package data (`toolsynth.evals/data/evalset.jsonl`), read through `importlib.resources` so it loads
from a wheel as well as from a checkout.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Literal

import dspy

from toolsynth.readers import SeedError, seed_records, seeds_and_records
from toolsynth.records import Record, records_in

Split = Literal["train", "dev", "all"]
SPLITS: tuple[str, ...] = ("train", "dev", "all")
EVALSET = "evalset.jsonl"
INPUTS = ("chat", "scenario", "source_id", "language")


def parse_examples(text: str, name: str = "<seeds>", suffix: str = ".jsonl") -> list[dspy.Example]:
    """Examples from the text of a `.jsonl` (or `.json`) seeds file; a bad record raises `SeedError`."""
    return _examples(records_in(text.encode("utf-8"), name, suffix), name)


def _examples(records: Iterable[Record | SeedError], name: str) -> list[dspy.Example]:
    examples = []
    for record, seed in seeds_and_records(records, name):
        if isinstance(seed, SeedError):
            raise seed
        split = record.get("split", "dev")
        if split not in ("train", "dev"):
            raise SeedError(name, seed.location, "split", f"must be 'train' or 'dev', not {split!r}")
        examples.append(
            dspy.Example(
                chat=seed.chat,
                scenario=seed.scenario,
                source_id=seed.source_id,
                language=seed.language,
                domain=record.get("domain"),
                split=split,
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
        examples = _examples(seed_records(path), str(path))
    chosen = [e for e in examples if split == "all" or e.split == split]
    return chosen if limit is None else chosen[: max(0, limit)]


def load_splits(path: str | Path | None = None) -> tuple[list[dspy.Example], list[dspy.Example]]:
    """(train, dev) of `path` (default: the shipped eval set)."""
    examples = load_examples(path)
    return [e for e in examples if e.split == "train"], [e for e in examples if e.split == "dev"]
