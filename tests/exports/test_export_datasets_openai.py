"""`hf --json-columns` through `datasets.load_dataset("json")`, and the openai export through the `openai` SDK's
own message and tool types."""

from __future__ import annotations

import json
import typing
from pathlib import Path
from typing import Any

import pytest

from tests.exports.conftest import Exporter, read_jsonl
from tests.exports.expect import samples_by_id
from toolsynth.exports import ExportOptions

RUNS = ["seeds", "evalset"]


def test_json_columns_load_back_identical_with_one_schema(exported: Exporter, tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    schemas = []
    for run in RUNS:
        export, _ = exported(run, "hf", ExportOptions(json_columns=True))
        loaded = datasets.load_dataset("json", data_files=str(export), split="train", cache_dir=str(tmp_path / run))
        assert list(loaded) == read_jsonl(export)
        schemas.append(loaded.features)
    assert schemas[0] == schemas[1]  # the same Arrow schema, whatever the rows hold


@pytest.mark.parametrize("run", RUNS)
def test_json_columns_decode_to_the_hf_rows(run: str, exported: Exporter) -> None:
    """Decoding the three JSON columns gives the plain hf rows, which the chat template tests render."""
    as_text, _ = exported(run, "hf", ExportOptions(json_columns=True))
    plain, _ = exported(run, "hf", ExportOptions())
    decoded = [
        {k: json.loads(v) if k in ("messages", "tools", "meta") else v for k, v in row.items()}
        for row in read_jsonl(as_text)
    ]
    assert decoded == read_jsonl(plain)


def _keys(typed_dict: Any) -> set[str]:
    return set(typed_dict.__required_keys__) | set(typed_dict.__optional_keys__)


def _materialised(value: Any) -> Any:
    """pydantic validates an `Iterable[...]` field lazily: walking the value runs every item's validation."""
    if isinstance(value, dict):
        return {k: _materialised(v) for k, v in value.items()}
    if isinstance(value, (str, bytes)):
        return value
    if isinstance(value, typing.Iterable):
        return [_materialised(v) for v in value]
    return value


@pytest.mark.parametrize("run", RUNS)
def test_openai_rows_are_the_sdk_types_with_no_other_key(
    run: str, exported: Exporter, demo_samples: dict[str, Path]
) -> None:
    pydantic = pytest.importorskip("pydantic")
    chat = pytest.importorskip("openai.types.chat")
    shared = pytest.importorskip("openai.types.shared_params")
    message_type = pydantic.TypeAdapter(chat.ChatCompletionMessageParam)
    tool_type = pydantic.TypeAdapter(chat.ChatCompletionToolParam)
    by_role = {
        "system": chat.ChatCompletionSystemMessageParam,
        "user": chat.ChatCompletionUserMessageParam,
        "assistant": chat.ChatCompletionAssistantMessageParam,
        "tool": chat.ChatCompletionToolMessageParam,
    }
    export, report = exported(run, "openai", ExportOptions())
    assert report.rows_written == report.rows_read > 0 and not report.dropped
    for row in read_jsonl(export):
        assert set(row) == {"messages", "tools"}
        for message in row["messages"]:
            assert _materialised(message_type.validate_python(message)) == message
            assert set(message) <= _keys(by_role[message["role"]]), message
            for call in message.get("tool_calls", []):
                assert set(call) <= _keys(chat.ChatCompletionMessageFunctionToolCallParam)
                assert set(call["function"]) <= {"name", "arguments"}
                assert isinstance(json.loads(call["function"]["arguments"]), dict)
        for tool in row["tools"]:
            assert _materialised(tool_type.validate_python(tool)) == tool
            assert set(tool) <= _keys(chat.ChatCompletionFunctionToolParam)
            assert set(tool["function"]) <= _keys(shared.FunctionDefinition)


@pytest.mark.parametrize("run", RUNS)
def test_openai_sidecar_gives_each_line_its_provenance(
    run: str, exported: Exporter, demo_samples: dict[str, Path]
) -> None:
    export, report = exported(run, "openai", ExportOptions())
    sidecar = export.with_name(f"{export.stem}.meta.jsonl")
    assert report.files == [export, sidecar]
    sources = list(samples_by_id(demo_samples[run]).values())
    lines, metas = read_jsonl(export), read_jsonl(sidecar)
    assert len(lines) == len(metas) == len(sources)
    for meta, source in zip(metas, sources, strict=True):
        assert meta == {"id": source["id"], "source_id": source["source_id"], "meta": source["meta"]}
        assert "function_returns" in meta["meta"]
