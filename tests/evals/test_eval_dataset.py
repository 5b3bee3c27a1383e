"""Eval set loading: the shipped set (package data), splits, and any seeds file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from toolsynth.evals.dataset import default_evalset_text, load_examples, load_splits
from toolsynth.readers import SeedError


def test_shipped_evalset_loads_with_inputs_and_splits() -> None:
    train, dev = load_splits()
    assert len(train) >= 24 and len(dev) >= 24
    assert len(train) + len(dev) == len(load_examples(split="all"))
    example = dev[0]
    assert set(example.inputs().keys()) == {"chat", "scenario", "source_id"}
    assert example.chat and example.domain and example.split == "dev"
    assert {e.source_id for e in train}.isdisjoint({e.source_id for e in dev})
    assert len(load_examples(split="train", limit=3)) == 3
    assert default_evalset_text().startswith("{")


def test_a_seeds_file_without_split_is_all_dev(tmp_path: Path) -> None:
    path = tmp_path / "seeds.jsonl"
    records = [
        {"id": "a", "chat": "USER: weather in Rome?"},
        {"scenario": "Someone plans a trip."},
        {"id": "c", "split": "train", "messages": [{"role": "user", "content": "100 USD in EUR?"}]},
    ]
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    dev = load_examples(path, split="dev")
    assert [e.source_id for e in dev] == ["a", "2"]
    assert dev[1].scenario == "Someone plans a trip." and dev[1].chat is None
    assert [e.source_id for e in load_examples(path, split="train")] == ["c"]


def test_bad_input_is_a_seed_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "a", "chat": "hi", "split": "test"}\n', encoding="utf-8")
    with pytest.raises(SeedError, match="split"):
        load_examples(path)
    with pytest.raises(SeedError, match="no such file"):
        load_examples(tmp_path / "missing.jsonl")
    with pytest.raises(ValueError, match="split"):
        load_examples(split="test")
