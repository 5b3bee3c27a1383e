"""The README's commands and Python examples stay true."""

from __future__ import annotations

import re

from tests.support import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.DOTALL)


def test_first_two_commands_are_install_and_run_then_install_and_test() -> None:
    first, second = blocks("bash")[:2]
    install = 'python3 -m venv .venv && . .venv/bin/activate && pip install -e ".[dev]"'
    consumers = "pip install --no-deps -r tests/exports/consumers-no-deps.txt"  # they pull torch otherwise
    assert first.strip() == f"{install} && toolsynth synth examples/seeds.jsonl -o out"
    browser, test = second.strip().splitlines()
    assert browser.split("#")[0].strip() == "apt-get install -y chromium"  # the report's browser test (Debian, root)
    assert test == f"{install} && {consumers} && pytest"
    assert (ROOT / "tests" / "exports" / "consumers-no-deps.txt").is_file()
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "apt-get install -y -qq chromium" in ci and test in ci


def test_python_examples_run_on_the_demo_model() -> None:
    python_blocks = blocks("python")
    assert python_blocks
    for code in python_blocks:
        exec(compile(code, "README.md", "exec"), {})
