"""Ray is an optional extra: without it `--ray` says how to install it, and nothing else needs it.

These run with or without ray installed (`sys.modules["ray"] = None` makes `import ray` fail here).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import ROOT
from toolsynth.cli import main
from toolsynth.lm import ModelConfig
from toolsynth.programs import ButtonProgram
from toolsynth.ray_executor import RayUnavailable, forwarded_env, run_on_ray, split_concurrency


def test_importing_the_executor_or_the_cli_does_not_import_ray() -> None:
    code = "import json, sys, toolsynth.ray_executor, toolsynth.cli\nprint(json.dumps('ray' in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) is False


def test_without_ray_a_ray_run_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(RayUnavailable, match=r"toolsynth\[ray\]"):
        run_on_ray([], ButtonProgram(), tmp_path / "out", models=ModelConfig())
    seeds = ROOT / "examples" / "seeds.jsonl"
    assert main(["synth", str(seeds), "-o", str(tmp_path / "cli"), "--quiet", "--ray"]) == 2
    assert "pip install 'toolsynth[ray]'" in capsys.readouterr().err
    assert not (tmp_path / "cli").exists()


def test_the_concurrency_bound_is_split_among_the_actors() -> None:
    assert split_concurrency(16, 2) == [8, 8]
    assert split_concurrency(10, 4) == [3, 3, 2, 2]
    assert sum(split_concurrency(64, 3)) == 64
    with pytest.raises(ValueError, match="cannot be split among 4 actors"):
        split_concurrency(3, 4)


def test_only_the_providers_variables_and_the_named_ones_are_forwarded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-one")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-two")
    monkeypatch.setenv("MY_PROXY_TOKEN", "three")
    openai = ModelConfig(model="openai/gpt-4o-mini")
    assert forwarded_env(openai)["OPENAI_API_KEY"] == "sk-one"
    assert "ANTHROPIC_API_KEY" not in forwarded_env(openai) and "MY_PROXY_TOKEN" not in forwarded_env(openai)
    assert forwarded_env(openai, ["MY_PROXY_TOKEN"])["MY_PROXY_TOKEN"] == "three"
    both = ModelConfig(model="openai/gpt-4o-mini", role_models={"judge": "anthropic/claude-3-5-haiku-latest"})
    assert {"OPENAI_API_KEY", "ANTHROPIC_API_KEY"} <= set(forwarded_env(both))
    assert forwarded_env(ModelConfig()) == {}  # the demo model needs none


def test_a_ray_run_over_a_tool_library_is_refused_before_anything_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    tools = str(ROOT / "examples" / "tools" / "bookshop.py")
    args = ["synth", str(ROOT / "examples" / "seeds.jsonl"), "-o", str(out), "--ray", "--tools", tools, "--quiet"]
    assert main(args) == 2
    assert "--tools does not run on Ray yet" in capsys.readouterr().err
    assert not (out / "samples.jsonl").exists()
