"""Behaviour mixes and distractors end to end on the demo model: every behaviour is written, near its share, valid,
with distractors offered and never called, and counted in the manifest."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.support import ROOT
from toolsynth.behaviours import DEFAULT_MIX, draw_behaviour, parse_mix
from toolsynth.cli import main
from toolsynth.evals.metrics import score_row
from toolsynth.validators.findings import errors
from toolsynth.validators.sample import check_sample

MIX = "call=0.6,clarify=0.15,no_call=0.15,follow_up=0.1"


def _rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def mixed_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("mixed")
    # The command of the issue that asked for behaviours (its "done when"), as it is.
    args = ["--expand", "3", "--tasks-per-scenario", "3", "--distractors", "3", "--mix", MIX, "--max-subtasks", "4"]
    assert main(["synth", str(ROOT / "examples" / "seeds.jsonl"), "-o", str(out), *args, "--quiet"]) == 0
    return out


def test_every_behaviour_near_its_share_valid_and_counted(mixed_run: Path) -> None:
    samples = _rows(mixed_run / "samples.jsonl")
    manifest = json.loads((mixed_run / "manifest.json").read_text(encoding="utf-8"))
    assert len(samples) >= 100
    assert {len(s["meta"]["subtasks"]) for s in samples} == {2, 3, 4}
    shares = Counter(s["meta"]["behaviour"] for s in samples)
    for behaviour, share in parse_mix(MIX).items():
        assert abs(shares[behaviour] / len(samples) - share) <= 0.10, (behaviour, shares)
    assert manifest["counts"]["accepted_by_behaviour"] == dict(sorted(shares.items()))
    assert [e for s in samples for e in errors(check_sample(s))] == []


def test_distractors_offered_shuffled_and_never_called(mixed_run: Path) -> None:
    samples = _rows(mixed_run / "samples.jsonl")
    kinds: Counter[str] = Counter()
    last_positions = set()
    for s in samples:
        names = [t["function"]["name"] for t in s["tools"]]
        distractors = {d["name"] for d in s["meta"]["distractors"]}
        kinds.update(d["kind"] for d in s["meta"]["distractors"])
        assert len(s["meta"]["distractors"]) >= 3 and distractors <= set(names)
        called = {c["function"]["name"] for m in s["messages"] for c in m.get("tool_calls") or []}
        assert not called & distractors
        last_positions.add(names[-1] in distractors)
        for d in s["meta"]["distractors"]:
            if d["kind"] == "near_miss":
                assert d["name"] != d["resembles"]
    assert kinds["near_miss"] and kinds["unrelated"]
    assert last_positions == {True, False}  # needed functions are not always first
    manifest = json.loads((mixed_run / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["counts"]["distractors_offered"] == dict(sorted(kinds.items()))


def test_each_behaviour_has_its_shape(mixed_run: Path) -> None:
    by: dict[str, list[dict[str, Any]]] = {}
    for s in _rows(mixed_run / "samples.jsonl"):
        by.setdefault(s["meta"]["behaviour"], []).append(s)
    for s in by["no_call"]:
        assert not any(m.get("tool_calls") for m in s["messages"])
        assert "can't" in s["messages"][-1]["content"] or "无法" in s["messages"][-1]["content"]
    for s in by["clarify"]:
        first = next(m for m in s["messages"] if m["role"] == "assistant")
        assert not first.get("tool_calls") and first["content"].rstrip().endswith(("?", "？"))
    for s in by["follow_up"]:
        users = [m for m in s["messages"] if m["role"] == "user"]
        assert len(users) >= 2 and s["meta"]["follow_up"].lower()[:12] in users[1]["content"].lower()


def test_missing_function_does_the_rest_and_says_what_it_cannot(tmp_path: Path) -> None:
    args = ["--expand", "0", "--mix", "missing_function=1", "--distractors", "1", "--limit", "4"]
    assert main(["synth", str(ROOT / "examples" / "seeds.jsonl"), "-o", str(tmp_path), *args, "--quiet"]) == 0
    samples = _rows(tmp_path / "samples.jsonl")
    assert samples and [e for s in samples for e in errors(check_sample(s))] == []
    partial = [s for s in samples if s["meta"]["behaviour"] == "missing_function"]
    assert partial
    for s in partial:
        offered = {t["function"]["name"] for t in s["tools"]}
        assert not set(s["meta"]["missing_functions"]) & offered
        assert any(m.get("tool_calls") for m in s["messages"])
        assert "can't" in s["messages"][-1]["content"] or "无法" in s["messages"][-1]["content"]


def test_the_default_run_keeps_its_old_shape(tmp_path: Path) -> None:
    assert main(["synth", str(ROOT / "examples" / "seeds.jsonl"), "-o", str(tmp_path), "--quiet"]) == 0
    samples = _rows(tmp_path / "samples.jsonl")
    assert samples and all(s["meta"]["distractors"] == [] for s in samples)
    assert {s["meta"]["behaviour"] for s in samples} <= set(parse_mix(DEFAULT_MIX))
    assert [e for s in samples for e in errors(check_sample(s))] == []


@pytest.mark.parametrize(
    ("text", "message"),
    [("call=1,chat=1", "unknown behaviour 'chat'"), ("call", "not name=weight"), ("call=0", "no behaviour")],
)
def test_bad_mixes_are_refused(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_mix(text)


def test_the_draw_is_seeded_and_follows_the_mix() -> None:
    shares = parse_mix("call=3,no_call=1")
    assert shares == {"call": 0.75, "no_call": 0.25}
    draws = Counter(draw_behaviour(shares, 0, f"k{i}") for i in range(2000))
    assert abs(draws["no_call"] / 2000 - 0.25) < 0.03
    assert [draw_behaviour(shares, 5, f"k{i}") for i in range(50)] == [
        draw_behaviour(shares, 5, f"k{i}") for i in range(50)
    ]


def test_completeness_is_scored_per_behaviour(mixed_run: Path) -> None:
    samples = _rows(mixed_run / "samples.jsonl")
    scores = {s["id"]: score_row(s) for s in samples}
    assert {score.behaviour for score in scores.values()} == set(parse_mix(MIX))
    assert all(score.completeness >= 0.75 for score in scores.values())
    no_call = next(s for s in samples if s["meta"]["behaviour"] == "no_call")
    called = next(s for s in samples if s["meta"]["behaviour"] == "call")
    wrong = {**no_call, "messages": called["messages"], "tools": called["tools"]}
    assert score_row(wrong).completeness == 0.0
