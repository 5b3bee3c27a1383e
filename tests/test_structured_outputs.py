"""Structured outputs and sampling over the real path: `dspy.LM(engine="litellm")` → HTTP → the test server.

The test server stands in for the two server families: one that takes OpenAI's `json_schema` (OpenAI, vLLM,
SGLang) and one that takes only `json_object` with a `schema` (llama-cpp-python's server refuses
`json_schema` with a 500).
"""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import dspy
import pytest

from tests.support import ROOT
from toolsynth.adapter import set_structured_outputs
from toolsynth.cli import main
from toolsynth.execution import UsageMeter, running_with
from toolsynth.programs.extract_scenario import ExtractScenarioStage
from toolsynth.programs.judge_composition import JudgeCompositionStage
from toolsynth.programs.stage import run_sync
from toolsynth.sampling import DEFAULT_SAMPLING
from toolsynth.testing import OpenAICompatibleServer
from toolsynth.types import Subtask, render_steps

LLAMA_CPP_FORMATS = ("text", "json_object", "json_object+schema")
CHAT = "USER: What's the weather in Oslo?\n\nASSISTANT: 12 °C and cloudy."


def real_lm(server: OpenAICompatibleServer) -> dspy.LM:
    return dspy.LM(
        "openai/toolsynth-test", api_base=server.url, api_key="local", engine="litellm", cache=False, num_retries=0
    )


def chat_requests(server: OpenAICompatibleServer) -> list[Any]:
    return [r for r in server.requests if r.path.endswith("chat/completions")]


def judge(lm: dspy.LM, meter: UsageMeter | None = None) -> dspy.Prediction:
    subtasks = [Subtask(id=1, instruction="Get the weather in Oslo."), Subtask(id=2, instruction="Compare it.")]
    with running_with(meter=meter), dspy.context(lm=lm):
        return run_sync(
            JudgeCompositionStage().run(composite_instruction="Weather, then compare.", steps=render_steps(subtasks))
        )


def test_structured_outputs_reach_the_server_as_a_json_schema_with_no_refs() -> None:
    with OpenAICompatibleServer() as server:
        lm = real_lm(server)
        set_structured_outputs(lm, "json_schema")
        assert isinstance(judge(lm).feasible, bool)
        [request] = chat_requests(server)
    response_format = request.params["response_format"]
    assert response_format["type"] == "json_schema"
    schema = response_format["json_schema"]["schema"]
    assert schema["properties"]["feasible"]["type"] == "boolean"
    assert schema["required"] == ["reasons", "feasible"] and "$ref" not in json.dumps(schema)


def test_json_object_schema_dialect_for_llama_cpp_servers() -> None:
    with OpenAICompatibleServer(response_formats=LLAMA_CPP_FORMATS) as server:
        lm = real_lm(server)
        set_structured_outputs(lm, "json_object_schema")
        judge(lm)
        [request] = chat_requests(server)
    assert request.params["response_format"]["type"] == "json_object"
    assert set(request.params["response_format"]["schema"]["properties"]) == {"reasons", "feasible"}


def test_auto_probes_an_api_base_server_once_and_settles_on_the_dialect_it_takes() -> None:
    with OpenAICompatibleServer(response_formats=LLAMA_CPP_FORMATS) as server:
        lm = real_lm(server)
        meter = UsageMeter()
        judge(lm, meter)
        judge(lm, meter)
        requests = chat_requests(server)
    kinds = [(r.status, r.params["response_format"]["type"]) for r in requests]
    # json_schema refused (500), json_object+schema accepted, then both predictions in that dialect
    assert kinds == [(500, "json_schema"), (200, "json_object"), (200, "json_object"), (200, "json_object")]
    assert all("schema" in r.params["response_format"] for r in requests[1:])
    assert meter.total().calls == len(requests)  # the probes are metered like every other request
    assert meter.by_stage["structured_outputs_probe"].calls == 2


def test_a_server_refusing_every_schema_dialect_falls_back_to_plain_json_with_one_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with OpenAICompatibleServer(response_formats=("text", "json_object")) as server:
        lm = real_lm(server)
        with caplog.at_level(logging.WARNING, logger="toolsynth"):
            assert isinstance(judge(lm).feasible, bool)
            assert isinstance(judge(lm).feasible, bool)
        kinds = [(r.status, r.params["response_format"]) for r in chat_requests(server)]
    warnings = [r for r in caplog.records if "accepts no JSON-schema response format" in r.getMessage()]
    assert len(warnings) == 1
    assert [(status, rf["type"]) for status, rf in kinds] == [
        (500, "json_schema"),
        (500, "json_object"),
        (200, "json_object"),
        (200, "json_object"),
    ]
    assert "schema" in kinds[1][1] and "schema" not in kinds[2][1]


def test_sampling_settings_are_always_sent_per_role() -> None:
    with OpenAICompatibleServer() as server:
        lm = real_lm(server)
        set_structured_outputs(lm, "off")
        judge(lm)
        with dspy.context(lm=lm):
            run_sync(ExtractScenarioStage().run(chat=CHAT))
        judged, extracted = chat_requests(server)
    assert judged.params["temperature"] == DEFAULT_SAMPLING["judge"].temperature
    assert judged.params["max_tokens"] == DEFAULT_SAMPLING["judge"].max_tokens
    assert extracted.params["temperature"] == DEFAULT_SAMPLING["generator"].temperature
    assert extracted.params["max_tokens"] == DEFAULT_SAMPLING["generator"].max_tokens


def broken_json(messages: list[dict[str, Any]], request: dict[str, Any]) -> str:
    """The demo model's reply, except that a first attempt (no repair feedback yet) fails to parse on about a
    third of the prompts: those calls and tokens must still be metered, and the repair must work."""
    from toolsynth.demo_model import reply_to

    prompt = str(messages[-1].get("content"))
    if "feedback" not in prompt and sum(map(ord, prompt[-200:])) % 3 == 0:
        return "{not json"
    return reply_to(messages)


def test_the_manifest_counts_every_request_the_server_received(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "x")
    out = tmp_path / "out"
    with OpenAICompatibleServer(responder=broken_json, response_formats=LLAMA_CPP_FORMATS) as server:
        args = ["synth", str(ROOT / "examples" / "seeds.jsonl"), "-o", str(out), "--limit", "3", "--quiet"]
        args += ["--model", "openai/toolsynth-test", "--api-base", server.url, "--no-cache"]
        code = main([*args, "--temperature", "judge=0.1"])
        received = len(chat_requests(server))
        judge_requests = [r for r in chat_requests(server) if r.params.get("max_tokens") == 400]
    assert code == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["usage"]["total"]["calls"] == received
    stages = manifest["stages"]
    unreadable = sum(s["unreadable_replies"] for s in stages.values())
    assert unreadable > 0 and any(s["repaired"] for s in stages.values())
    for name, s in stages.items():
        assert s["runs"] == s["first_try_pass"] + s["repaired"] + s["rejected"], name
    assert judge_requests and {r.params["temperature"] for r in judge_requests} == {0.1}
    assert manifest["models"]["structured_outputs"] == "auto"


def test_adapter_calls_skip_capability_planning(monkeypatch: pytest.MonkeyPatch) -> None:
    """DSPy's JSON adapter looks the LM up in litellm's model table before every request (about 0.15 ms of CPU and
    a thread hop, benchmarks/README.md); the stage adapter once per LM. What reaches the server is the same."""
    import litellm

    from toolsynth.adapter import StageAdapter
    from toolsynth.demo_model import reply_to
    from toolsynth.signatures import JudgeComposition

    lookups: list[None] = []  # DSPy's capability look-up asks litellm this; litellm's own request path does not
    original = litellm.supports_reasoning

    def counting(*args: Any, **kwargs: Any) -> Any:
        lookups.append(None)
        return original(*args, **kwargs)

    monkeypatch.setattr(litellm, "supports_reasoning", counting)
    prompts: list[list[dict[str, Any]]] = []

    def recording(messages: list[dict[str, Any]], request: dict[str, Any]) -> str:
        prompts.append(messages)
        return reply_to(messages)

    inputs = {"composite_instruction": "Weather, then compare.", "steps": "1. Get the weather.\n2. Compare it."}
    lookups_by_adapter: dict[str, int] = {}
    with OpenAICompatibleServer(responder=recording) as server:
        lm = real_lm(server)
        set_structured_outputs(lm, "off")
        for adapter in (dspy.JSONAdapter(), StageAdapter()):
            lookups.clear()
            for _ in range(3):
                [reply] = asyncio.run(adapter.acall(lm, {}, JudgeComposition, [], inputs))
                assert isinstance(reply["feasible"], bool)
            lookups_by_adapter[type(adapter).__name__] = len(lookups)
        formats = [r.params.get("response_format") for r in chat_requests(server)]
    assert lookups_by_adapter["JSONAdapter"] >= 3  # the count sees DSPy's per-call planning
    assert lookups_by_adapter["StageAdapter"] <= 1  # one for this LM (in `takes_response_format`), if any
    assert prompts[:3] == prompts[3:]  # the same messages
    assert formats[3:] == [{"type": "json_object"}] * 3  # plain JSON mode, as `off` asks
