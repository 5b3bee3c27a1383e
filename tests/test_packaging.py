"""The wheel carries every namespace package and its data, and imports from a fresh venv."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

from tests.support import ROOT

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    [built] = out.glob("toolsynth-*.whl")
    return built


def test_wheel_contents(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for module in (
        "toolsynth/__init__.py",
        "toolsynth/py.typed",
        "toolsynth/cli.py",
        "toolsynth/demo_model.py",
        "toolsynth/signatures/generate_functions.py",
        "toolsynth/programs/button.py",
        "toolsynth/validators/findings.py",
        "toolsynth/evals/__init__.py",
        "toolsynth/testing/server.py",
        "toolsynth/demo_domains/weather.py",
    ):
        assert module in names, module
    assert not any(n.startswith(("tests/", "signatures/", "programs/", "validators/", "evals/")) for n in names)
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "toolsynth = toolsynth.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_wheel_imports_in_a_fresh_venv(wheel: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    # Dependencies come from this environment's site-packages; toolsynth only from the fresh venv.
    deps = sysconfig.get_paths()["purelib"]
    code = (
        "import toolsynth, toolsynth.signatures, toolsynth.programs, toolsynth.validators, toolsynth.evals, "
        "toolsynth.testing, toolsynth.cli; print(toolsynth.__file__)"
    )
    done = subprocess.run(
        [str(python), "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": deps},
    )
    assert done.returncode == 0, done.stderr
    assert str(env_dir) in done.stdout
