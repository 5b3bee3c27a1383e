"""The core packages import neither the offline demo model nor the shipped test server."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.support import ROOT

OPTIONAL_PREFIXES = ("toolsynth.demo_model", "toolsynth.demo_domains", "toolsynth.demo_optimizer", "toolsynth.testing")


@pytest.mark.parametrize(
    "module", ["toolsynth", "toolsynth.programs", "toolsynth.runner", "toolsynth.lm", "toolsynth.cli"]
)
def test_core_import_leaves_demo_and_test_modules_unloaded(module: str) -> None:
    code = (
        f"import json, sys, {module}\n"
        f"print(json.dumps(sorted(n for n in sys.modules if n.startswith({OPTIONAL_PREFIXES!r}))))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []


def test_the_demo_model_is_still_built_when_a_run_asks_for_it() -> None:
    from toolsynth.lm import DEMO_MODEL_NAME, ModelConfig

    lms = ModelConfig().build()
    assert {lm.model for lm in lms.values()} == {DEMO_MODEL_NAME}
