"""What a `synth` run will cost, before it sends anything: LM calls, tokens and USD, per seed and for the input.

Like `optimize`'s call estimate (`toolsynth.evals.optimize.dry_run_calls`), the program is run on the offline
demo model (free, no network) for the first few seeds of the input, with one demo LM per role so each call is
attributed to its role. A DSPy callback records every prompt the program builds (the real messages, with the
stage's signature, instructions, demos and inputs) and every reply: their tokens are counted with cl100k_base
(`toolsynth.dataset_stats.token_count`, offline) plus OpenAI's per-message overhead. The calls come from the
program's own call structure on that run. Costs are litellm's price table (`toolsynth.lm.cost_of`) for the
model each role will use; `None` where litellm has no price (the demo model, most local servers).

What it cannot know: a real model's replies are not the demo model's (their length differs), and a stage whose
answer fails its checks is asked again, up to `--max-attempts` times; the estimate is the first-try path, and
says so.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import dspy
from dspy.utils.callback import BaseCallback

from toolsynth.dataset_stats import token_count
from toolsynth.lm import ROLES, cost_of
from toolsynth.programs.button import ButtonProgram
from toolsynth.readers import Seed

MEASURED_SEEDS = 3
_TOKENS_PER_MESSAGE = 3
_TOKENS_PER_REPLY = 3


@dataclass
class Usage:
    """Calls, tokens and USD (None: no price known); means per seed may be fractional."""

    calls: float = 0.0
    prompt_tokens: float = 0.0
    completion_tokens: float = 0.0
    cost: float | None = 0.0

    def __add__(self, other: Usage) -> Usage:
        cost = None if self.cost is None or other.cost is None else self.cost + other.cost
        return Usage(
            self.calls + other.calls,
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            cost,
        )

    def scaled(self, factor: float) -> Usage:
        cost = None if self.cost is None else self.cost * factor
        return Usage(self.calls * factor, self.prompt_tokens * factor, self.completion_tokens * factor, cost)

    def to_json(self, digits: int = 2) -> dict[str, Any]:
        return {
            "calls": round(self.calls, digits),
            "prompt_tokens": round(self.prompt_tokens, digits),
            "completion_tokens": round(self.completion_tokens, digits),
            "total_tokens": round(self.prompt_tokens + self.completion_tokens, digits),
            "cost_usd": None if self.cost is None else round(self.cost, 6),
        }


class PromptRecorder(BaseCallback):
    """Per role, the calls and the tokens of every prompt sent and reply received (a DSPy callback)."""

    def __init__(self, roles_by_lm: dict[int, str]) -> None:
        self.roles_by_lm = roles_by_lm
        self.usage: dict[str, Usage] = {}
        self._open: dict[str, str] = {}
        self._lock = threading.Lock()

    def on_lm_start(self, call_id: str, instance: Any, inputs: dict[str, Any]) -> None:
        role = self.roles_by_lm.get(id(instance), "generator")
        messages = inputs.get("messages") or [{"role": "user", "content": inputs.get("prompt") or ""}]
        prompt = _TOKENS_PER_REPLY + sum(
            _TOKENS_PER_MESSAGE + token_count(_text(m.get("content"))) for m in messages if isinstance(m, dict)
        )
        with self._lock:
            self._open[call_id] = role
            usage = self.usage.setdefault(role, Usage())
            usage.calls += 1
            usage.prompt_tokens += prompt

    def on_lm_end(self, call_id: str, outputs: Any, exception: BaseException | None = None) -> None:
        replies = outputs if isinstance(outputs, list) else [outputs]
        completion = sum(token_count(_text(r.get("text") if isinstance(r, dict) else r)) for r in replies if r)
        with self._lock:
            role = self._open.pop(call_id, None)
            if role is not None:
                self.usage[role].completion_tokens += completion


def _text(content: Any) -> str:
    if isinstance(content, list):  # content parts
        return "".join(str(part.get("text", "")) if isinstance(part, dict) else str(part) for part in content)
    return "" if content is None else str(content)


@dataclass
class RunEstimate:
    """Per role: mean calls, tokens and cost per seed (first-try path); the models that will answer; the input's
    size."""

    seeds: int
    measured_seeds: int
    per_seed: dict[str, Usage]
    models: dict[str, str]
    max_attempts: int

    def per_seed_total(self) -> Usage:
        return sum(self.per_seed.values(), Usage())

    def total(self) -> Usage:
        return self.per_seed_total().scaled(self.seeds)

    def unpriced_models(self) -> list[str]:
        return sorted({self.models[role] for role, usage in self.per_seed.items() if usage.cost is None})

    def to_json(self) -> dict[str, Any]:
        return {
            "seeds": self.seeds,
            "measured_seeds": self.measured_seeds,
            "max_attempts": self.max_attempts,
            "per_seed": self.per_seed_total().to_json(),
            "per_seed_by_role": {role: u.to_json() for role, u in sorted(self.per_seed.items())},
            "total": self.total().to_json(digits=0),
            "unpriced_models": self.unpriced_models(),
            "method": "first-try path of the program measured on the offline demo model; tokens in cl100k_base",
        }

    def line(self) -> str:
        """The line printed before a run."""
        seed, total = self.per_seed_total(), self.total()
        money = "cost n/a" if seed.cost is None or total.cost is None else f"${seed.cost:.4f}/seed, ${total.cost:.4f}"
        unpriced = f" (no litellm price for {', '.join(self.unpriced_models())})" if self.unpriced_models() else ""
        return (
            f"estimate: per seed {seed.calls:.1f} calls, {seed.prompt_tokens + seed.completion_tokens:,.0f} tokens; "
            f"{self.seeds} seeds: {total.calls:,.0f} calls, {total.prompt_tokens + total.completion_tokens:,.0f} "
            f"tokens; {money}{unpriced}. First try of every stage (repairs: up to x{self.max_attempts})"
        )


def estimate_run(
    program: ButtonProgram,
    seeds: Sequence[Seed],
    models: dict[str, str],
    *,
    demo_seed: int = 0,
    measured: int = MEASURED_SEEDS,
) -> RunEstimate:
    """Run up to `measured` of `seeds` on the demo model and scale to all of them; `models` maps each role
    (`toolsynth.lm.ROLES`) to the model string that will play it."""
    from toolsynth.demo_model import demo_lm

    lms = {role: demo_lm(demo_seed) for role in ROLES}
    recorder = PromptRecorder({id(lm): role for role, lm in lms.items()})
    copy = program.deepcopy()
    copy.use_lms({role: lm for role, lm in lms.items() if role != "generator"})
    copy.run_tools = False  # never a real call (side effects) for an estimate; their results are not LM calls
    done = 0
    with dspy.context(lm=lms["generator"], adapter=dspy.JSONAdapter(), callbacks=[recorder], disable_history=True):
        for seed in seeds:
            if done == measured:
                break
            try:
                copy(chat=seed.chat, scenario=seed.scenario, source_id=seed.source_id, language=seed.language)
            except Exception:  # a seed the run would reject as an internal error (e.g. text no provider takes)
                continue
            done += 1
    n = max(1, done)
    per_seed = {}
    for role, usage in recorder.usage.items():
        if role == "tool" and program.library is not None:
            continue  # the library's calls run for real, with no LM
        mean = usage.scaled(1 / n)
        mean.cost = cost_of(models[role], round(mean.prompt_tokens), round(mean.completion_tokens))
        per_seed[role] = mean
    return RunEstimate(
        seeds=len(seeds),
        measured_seeds=done,
        per_seed=per_seed,
        models=models,
        max_attempts=program.extract_scenario.max_attempts,
    )
