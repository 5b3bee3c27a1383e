"""The sharegpt export in LLaMA-Factory's own data code: its dataset parser reads the `dataset_info.json` entry, its
converter aligns every row (none skipped as abnormal), and its tool formatters render and read back every call."""

from __future__ import annotations

import itertools
import json
import types
from pathlib import Path
from typing import Any

import pytest

from tests.exports.conftest import Exporter, read_jsonl
from tests.exports.consumers import llamafactory_data
from tests.exports.expect import call_groups, samples_by_id, single_calls
from toolsynth.exports import ExportOptions

DEMO_RUNS = ("seeds", "evalset")
TOOL_FORMATS = ("default", "qwen", "llama3", "mistral", "glm4")
PARALLEL_TOOL_FORMATS = ("default", "qwen", "llama3", "mistral")
"""LLaMA-Factory's glm4 tool format refuses parallel calls; it is checked on the `--single-call split` export."""


def aligned_rows(export: Path, tmp_path: Path) -> list[dict[str, Any]]:
    """The export loaded the way LLaMA-Factory loads a local dataset: its parser reads `dataset_info.json`, the file
    is read by `datasets` as JSON, and `align_dataset` runs its ShareGPT converter on every row."""
    lf = llamafactory_data()
    datasets = pytest.importorskip("datasets")
    [attr] = lf.parser.get_dataset_list([export.stem], str(export.parent))
    assert (attr.load_from, attr.formatting, attr.dataset_name) == ("file", "sharegpt", export.name)
    loaded = datasets.load_dataset("json", data_files=[str(export)], split=attr.split, cache_dir=str(tmp_path))
    data_args = types.SimpleNamespace(
        streaming=False, preprocessing_num_workers=None, overwrite_cache=True, media_dir=str(export.parent)
    )
    aligned = lf.converter.align_dataset(loaded, attr, data_args, types.SimpleNamespace(local_process_index=0))
    return list(aligned)


@pytest.mark.parametrize("single_call", [None, "split"])
@pytest.mark.parametrize("run", DEMO_RUNS)
def test_converter_aligns_every_row(
    run: str, single_call: Any, exported: Exporter, demo_samples: dict[str, Path], tmp_path: Path
) -> None:
    export, report = exported(run, "sharegpt", ExportOptions(single_call=single_call))
    assert report.rows_written == report.rows_read > 0 and not report.dropped
    rows = read_jsonl(export)
    aligned = aligned_rows(export, tmp_path)
    assert len(aligned) == len(rows)
    sources = samples_by_id(demo_samples[run])
    for row, out in zip(rows, aligned, strict=True):
        # An abnormal row comes out of LLaMA-Factory's converter with empty prompt and response.
        assert out["_prompt"] and out["_response"], row["id"]
        turns = out["_prompt"] + out["_response"]
        roles = {"human": "user", "gpt": "assistant", "function_call": "function", "observation": "observation"}
        assert [t["role"] for t in turns] == [roles[t["from"]] for t in row["conversations"]]
        source = sources[row["id"]]
        assert out["_system"] == source["messages"][0]["content"]
        assert json.loads(out["_tools"]) == source["tools"]
        groups = single_calls(source) if single_call else call_groups(source)
        functions = [t["content"] for t in turns if t["role"] == "function"]
        observations = [t["content"] for t in turns if t["role"] == "observation"]
        assert len(functions) == len(observations) == len(groups)
        for function, observation, group in zip(functions, observations, groups, strict=True):
            calls = json.loads(function)
            calls = calls if isinstance(calls, list) else [calls]
            assert [(c["name"], c["arguments"]) for c in calls] == [(name, args) for name, args, _ in group]
            if len(group) == 1:
                assert observation == group[0][2]
            else:  # one observation turn: the results as a JSON list, in the order of the calls
                assert json.loads(observation) == [json.loads(result) for _, _, result in group]


@pytest.mark.parametrize("tool_format", TOOL_FORMATS)
@pytest.mark.parametrize("run", DEMO_RUNS)
def test_tool_formatters_render_and_read_back_every_call(
    run: str, tool_format: str, exported: Exporter, tmp_path: Path
) -> None:
    """Each `function_call` turn through LLaMA-Factory's FunctionFormatter gives the text the model is trained on;
    the same format's extractor reads it back to the very calls (name and arguments), none quoted or lost."""
    lf = llamafactory_data()
    options = ExportOptions(single_call=None if tool_format in PARALLEL_TOOL_FORMATS else "split")
    export, _ = exported(run, "sharegpt", options)
    function_formatter = lf.formatter.FunctionFormatter(slots=["{{content}}"], tool_format=tool_format)
    tool_formatter = lf.formatter.ToolFormatter(tool_format=tool_format)
    checked = 0
    for row in read_jsonl(export):
        [tool_prompt] = tool_formatter.apply(content=row["tools"])
        assert all(tool["function"]["name"] in tool_prompt for tool in json.loads(row["tools"]))
        for turn in row["conversations"]:
            if turn["from"] != "function_call":
                continue
            calls = json.loads(turn["value"])
            calls = calls if isinstance(calls, list) else [calls]
            [rendered] = function_formatter.apply(content=turn["value"])
            extracted = tool_formatter.extract(rendered)
            assert not isinstance(extracted, str), f"{tool_format} could not read back {rendered!r}"
            assert [(c.name, json.loads(c.arguments)) for c in extracted] == [
                (c["name"], c["arguments"]) for c in calls
            ]
            checked += len(calls)
    assert checked > 0


def test_glm4_tool_format_refuses_the_parallel_calls_the_split_export_avoids(exported: Exporter) -> None:
    """Why the glm4 formatter is checked on `--single-call split`: LLaMA-Factory raises on a parallel call."""
    lf = llamafactory_data()
    export, _ = exported("seeds", "sharegpt", ExportOptions())
    turns = [t for row in read_jsonl(export) for t in row["conversations"] if t["from"] == "function_call"]
    parallel = next(t["value"] for t in turns if isinstance(json.loads(t["value"]), list))
    formatter = lf.formatter.FunctionFormatter(slots=["{{content}}"], tool_format="glm4")
    with pytest.raises(ValueError, match="parallel"):
        formatter.apply(content=parallel)


@pytest.mark.parametrize("run", DEMO_RUNS)
def test_glm4_export_calls_are_the_text_llamafactory_glm4_format_writes_and_reads(
    run: str, exported: Exporter, demo_samples: dict[str, Path]
) -> None:
    """The glm4 export's call messages are exactly what LLaMA-Factory's GLM-4 tool format writes for those calls,
    and its extractor reads them back to the same name and arguments."""
    glm4 = llamafactory_data().tool_utils.get_tool_utils("glm4")
    function_call = llamafactory_data().tool_utils.FunctionCall
    export, _ = exported(run, "glm4", ExportOptions())
    sources = samples_by_id(demo_samples[run])
    for row in read_jsonl(export):
        messages = row["messages"]
        tool_prompt = glm4.tool_formatter(messages[0]["tools"])
        assert all(t["function"]["name"] in tool_prompt for t in messages[0]["tools"])
        calls = [m["content"] for m, n in itertools.pairwise(messages) if n["role"] == "observation"]
        expected = single_calls(sources[row["id"]])
        assert len(calls) == len(expected)
        for content, [(name, arguments, _)] in zip(calls, expected, strict=True):
            assert content == glm4.function_formatter([function_call(name, json.dumps(arguments, ensure_ascii=False))])
            [extracted] = glm4.tool_extractor(content)
            assert (extracted.name, json.loads(extracted.arguments)) == (name, arguments)
