"""Writing an export: the converted rows, the files beside them, and the counts of what happened.

`export_samples` reads a `samples.jsonl`, converts every row with the format's converter, and writes the
export atomically (a temporary file, then a rename), with `store.dumps` (strict JSON, secrets masked) like
every file toolsynth writes. Beside it: for `openai` the sidecar `STEM.meta.jsonl` (line N describes line N
of the export: id, source id and `meta`), for `sharegpt` the `dataset_info.json` entry LLaMA-Factory reads
(merged into the file when one is already there). The `ExportReport` counts rows read, written, dropped
(per reason) and changed (per change).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from toolsynth.dedup import duplicate_rows
from toolsynth.exports.formats import (
    FORMATS,
    OPTIONS_BY_FORMAT,
    ExportOptions,
    openai_meta,
    sharegpt_dataset_info,
)
from toolsynth.records import WHOLE_FILE, InputError, Record, check_input_file, read_records
from toolsynth.store import StoreError, dumps, guarded

EXPORT_FILE_NAMES = {"openai": "openai.jsonl", "hf": "hf.jsonl", "sharegpt": "sharegpt.jsonl", "glm4": "glm4.jsonl"}
"""The file each format is written to under `OUTDIR/exports/` by `toolsynth synth --export`."""
DATASET_INFO = "dataset_info.json"


class ExportError(RuntimeError):
    """An export that cannot be written as asked; the message says what to do."""


@dataclass
class ExportReport:
    format: str
    path: Path
    rows_read: int = 0
    rows_written: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    changed: Counter[str] = field(default_factory=Counter)
    files: list[Path] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    duplicates: list[dict[str, Any]] | None = None
    """With dedup: each row left out as a near-duplicate, with the row it repeats (`toolsynth.dedup`)."""

    def summary(self) -> str:
        return summary_line(self.to_json())

    def to_json(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "path": str(self.path),
            "rows_read": self.rows_read,
            "rows_written": self.rows_written,
            "dropped": dict(sorted(self.dropped.items())),
            "changed": dict(sorted(self.changed.items())),
            "files": [str(p) for p in self.files],
            **({"duplicates": self.duplicates} if self.duplicates is not None else {}),
        }


def summary_line(report: dict[str, Any]) -> str:
    """One line of a report (`ExportReport.to_json()`, or an export that failed): the counts, then the reasons
    rows were dropped and the changes made, each counted."""
    if "error" in report:
        return f"{report['format']}: not written: {report['error']}"
    line = f"{report['format']}: {report['rows_read']} rows → {report['rows_written']} written to {report['path']}"
    if report["dropped"]:
        line += f"; dropped {sum(report['dropped'].values())} ({_counts(report['dropped'])})"
    if report["changed"]:
        line += f"; changed: {_counts(report['changed'])}"
    others = [name for name in report["files"] if name != report["path"]]
    return line + (f"; also {', '.join(others)}" if others else "")


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{reason} {n}" for reason, n in sorted(counts.items()))


def check_options(fmt: str, options: ExportOptions) -> None:
    """`ExportError` for an unknown format or an option the format does not read."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r}; choose from {', '.join(FORMATS)}")
    defaults = ExportOptions()
    names = ("json_columns", "call_ids", "single_call")
    given = {name for name in names if getattr(options, name) != getattr(defaults, name)}
    unread = sorted(given - OPTIONS_BY_FORMAT[fmt])
    if unread:
        flags = ", ".join("--" + name.replace("_", "-") for name in unread)
        raise ExportError(f"{flags} does not apply to the {fmt} format")


def export_samples(
    samples: Path, fmt: str, output: Path, options: ExportOptions | None = None, dedup: float | None = None
) -> ExportReport:
    """Convert every row of `samples` to `fmt` and write it to `output` (and its companion file, if any); with
    `dedup` (a threshold), rows whose first user request repeats an earlier row's are dropped as `duplicate`."""
    options = options or ExportOptions()
    check_options(fmt, options)
    if output.resolve() == samples.resolve():
        raise ExportError(f"{output} is the samples file itself; write the export to another path")
    check_input_file(samples)
    if dedup is None:
        return export_rows(_sample_rows(samples), fmt, output, options)
    records = list(_sample_rows(samples))
    readable = [(i, r.value) for i, r in enumerate(records) if isinstance(r, Record) and isinstance(r.value, dict)]
    duplicates = duplicate_rows([row for _, row in readable], dedup)
    left_out = {readable[d.index][0] for d in duplicates}
    report = export_rows((r for i, r in enumerate(records) if i not in left_out), fmt, output, options)
    report.rows_read += len(left_out)
    if left_out:
        report.dropped["duplicate"] += len(left_out)
    report.duplicates = [d.to_json() for d in duplicates]
    return report


def _sample_rows(samples: Path) -> Iterator[Record | InputError]:
    """The records of a samples file that `check_input_file` accepted; one with no rows (a run whose seeds were
    all rejected) has none, rather than being an error."""
    yielded = False
    try:
        for record in read_records(samples):
            yielded = True
            yield record
    except InputError as exc:
        if yielded or exc.where != WHOLE_FILE:
            raise


def export_rows(records: Iterable[Record | InputError], fmt: str, output: Path, options: ExportOptions) -> ExportReport:
    """Convert decoded rows (an `InputError` is a line that could not be read) and write the export."""
    convert = FORMATS[fmt]
    report = ExportReport(fmt, output)
    written: list[dict[str, Any]] = []
    sidecar: list[dict[str, Any]] = []
    for record in records:
        report.rows_read += 1
        if isinstance(record, InputError):
            report.dropped["row_unreadable"] += 1
            report.unreadable.append(str(record))
            continue
        converted = convert(record.value, options)
        report.changed.update(converted.changes)
        if converted.row is None:
            report.dropped[converted.dropped or "unexportable"] += 1
            continue
        written.append(converted.row)
        if fmt == "openai":
            sidecar.append(openai_meta(record.value))
    _write_lines(output, written)
    report.rows_written = len(written)
    report.files.append(output)
    if fmt == "openai":
        meta_path = output.with_name(f"{output.stem}.meta.jsonl")
        _write_lines(meta_path, sidecar)
        report.files.append(meta_path)
    if fmt == "sharegpt":
        report.files.append(_write_dataset_info(output))
    return report


def _write_lines(path: Path, rows: list[dict[str, Any]]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with guarded(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        with tmp.open("w", encoding="utf-8") as handle:
            handle.writelines(dumps(row) + "\n" for row in rows)
        os.replace(tmp, path)


def _write_dataset_info(export: Path) -> Path:
    """Add (or replace) the export's entry, named after its file, in `dataset_info.json` beside it."""
    path = export.with_name(DATASET_INFO)
    entries: dict[str, Any] = {}
    if path.exists():
        try:
            entries = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ExportError(f"{path} cannot be read as JSON ({exc}); move it away and export again") from exc
        if not isinstance(entries, dict):
            raise ExportError(f"{path} is not a JSON object of dataset entries; move it away and export again")
    entries[export.stem] = sharegpt_dataset_info(export.name)
    tmp = path.with_name(path.name + ".tmp")
    with guarded(path):
        tmp.write_text(dumps(entries, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    return path


def samples_file(source: Path) -> Path:
    """A run's `samples.jsonl` when `source` is its output directory, else `source` itself."""
    return source / "samples.jsonl" if source.is_dir() else source


def export_run(outdir: Path, formats: Iterable[str]) -> list[dict[str, Any]]:
    """Each format written from the run's `samples.jsonl` to `OUTDIR/exports/` with its default options; one
    report per format (`ExportReport.to_json()`, or `{"format", "error"}` for one that could not be written)."""
    reports: list[dict[str, Any]] = []
    for fmt in formats:
        try:
            report = export_samples(outdir / "samples.jsonl", fmt, outdir / "exports" / EXPORT_FILE_NAMES[fmt])
        except (ExportError, StoreError, InputError) as exc:
            reports.append({"format": fmt, "error": str(exc)})
            continue
        reports.append(report.to_json())
    return reports
