"""Deeper composites (`max_subtasks` 4 and 5): the widen and extend steps build the right dependency graphs, the
demo model writes fan-in of 3 and chains after a comparison, the samples validate, the manifest counts sizes, and
the composition checks hold at every depth (a property test over random dependency graphs of 2 to 5 subtasks)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import dspy
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support import ROOT, weather_comparison
from toolsynth.behaviours import DEFAULT_MAX_SUBTASKS, MAX_FAN_IN, MAX_SUBTASKS
from toolsynth.cli import main
from toolsynth.programs.button import ButtonProgram
from toolsynth.programs.extend_chain import ExtendChainStage, extended_task
from toolsynth.programs.widen_parallel import WidenParallelStage, widenable, widened_task
from toolsynth.validators.composition import check_composition
from toolsynth.validators.findings import codes, errors
from toolsynth.validators.sample import check_sample

SEEDS = ROOT / "examples" / "seeds.jsonl"


def _rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_widening_adds_an_independent_step_and_the_final_step_uses_all_of_them() -> None:
    widened = widened_task(
        weather_comparison(),
        dspy.Prediction(
            parallel_task="Get the weather in Cairo.",
            subsequent_task="Say which of the three is warmest.",
            composite_instruction="Get the weather in Oslo, Lima and Cairo, then say which is warmest.",
        ),
    )
    assert [(s.id, s.depends_on) for s in widened.subtasks] == [(1, []), (2, []), (3, []), (4, [1, 2, 3])]
    assert widened.subtasks[3].instruction == "Say which of the three is warmest."
    assert not widenable(widened, MAX_FAN_IN)  # fan-in is at most 3
    assert widenable(weather_comparison(), MAX_FAN_IN)
    chained = extended_task(
        weather_comparison(), dspy.Prediction(next_task="Pack for it.", composite_instruction="...")
    )
    assert not widenable(chained, MAX_FAN_IN)  # only the base parallel shape widens


def test_extending_appends_a_step_that_uses_the_last_one() -> None:
    extended = extended_task(
        weather_comparison(), dspy.Prediction(next_task="Pack for the warmer city.", composite_instruction="All of it.")
    )
    assert [(s.id, s.depends_on) for s in extended.subtasks][-1] == (4, [3])
    assert extended.instruction == "All of it."


@pytest.mark.parametrize(
    ("stage", "outputs", "code"),
    [
        (
            WidenParallelStage(),
            {
                "parallel_task": "Get the current weather in Oslo, then get the current weather in Paris.",
                "subsequent_task": "Tell me which of the three cities is warmest.",
                "composite_instruction": "Weather in Oslo, Lima and Paris; which is warmest?",
            },
            "step_restates_earlier",
        ),
        (
            WidenParallelStage(),
            {
                "parallel_task": "Get the current weather in Paris.",
                "subsequent_task": "Tell me which city is warmer than the one in step 2.",
                "composite_instruction": "Weather in Oslo, Lima and Paris; which is warmest?",
            },
            "step_number_reference",
        ),
        (
            ExtendChainStage(),
            {
                "next_task": "Compare the temperatures using step 1 and 2.",
                "composite_instruction": "Weather in Oslo and Lima, which is warmer, then compare.",
            },
            "step_number_reference",
        ),
        (ExtendChainStage(), {"next_task": "", "composite_instruction": "x"}, "text_empty"),
    ],
)
def test_a_deepening_step_must_be_one_new_step_in_the_users_words(
    stage: WidenParallelStage | ExtendChainStage, outputs: dict[str, str], code: str
) -> None:
    found = stage.check(dspy.Prediction(**outputs), {"composite": weather_comparison()})
    assert code in codes(errors(found))


def test_a_copied_step_note_is_dropped_from_the_step_a_model_writes() -> None:
    notes = "(uses the results of steps 1, 2, and 3) (uses the result of step 3)"
    prediction = dspy.Prediction(
        parallel_task="Get the current weather in Paris.",
        subsequent_task=f"Tell me which city is warmest. {notes}",
        composite_instruction="Weather in Oslo, Lima and Paris; which is warmest?",
    )
    assert widened_task(weather_comparison(), prediction).subtasks[-1].instruction == "Tell me which city is warmest."
    assert errors(WidenParallelStage().check(prediction, {"composite": weather_comparison()})) == []


def test_a_good_deepening_step_passes() -> None:
    outputs = {
        "next_task": "Suggest what I should pack for the warmer city's weather.",
        "composite_instruction": "Weather in Oslo and Lima, which is warmer, and what to pack for it.",
    }
    assert errors(ExtendChainStage().check(dspy.Prediction(**outputs), {"composite": weather_comparison()})) == []


@pytest.mark.parametrize("bad", [DEFAULT_MAX_SUBTASKS - 1, MAX_SUBTASKS + 1])
def test_max_subtasks_out_of_range_is_refused(bad: int) -> None:
    with pytest.raises(ValueError, match="max_subtasks"):
        ButtonProgram(max_subtasks=bad)


def test_size_target_is_the_shape_at_the_default_and_a_seeded_draw_above_it() -> None:
    default, deep = ButtonProgram(), ButtonProgram(max_subtasks=5, seed=3)
    assert {default.subtask_target(f"k{i}", 2) for i in range(50)} == {2}
    drawn = [deep.subtask_target(f"k{i}", 2) for i in range(200)]
    assert set(drawn) == {2, 3, 4, 5}
    assert drawn == [ButtonProgram(max_subtasks=5, seed=3).subtask_target(f"k{i}", 2) for i in range(200)]
    assert {deep.subtask_target(f"k{i}", 3) for i in range(200)} == {3, 4, 5}


@pytest.fixture(scope="module")
def deep_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("deep")
    args = ["synth", str(SEEDS), "-o", str(out), "--max-subtasks", "5", "--parallel-ratio", "1", "--quiet"]
    assert main(args) == 0
    return out


def test_demo_writes_fan_in_of_three_and_chains_after_a_comparison(deep_run: Path) -> None:
    samples = _rows(deep_run / "samples.jsonl")
    graphs = [[(s["id"], s["depends_on"], s["function"]) for s in row["meta"]["subtasks"]] for row in samples]
    fan_in = [g for g in graphs if any(len(deps) == 3 for _, deps, _ in g)]
    chained = [g for g in graphs if g[-1][2] is not None and len(g[-1][1]) == 1 and g[g[-1][1][0] - 1][2] is None]
    assert fan_in and chained
    assert any(len(g) == 5 for g in graphs)
    for row in samples:
        assert errors(check_sample(row)) == [], row["id"]
        assert len(row["meta"]["subtasks"]) <= row["meta"]["subtask_target"]


def test_chained_step_acts_on_the_winner_of_the_comparison(deep_run: Path) -> None:
    """After "which of the flights is cheapest", the booking step books that flight: the chain's call consumes the
    result the comparison picked."""
    for row in _rows(deep_run / "samples.jsonl"):
        subtasks = row["meta"]["subtasks"]
        if subtasks[-1]["function"] != "book_flight" or len(subtasks) < 4:
            continue
        calls = [c for m in row["messages"] for c in m.get("tool_calls") or []]
        results = {m["tool_call_id"]: json.loads(m["content"]) for m in row["messages"] if m["role"] == "tool"}
        searched = [results[c["id"]] for c in calls if c["function"]["name"] == "search_cheapest_flight"]
        booking = next(json.loads(c["function"]["arguments"]) for c in calls if c["function"]["name"] == "book_flight")
        assert booking["flight_id"] == min(searched, key=lambda r: r["price_usd"])["flight_id"]
        return
    pytest.skip("this demo run wrote no deepened flight booking")


def test_manifest_counts_samples_by_size(deep_run: Path) -> None:
    samples = _rows(deep_run / "samples.jsonl")
    counts = json.loads((deep_run / "manifest.json").read_text(encoding="utf-8"))["counts"]
    by_size = counts["accepted_by_subtasks"]
    assert sum(by_size.values()) == len(samples)
    assert by_size == {
        str(n): sum(len(s["meta"]["subtasks"]) == n for s in samples)
        for n in {len(s["meta"]["subtasks"]) for s in samples}
    }
    short = sum(len(s["meta"]["subtasks"]) < s["meta"]["subtask_target"] for s in samples)
    assert counts["accepted_short_of_subtask_target"] == short


# --- the composition checks at every depth ------------------------------------------------------------------


@st.composite
def dependency_graphs(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Subtasks 1..n (2 to 5): each depends on up to three earlier ones; a step combining two or more may be pure
    reasoning (no function); at least one step uses another's result."""
    n = draw(st.integers(2, MAX_SUBTASKS))
    subtasks: list[dict[str, Any]] = [{"id": 1, "depends_on": [], "function": "fn1"}]
    for sid in range(2, n + 1):
        deps = sorted(draw(st.sets(st.integers(1, sid - 1), max_size=min(MAX_FAN_IN, sid - 1))))
        reasoning = len(deps) >= 2 and draw(st.booleans())
        subtasks.append({"id": sid, "depends_on": deps, "function": None if reasoning else f"fn{sid}"})
    if not any(s["depends_on"] for s in subtasks):
        subtasks[-1]["depends_on"] = [subtasks[-2]["id"]]
        subtasks[-1]["function"] = f"fn{subtasks[-1]['id']}"
    if all(s["function"] is None for s in subtasks[1:]) and subtasks[0]["function"] is None:
        subtasks[0]["function"] = "fn1"
    return subtasks


def _level(subtask: dict[str, Any], by_id: dict[int, dict[str, Any]]) -> int:
    """The assistant turn in which the subtask's call can go: one after the latest call it needs (reasoning steps
    are done in the assistant's head, so they pass their inputs' level on)."""
    levels = [_level(by_id[d], by_id) + (by_id[d]["function"] is not None) for d in subtask["depends_on"]]
    return max(levels, default=0)


def _conversation(subtasks: list[dict[str, Any]], move_early: int | None = None) -> list[dict[str, Any]]:
    """A conversation serving every subtask with a call at its level (all calls of a level in one message), each
    call passing on a value of every result it depends on; `move_early` puts that subtask's call in the first
    message instead."""
    by_id = {s["id"]: s for s in subtasks}
    levels: dict[int, list[dict[str, Any]]] = {}
    for s in subtasks:
        if s["function"] is not None:
            level = 0 if s["id"] == move_early else _level(s, by_id)
            levels.setdefault(level, []).append(s)
    messages: list[dict[str, Any]] = [{"role": "user", "content": "Do all of it."}]
    for level in sorted(levels):
        calls = []
        for s in levels[level]:
            inputs = {f"from_{d}": f"value-{d}" for d in s["depends_on"]}
            calls.append(
                {
                    "id": f"c{s['id']}",
                    "type": "function",
                    "function": {"name": s["function"], "arguments": json.dumps(inputs)},
                }
            )
        messages.append({"role": "assistant", "content": None, "tool_calls": calls})
        for s in levels[level]:
            result = {"value": f"value-{s['id']}"}
            messages.append(
                {"role": "tool", "tool_call_id": f"c{s['id']}", "name": s["function"], "content": json.dumps(result)}
            )
    served = [s["id"] for s in subtasks if s["function"] is not None]
    messages.append({"role": "assistant", "content": "Done: " + ", ".join(f"value-{i}" for i in served) + "."})
    return messages


def _meta(subtasks: list[dict[str, Any]]) -> dict[str, Any]:
    return {"strategy": "parallel_then_sequential", "subtasks": subtasks}


@settings(max_examples=150, deadline=None)
@given(dependency_graphs())
def test_a_conversation_that_follows_the_graph_passes_at_every_depth(subtasks: list[dict[str, Any]]) -> None:
    findings = check_composition(_conversation(subtasks), _meta(subtasks))
    assert errors(findings) == []
    assert "parallel_not_grouped" not in codes(findings)


@settings(max_examples=150, deadline=None)
@given(dependency_graphs(), st.data())
def test_a_call_before_a_result_it_needs_is_found_at_every_depth(
    subtasks: list[dict[str, Any]], data: st.DataObject
) -> None:
    by_id = {s["id"]: s for s in subtasks}
    late = [s["id"] for s in subtasks if s["function"] is not None and _level(s, by_id) > 0]
    if not late:
        return
    moved = data.draw(st.sampled_from(late))
    findings = check_composition(_conversation(subtasks, move_early=moved), _meta(subtasks))
    assert "dependency_order_violated" in codes(errors(findings))
