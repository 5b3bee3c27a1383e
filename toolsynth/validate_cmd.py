"""`toolsynth validate FILE`: run every check over any tool-calling dataset, ours or not.

Rows are OpenAI (`messages` + `tools`) or LLaMA-Factory ShareGPT (`conversations` + `tools`), detected per
row unless `--format` says. Exit status: 0 no errors, 1 some row has errors, 2 the file cannot be read.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from toolsynth.validators.findings import Finding, error
from toolsynth.validators.sample import check_sample, check_sharegpt_row

EXIT_OK, EXIT_ERRORS, EXIT_UNREADABLE = 0, 1, 2


class UnreadableInput(Exception):
    pass


def rows_of(path: Path) -> Iterator[tuple[int, Any]]:
    """(row number, decoded value or a Finding for an undecodable line), from .jsonl or a .json array."""
    try:
        if path.suffix == ".json":
            data = json.loads(path.read_text(encoding="utf-8"))
            yield from enumerate(data if isinstance(data, list) else [data])
            return
        with path.open(encoding="utf-8") as handle:
            row = 0
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    yield row, json.loads(line)
                except json.JSONDecodeError as exc:
                    yield row, error("row_invalid_json", f"line {number}", f"not valid JSON: {exc.msg}")
                row += 1
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UnreadableInput(f"{path}: {exc}") from exc


def check_row(value: Any, fmt: str | None) -> list[Finding]:
    if isinstance(value, Finding):
        return [value]
    kind = fmt or ("sharegpt" if isinstance(value, dict) and "conversations" in value else "openai")
    return check_sharegpt_row(value) if kind == "sharegpt" else check_sample(value)


def validate_command(
    path: Path, *, fmt: str | None = None, as_json: bool = False, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    if not path.is_file():
        print(f"error: {path}: no such file", file=err)
        return EXIT_UNREADABLE
    rows = with_errors = with_warnings = 0
    counts: Counter[tuple[str, str]] = Counter()
    try:
        for index, value in rows_of(path):
            findings = check_row(value, fmt)
            rows += 1
            with_errors += any(f.severity == "error" for f in findings)
            with_warnings += any(f.severity == "warning" for f in findings)
            counts.update((f.severity, f.code) for f in findings)
            if as_json:
                out.write(
                    json.dumps({"row": index, "findings": [f.to_dict() for f in findings]}, ensure_ascii=False) + "\n"
                )
    except UnreadableInput as exc:
        print(f"error: {exc}", file=err)
        return EXIT_UNREADABLE
    summary = err if as_json else out
    summary.write(f"{path}: {rows} rows, {with_errors} with errors, {with_warnings} with warnings\n")
    if counts:
        width = max(len(code) for _, code in counts)
        summary.write(f"  {'severity':<8}  {'code':<{width}}  findings\n")
        order = {"error": 0, "warning": 1, "info": 2}
        for (severity, code), n in sorted(counts.items(), key=lambda kv: (order[kv[0][0]], -kv[1], kv[0][1])):
            summary.write(f"  {severity:<8}  {code:<{width}}  {n}\n")
    return EXIT_ERRORS if with_errors else EXIT_OK
