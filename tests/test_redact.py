"""API keys never reach an output file or the terminal, even when a server repeats them in an error body."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.support import ROOT
from tests.test_store import one_error_line
from toolsynth.cli import main
from toolsynth.redact import REDACTED, redact, redact_value
from toolsynth.store import dumps
from toolsynth.testing import Faults, OpenAICompatibleServer

KEY = "sk-live-4f9c2e7a1b8d6e3f0a5c"  # shaped like an OpenAI key
LOCAL_KEY = "local-server-key-7731"  # not shaped like anything: masked because the environment holds it


def test_configured_keys_are_masked_and_short_or_unrelated_values_are_not(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VLLM_API_KEY", LOCAL_KEY)
    monkeypatch.setenv("HF_TOKEN", "hf_abcdefgh")
    monkeypatch.setenv("SHORT_KEY", "x")  # a placeholder for a local server: too short to be a secret
    monkeypatch.setenv("MODEL_NAME", "qwen2.5-72b-instruct")  # not a key variable
    text = f"failed with {LOCAL_KEY} and hf_abcdefgh for qwen2.5-72b-instruct, x"
    assert redact(text) == f"failed with {REDACTED} and {REDACTED} for qwen2.5-72b-instruct, x"


def test_credential_shapes_are_masked_whatever_their_source() -> None:
    assert redact(f"Authorization: Bearer {KEY}") == f"Authorization: Bearer {REDACTED}"
    assert redact("Authorization: Basic dXNlcjpwYXNzd29yZDEyMw==") == f"Authorization: Basic {REDACTED}"
    assert redact(f"key {KEY}.") == f"key {REDACTED}."
    assert redact("sk-ant-api03-AbCdEf_0123456789") == REDACTED
    prose = "The ring bearer walks in. Basic arithmetic: task-sk-1 is done."
    assert redact(prose) == prose


def test_a_key_that_contains_another_is_masked_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("A_KEY", "abcdefgh")
    monkeypatch.setenv("B_KEY", "abcdefgh-ijklmnop")
    assert redact("abcdefgh-ijklmnop / abcdefgh") == f"{REDACTED} / {REDACTED}"


def test_values_are_redacted_in_keys_and_nested_strings_and_kept_otherwise(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", LOCAL_KEY)
    value = {LOCAL_KEY: [1, 2.5, None, True, {"m": f"echo {LOCAL_KEY}"}], "n": 3}
    assert redact_value(value) == {REDACTED: [1, 2.5, None, True, {"m": f"echo {REDACTED}"}], "n": 3}


def synth_args(server: OpenAICompatibleServer, out: Path, *extra: str) -> list[str]:
    seeds = ROOT / "examples" / "seeds.jsonl"
    args = ["synth", str(seeds), "-o", str(out), "--limit", "2", "--expand", "0", "--quiet", "--no-cache"]
    return [*args, "--model", "openai/toolsynth-test", "--api-base", server.url, *extra]


def leaked(out: Path, secret: str) -> list[str]:
    """Every file in the output directory (WAL and lock files included) that holds the secret."""
    return [p.name for p in sorted(out.iterdir()) if secret.encode() in p.read_bytes()]


@pytest.mark.parametrize("key", [KEY, LOCAL_KEY], ids=["sk-shaped", "configured"])
def test_an_echoed_key_in_retried_errors_reaches_no_file(
    key: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", key)
    out = tmp_path / "out"
    with OpenAICompatibleServer(faults=Faults(every={"server_error": 3}), echo_authorization=True) as server:
        assert main(synth_args(server, out, "--retries", "0")) == 0
    rejected = [json.loads(line) for line in (out / "rejected.jsonl").read_text().splitlines()]
    assert rejected and all(r["codes"] == ["lm_error"] for r in rejected)
    assert all(f"Authorization: Bearer {REDACTED}" in r["message"] for r in rejected)  # echoed, then masked
    assert leaked(out, key) == []
    assert key not in "".join(capsys.readouterr())


def test_an_echoed_key_in_a_fatal_error_reaches_neither_the_manifest_nor_stderr(tmp_path: Path) -> None:
    """A separate process, so its stderr is toolsynth's alone (the in-process server logs client disconnects)."""
    out = tmp_path / "out"
    env = {**os.environ, "OPENAI_API_KEY": KEY}
    with OpenAICompatibleServer(faults=Faults(script=["ok", "ok", "auth"]), echo_authorization=True) as server:
        done = subprocess.run(
            [sys.executable, "-m", "toolsynth.cli", *synth_args(server, out)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert done.returncode == 2, done.stderr
    line = one_error_line(done.stderr)
    assert line.startswith("error: the model cannot be used") and line.endswith(f"Authorization: Bearer {REDACTED})")
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "aborted" and f"Bearer {REDACTED}" in manifest["error"]
    assert f"Bearer {REDACTED}" in manifest["runs"][-1]["error"]
    assert leaked(out, KEY) == [] and KEY not in done.stderr + done.stdout


ODD_KEY = 'tok"en\\with\nquote€-1234'  # JSON escapes three of its characters
FRAGMENTS = [ODD_KEY, LOCAL_KEY, f"Bearer {KEY}", f"Basic {'Q' * 20}", KEY, "sk-", "Bearer", "\u2028", '"', "\\", "é"]
texts = st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=8), max_size=5).map("".join)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | texts,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=12,
)


@given(value=json_values)
def test_every_write_masks_what_redacting_value_by_value_masks(value: Any) -> None:
    """`store.dumps` walks a value only when its JSON text may hold a secret; what it writes is the same."""
    with mock.patch.dict(os.environ, {"ODD_API_KEY": ODD_KEY, "VLLM_API_KEY": LOCAL_KEY}):
        written = dumps(value)
        assert json.loads(written) == redact_value(value)
        assert not any(ODD_KEY in text or LOCAL_KEY in text for text in strings_in(json.loads(written)))


def strings_in(value: Any) -> Iterator[str]:
    """Every string of a JSON value, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from strings_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings_in(item)
