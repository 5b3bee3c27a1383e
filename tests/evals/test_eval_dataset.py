"""Eval set loading: the shipped set (package data), splits, and any seeds file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from toolsynth.evals.dataset import default_evalset_text, load_examples, load_splits
from toolsynth.readers import SeedError, iter_seeds, read_seeds


def test_shipped_evalset_loads_with_inputs_and_splits() -> None:
    train, dev = load_splits()
    assert len(train) >= 24 and len(dev) >= 24
    assert len(train) + len(dev) == len(load_examples(split="all"))
    example = dev[0]
    assert set(example.inputs().keys()) == {"chat", "scenario", "source_id", "language"}
    assert example.chat and example.domain and example.split == "dev" and example.language in ("en", "zh")
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


def test_seeds_files_are_read_by_the_synth_reader(tmp_path: Path) -> None:
    path = tmp_path / "seeds.jsonl"
    records = [
        {"id": 2, "chat": "USER: weather in Rome?", "language": "en"},
        {"messages": [{"role": "user", "content": "hi"}, {"role": "tool", "content": "{}"}]},
    ]
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    with pytest.raises(SeedError) as caught:
        load_examples(path)
    as_synth_reads_it = list(iter_seeds(path))[1]
    assert isinstance(as_synth_reads_it, SeedError) and str(caught.value) == str(as_synth_reads_it)
    assert caught.value.where == "line 2" and caught.value.field == "id"
    path.write_bytes(b'{"chat": "USER: hi"}\n' + b"[" * 100_000 + b"\n")
    with pytest.raises(SeedError, match=r":line 2: nested deeper than 100 levels at column 101$"):
        load_examples(path)
    path.write_text(json.dumps(records[1]) + "\n", encoding="utf-8")
    (example,) = load_examples(path)
    (seed,) = read_seeds(path)
    assert example.chat == seed.chat == "USER: hi\n\nFUNCTION RESPONSE: {}" and example.language is None
