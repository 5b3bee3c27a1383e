"""`hf --call-ids mistral` in mistral-common: its fine-tuning request validator accepts every row for each tokenizer
version with tool calls, and a tokenizer it ships renders each call's arguments as an object under the call's id,
with the result under the same id."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.exports.conftest import Exporter, read_jsonl
from tests.exports.expect import call_groups, samples_by_id
from toolsynth.exports import ExportOptions, export_samples

mistral_common = pytest.importorskip("mistral_common", reason="mistral-common comes with the dev extra")
from mistral_common.exceptions import InvalidMessageStructureException, MistralCommonException  # noqa: E402
from mistral_common.protocol.instruct.request import ChatCompletionRequest  # noqa: E402
from mistral_common.protocol.instruct.validator import ValidationMode, get_validator  # noqa: E402
from mistral_common.tokens.tokenizers.base import SpecialTokenPolicy, TokenizerVersion  # noqa: E402
from mistral_common.tokens.tokenizers.mistral import MistralTokenizer  # noqa: E402

TOOL_VERSIONS = [TokenizerVersion.v3, TokenizerVersion.v7, TokenizerVersion.v11, TokenizerVersion.v13]
"""The tokenizer versions that take tool calls (v1 and v2 predate them)."""
MISTRAL = ExportOptions(call_ids="mistral")


def request(row: dict[str, Any]) -> Any:
    return ChatCompletionRequest.from_openai(row["messages"], tools=row["tools"])


@pytest.mark.parametrize("version", TOOL_VERSIONS, ids=lambda v: v.value)
@pytest.mark.parametrize("run", ["seeds", "evalset"])
def test_finetuning_validator_accepts_every_row(run: str, version: TokenizerVersion, exported: Exporter) -> None:
    export, report = exported(run, "hf", MISTRAL)
    assert report.rows_written == report.rows_read > 0
    validator = get_validator(version, ValidationMode.finetuning)
    for row in read_jsonl(export):
        validator.validate_request(request(row))


def test_our_own_call_ids_are_what_mistral_rejects(exported: Exporter) -> None:
    export, _ = exported("seeds", "hf", ExportOptions())
    validator = get_validator(TokenizerVersion.v3, ValidationMode.finetuning)
    with pytest.raises(MistralCommonException, match="length of 9"):
        validator.validate_request(request(read_jsonl(export)[0]))


def test_ids_are_deterministic_and_pair_each_call_with_its_result(
    exported: Exporter, tmp_path: Path, demo_samples: dict[str, Path]
) -> None:
    export, _ = exported("evalset", "hf", MISTRAL)
    export_samples(demo_samples["evalset"], "hf", tmp_path / "again.jsonl", MISTRAL)
    assert (tmp_path / "again.jsonl").read_bytes() == export.read_bytes()
    for row in read_jsonl(export):
        ids = [c["id"] for m in row["messages"] for c in m.get("tool_calls", [])]
        answered = [m["tool_call_id"] for m in row["messages"] if m["role"] == "tool"]
        assert sorted(ids) == sorted(answered) and len(set(ids)) == len(ids)


def test_shipped_tokenizer_renders_calls_and_results_under_matching_ids(
    exported: Exporter, demo_samples: dict[str, Path]
) -> None:
    """Tekken (v3), shipped in mistral-common, in fine-tuning mode: `[TOOL_CALLS]` holds each call's name, arguments
    object and id; each `[TOOL_RESULTS]` holds its result under the id of the call it answers."""
    tekken = Path(mistral_common.__file__).parent / "data" / "tekken_240718.json"
    if not tekken.exists():
        pytest.skip(f"{tekken} is not shipped by this mistral-common version")
    tokenizer = MistralTokenizer.from_file(str(tekken), mode=ValidationMode.finetuning)
    export, _ = exported("seeds", "hf", MISTRAL)
    sources = samples_by_id(demo_samples["seeds"])
    for row in read_jsonl(export):
        tokens = tokenizer.encode_chat_completion(request(row)).tokens
        text = tokenizer.decode(tokens, special_token_policy=SpecialTokenPolicy.KEEP)
        rendered_calls = [json.loads(block) for block in re.findall(r"\[TOOL_CALLS\](\[.*?\])</s>", text)]
        results = [json.loads(block) for block in re.findall(r"\[TOOL_RESULTS\](.*?)\[/TOOL_RESULTS\]", text)]
        groups = call_groups(sources[row["id"]])
        assert [[(c["name"], c["arguments"]) for c in calls] for calls in rendered_calls] == [
            [(name, arguments) for name, arguments, _ in group] for group in groups
        ]
        by_id = {r["call_id"]: r["content"] for r in results}
        made = [c for calls in rendered_calls for c in calls]
        assert [by_id[c["id"]] for c in made] == [json.loads(result) for g in groups for _, _, result in g]


def test_validator_catches_a_result_under_the_wrong_id(exported: Exporter) -> None:
    """The check has teeth: a result answering an id no call has is refused."""
    export, _ = exported("seeds", "hf", MISTRAL)
    row = read_jsonl(export)[0]
    tool = next(m for m in row["messages"] if m["role"] == "tool")
    tool["tool_call_id"] = "abcdefghi"
    with pytest.raises(InvalidMessageStructureException):
        get_validator(TokenizerVersion.v13, ValidationMode.finetuning).validate_request(request(row))
