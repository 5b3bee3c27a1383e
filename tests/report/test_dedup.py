"""Dedup: exact and near-duplicate user requests (MinHash LSH), in synth, export and the expanded scenarios."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from toolsynth.cli import main
from toolsynth.dedup import duplicate_rows, find_duplicates, first_user_request, unique_texts

ROOT = Path(__file__).resolve().parents[2]


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_exact_and_near_duplicates_point_at_the_first_of_their_group() -> None:
    texts = [
        "Find the weather in Paris tomorrow and convert the temperature to Fahrenheit for me please",
        "Book a table for two at an Italian restaurant in Rome on Friday evening",
        "find the weather in  PARIS tomorrow and convert the temperature to fahrenheit for me please",
        "Find the weather in Paris tomorrow and convert the temperature to Fahrenheit for me please now",
        "明天北京的天气怎么样，请把温度换算成华氏度",
        "明天北京的天气怎么样，请把温度换算成华氏度吧",
    ]
    found = {d.index: d for d in find_duplicates(texts, threshold=0.8)}
    assert set(found) == {2, 3, 5}
    assert found[2].of_index == 0 and found[2].exact
    assert found[3].of_index == 0 and not found[3].exact and 0.8 <= found[3].similarity < 1.0
    assert found[5].of_index == 4
    assert unique_texts(texts) == [texts[0], texts[1], texts[4]]


def test_the_threshold_decides_what_counts_as_near() -> None:
    texts = ["check the stock price of ACME and of Globex today", "check the stock price of ACME and of Initech today"]
    assert find_duplicates(texts, threshold=0.95) == []
    assert [d.index for d in find_duplicates(texts, threshold=0.3)] == [1]
    with pytest.raises(ValueError, match="threshold"):
        find_duplicates(texts, threshold=0.0)


def test_rows_are_compared_on_their_first_user_request() -> None:
    rows = [
        {"id": "a", "messages": [{"role": "user", "content": "Convert 10 USD to EUR and to JPY"}]},
        {"id": "b", "messages": [{"role": "system", "content": "x"}]},
        {"id": "c", "conversations": [{"from": "human", "value": "convert 10 usd to eur and to jpy"}]},
    ]
    assert first_user_request(rows[1]) is None
    assert [(d.index, d.key, d.of_key) for d in duplicate_rows(rows)] == [(2, "c", "a")]


def _duplicated_seeds(path: Path) -> Path:
    seeds = read_jsonl(ROOT / "examples" / "seeds.jsonl")[:3]
    with path.open("w", encoding="utf-8") as handle:
        for seed in seeds:
            for copy in range(2):
                handle.write(json.dumps({**seed, "id": f"{seed['id']}-copy{copy}"}) + "\n")
    return path


def test_synth_dedup_removes_duplicated_chats_and_the_manifest_lists_them(tmp_path: Path) -> None:
    seeds = _duplicated_seeds(tmp_path / "seeds.jsonl")
    out = tmp_path / "out"
    assert main(["synth", str(seeds), "-o", str(out), "--quiet", "--no-report", "--dedup", "--export", "hf"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    samples = read_jsonl(out / "samples.jsonl")
    removed = manifest["dedup"]["removed"]
    assert manifest["counts"]["duplicates_removed"] == len(removed) == manifest["counts"]["accepted"] - len(samples)
    assert manifest["dedup"]["kept"] == len(samples) and manifest["dedup"]["threshold"] == 0.8
    kept_ids = {s["id"] for s in samples}
    for entry in removed:
        assert entry["id"] not in kept_ids and entry["duplicates"] in kept_ids
        assert entry["id"].split("-copy")[0] == entry["duplicates"].split("-copy")[0]
    # the demo model's requests vary with the seed id and its behaviour draw, so not every copy repeats its
    # original; at least two of the three duplicated chats do
    assert len({entry["id"].split("-copy")[0] for entry in removed}) >= 2
    requests = [first_user_request(s) for s in samples]
    assert len(set(requests)) == len(requests)
    assert duplicate_rows(samples) == []
    assert len(read_jsonl(out / "exports" / "hf.jsonl")) == len(samples)
    # the store keeps every sample: the same command without --dedup writes them all again
    assert main(["synth", str(seeds), "-o", str(out), "--quiet", "--no-report"]) == 0
    assert len(read_jsonl(out / "samples.jsonl")) == manifest["counts"]["accepted"]


def test_export_dedup_drops_duplicates_and_lists_them(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "samples.jsonl"
    first = {
        "id": "r1",
        "source_id": "1",
        "messages": [
            {"role": "user", "content": "What is the weather in Oslo today?"},
            {"role": "assistant", "content": "It is 3 °C and cloudy in Oslo."},
        ],
        "tools": [],
    }
    second = {**first, "id": "r2"}
    third = {
        **first,
        "id": "r3",
        "messages": [{"role": "user", "content": "Translate hello into Spanish"}, first["messages"][1]],
    }
    source.write_text("".join(json.dumps(r) + "\n" for r in (first, second, third)), encoding="utf-8")
    output = tmp_path / "hf.jsonl"
    assert main(["export", str(source), "--format", "hf", "-o", str(output), "--dedup", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["rows_read"] == 3 and report["rows_written"] == 2 and report["dropped"] == {"duplicate": 1}
    assert report["duplicates"] == [{"id": "r2", "duplicates": "r1", "similarity": 1.0, "exact": True}]
    assert [r["id"] for r in read_jsonl(output)] == ["r1", "r3"]


def test_expanded_scenarios_are_deduplicated_before_tasks_are_written() -> None:
    import dspy

    from tests.support import demo_unless, scripted_lm, stage_of
    from toolsynth.execution import UsageMeter, running_with
    from toolsynth.programs import ButtonProgram

    expanded = [
        (
            "A commuter checks the weather forecast for several cities along the coast before planning a long "
            "weekend trip by train with friends and family in early spring."
        ),
        (
            "A commuter checks the weather forecast for several cities along the coast before planning a long "
            "weekend trip by train with friends and family in late spring."
        ),
        "A shopper compares currency exchange rates before paying for goods bought from an online store abroad.",
    ]

    def duplicated(messages: list[dict[str, Any]]) -> str | None:
        return json.dumps({"scenarios": expanded}) if stage_of(messages) == "ExpandScenario" else None

    lm, _ = scripted_lm(demo_unless(duplicated))
    meter = UsageMeter()
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()), running_with(meter=meter):
        result = ButtonProgram(expand=3)(chat="USER: Weather in Paris?\n\nASSISTANT: 18 °C and sunny.", source_id="x")
    scenarios = {row.meta["scenario"] for row in [*result.samples, *result.rejections] if "scenario" in row.meta}
    assert expanded[0] in scenarios and expanded[2] in scenarios and expanded[1] not in scenarios
    assert {row.id.split("-t")[0] for row in result.samples} <= {"x-s0", "x-s1", "x-s2"}
    assert meter.notes == {"scenario_duplicates_removed": 1}


@pytest.mark.parametrize("threshold", [0.5, 0.8, 0.95])
def test_the_lsh_bands_are_datasketchs_own_choice_worked_out_once_per_threshold(threshold: float) -> None:
    from datasketch import MinHashLSH

    from toolsynth.dedup import NUM_PERM, lsh_bands

    chosen = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)
    assert lsh_bands(threshold) == (chosen.b, chosen.r)
    misses = lsh_bands.cache_info().misses
    unique_texts(["book a flight to Oslo on Monday", "book a flight to Oslo on Monday please"], threshold)
    assert lsh_bands(threshold) == (chosen.b, chosen.r)
    assert lsh_bands.cache_info().misses == misses
