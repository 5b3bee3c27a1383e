"""The run's output directory: strict JSON in every file, damaged stores, environment failures, one run at a time."""

from __future__ import annotations

import errno
import json
import math
import os
import random
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support import ROOT, demo_unless, scripted_lm, stage_of
from toolsynth import store as store_module
from toolsynth.cli import main
from toolsynth.demo_model import reply_to
from toolsynth.programs import ButtonProgram
from toolsynth.readers import iter_seeds
from toolsynth.runner import RunOptions, run
from toolsynth.store import OutputLocked, RunStore, dumps, write_json_atomic

SEEDS = ROOT / "examples" / "seeds.jsonl"


def strict_loads(text: str) -> Any:
    def refuse(constant: str) -> Any:
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


def with_nan_numbers(value: Any) -> Any:
    """Every number in a JSON value replaced by NaN (booleans kept)."""
    if isinstance(value, dict):
        return {k: with_nan_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [with_nan_numbers(v) for v in value]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return math.nan
    return value


def nan_tool_results(messages: list[dict[str, Any]]) -> str | None:
    """The tool simulator answers as the demo model would, but with NaN for every number (as Python writes it)."""
    if stage_of(messages) != "SimulateTool":
        return None
    return json.dumps(with_nan_numbers(json.loads(reply_to(messages))))


def run_seeds(outdir: Path, lm: Any, n: int = 2, **options: Any) -> dict[str, Any]:
    seeds = list(iter_seeds(SEEDS))[:n]
    return run(
        seeds,
        ButtonProgram(expand=0),
        outdir,
        lm=lm,
        models={"default": "scripted"},
        options=RunOptions(quiet=True, **options),
        total=len(seeds),
    )


def test_a_model_answering_nan_leaves_only_strict_json_in_every_file(tmp_path: Path) -> None:
    lm, _ = scripted_lm(demo_unless(nan_tool_results))
    out = tmp_path / "out"
    manifest = run_seeds(out, lm)
    assert manifest["counts"]["rejected_by_code"].get("number_not_finite", 0) >= 1
    for name in ("samples.jsonl", "rejected.jsonl"):
        for line in (out / name).read_text(encoding="utf-8").splitlines():
            strict_loads(line)
    strict_loads((out / "manifest.json").read_text(encoding="utf-8"))
    db = sqlite3.connect(out / "state.sqlite")
    try:
        queries = (
            "SELECT value FROM meta WHERE key = 'config'",  # the other meta row is the fingerprint, plain text
            "SELECT value FROM steps",
            "SELECT samples FROM seeds",
            "SELECT rejections FROM seeds",
            "SELECT summary FROM runs",
        )
        texts = [value for query in queries for (value,) in db.execute(query)]
    finally:
        db.close()
    assert texts and all(strict_loads(t) is not None for t in texts)


def test_writers_refuse_nan_rather_than_write_it(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="JSON compliant"):
        dumps({"rate": math.inf})
    with pytest.raises(ValueError, match="JSON compliant"):
        write_json_atomic(tmp_path / "manifest.json", {"elapsed": math.nan})
    assert list(tmp_path.iterdir()) == []  # nothing half-written
    store = RunStore(tmp_path / "out" / "state.sqlite")
    try:
        with pytest.raises(ValueError, match="JSON compliant"):
            store.put("k", {"result": math.nan})
        assert store.get("k") is None
    finally:
        store.close()


# -- damaged stores and environment failures: one message naming the file, exit 2, nothing replaced silently --


def synth(seeds: Path, out: Path, *extra: str) -> int:
    return main(["synth", str(seeds), "-o", str(out), "--quiet", "--expand", "0", *extra])


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("finished") / "out"
    assert synth(SEEDS, out, "--limit", "2") == 0
    return out


def one_error_line(err: str) -> str:
    """The one `error:` line of a failed command, and no traceback (a library warning may precede it)."""
    lines = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def truncate_half(path: Path) -> None:
    os.truncate(path, path.stat().st_size // 2)


def garbage(path: Path) -> None:
    path.write_bytes(bytes(random.Random(3).randrange(256) for _ in range(8192)))


def empty(path: Path) -> None:
    path.write_bytes(b"")


def other_schema(path: Path) -> None:
    path.unlink()
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE seeds (a, b)")
    db.commit()
    db.close()


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        (empty, "it is empty: 0 bytes"),
        (truncate_half, "database disk image is malformed"),
        (garbage, "file is not a database"),
        (other_schema, "no table 'meta'; its tables are seeds"),
    ],
    ids=["zero-bytes", "truncated", "garbage", "other-schema"],
)
def test_a_damaged_store_is_named_and_kept_until_restart_replaces_it(
    finished_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], damage: Any, problem: str
) -> None:
    out = tmp_path / "out"
    shutil.copytree(finished_run, out)
    store = out / "state.sqlite"
    damage(store)
    before = store.read_bytes()
    assert synth(SEEDS, out, "--limit", "2") == 2
    line = one_error_line(capsys.readouterr().err)
    assert line.startswith(f"error: {store} is damaged or not a toolsynth run store ({problem});")
    assert "--restart" in line
    assert store.read_bytes() == before  # never replaced silently
    assert synth(SEEDS, out, "--limit", "2", "--restart") == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["counts"]["inputs"] == 2


def test_a_read_only_output_directory_is_one_message(tmp_path: Path) -> None:
    """Real permissions: as root, the run is a child without the capability that overrides them."""
    out = tmp_path / "out"
    out.mkdir()
    out.chmod(0o555)
    prefix: list[str] = []
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv: permissions cannot be enforced")
        caps = "-dac_override,-dac_read_search"
        prefix = ["setpriv", f"--bounding-set={caps}", f"--inh-caps={caps}"]
    try:
        done = subprocess.run(
            [*prefix, sys.executable, "-m", "toolsynth.cli", "synth", str(SEEDS), "-o", str(out), "--quiet"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        out.chmod(0o755)
    assert done.returncode == 2, done.stderr
    line = one_error_line(done.stderr)
    assert line.startswith(f"error: cannot write {out}/") and f"Make {out} writable" in line


def full_after(inserts: int) -> type[sqlite3.Connection]:
    """A connection whose step inserts fail as SQLite does on a full disk once `inserts` have succeeded."""

    class FullDisk(sqlite3.Connection):
        done = 0

        def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
            if sql.startswith("INSERT OR REPLACE INTO steps"):
                if FullDisk.done >= inserts:
                    exc = sqlite3.OperationalError("database or disk is full")
                    exc.sqlite_errorcode = sqlite3.SQLITE_FULL
                    raise exc
                FullDisk.done += 1
            return super().execute(sql, *args)

    return FullDisk


def test_a_full_disk_under_sqlite_stops_the_run_with_one_message_and_the_next_run_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    connect = sqlite3.connect
    factory = full_after(5)
    monkeypatch.setattr(sqlite3, "connect", lambda *a, **k: connect(*a, **{**k, "factory": factory}))
    out = tmp_path / "out"
    assert synth(SEEDS, out, "--limit", "2") == 2
    line = one_error_line(capsys.readouterr().err)
    assert line == (
        f"error: cannot write {out / 'state.sqlite'}: the disk is full (database or disk is full). "
        "Finished steps are kept: free some space and run the same command again to resume."
    )
    monkeypatch.setattr(sqlite3, "connect", connect)
    assert synth(SEEDS, out, "--limit", "2") == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert [r["status"] for r in manifest["runs"]] == ["failed", "complete"]
    assert manifest["runs"][0]["error"] == line.removeprefix("error: ")


def test_no_space_for_the_jsonl_views_stops_the_run_with_one_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def no_space(path: Path, data: bytes) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(store_module, "_append_all", no_space)
    out = tmp_path / "out"
    assert synth(SEEDS, out, "--limit", "2") == 2
    line = one_error_line(capsys.readouterr().err)
    assert line.startswith(f"error: cannot write {out / 'samples.jsonl'}: the disk is full (No space left on device).")
    manifest = json.loads((out / "manifest.json").read_text())  # written as the run stopped, with its reason
    assert manifest["status"] == "failed" and manifest["error"] == line.removeprefix("error: ")
    monkeypatch.undo()
    assert synth(SEEDS, out, "--limit", "2") == 0
    assert json.loads((out / "manifest.json").read_text())["status"] == "complete"


# -- one run per output directory ---------------------------------------------------------------------------


def test_a_second_open_of_the_same_output_directory_is_refused_until_the_first_closes(tmp_path: Path) -> None:
    first = RunStore(tmp_path / "out" / "state.sqlite")
    try:
        with pytest.raises(OutputLocked) as caught:
            RunStore(tmp_path / "out" / "state.sqlite")
        lock = tmp_path / "out" / ".lock"
        assert str(caught.value) == (
            f"{tmp_path / 'out'} is in use by another toolsynth run (pid {os.getpid()}, lock {lock}). "
            "Wait for it to finish, or use another output directory."
        )
        RunStore(tmp_path / "other" / "state.sqlite").close()  # other directories are free
    finally:
        first.close()
    RunStore(tmp_path / "out" / "state.sqlite").close()


HOLD = """
import sys, time
from toolsynth.store import RunStore
store = RunStore(sys.argv[1])
print("holding", flush=True)
time.sleep(120)
"""


def test_a_second_process_is_refused_with_exit_2_and_a_killed_holder_leaves_no_stale_lock(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(out / "state.sqlite")], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "holding\n"
        assert synth(SEEDS, out, "--limit", "1") == 2
        line = one_error_line(capsys.readouterr().err)
        assert line == (
            f"error: {out} is in use by another toolsynth run (pid {holder.pid}, lock {out / '.lock'}). "
            "Wait for it to finish, or use another output directory."
        )
        assert not (out / "manifest.json").exists()  # nothing was run
    finally:
        holder.kill()  # SIGKILL: no clean-up runs in the holder
        holder.wait()
    assert synth(SEEDS, out, "--limit", "1") == 0


@pytest.mark.parametrize("text", ["a\u2028b", "a\u2029b", "a\x85b", "line\u2028break \u00e9 中文 \x1c\x1d\x1e\x0b\x0c"])
def test_a_jsonl_row_is_one_line_for_every_line_splitter(text: str) -> None:
    """`str.splitlines` ends lines at U+2028, U+2029 and U+0085, which `json.dumps(ensure_ascii=False)` leaves raw:
    written rows escape them, so every reader sees one row per line, and the row reads back the same."""
    value = {"content": text, text: [text]}
    written = dumps(value)
    assert len(written.splitlines()) == 1
    assert json.loads(written) == value
    assert "中文" in written or "中文" not in text  # other text stays readable, not \\u-escaped
