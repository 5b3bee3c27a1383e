"""`toolsynth validate FILE`: run every check over any tool-calling dataset, ours or not.

Rows are OpenAI (`messages` + `tools`) or LLaMA-Factory ShareGPT (`conversations` + `tools`), detected per
row unless `--format` says, read by `toolsynth.records`. A line that is not valid JSON is a row with the
error `row_invalid_json`. A line that cannot be read at all (not UTF-8, nested too deeply, an integer too
long to convert) is a row with `row_unreadable`, is named on stderr as `FILE:line N: ...`, and makes the exit
status 2, like a file that cannot be read. Exit status: 0 no errors, 1 some row has errors, 2 unreadable input.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path
from typing import Any, TextIO

from toolsynth.records import InputError, Record, read_records
from toolsynth.store import dumps
from toolsynth.validators.findings import Finding, error
from toolsynth.validators.sample import check_sample, check_sharegpt_row

EXIT_OK, EXIT_ERRORS, EXIT_UNREADABLE = 0, 1, 2


def check_row(value: Any, fmt: str | None) -> list[Finding]:
    kind = fmt or ("sharegpt" if isinstance(value, dict) and "conversations" in value else "openai")
    return check_sharegpt_row(value) if kind == "sharegpt" else check_sample(value)


def findings_of(item: Record | InputError, fmt: str | None) -> list[Finding]:
    """The findings of one row: its checks, or the one finding saying why its line could not be decoded (at the
    row itself, path empty; the message names the line)."""
    if isinstance(item, Record):
        return check_row(item.value, fmt)
    code = "row_invalid_json" if item.code == "invalid_json" else "row_unreadable"
    return [error(code, "", f"{item.where}: {item.reason}")]


def validate_command(
    path: Path, *, fmt: str | None = None, as_json: bool = False, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    rows = with_errors = with_warnings = unreadable = 0
    counts: Counter[tuple[str, str]] = Counter()
    try:
        for index, item in enumerate(read_records(path)):
            if isinstance(item, InputError) and item.code != "invalid_json":
                unreadable += 1
                print(f"error: {item}", file=err)
            findings = findings_of(item, fmt)
            rows += 1
            with_errors += any(f.severity == "error" for f in findings)
            with_warnings += any(f.severity == "warning" for f in findings)
            counts.update((f.severity, f.code) for f in findings)
            if as_json:
                out.write(dumps({"row": index, "findings": [f.to_dict() for f in findings]}) + "\n")
    except InputError as exc:
        print(f"error: {exc}", file=err)
        return EXIT_UNREADABLE
    except OSError as exc:
        print(f"error: {path}: cannot be read: {exc.strerror or exc}", file=err)
        return EXIT_UNREADABLE
    summary = err if as_json else out
    summary.write(f"{path}: {rows} rows, {with_errors} with errors, {with_warnings} with warnings\n")
    if counts:
        width = max(len(code) for _, code in counts)
        summary.write(f"  {'severity':<8}  {'code':<{width}}  findings\n")
        order = {"error": 0, "warning": 1, "info": 2}
        for (severity, code), n in sorted(counts.items(), key=lambda kv: (order[kv[0][0]], -kv[1], kv[0][1])):
            summary.write(f"  {severity:<8}  {code:<{width}}  {n}\n")
    if unreadable:
        print(f"error: {unreadable} line(s) of {path} could not be read; their rows were not validated", file=err)
        return EXIT_UNREADABLE
    return EXIT_ERRORS if with_errors else EXIT_OK
