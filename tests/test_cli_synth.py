"""`toolsynth synth` end to end on the demo model: outputs, accounting, resume, refusals."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support import ROOT, shared_file
from toolsynth.cli import main
from toolsynth.validators.findings import errors
from toolsynth.validators.sample import check_sample


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def synth(*args: str) -> int:
    return main(["synth", *args, "--quiet"])


@pytest.fixture(scope="module")
def dataflow_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dataflow") / "out"
    assert synth(str(shared_file("dataflow_chat_data.jsonl")), "-o", str(out)) == 0
    return out


def test_reference_seeds_give_valid_compositional_samples(dataflow_run: Path) -> None:
    samples = read_jsonl(dataflow_run / "samples.jsonl")
    assert len(samples) >= 5
    for sample in samples:
        assert errors(check_sample(sample)) == [], sample["id"]
        calls = [c for m in sample["messages"] for c in m.get("tool_calls") or []]
        assert len(calls) >= 2
        for call in calls:
            assert isinstance(call["function"]["arguments"], str)
            assert isinstance(json.loads(call["function"]["arguments"]), dict)
        assert {m["role"] for m in sample["messages"]} == {"system", "user", "assistant", "tool"}
    assert {s["meta"]["strategy"] for s in samples} == {"sequential", "parallel_then_sequential"}
    assert any(len(m.get("tool_calls") or []) >= 2 for s in samples for m in s["messages"])


def test_every_input_is_accounted_for_and_counts_add_up(dataflow_run: Path) -> None:
    samples = read_jsonl(dataflow_run / "samples.jsonl")
    rejected = read_jsonl(dataflow_run / "rejected.jsonl")
    manifest = json.loads((dataflow_run / "manifest.json").read_text())
    counts = manifest["counts"]
    assert counts["inputs"] == 5
    assert {s["source_id"] for s in samples} | {r["source_id"] for r in rejected} == {"1", "2", "3", "4", "5"}
    assert counts["accepted"] == len(samples) and counts["rejected"] == len(rejected)
    assert sum(counts["rejected_by_stage"].values()) == counts["rejected"]
    assert sum(counts["accepted_by_strategy"].values()) == counts["accepted"]
    assert counts["seeds_with_samples"] + counts["seeds_without_samples"] == counts["inputs"]
    assert len({s["id"] for s in samples}) == len(samples)
    assert manifest["demo"] is True and manifest["models"]["default"] == "toolsynth/offline-demo"
    assert manifest["usage"]["total"]["calls"] > 0
    assert set(manifest["usage"]["by_role"]) == {"generator", "judge", "user", "assistant", "tool"}
    for r in rejected:
        assert set(r) >= {"source_id", "stage", "codes", "message"}


def test_rerun_of_a_finished_run_makes_no_calls(dataflow_run: Path, tmp_path: Path) -> None:
    copy = tmp_path / "again"
    shutil.copytree(dataflow_run, copy)
    before = (copy / "samples.jsonl").read_text()
    assert synth(str(shared_file("dataflow_chat_data.jsonl")), "-o", str(copy)) == 0
    manifest = json.loads((copy / "manifest.json").read_text())
    assert manifest["usage"]["total"]["calls"] == 0
    assert manifest["counts"]["resumed_seeds"] == 5
    assert (copy / "samples.jsonl").read_text() == before
    assert len(manifest["runs"]) == 2


def test_changed_configuration_is_refused_unless_restart(
    dataflow_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = tmp_path / "changed"
    shutil.copytree(dataflow_run, copy)
    seeds = str(shared_file("dataflow_chat_data.jsonl"))
    assert synth(seeds, "-o", str(copy), "--max-turns", "5") == 2
    assert "another configuration" in capsys.readouterr().err
    assert synth(seeds, "-o", str(copy), "--max-turns", "5", "--restart") == 0
    assert json.loads((copy / "manifest.json").read_text())["program"]["max_turns"] == 5


def test_bad_record_stops_before_any_call_and_skip_bad_rejects_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seeds = tmp_path / "seeds.jsonl"
    seeds.write_text(
        json.dumps({"id": "ok", "chat": "USER: What's the weather in Oslo?\n\nASSISTANT: Cold."})
        + "\n"
        + json.dumps({"id": "bad", "messages": "oops"})
        + "\n",
        encoding="utf-8",
    )
    assert synth(str(seeds), "-o", str(tmp_path / "a")) == 2
    err = capsys.readouterr().err
    assert f"{seeds}:line 2: field 'messages'" in err and "--skip-bad" in err
    assert not (tmp_path / "a").exists()

    assert synth(str(seeds), "-o", str(tmp_path / "b"), "--skip-bad") == 0
    rejected = read_jsonl(tmp_path / "b" / "rejected.jsonl")
    assert [r["stage"] for r in rejected] == ["read"] and rejected[0]["codes"] == ["bad_record"]
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert manifest["counts"]["inputs"] == 2 and manifest["counts"]["bad_inputs"] == 1


def test_unreadable_lines_are_located_and_skip_bad_rejects_each_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seeds = tmp_path / "seeds.jsonl"
    good = json.dumps({"chat": "USER: What's the weather in Oslo?\n\nASSISTANT: Cold."}).encode()
    deep, latin = b"[" * 100_000 + b"]" * 100_000, b'{"chat": "USER: caf\xe9"}'
    long_integer = b'{"chat": "USER: hi", "n": ' + b"1" * 5_000 + b"}"
    seeds.write_bytes(b"\n".join([good, deep, latin, long_integer]) + b"\n")
    assert synth(str(seeds), "-o", str(tmp_path / "a")) == 2
    err = capsys.readouterr().err
    assert f"error: {seeds}:line 2: nested deeper than 100 levels at column 101\n" in err
    assert f"error: {seeds}:line 3: not UTF-8: byte 0xe9 at byte 20 of the line" in err
    assert f"error: {seeds}:line 4: an integer with more than 4300 digits at column 27\n" in err
    assert not (tmp_path / "a").exists()

    assert synth(str(seeds), "-o", str(tmp_path / "b"), "--skip-bad") == 0
    rejected = [r for r in read_jsonl(tmp_path / "b" / "rejected.jsonl") if r["stage"] == "read"]
    assert [r["source_id"] for r in rejected] == ["line 2", "line 3", "line 4"]
    counts = json.loads((tmp_path / "b" / "manifest.json").read_text())["counts"]
    assert counts["inputs"] == 4 and counts["bad_inputs"] == 3


def test_skip_bad_accounts_for_every_line_exactly_once(tmp_path: Path) -> None:
    chat = "USER: What's the weather in Oslo?\n\nASSISTANT: Cold."
    seeds = tmp_path / "seeds.jsonl"
    rows = [{"id": "line 2", "chat": chat}, "not json", {"id": 4, "chat": chat}, {"chat": chat}, {"chat": chat}]
    seeds.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    assert synth(str(seeds), "-o", str(tmp_path / "out"), "--skip-bad") == 0
    samples = read_jsonl(tmp_path / "out" / "samples.jsonl")
    rejected = read_jsonl(tmp_path / "out" / "rejected.jsonl")
    read = [r["source_id"] for r in rejected if r["stage"] == "read"]
    assert read == ["line 1", "line 2", "line 4"]
    assert {s["source_id"] for s in samples} | {r["source_id"] for r in rejected} == {
        "line 1",
        "line 2",
        "4",
        "line 4",
        "5",
    }
    counts = json.loads((tmp_path / "out" / "manifest.json").read_text())["counts"]
    assert counts["inputs"] == 5 and counts["bad_inputs"] == 3


def test_empty_files_and_directories_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("", encoding="utf-8")
    assert synth(str(empty), "-o", str(tmp_path / "a"), "--skip-bad") == 2
    assert capsys.readouterr().err == f"error: {empty}: holds no records (it is empty or has only blank lines)\n"
    assert synth(str(tmp_path), "-o", str(tmp_path / "b")) == 2
    assert capsys.readouterr().err == f"error: {tmp_path}: is a directory, not a file\n"


def test_a_seeds_language_field_reaches_its_samples(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds.jsonl"
    chat = "USER: What's the weather in Oslo?\n\nASSISTANT: Cold."
    seeds.write_text(json.dumps({"id": "zh", "chat": chat, "language": "zh"}) + "\n", encoding="utf-8")
    assert synth(str(seeds), "-o", str(tmp_path / "out"), "--expand", "0") == 0
    samples = read_jsonl(tmp_path / "out" / "samples.jsonl")
    assert samples and {s["meta"]["language"] for s in samples} == {"zh"}
    assert all(re.search(r"[\u4e00-\u9fff]", s["messages"][1]["content"]) for s in samples)


def test_limit_and_chinese_examples(tmp_path: Path) -> None:
    assert synth(str(ROOT / "examples" / "seeds.jsonl"), "-o", str(tmp_path / "ex"), "--limit", "3") == 0
    manifest = json.loads((tmp_path / "ex" / "manifest.json").read_text())
    assert manifest["counts"]["inputs"] == 3


def test_console_script_runs_the_shipped_examples(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "toolsynth"
    if not script.exists():
        pytest.skip("console script not installed in this environment")
    done = subprocess.run(
        [str(script), "synth", str(ROOT / "examples" / "seeds.jsonl"), "-o", str(tmp_path / "o")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "offline demo model" in done.stderr
    assert (tmp_path / "o" / "samples.jsonl").stat().st_size > 0
