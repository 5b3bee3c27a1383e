"""Seed readers: every supported format, ids, and errors that name file, line and field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support import ROOT, shared_file
from toolsynth.readers import Seed, SeedError, iter_seeds, read_seeds


def write_lines(path: Path, rows: list[object]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def test_glaive_seeds_from_the_reference_pipeline() -> None:
    seeds = read_seeds(shared_file("dataflow_chat_data.jsonl"))
    assert [s.source_id for s in seeds] == ["1", "2", "3", "4", "5"]
    assert all(s.format == "glaive" and s.chat and "<|endoftext|>" not in s.chat for s in seeds)
    assert "USER: Can you book a flight" in (seeds[0].chat or "")


def test_sharegpt_json_array_uses_indexes() -> None:
    seeds = read_seeds(shared_file("glaive_toolcall_en_demo.json"))
    assert len(seeds) == 300
    assert seeds[0].source_id == "0" and seeds[0].format == "sharegpt"
    assert "FUNCTION RESPONSE:" in (seeds[0].chat or "")


def test_openai_scenario_and_ids(tmp_path: Path) -> None:
    path = write_lines(
        tmp_path / "seeds.jsonl",
        [
            {
                "id": "a",
                "messages": [
                    {"role": "user", "content": "天气怎么样？"},
                    {
                        "role": "assistant",
                        "content": None,
                        "tool_calls": [
                            {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
                        ],
                    },
                    {"role": "tool", "tool_call_id": "c1", "content": '{"t": 3}'},
                ],
            },
            {"scenario": "A commuter plans a route."},
            {"id": 7, "conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "hello"}]},
        ],
    )
    seeds = read_seeds(path)
    assert [s.source_id for s in seeds] == ["a", "2", "7"]
    assert seeds[0].format == "openai" and "get_weather" in (seeds[0].chat or "") and "天气" in (seeds[0].chat or "")
    assert seeds[1] == Seed("2", scenario="A commuter plans a route.", format="scenario", location="line 2")


@pytest.mark.parametrize(
    ("row", "field"),
    [
        ({"chat": ""}, "chat"),
        ({"messages": "hello"}, "messages"),
        ({"messages": [{"content": "no role"}]}, "messages[0]"),
        ({"conversations": [{"from": "human"}]}, "conversations[0]"),
        ({"text": "what format is this"}, "(record)"),
        ({"id": ["x"], "chat": "USER: hi"}, "id"),
        ({"scenario": 3}, "scenario"),
        ([1, 2], "(record)"),
    ],
)
def test_bad_records_name_file_line_and_field(tmp_path: Path, row: object, field: str) -> None:
    path = write_lines(tmp_path / "bad.jsonl", [{"chat": "USER: fine"}, row])
    with pytest.raises(SeedError) as caught:
        read_seeds(path)
    assert caught.value.field == field
    assert caught.value.where == "line 2"
    assert str(path) in str(caught.value) and f"field '{field}'" in str(caught.value)


def test_invalid_json_line_and_duplicate_ids_are_yielded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    path.write_text('{"id": "x", "chat": "USER: a"}\n{not json\n\n{"id": "x", "chat": "USER: b"}\n', encoding="utf-8")
    items = list(iter_seeds(path))
    assert isinstance(items[0], Seed)
    assert isinstance(items[1], SeedError) and items[1].where == "line 2" and "not valid JSON" in str(items[1])
    assert isinstance(items[2], SeedError) and items[2].field == "id" and "duplicate" in str(items[2])


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(SeedError, match="no such file"):
        read_seeds(tmp_path / "missing.jsonl")
    (tmp_path / "seeds.csv").write_text("a,b\n")
    with pytest.raises(SeedError, match=r"\.jsonl or \.json"):
        read_seeds(tmp_path / "seeds.csv")
    (tmp_path / "broken.json").write_text('[{"chat": 1,\n')
    with pytest.raises(SeedError, match="not valid JSON"):
        read_seeds(tmp_path / "broken.json")


def test_shipped_examples_read_cleanly() -> None:
    seeds = read_seeds(ROOT / "examples" / "seeds.jsonl")
    assert len(seeds) >= 8
    assert {s.format for s in seeds} >= {"glaive", "openai", "scenario"}
