"""A run's default executor (`RunExecutor`): DSPy's per-request steps run on the event loop's thread, anything else
in a worker thread, and what a step returns or raises reaches its caller as from a thread."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import importlib
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dspy
import pytest

from toolsynth.execution import INLINE_STEPS, RunExecutor, runs_inline
from toolsynth.programs import ButtonProgram
from toolsynth.readers import Seed
from toolsynth.runner import RunOptions, run
from toolsynth.testing import OpenAICompatibleServer

CHAT = "USER: Find me the exchange rate from USD to JPY.\n\nASSISTANT: 1 USD is about 151 JPY."


def test_inline_steps_name_dspys_own_functions() -> None:
    for module, name in INLINE_STEPS:
        step = getattr(importlib.import_module(module), name)
        assert (step.__module__, step.__qualname__) == (module, name)
        assert runs_inline(functools.partial(contextvars.copy_context().run, step))


def test_dspys_request_steps_run_on_the_loop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import dspy.clients.execution as steps

    threads: dict[str, set[int]] = {}

    def recorded(name: str, step: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(step)  # keeps the module and name the executor goes by
        def recording(*args: Any, **kwargs: Any) -> Any:
            threads.setdefault(name, set()).add(threading.get_ident())
            return step(*args, **kwargs)

        return recording

    for name in ("prepare", "_price_legacy"):
        monkeypatch.setattr(steps, name, recorded(name, getattr(steps, name)))
    seeds = [Seed(source_id=f"s{i}", chat=CHAT) for i in range(2)]
    with OpenAICompatibleServer() as server:
        lm = dspy.LM("openai/toolsynth-test", api_base=server.url, api_key="x", engine="litellm", cache=False)
        program = ButtonProgram(expand=0, tasks_per_scenario=1)
        manifest = run(seeds, program, tmp_path / "out", lm=lm, models={}, options=RunOptions(quiet=True))
    assert manifest["usage"]["total"]["calls"] >= 10
    assert threads == {"prepare": {threading.get_ident()}, "_price_legacy": {threading.get_ident()}}


def step_named(qualname: str, body: Callable[[], Any]) -> Callable[[], Any]:
    def step() -> Any:
        return body()

    step.__module__, step.__qualname__ = "dspy.clients.execution", qualname
    return step


def test_a_step_runs_on_the_loop_in_the_callers_context_and_raises_there() -> None:
    seen: contextvars.ContextVar[str] = contextvars.ContextVar("seen", default="outside")

    def fails() -> None:
        raise ValueError("refused")

    async def main() -> tuple[int, str, int]:
        asyncio.get_running_loop().set_default_executor(RunExecutor())
        seen.set("caller")
        thread = await asyncio.to_thread(step_named("prepare", threading.get_ident))
        value = await asyncio.to_thread(step_named("_price_legacy", seen.get))
        with pytest.raises(ValueError, match="refused"):
            await asyncio.to_thread(step_named("_store", fails))
        other = await asyncio.to_thread(threading.get_ident)
        return thread, value, other

    thread, value, other = asyncio.run(main())
    assert thread == threading.get_ident() and value == "caller"
    assert other != threading.get_ident()  # anything else still goes to a worker thread


def test_work_that_is_not_a_dspy_step_goes_to_a_thread() -> None:
    async def main() -> list[int]:
        loop = asyncio.get_running_loop()
        loop.set_default_executor(RunExecutor())
        await loop.getaddrinfo("127.0.0.1", 80)  # a connection's name lookup blocks: never on the loop
        elsewhere = step_named("execute", threading.get_ident)  # a DSPy function outside INLINE_STEPS
        return [await asyncio.to_thread(elsewhere), await loop.run_in_executor(None, threading.get_ident)]

    assert threading.get_ident() not in asyncio.run(main())
