"""The report page's content: funnel from ids and stages, mixes, escaping of every text from the data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from toolsynth.cli import main
from toolsynth.dataset_stats import funnel, meta_mix, shapes
from toolsynth.report import RunData, render_report

HOSTILE = '</script><script>alert("x")</script><img src=x onerror=alert(1)>'


def sample(row_id: str, source: str, request: str, meta: dict[str, Any] | None = None) -> dict[str, Any]:
    call = {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}}
    call2 = {"id": "c2", "type": "function", "function": {"name": "get_time", "arguments": "{}"}}
    return {
        "id": row_id,
        "source_id": source,
        "messages": [
            {"role": "system", "content": "You help."},
            {"role": "user", "content": request},
            {"role": "assistant", "content": None, "tool_calls": [call, call2]},
            {"role": "tool", "tool_call_id": "c1", "name": "get_weather", "content": '{"t": 3}'},
            {"role": "tool", "tool_call_id": "c2", "name": "get_time", "content": '{"h": 9}'},
            {"role": "assistant", "content": "3 °C at 9."},
        ],
        "tools": [{"type": "function", "function": {"name": "get_weather"}}, {"type": "function", "function": {}}],
        "meta": {"strategy": "sequential", "language": "en", **(meta or {})},
    }


def rejection(row_id: str, source: str, stage: str, codes: list[str]) -> dict[str, Any]:
    return {"id": row_id, "source_id": source, "stage": stage, "codes": codes, "message": "m", "meta": {}}


def test_the_funnel_counts_branches_from_ids_and_losses_from_stages() -> None:
    samples = [sample("a-s0-t0", "a", "q1"), sample("a-s1-t0", "a", "q2")]
    rejections = [
        rejection("b", "b", "ExtractScenario", ["output_unparseable"]),
        rejection("a-s1-t1", "a", "JudgeComposition", ["infeasible"]),
        rejection("c-s0", "c", "GenerateAtomicTask", ["lm_error"]),
        rejection("c-s1-t0", "c", "AssistantTurn", ["call_unknown_function"]),
        rejection("c-s1-t1", "c", "validate", ["answer_missing"]),
    ]
    result = funnel(samples, rejections, {"counts": {"inputs": 3}})
    assert result.steps == {
        "seeds": 3,
        "scenarios": 4,
        "tasks": 5,
        "composites": 5,
        "feasible": 4,
        "conversations": 3,
        "accepted": 2,
    }
    assert result.losses["seeds"] == {"ExtractScenario": 1} and result.losses["feasible"] == {"AssistantTurn": 1}
    deduplicated = funnel(samples, [], {"counts": {"inputs": 1, "duplicates_removed": 1}})
    assert deduplicated.steps["accepted"] == 3 and deduplicated.steps["deduplicated"] == 2


def test_shapes_and_mixes() -> None:
    rows = [sample("a-s0-t0", "a", "q", {"behaviour": "clarify"}), sample("a-s1-t0", "a", "q", {"language": "zh"})]
    stats = shapes(rows)
    assert stats.tools == [2, 2] and stats.calls == [2, 2] and stats.turns == [3, 3]
    assert stats.parallel_share == 1.0
    assert meta_mix(rows, "behaviour") == {"clarify": 1}
    assert meta_mix(rows, "language") == {"en": 1, "zh": 1}


def test_every_text_from_the_data_is_escaped() -> None:
    rows = [sample("a-s0-t0", "a", HOSTILE, {"behaviour": HOSTILE, "strategy": HOSTILE})]
    rows[0]["messages"][3]["content"] = HOSTILE
    page = render_report(RunData(rows, [rejection("b", "b", HOSTILE, [HOSTILE])], {"counts": {"inputs": 2}}))
    assert "<img src=x" not in page and 'alert("x")</script>' not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert 'data-chart="behaviour-mix"' in page


def test_a_page_without_behaviours_or_rows_still_renders(tmp_path: Path) -> None:
    page = render_report(RunData([], [], {}))
    assert "No sample has a <code>meta.behaviour</code>" in page and "No samples." in page
    assert 'data-chart="behaviour-mix"' not in page and 'data-chart="funnel"' in page


def test_report_command_and_synth_no_report(tmp_path: Path, capsys: Any) -> None:
    out = tmp_path / "out"
    out.mkdir()
    assert main(["report", str(out)]) == 2
    (out / "samples.jsonl").write_text(json.dumps(sample("a-s0-t0", "a", "hello")) + "\n", encoding="utf-8")
    assert main(["report", str(out)]) == 0
    assert (out / "report.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    seeds = tmp_path / "seeds.jsonl"
    seeds.write_text(json.dumps({"scenario": "A traveller books flights for a trip."}) + "\n", encoding="utf-8")
    assert main(["synth", str(seeds), "-o", str(tmp_path / "run"), "--quiet", "--no-report", "--expand", "0"]) == 0
    assert not (tmp_path / "run" / "report.html").exists()


def write_rows(path: Path, rows: list[dict[str, Any]], extra: str = "") -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) + extra, encoding="utf-8")


def test_a_run_read_from_its_files_renders_the_page_of_the_rows_held_in_memory(tmp_path: Path) -> None:
    from toolsynth.report import load_run

    samples = [sample(f"s{i}-s0-t0", f"s{i}", f"request {i % 3}", {"behaviour": "call"}) for i in range(10)]
    rejections = [rejection("b", "b", "ExtractScenario", ["output_unparseable"])]
    manifest = {"counts": {"inputs": 11}}
    write_rows(tmp_path / "samples.jsonl", samples, "not json\n")
    write_rows(tmp_path / "rejected.jsonl", rejections)
    (tmp_path / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    data = load_run(tmp_path)
    assert len(data.samples) == 10 and len(data.rejections) == 1 and len(data.unreadable) == 1
    assert list(data.samples) == list(data.samples) == samples  # read again at every pass
    assert data.samples[3] == samples[3] and data.samples[-1] == samples[-1]
    assert data.samples[::4] == samples[::4] and data.samples[::-3] == samples[::-3]
    in_memory = RunData(samples, rejections, manifest, list(data.unreadable))
    assert render_report(data) == render_report(in_memory)


def test_a_run_read_from_its_files_holds_no_row(tmp_path: Path) -> None:
    import tracemalloc

    from toolsynth.report import load_run

    write_rows(tmp_path / "samples.jsonl", [sample(f"s{i}-s0-t0", f"s{i}", "x" * 2000) for i in range(500)])
    tracemalloc.start()
    try:
        data = load_run(tmp_path)
        held, _peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(data.samples) == 500
    assert held < 100_000  # the rows as Python objects would take several megabytes
