"""The hf export rendered by TRL's `apply_chat_template` with the chat templates TRL ships (Qwen2.5, Llama 3.1,
GLM-4.5), then read back with the response templates TRL ships for those families: every call comes back with its
arguments as the same JSON object (never a quoted string), every answer with its text, and every result sits under
the role the template gives tool results."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.exports.conftest import Exporter, read_jsonl
from tests.exports.consumers import INSTALL_NO_DEPS, package_dir, trl_chat_template, trl_response_template
from tests.exports.expect import call_groups, samples_by_id, single_calls, texts
from toolsynth.exports import ExportOptions


@dataclass(frozen=True)
class Template:
    chat_template: str
    """The file name in `trl/chat_templates/`."""
    response_template: str
    """The response template TRL defines for the family (`trl.chat_template_utils`)."""
    turn_start: str
    """A turn's header; group `role`."""
    turn_end: str
    results_role: str
    """The role the template writes tool results under."""
    result: Callable[[str], list[str]]
    """The tool results in one turn of `results_role`, as the template wrote them."""
    one_call_per_turn: bool = False


def tool_responses(body: str) -> list[str]:
    return re.findall(r"<tool_response>\n(.*?)\n</tool_response>", body, flags=re.DOTALL)


TEMPLATES = {
    "qwen2_5": Template(
        "qwen2_5", "qwen3_template", r"<\|im_start\|>(?P<role>\w+)\n", "<|im_end|>", "user", tool_responses
    ),
    # Llama 3.1 takes one call per assistant turn (it raises otherwise) and writes a text result with `tojson`.
    "llama3_1": Template(
        "llama3_1",
        "llama3_template",
        r"<\|start_header_id\|>(?P<role>\w+)<\|end_header_id\|>\n\n",
        "<|eot_id|>",
        "ipython",
        lambda body: [json.loads(body)],
        one_call_per_turn=True,
    ),
    "glm4moe": Template(
        "glm4moe",
        "glm4moe_template",
        r"<\|(?P<role>system|user|assistant|observation)\|>",
        "",
        "observation",
        tool_responses,
    ),
}


def tokenizer_with(chat_template: str) -> Any:
    """A tokenizer that only carries the chat template: `apply_chat_template` renders text, no vocabulary needed."""
    tokenizers = pytest.importorskip("tokenizers")
    transformers = pytest.importorskip("transformers")
    vocabulary = tokenizers.Tokenizer(tokenizers.models.WordLevel({"[UNK]": 0}, unk_token="[UNK]"))
    tokenizer = transformers.PreTrainedTokenizerFast(tokenizer_object=vocabulary, bos_token="<|begin_of_text|>")
    tokenizer.chat_template = chat_template
    return tokenizer


def render(row: dict[str, Any], template: Template) -> str:
    """The row as TRL's SFT renders it: `trl.data_utils.apply_chat_template` with the row's tools."""
    package_dir("trl", INSTALL_NO_DEPS)
    from trl.data_utils import apply_chat_template

    tokenizer = tokenizer_with(trl_chat_template(template.chat_template))
    text: str = apply_chat_template({"messages": row["messages"]}, tokenizer, tools=row["tools"])["text"]
    return text


def turns(text: str, template: Template) -> list[tuple[str, str, str]]:
    """(role, header, body) of each turn in the rendered text, the body without the turn's end marker."""
    headers = list(re.finditer(template.turn_start, text))
    out = []
    for header, following in zip(headers, [*headers[1:], None], strict=True):
        body = text[header.end() : following.start() if following else len(text)].rstrip("\n")
        out.append((header["role"], header.group(0), body.removesuffix(template.turn_end)))
    return out


def parsed_replies(text: str, template: Template, tools: list[Any]) -> list[dict[str, Any]]:
    """Each assistant turn read back by transformers' response parser with TRL's response template."""
    from transformers.utils.chat_parsing.response_parser import parse_response

    response_template = trl_response_template(template.response_template)
    return [
        parse_response(body + template.turn_end, response_template, prefix=header, tools=tools)
        for role, header, body in turns(text, template)
        if role == "assistant"
    ]


@pytest.mark.parametrize("template_name", list(TEMPLATES))
@pytest.mark.parametrize("run", ["seeds", "evalset"])
def test_calls_answers_and_results_render_faithfully(
    run: str, template_name: str, exported: Exporter, demo_samples: dict[str, Path]
) -> None:
    template = TEMPLATES[template_name]
    options = ExportOptions(single_call="split" if template.one_call_per_turn else None)
    export, report = exported(run, "hf", options)
    assert report.rows_written == report.rows_read > 0
    sources = samples_by_id(demo_samples[run])
    for row in read_jsonl(export):
        source = sources[row["id"]]
        text = render(row, template)
        groups = single_calls(source) if template.one_call_per_turn else call_groups(source)
        replies = parsed_replies(text, template, row["tools"])
        called = [
            [(c["function"]["name"], c["function"]["arguments"]) for c in reply["tool_calls"]]
            for reply in replies
            if reply.get("tool_calls")
        ]
        assert called == [[(name, arguments) for name, arguments, _ in group] for group in groups], row["id"]
        answers = [reply["content"].strip() for reply in replies if not reply.get("tool_calls")]
        assert answers == [answer.strip() for answer in texts(source, "assistant")], row["id"]
        results = [
            r for role, _, body in turns(text, template) if role == template.results_role for r in template.result(body)
        ]
        assert results == [result for group in groups for _, _, result in group], row["id"]


def test_the_canonical_row_is_what_mis_renders(demo_samples: dict[str, Path]) -> None:
    """Why the hf export exists: rendered as they are in samples.jsonl, the arguments (a JSON string) come out of
    Qwen2.5's template as a quoted string, which the parser reads back as text, not as the object."""
    source = next(iter(samples_by_id(demo_samples["seeds"]).values()))
    replies = parsed_replies(render(source, TEMPLATES["qwen2_5"]), TEMPLATES["qwen2_5"], source["tools"])
    arguments = [c["function"]["arguments"] for reply in replies for c in reply.get("tool_calls", [])]
    assert arguments and all(isinstance(a, str) for a in arguments)


def test_llama_3_1_refuses_the_parallel_calls_the_split_export_avoids(exported: Exporter) -> None:
    export, _ = exported("seeds", "hf", ExportOptions())
    row = next(r for r in read_jsonl(export) if any(len(m.get("tool_calls", [])) > 1 for m in r["messages"]))
    jinja2 = pytest.importorskip("jinja2")
    with pytest.raises(jinja2.TemplateError, match="single tool-calls"):
        render(row, TEMPLATES["llama3_1"])
