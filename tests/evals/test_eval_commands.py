"""`toolsynth eval` and `toolsynth optimize` end to end on the offline demo model, tiny budgets."""

from __future__ import annotations

import json
from pathlib import Path

import dspy
import pytest
from support import demo_unless, scripted_lm, stage_of

from toolsynth.cli import main
from toolsynth.demo_model import demo_lm, reply_to
from toolsynth.demo_optimizer_replies import demo_optimizer_lm
from toolsynth.evals.dataset import load_examples
from toolsynth.evals.metrics import assess
from toolsynth.evals.optimize import OptimizerSettings, compile_program, estimate_calls
from toolsynth.programs import ButtonProgram

TINY = [
    "--train-limit",
    "2",
    "--dev-limit",
    "1",
    "--demos",
    "1",
    "--candidates",
    "3",
    "--trials",
    "1",
    "--metric-calls",
    "4",
    "--threads",
    "2",
]


def run_loaded(path: Path) -> ButtonProgram:
    """Load a saved program into a fresh ButtonProgram and check it still makes samples."""
    program = ButtonProgram()
    program.load(str(path))
    seed = load_examples(split="dev", limit=1)[0]
    with dspy.context(lm=demo_lm(0), adapter=dspy.JSONAdapter()):
        result = program(**seed.inputs())
    assert result.samples, result.rejections
    return program


def test_eval_writes_scores_diversity_and_details(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "--limit", "3", "-o", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "eval.json").read_text(encoding="utf-8"))
    assert {"n", "completeness", "consistency", "score", "acceptance", "diversity", "seeds"} <= report.keys()
    assert report["n"] == 3 and len(report["seeds"]) == 3 and report["split"] == "dev"
    assert 0.0 <= report["score"] <= 1.0 and report["lm_calls"] > 0
    assert {"distinct_scenarios", "distinct_functions", "distinct_n", "strategies"} <= report["diversity"].keys()
    assert {"source_id", "score", "samples", "rejections", "feedback"} <= report["seeds"][0].keys()
    out = capsys.readouterr().out
    assert "completeness" in out and "distinct-1/2/3" in out and "worst" in out
    # pass rates per stage, counted in dspy.Evaluate's threads
    stages = report["stages"]
    assert {"ExtractScenario", "GenerateFunctions", "AssistantTurn"} <= stages.keys()
    assert all(s["runs"] == s["first_try_pass"] + s["repaired"] + s["rejected"] for s in stages.values())
    assert stages["ExtractScenario"]["runs"] == 3 and "first try" in out


def test_eval_on_a_seeds_file_with_the_lm_judge(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds.jsonl"
    seeds.write_text(json.dumps({"id": "w", "chat": "USER: What's the weather in Oslo?"}) + "\n", encoding="utf-8")
    assert main(["eval", str(seeds), "--lm-judge", "-o", str(tmp_path / "out")]) == 0
    report = json.loads((tmp_path / "out" / "eval.json").read_text(encoding="utf-8"))
    assert report["n"] == 1 and 0.0 <= report["lm_judge"] <= 1.0
    assert main(["eval", str(seeds), "--split", "train", "-o", str(tmp_path / "out")]) == 2  # no train seeds


@pytest.mark.parametrize("optimizer", ["bootstrap", "mipro", "gepa"])
def test_optimize_saves_a_program_that_loads_and_runs(tmp_path: Path, optimizer: str) -> None:
    path = tmp_path / "program.json"
    assert main(["optimize", "--optimizer", optimizer, *TINY, "-o", str(path)]) == 0
    program = run_loaded(path)
    report = json.loads(path.with_suffix(".report.json").read_text(encoding="utf-8"))
    assert report["before"]["n"] == report["after"]["n"] == 1 and report["lm_calls"] > 0
    if optimizer == "bootstrap":  # traces of the async stages reach BootstrapFewShot
        assert sum(len(p.demos) for _, p in program.named_predictors()) > 0


def test_optimize_one_stage_changes_only_that_predictor(tmp_path: Path) -> None:
    path = tmp_path / "assistant.json"
    assert main(["optimize", "--optimizer", "bootstrap", *TINY, "--stage", "assistant", "-o", str(path)]) == 0
    demos = {name: len(p.demos) for name, p in run_loaded(path).named_predictors()}
    assert demos.pop("conversation.assistant.predict") == 1
    assert set(demos.values()) == {0}


def test_optimize_refuses_above_max_calls_and_bad_arguments(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "p.json"
    assert main(["optimize", "--optimizer", "mipro", "--max-calls", "10", "-o", str(path)]) == 2
    assert "exceeds --max-calls" in capsys.readouterr().err and not path.exists()
    assert main(["optimize", "--optimizer", "gepa", "--estimate-only", *TINY, "-o", str(path)]) == 0
    assert "estimated LM calls" in capsys.readouterr().out and not path.exists()
    assert main(["optimize", "--optimizer", "bootstrap", "--stage", "nope", "-o", str(path)]) == 2
    assert main(["optimize", "--optimizer", "bootstrap", "-o", str(tmp_path / "p.txt")]) == 2


def test_estimate_terms() -> None:
    settings = OptimizerSettings(demos=2, candidates=3, trials=4, metric_calls=20, minibatch=3)
    assert estimate_calls("bootstrap", 10, 8, 4, 11, settings).total == 8 * 10 + 2 * 4 * 10
    mipro = estimate_calls("mipro", 10, 8, 4, 11, settings)
    assert mipro.total == 2 * 4 * 10 + 5 * 4 * 10 + 10 + 3 * 3 * 11 + 2 * 4 * 10
    gepa = estimate_calls("gepa", 10, 8, 4, 11, settings)
    assert gepa.total == (20 + 6) * 10 + 4 + 2 * 4 * 10 and "reflection" in gepa.explain()


def test_gepa_reflects_on_feedback_and_the_new_instruction_is_saved(tmp_path: Path) -> None:
    """An LM whose final answers ignore the results unless its instruction warns against it: GEPA's
    reflection (demo replies) reads the metric's feedback, writes that warning, and keeps the better prompt."""

    def careless(messages: list[dict]) -> str | None:
        if stage_of(messages) != "AssistantTurn" or "Avoid this problem" in messages[0]["content"]:
            return None
        answer = json.loads(reply_to(messages))
        if not answer["tool_calls"]:
            answer["content"] = "Done, all set."
        return json.dumps(answer)

    lm, _ = scripted_lm(demo_unless(careless))
    train = load_examples(split="train", limit=4)
    program = ButtonProgram()
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
        before = assess(program(**train[0].inputs())).score
        compiled = compile_program(
            program,
            "gepa",
            train,
            stage="conversation.assistant",
            settings=OptimizerSettings(metric_calls=12, threads=2),
            reflection_lm=demo_optimizer_lm(0),
        )
        after = assess(compiled(**train[0].inputs())).score
    assert before < after == 1.0
    instruction = compiled.conversation.assistant.predict.signature.instructions
    assert "Avoid this problem" in instruction and "never used" in instruction
    compiled.save(str(tmp_path / "gepa.json"))
    loaded = ButtonProgram()
    loaded.load(str(tmp_path / "gepa.json"))
    assert loaded.conversation.assistant.predict.signature.instructions == instruction
