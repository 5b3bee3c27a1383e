"""The code catalogue: every code the validators emit is documented, and every documented code is tested."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MODULES = ["limits", "functions", "calls", "conversation", "composition", "sample"]
# Codes built at run time rather than written as literals.
DYNAMIC = {
    "arguments_invalid_json",
    "arguments_schema_violation",
    "result_invalid_json",
    "result_schema_violation",
    "parameters_schema_invalid",
    "schema_too_deep",
    "schema_too_large",
    "instance_too_deep",
    "instance_too_large",
}


def emitted() -> set[str]:
    found = set(DYNAMIC)
    for name in MODULES:
        text = (ROOT / "validators" / f"{name}.py").read_text()
        found |= set(re.findall(r'\b(?:error|warning|info)\(\s*"([a-z_]+)"', text))
    return found


def documented() -> set[str]:
    doc = (ROOT / "docs" / "validation-codes.md").read_text()
    return set(re.findall(r"^\| `([a-z_]+)`", doc, flags=re.M))


def test_every_emitted_code_is_documented() -> None:
    assert emitted() - documented() == set()


def test_every_documented_code_is_emitted() -> None:
    assert documented() - emitted() == set()


def test_every_code_is_exercised_by_a_test() -> None:
    here = Path(__file__)
    tests = "".join(p.read_text() for p in here.parent.glob("test_validate_*.py") if p != here)
    untested = {code for code in emitted() if f'"{code}"' not in tests}
    assert untested == set()
