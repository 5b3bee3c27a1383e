"""`synth --estimate-only`, `--max-cost` and the estimate kept in the manifest beside the actual usage."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from toolsynth.cli import main
from toolsynth.testing import OpenAICompatibleServer

ROOT = Path(__file__).resolve().parents[2]
SEEDS = str(ROOT / "examples" / "seeds.jsonl")


def test_estimate_only_prints_per_seed_and_total_and_runs_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "x")
    out = tmp_path / "out"
    assert main(["synth", SEEDS, "-o", str(out), "--estimate-only", "--model", "openai/gpt-4o-mini"]) == 0
    line = capsys.readouterr().out
    assert line.startswith("estimate: per seed ") and "9 seeds: " in line and "$" in line
    assert not out.exists()


def test_max_cost_refuses_before_any_request(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "x")
    with OpenAICompatibleServer() as server:
        status = main(
            [
                *(
                    "synth",
                    SEEDS,
                    "-o",
                    str(tmp_path / "out"),
                    "--max-cost",
                    "0.000001",
                    "--model",
                    "openai/gpt-4o-mini",
                ),
                *("--api-base", server.url, "--quiet"),
            ]
        )
        assert server.stats().requests == 0
    assert status == 2
    err = capsys.readouterr().err
    assert "above --max-cost" in err and "Nothing was run" in err
    assert not (tmp_path / "out").exists()


def test_max_cost_refuses_a_model_without_a_price(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["synth", SEEDS, "-o", str(tmp_path / "out"), "--max-cost", "5", "--quiet"]) == 2
    assert "no price for toolsynth/offline-demo" in capsys.readouterr().err


def test_a_real_model_run_prints_the_estimate_and_keeps_it_beside_the_actual_usage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "x")
    out = tmp_path / "out"
    with OpenAICompatibleServer() as server:
        status = main(
            [
                *("synth", SEEDS, "-o", str(out), "--model", "openai/toolsynth-test", "--api-base", server.url),
                *("--limit", "3", "--structured-outputs", "json_schema", "--no-cache", "--quiet", "--no-report"),
            ]
        )
    assert status == 0
    assert "estimate: per seed " in capsys.readouterr().err
    manifest = json.loads((out / "manifest.json").read_text())
    estimate, actual = manifest["estimate"], manifest["usage"]["total"]
    assert estimate["seeds"] == 3 and estimate["measured_seeds"] == 3
    assert set(estimate["per_seed_by_role"]) == {"generator", "judge", "user", "assistant", "tool"}
    assert estimate["total"]["calls"] == pytest.approx(actual["calls"], rel=0.2)
    assert estimate["total"]["prompt_tokens"] > 0 and estimate["total"]["cost_usd"] is None
    assert estimate["unpriced_models"] == ["openai/toolsynth-test"]


def test_prices_are_litellms_and_an_unpriced_model_is_looked_up_once(monkeypatch: pytest.MonkeyPatch) -> None:
    import litellm

    from toolsynth.lm import DEMO_MODEL_NAME, cost_of

    asked: list[str] = []
    original = litellm.cost_per_token

    def counting(**kwargs: Any) -> Any:
        asked.append(kwargs["model"])
        return original(**kwargs)

    monkeypatch.setattr(litellm, "cost_per_token", counting)
    unpriced = "openai/a-local-model-litellm-has-no-price-for"
    assert [cost_of(unpriced, p, 50) for p in range(100, 110)] == [None] * 10
    assert asked == [unpriced]  # not once per token count
    prompt, completion = original(model="gpt-4o-mini", prompt_tokens=1000, completion_tokens=200)
    assert cost_of("gpt-4o-mini", 1000, 200) == pytest.approx(prompt + completion) and prompt + completion > 0
    assert cost_of(DEMO_MODEL_NAME, 1000, 200) is None
