"""The converters row by row (what each format holds, what is dropped or changed and why), the files an export
writes, and the commands: `toolsynth export` and `toolsynth synth --export`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.exports.conftest import read_jsonl
from tests.support import ROOT
from tests.validators.rows import assistant_calls, call, parallel_row, result, sequential_row
from toolsynth.cli import main
from toolsynth.exports import FORMATS, ExportError, ExportOptions, export_samples
from toolsynth.exports.formats import to_glm4, to_hf, to_openai, to_sharegpt

DEFAULT = ExportOptions()


def test_openai_line_is_messages_and_tools_only() -> None:
    converted = to_openai(sequential_row(), DEFAULT)
    assert converted.row is not None and converted.dropped is None
    assert set(converted.row) == {"messages", "tools"}
    first_call = converted.row["messages"][2]
    assert first_call == {
        "role": "assistant",
        "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}
        ],
    }
    assert converted.row["messages"][3] == {
        "role": "tool",
        "tool_call_id": "call_1",
        "content": '{"city": "Paris", "temperature_c": 21}',
    }


def test_openai_drops_a_row_whose_function_name_it_refuses() -> None:
    row = sequential_row()
    row["tools"][0]["function"]["name"] = "get weather"
    converted = to_openai(row, DEFAULT)
    assert (converted.row, converted.dropped) == (None, "function_name_invalid")


def test_hf_arguments_are_objects_and_results_keep_id_and_name() -> None:
    converted = to_hf(parallel_row(), DEFAULT)
    assert converted.row is not None
    calls_message, paris, london = converted.row["messages"][1:4]
    assert calls_message["content"] == ""  # not null: some templates print the content
    assert [c["function"]["arguments"] for c in calls_message["tool_calls"]] == [{"city": "Paris"}, {"city": "London"}]
    assert (paris["tool_call_id"], paris["name"], london["tool_call_id"]) == ("call_1", "get_weather", "call_2")
    assert converted.row["tools"][0]["function"].keys() == {"name", "description", "parameters"}
    assert converted.changes == ("tool_fields_dropped",)  # the tool's `returns`, which OpenAI tools do not have
    assert converted.row["meta"] == parallel_row()["meta"] and converted.row["source_id"] == "seed-2"


def test_hf_json_columns_are_text() -> None:
    converted = to_hf(sequential_row(), ExportOptions(json_columns=True))
    assert converted.row is not None
    plain = to_hf(sequential_row(), DEFAULT).row
    assert plain is not None
    for column in ("messages", "tools", "meta"):
        assert json.loads(converted.row[column]) == plain[column]


def test_split_gives_one_call_per_turn_each_answered_before_the_next() -> None:
    converted = to_hf(parallel_row(), ExportOptions(single_call="split"))
    assert converted.row is not None and converted.changes[0] == "parallel_calls_split"
    shape = [
        (m["role"], [c["id"] for c in m.get("tool_calls", [])] or m.get("tool_call_id"))
        for m in converted.row["messages"]
    ]
    assert shape == [
        ("user", None),
        ("assistant", ["call_1"]),
        ("tool", "call_1"),
        ("assistant", ["call_2"]),
        ("tool", "call_2"),
        ("assistant", None),
    ]


@pytest.mark.parametrize("convert", [to_hf, to_sharegpt, to_glm4])
def test_drop_single_call_drops_rows_with_parallel_calls(convert: Any) -> None:
    options = ExportOptions(single_call="drop")
    assert convert(parallel_row(), options).dropped == "parallel_calls"
    assert convert(sequential_row(), options).row is not None


def test_mistral_ids_are_nine_alphanumerics_paired_and_stable() -> None:
    options = ExportOptions(call_ids="mistral")
    row = to_hf(parallel_row(), options).row
    assert row is not None and row == to_hf(parallel_row(), options).row
    ids = [c["id"] for m in row["messages"] for c in m.get("tool_calls", [])]
    assert all(len(i) == 9 and i.isalnum() for i in ids) and len(set(ids)) == 2
    assert [m["tool_call_id"] for m in row["messages"] if m["role"] == "tool"] == ids
    other = parallel_row()
    other["id"] = "p2"
    other_row = to_hf(other, options).row
    assert other_row is not None
    assert [c["id"] for m in other_row["messages"] for c in m.get("tool_calls", [])] != ids


def test_sharegpt_parallel_calls_are_one_list_and_their_results_another() -> None:
    converted = to_sharegpt(parallel_row(), DEFAULT)
    assert converted.row is not None
    turns = converted.row["conversations"]
    assert [t["from"] for t in turns] == ["human", "function_call", "observation", "gpt"]
    assert json.loads(turns[1]["value"]) == [
        {"name": "get_weather", "arguments": {"city": "Paris"}},
        {"name": "get_weather", "arguments": {"city": "London"}},
    ]
    assert json.loads(turns[2]["value"]) == [
        {"city": "Paris", "temperature_c": 21},
        {"city": "London", "temperature_c": 17.5},
    ]
    assert converted.row["system"] == "" and isinstance(converted.row["tools"], str)


def test_sharegpt_single_call_keeps_the_call_object_and_the_result_text() -> None:
    converted = to_sharegpt(sequential_row(), DEFAULT)
    assert converted.row is not None
    assert converted.row["system"] == "You are a helpful assistant."
    turns = converted.row["conversations"]
    assert json.loads(turns[1]["value"]) == {"name": "get_weather", "arguments": {"city": "Paris"}}
    assert turns[2]["value"] == sequential_row()["messages"][3]["content"]


def _with_messages(messages: list[dict[str, Any]]) -> dict[str, Any]:
    row = sequential_row()
    row["messages"] = messages
    return row


USER = {"role": "user", "content": "Weather in Paris?"}
ANSWER = {"role": "assistant", "content": "21 °C."}
CALL = assistant_calls(call("c1", "get_weather", {"city": "Paris"}))
RESULT = result("c1", "get_weather", {"temperature_c": 21})


@pytest.mark.parametrize(
    ("messages", "reason"),
    [
        ([USER, {**CALL, "content": "Let me look."}, RESULT, ANSWER], "text_with_calls"),
        ([USER, USER, ANSWER], "turn_order"),
        ([USER, CALL, RESULT], "turn_order"),
        ([USER, ANSWER, {"role": "system", "content": "Be brief."}, USER, ANSWER], "system_not_first"),
    ],
    ids=["text-beside-calls", "two-user-turns", "ends-with-a-result", "late-system"],
)
def test_sharegpt_drops_what_llamafactory_would_skip(messages: list[dict[str, Any]], reason: str) -> None:
    assert to_sharegpt(_with_messages(messages), DEFAULT).dropped == reason


@pytest.mark.parametrize(
    ("messages", "reason"),
    [
        ([USER, CALL, ANSWER], "call_unanswered"),
        ([USER, RESULT, ANSWER], "result_without_call"),
        ([USER, assistant_calls(call("c1", "get_weather", "[1, 2]")), RESULT, ANSWER], "arguments_not_object"),
        ([USER, {"role": "assistant", "content": None}], "content_not_text"),
    ],
    ids=["unanswered", "orphan-result", "arguments-list", "empty-answer"],
)
@pytest.mark.parametrize("fmt", list(FORMATS))
def test_every_format_drops_a_row_it_cannot_read(fmt: str, messages: list[dict[str, Any]], reason: str) -> None:
    assert FORMATS[fmt](_with_messages(messages), DEFAULT).dropped == reason


def test_glm4_tools_on_an_empty_system_message_and_calls_as_name_then_arguments() -> None:
    converted = to_glm4(parallel_row(), DEFAULT)
    assert converted.row is not None
    assert "parallel_calls_split" in converted.changes
    messages = converted.row["messages"]
    assert messages[0]["role"] == "system" and messages[0]["content"] == ""
    assert [t["function"]["name"] for t in messages[0]["tools"]] == ["get_weather"]
    assert [(m["role"], m["content"]) for m in messages[2:6]] == [
        ("assistant", 'get_weather\n{"city": "Paris"}'),
        ("observation", '{"city": "Paris", "temperature_c": 21}'),
        ("assistant", 'get_weather\n{"city": "London"}'),
        ("observation", '{"city": "London", "temperature_c": 17.5}'),
    ]
    assert "system_text_dropped" in to_glm4(sequential_row(), DEFAULT).changes


# --- files -----------------------------------------------------------------------------------------------


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_an_export_counts_what_it_dropped_and_changed(tmp_path: Path) -> None:
    bad_name = sequential_row()
    bad_name["tools"][0]["function"]["name"] = "get weather"
    samples = write_jsonl(tmp_path / "samples.jsonl", [sequential_row(), parallel_row(), bad_name])
    with samples.open("a", encoding="utf-8") as handle:
        handle.write("{not json\n")
    report = export_samples(samples, "openai", tmp_path / "out" / "train.jsonl")
    assert (report.rows_read, report.rows_written) == (4, 2)
    assert report.dropped == {"function_name_invalid": 1, "row_unreadable": 1}
    assert report.changed == {"tool_fields_dropped": 1}
    assert [r["id"] for r in read_jsonl(tmp_path / "out" / "train.meta.jsonl")] == ["s1", "p1"]
    assert "dropped 2 (function_name_invalid 1, row_unreadable 1)" in report.summary()


def test_a_run_without_samples_exports_no_rows(tmp_path: Path) -> None:
    samples = tmp_path / "samples.jsonl"
    samples.write_text("", encoding="utf-8")
    report = export_samples(samples, "hf", tmp_path / "hf.jsonl")
    assert (report.rows_read, report.rows_written) == (0, 0)
    assert (tmp_path / "hf.jsonl").read_text() == ""


def test_dataset_info_keeps_the_other_datasets_it_lists(tmp_path: Path) -> None:
    samples = write_jsonl(tmp_path / "samples.jsonl", [sequential_row()])
    info = tmp_path / "data" / "dataset_info.json"
    info.parent.mkdir()
    info.write_text(json.dumps({"alpaca_en": {"file_name": "alpaca_en.json"}}), encoding="utf-8")
    export_samples(samples, "sharegpt", tmp_path / "data" / "tools.jsonl")
    entries = json.loads(info.read_text(encoding="utf-8"))
    assert entries["alpaca_en"] == {"file_name": "alpaca_en.json"}
    assert entries["tools"]["file_name"] == "tools.jsonl" and entries["tools"]["formatting"] == "sharegpt"


def test_refusals(tmp_path: Path) -> None:
    samples = write_jsonl(tmp_path / "samples.jsonl", [sequential_row()])
    with pytest.raises(ExportError, match="samples file itself"):
        export_samples(samples, "hf", samples)
    with pytest.raises(ExportError, match="--json-columns does not apply to the sharegpt format"):
        export_samples(samples, "sharegpt", tmp_path / "x.jsonl", ExportOptions(json_columns=True))


# --- commands -----------------------------------------------------------------------------------------------


def test_export_command_reads_a_run_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_jsonl(tmp_path / "samples.jsonl", [sequential_row(), parallel_row()])
    out = tmp_path / "hf.jsonl"
    code = main(["export", str(tmp_path), "--format", "hf", "--single-call", "drop", "-o", str(out), "--json"])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["rows_written"], report["dropped"]) == (1, {"parallel_calls": 1})
    assert [r["id"] for r in read_jsonl(out)] == ["s1"]
    code = main(["export", str(tmp_path), "--format", "sharegpt", "--call-ids", "mistral", "-o", str(out)])
    assert code == 2 and "--call-ids does not apply" in capsys.readouterr().err
    assert main(["export", str(tmp_path / "missing.jsonl"), "--format", "hf", "-o", str(out)]) == 2


def test_synth_rewrites_its_exports_at_the_end_of_every_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seeds, out = str(ROOT / "examples" / "seeds.jsonl"), tmp_path / "run"
    assert main(["synth", seeds, "-o", str(out), "--quiet", "--limit", "2", "--export", "sharegpt,openai"]) == 0
    first = read_jsonl(out / "exports" / "sharegpt.jsonl")
    assert "sharegpt: " in capsys.readouterr().out
    assert main(["synth", seeds, "-o", str(out), "--quiet", "--export", "sharegpt,openai"]) == 0
    samples = read_jsonl(out / "samples.jsonl")
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert [e["format"] for e in manifest["exports"]] == ["sharegpt", "openai"]
    assert all(e["rows_written"] == len(samples) for e in manifest["exports"])
    assert 0 < len(first) < len(samples) == len(read_jsonl(out / "exports" / "sharegpt.jsonl"))
    assert (out / "exports" / "dataset_info.json").exists() and (out / "exports" / "openai.meta.jsonl").exists()
    with pytest.raises(SystemExit) as refused:
        main(["synth", seeds, "-o", str(out), "--quiet", "--export", "glm4,nope"])
    assert refused.value.code == 2 and "'nope': choose from openai, hf, sharegpt, glm4" in capsys.readouterr().err
