"""Seed readers: every supported format, ids, and errors that name file, line and field."""

from __future__ import annotations

import json
import os
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
        ({"messages": [{"role": "assistant", "tool_calls": [{"function": "f"}]}]}, "messages[0].tool_calls[0]"),
        ({"messages": [{"role": "user", "content": {"text": "hi"}}]}, "messages[0].content"),
        ({"text": "what format is this"}, "(record)"),
        ({"id": ["x"], "chat": "USER: hi"}, "id"),
        ({"scenario": 3}, "scenario"),
        ({"chat": "USER: hi", "language": "Chinese please"}, "language"),
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


GOOD_LINE = b'{"chat": "USER: hi"}\n'
UNREADABLE_LINES = [
    (b"[" * 100_000 + b"]" * 100_000, "too_deep", "nested deeper than 100 levels at column 101"),
    (b'{"chat": "USER: x", "n": ' + b"7" * 5_000 + b"}", "number_too_long", "more than 4300 digits at column 26"),
    (b'{"chat": "USER: caf\xe9"}', "not_utf8", "not UTF-8: byte 0xe9 at byte 20 of the line"),
]


@pytest.mark.parametrize(("line", "code", "message"), UNREADABLE_LINES, ids=["deep", "long-integer", "latin-1"])
def test_an_unreadable_line_is_located_and_the_others_are_read(
    tmp_path: Path, line: bytes, code: str, message: str
) -> None:
    path = tmp_path / "seeds.jsonl"
    path.write_bytes(GOOD_LINE + line + b"\n" + GOOD_LINE)
    items = list(iter_seeds(path))
    assert [i.source_id for i in items if isinstance(i, Seed)] == ["1", "3"]
    bad = items[1]
    assert isinstance(bad, SeedError) and bad.where == "line 2" and bad.code == code
    assert str(bad) == f"{path}:line 2: {bad.reason}" and message in bad.reason


@pytest.mark.parametrize(("line", "code", "message"), UNREADABLE_LINES, ids=["deep", "long-integer", "latin-1"])
def test_an_unreadable_json_file_names_the_line(tmp_path: Path, line: bytes, code: str, message: str) -> None:
    path = tmp_path / "seeds.json"
    path.write_bytes(b"[\n" + GOOD_LINE.strip() + b",\n" + line + b"\n]\n")
    with pytest.raises(SeedError) as caught:
        read_seeds(path)
    assert caught.value.where == "line 3" and caught.value.code == code
    assert str(caught.value).startswith(f"{path}:line 3: ") and message.split(" at ")[0] in str(caught.value)


def test_a_json_record_nested_too_deeply_is_bad_in_its_place(tmp_path: Path) -> None:
    path = tmp_path / "seeds.json"
    path.write_text('[{"chat": "USER: hi"}, ' + "[" * 101 + "]" * 101 + "]", encoding="utf-8")
    items = list(iter_seeds(path))
    assert isinstance(items[0], Seed)
    assert isinstance(items[1], SeedError) and items[1].where == "index 1" and "deeper than 100" in str(items[1])


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.jsonl", b"", "holds no records (it is empty or has only blank lines)"),
        ("blank.jsonl", b"\n  \n", "holds no records (it is empty or has only blank lines)"),
        ("empty.json", b"", "holds no records (it is empty)"),
        ("array.json", b"[]", "holds no records (an empty array)"),
    ],
)
def test_a_file_without_records_is_an_error(tmp_path: Path, name: str, content: bytes, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(SeedError) as caught:
        read_seeds(path)
    assert str(caught.value) == f"{path}: {message}"


def test_directories_and_fifos_are_named_for_what_they_are(tmp_path: Path) -> None:
    directory = tmp_path / "seeds.jsonl"
    directory.mkdir()
    with pytest.raises(SeedError, match=r"seeds\.jsonl: is a directory, not a file$"):
        read_seeds(directory)
    fifo = tmp_path / "pipe.jsonl"
    os.mkfifo(fifo)
    with pytest.raises(SeedError, match=r"pipe\.jsonl: is not a regular file \(it is a FIFO\)$"):
        read_seeds(fifo)


def test_ids_are_unique_and_never_collide_with_bad_records(tmp_path: Path) -> None:
    path = tmp_path / "ids.jsonl"
    rows = [{"id": "line 2", "chat": "USER: a"}, {"id": 4, "chat": "USER: b"}, {"id": "index 0", "scenario": "s"}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) + '{"chat": "USER: c"}\nnot json\n', encoding="utf-8")
    items = list(iter_seeds(path))
    assert len(items) == 5
    ids = [i.where if isinstance(i, SeedError) else i.source_id for i in items]
    assert ids == ["line 1", "4", "line 3", "line 4", "line 5"]
    first, third, fourth = items[0], items[2], items[3]
    assert isinstance(first, SeedError) and first.field == "id" and "form of the ids bad records take" in str(first)
    assert isinstance(third, SeedError) and third.field == "id"
    assert isinstance(fourth, SeedError) and fourth.field == "id"
    assert str(fourth) == (
        f"{path}:line 4: field 'id': none, so the record takes its number '4' as its id, "
        "which line 2 has already; give it one"
    )


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
