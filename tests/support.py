"""Test helpers: scripted LMs, paths to shipped and third-party data."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import dspy
import pytest
from dspy.lm15 import Message, Response, TextPart, Usage

from toolsynth.demo_model import reply_to, signature_of
from toolsynth.types import CompositeTask, Subtask

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"


def shared_file(name: str) -> Path:
    """A third-party data file beside the checkout; the test is skipped when it is absent."""
    path = SHARED_DATA / name
    if not path.exists():
        pytest.skip(f"{path} is not present")
    return path


class ScriptedEngine:
    """A DSPy engine answering each request with `script(messages) -> text`; counts its calls."""

    def __init__(self, script: Callable[[list[dict[str, Any]]], str]) -> None:
        self.script = script
        self.calls = 0

    def complete(self, request: Any) -> Response:
        self.calls += 1
        messages = [{"role": "system", "content": request.system if isinstance(request.system, str) else ""}]
        messages += [{"role": m.role, "content": m.text or ""} for m in request.messages]
        text = self.script(messages)
        return Response(
            id=None,
            model="scripted",
            message=Message.assistant([TextPart(text)]),
            finish_reason="stop",
            usage=Usage(input_tokens=1, output_tokens=1, total_tokens=2),
        )

    def stream(self, request: Any) -> Any:
        raise NotImplementedError

    def close(self) -> None:
        return None


class AsyncScriptedEngine:
    def __init__(self, sync: ScriptedEngine) -> None:
        self.sync = sync

    async def complete(self, request: Any) -> Response:
        return self.sync.complete(request)

    async def stream(self, request: Any) -> Any:
        raise NotImplementedError
        yield

    async def aclose(self) -> None:
        return None


def scripted_lm(script: Callable[[list[dict[str, Any]]], str]) -> tuple[dspy.LM, ScriptedEngine]:
    engine = ScriptedEngine(script)
    lm = dspy.LM("scripted/test", engine=engine, async_engine=AsyncScriptedEngine(engine), cache=False, num_retries=0)
    return lm, engine


def demo_unless(broken: Callable[[list[dict[str, Any]]], str | None]) -> Callable[[list[dict[str, Any]]], str]:
    """A script that answers like the demo model except where `broken` returns a reply."""

    def script(messages: list[dict[str, Any]]) -> str:
        bad = broken(messages)
        return bad if bad is not None else reply_to(messages)

    return script


def stage_of(messages: list[dict[str, Any]]) -> str:
    """The name of the toolsynth signature a prompt is for (as `Stage.stage_name` and a rejection's `stage` give
    it), or "" for another program's prompt; a repair's or a `dspy.ChainOfThought`'s prompt counts as its own."""
    signature = signature_of(messages)
    return "" if signature is None else signature.__name__


def weather_comparison() -> CompositeTask:
    """A parallel-then-sequential composite: two cities' weather, then which is warmer."""
    return CompositeTask(
        strategy="parallel_then_sequential",
        instruction="Get the current weather in Oslo and in Lima, then tell me which city is warmer.",
        subtasks=[
            Subtask(id=1, instruction="Get the current weather in Oslo."),
            Subtask(id=2, instruction="Get the current weather in Lima."),
            Subtask(id=3, instruction="Tell me which of the two cities is warmer.", depends_on=[1, 2]),
        ],
    )
