"""Exports read back by toolsynth itself: `toolsynth validate` finds no error in the sharegpt and openai exports, and
the project's readers get the same calls and results out of every export as out of the source sample."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.exports.conftest import Exporter, read_jsonl
from tests.exports.expect import CallGroup, call_groups, samples_by_id, single_calls
from toolsynth.exports import ExportOptions
from toolsynth.readers import render_transcript
from toolsynth.validate_cmd import EXIT_OK, validate_command
from toolsynth.validators.sample import sharegpt_to_openai

RUNS = ["seeds", "evalset"]


@pytest.mark.parametrize("fmt", ["sharegpt", "openai"])
@pytest.mark.parametrize("run", RUNS)
def test_validate_finds_no_error(run: str, fmt: str, exported: Exporter, capsys: pytest.CaptureFixture[str]) -> None:
    export, report = exported(run, fmt, ExportOptions())
    assert validate_command(export, fmt=fmt) == EXIT_OK
    assert f"{report.rows_written} rows, 0 with errors" in capsys.readouterr().out


def _decoded_groups(groups: list[CallGroup]) -> list[list[tuple[str, dict[str, Any], Any]]]:
    """Call groups with each result as the JSON value it holds (results are compared as values, not as text)."""
    return [[(name, arguments, json.loads(result)) for name, arguments, result in group] for group in groups]


@pytest.mark.parametrize("single_call", [None, "split"])
@pytest.mark.parametrize("run", RUNS)
def test_sharegpt_read_back_gives_the_same_calls_and_results(
    run: str, single_call: Any, exported: Exporter, demo_samples: dict[str, Path]
) -> None:
    export, _ = exported(run, "sharegpt", ExportOptions(single_call=single_call))
    sources = samples_by_id(demo_samples[run])
    for row in read_jsonl(export):
        converted, findings = sharegpt_to_openai(row)
        assert converted is not None and not findings
        source = sources[row["id"]]
        expected = single_calls(source) if single_call else call_groups(source)
        assert _decoded_groups(call_groups(converted)) == _decoded_groups(expected)
        assert [m["content"] for m in converted["messages"] if m["role"] in ("system", "user")] == [
            m["content"] for m in source["messages"] if m["role"] in ("system", "user")
        ]


@pytest.mark.parametrize("fmt", ["openai", "hf"])
@pytest.mark.parametrize("run", RUNS)
def test_openai_and_hf_read_back_as_the_same_transcript(
    run: str, fmt: str, exported: Exporter, demo_samples: dict[str, Path]
) -> None:
    """The seed reader's transcript (every turn, call and result in order) is the same as the source's."""
    export, _ = exported(run, fmt, ExportOptions())
    sources = list(samples_by_id(demo_samples[run]).values())
    rows = read_jsonl(export)
    assert len(rows) == len(sources)
    for row, source in zip(rows, sources, strict=True):
        assert render_transcript(row["messages"]) == render_transcript(source["messages"])


@pytest.mark.parametrize("run", RUNS)
def test_glm4_holds_every_call_and_result_in_order(run: str, exported: Exporter, demo_samples: dict[str, Path]) -> None:
    """GLM-4's layout, read back: `name\\n{arguments}` per assistant call, each followed by its observation."""
    export, report = exported(run, "glm4", ExportOptions())
    assert report.rows_written == report.rows_read and report.changed["parallel_calls_split"] > 0
    sources = samples_by_id(demo_samples[run])
    for row in read_jsonl(export):
        messages = row["messages"]
        system = messages[0]
        source = sources[row["id"]]
        assert system["role"] == "system" and system["content"] == "" and system["tools"] == source["tools"]
        calls = []
        for message, following in zip(messages, [*messages[1:], None], strict=True):
            if message["role"] == "assistant" and following is not None and following["role"] == "observation":
                name, arguments = message["content"].split("\n", 1)
                calls.append([(name, json.loads(arguments), following["content"])])
        assert calls == single_calls(source)
        assert [m["role"] for m in messages[1:] if m["role"] != "observation"].count("user") == len(
            [m for m in source["messages"] if m["role"] == "user"]
        )
