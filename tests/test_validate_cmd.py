"""`toolsynth validate`: summary, --json rows, exit codes."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.support import shared_file
from toolsynth.cli import main

GOOD = {
    "messages": [
        {"role": "user", "content": "Weather in Oslo?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}}
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "name": "get_weather", "content": '{"temp_c": 3}'},
        {"role": "assistant", "content": "It is 3 °C in Oslo."},
    ],
    "tools": [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Current weather for a city.",
                "parameters": {
                    "type": "object",
                    "properties": {"city": {"type": "string", "description": "City"}},
                    "required": ["city"],
                },
            },
        }
    ],
}


def write(path: Path, rows: list[object]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) + "{broken\n", encoding="utf-8")
    return path


def test_summary_and_exit_status(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = json.loads(json.dumps(GOOD))
    bad["messages"][1]["tool_calls"][0]["function"]["name"] = "get_wether"
    path = write(tmp_path / "rows.jsonl", [GOOD, bad])
    assert main(["validate", str(path)]) == 1
    out = capsys.readouterr().out
    assert "3 rows, 2 with errors" in out
    assert "row_invalid_json" in out and "call_unknown_function" in out


def test_json_lines_per_row(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path / "rows.jsonl", [GOOD])
    assert main(["validate", str(path), "--json"]) == 1
    captured = capsys.readouterr()
    lines = [json.loads(x) for x in captured.out.splitlines()]
    assert [x["row"] for x in lines] == [0, 1]
    assert lines[0]["findings"] == [] and lines[1]["findings"][0]["code"] == "row_invalid_json"
    assert lines[1]["findings"][0]["path"] == "" and lines[1]["findings"][0]["message"].startswith("line 2: ")
    assert "2 rows" in captured.err


def test_clean_file_and_unreadable_input(tmp_path: Path) -> None:
    clean = tmp_path / "clean.jsonl"
    clean.write_text(json.dumps(GOOD) + "\n", encoding="utf-8")
    assert main(["validate", str(clean)]) == 0
    assert main(["validate", str(tmp_path / "missing.jsonl")]) == 2
    broken = tmp_path / "broken.json"
    broken.write_text("[{", encoding="utf-8")
    assert main(["validate", str(broken)]) == 2


def test_llama_factory_sharegpt_demo(capsys: pytest.CaptureFixture[str]) -> None:
    path = shared_file("glaive_toolcall_en_demo.json")
    assert main(["validate", str(path), "--format", "sharegpt", "--json"]) == 1
    rows = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert len(rows) == 300
    flagged = {r["row"]: {f["code"] for f in r["findings"] if f["severity"] == "error"} for r in rows}
    # Row 259 passes a list where its schema declares a number (a real defect of that row).
    assert "arguments_schema_violation" in flagged[259]


def test_unreadable_lines_are_named_and_exit_2_while_other_rows_are_validated(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "rows.jsonl"
    good = json.dumps(GOOD).encode()
    deep = b"[" * 100_000 + b"]" * 100_000
    long_integer = b'{"messages": ' + b"9" * 5_000 + b"}"
    latin = b'{"messages": "caf\xe9"}'
    path.write_bytes(b"\n".join([good, deep, long_integer, latin, good]) + b"\n")
    assert main(["validate", str(path), "--json"]) == 2
    captured = capsys.readouterr()
    rows = [json.loads(x) for x in captured.out.splitlines()]
    assert [r["findings"] for r in (rows[0], rows[4])] == [[], []]
    assert [r["findings"][0]["code"] for r in rows[1:4]] == ["row_unreadable"] * 3
    assert f"error: {path}:line 2: nested deeper than 100 levels at column 101" in captured.err
    assert f"error: {path}:line 3: an integer with more than 4300 digits at column 14" in captured.err
    assert f"error: {path}:line 4: not UTF-8: byte 0xe9 at byte 18 of the line" in captured.err
    assert "3 line(s)" in captured.err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "holds no records"),
        (b"[" * 100_000, "nested deeper than 100 levels at column 10"),
    ],
    ids=["empty", "deep"],
)
def test_empty_or_undecodable_files_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, message: str
) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_bytes(content)
    as_document = tmp_path / "rows.json"
    as_document.write_bytes(content)
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}") and message in err
    assert main(["validate", str(as_document)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {as_document}") and message in err


def test_a_directory_or_fifo_is_named_for_what_it_is(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    os.mkfifo(tmp_path / "pipe.jsonl")
    assert main(["validate", str(tmp_path)]) == 2
    assert capsys.readouterr().err == f"error: {tmp_path}: is a directory, not a file\n"
    assert main(["validate", str(tmp_path / "pipe.jsonl")]) == 2
    assert "is not a regular file (it is a FIFO)" in capsys.readouterr().err


def strict_loads(text: str) -> Any:
    def refuse(constant: str) -> Any:
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


def test_bare_nan_and_infinity_are_reported_not_read_silently(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The rows of the defect: bare NaN in tools[].function.parameters, Infinity in meta.function_returns."""
    row = json.loads(json.dumps(GOOD))
    row["tools"][0]["function"]["parameters"]["properties"]["city"]["examples"] = ["NAN_HERE"]
    row["meta"] = {"function_returns": {"get_weather": {"type": "object", "maxProperties": "INF_HERE"}}}
    line = json.dumps(row).replace('"NAN_HERE"', "NaN").replace('"INF_HERE"', "Infinity")
    path = tmp_path / "rows.jsonl"
    path.write_text(json.dumps(GOOD) + "\n" + line + "\n", encoding="utf-8")
    assert main(["validate", str(path)]) == 1
    out = capsys.readouterr().out
    assert "2 rows, 1 with errors" in out and "number_not_finite" in out
    assert main(["validate", str(path), "--json"]) == 1
    rows = [strict_loads(x) for x in capsys.readouterr().out.splitlines()]  # the report itself is strict JSON
    paths = {f["path"] for r in rows for f in r["findings"] if f["code"] == "number_not_finite"}
    assert paths == {
        "tools[0].function.parameters.properties.city.examples[0]",
        "meta.function_returns.get_weather.maxProperties",
    }
