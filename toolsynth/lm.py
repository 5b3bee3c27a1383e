"""Language models: litellm model strings for real providers, the offline demo model otherwise.

Real providers always go through `dspy.LM(model, engine="litellm")`, so any litellm model string works
(`openai/gpt-4o-mini`, `anthropic/claude-...`, `ollama_chat/llama3.1`, `openai/<name>` with an
`api_base` for vLLM and other OpenAI-compatible servers). Keys come from the environment as litellm
reads them (`OPENAI_API_KEY`, ...) and are never written anywhere by toolsynth.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import dspy

from toolsynth.adapter import set_structured_outputs

DEMO_MODEL_NAME = "toolsynth/offline-demo"
"""The offline demo model's name (`toolsynth.demo_model`, imported only when a run uses it)."""

ROLES = ("generator", "judge", "user", "assistant", "tool")


@dataclass(frozen=True)
class ModelConfig:
    """Which model plays which role. `None` means the offline demo model."""

    model: str | None = None
    api_base: str | None = None
    timeout: float | None = None
    role_models: dict[str, str] = field(default_factory=dict)
    seed: int = 0
    cache: bool = True
    structured_outputs: str = "auto"
    """auto | json_schema | json_object_schema | off: how each stage's output schema reaches the server."""

    @property
    def is_demo(self) -> bool:
        return self.model is None and not self.role_models

    def model_for(self, role: str) -> str:
        return self.role_models.get(role) or self.model or DEMO_MODEL_NAME

    def describe(self) -> dict[str, Any]:
        """For the manifest: names, never keys."""
        return {
            "default": self.model or DEMO_MODEL_NAME,
            "roles": {role: self.model_for(role) for role in ROLES},
            "api_base": self.api_base,
            "structured_outputs": self.structured_outputs,
            "demo": any(self.model_for(r) == DEMO_MODEL_NAME for r in ROLES),
        }

    def missing_credentials(self) -> dict[str, list[str]]:
        """Per real model, the key variables litellm needs and the environment lacks (checked before a run)."""
        import litellm

        missing: dict[str, list[str]] = {}
        for name in {self.model_for(role) for role in ROLES} - {DEMO_MODEL_NAME}:
            report = litellm.validate_environment(name, api_base=self.api_base)
            keys = [k for k in report.get("missing_keys", []) if k.endswith(("_KEY", "_TOKEN"))]
            if keys:
                missing[name] = keys
        return missing

    def build(self) -> dict[str, dspy.LM]:
        """One `dspy.LM` per distinct model, shared by the roles that use it."""
        from toolsynth.demo_model import demo_lm

        built: dict[str, dspy.LM] = {}
        lms: dict[str, dspy.LM] = {}
        for role in ROLES:
            name = self.model_for(role)
            if name not in built:
                built[name] = demo_lm(self.seed) if name == DEMO_MODEL_NAME else self._real(name)
                set_structured_outputs(built[name], self.structured_outputs)
            lms[role] = built[name]
        return lms

    def _real(self, model: str) -> dspy.LM:
        # toolsynth retries transient errors itself (backoff with jitter, Retry-After, outside the call slot).
        kwargs: dict[str, Any] = {"num_retries": 0, "cache": self.cache}
        if self.api_base:
            kwargs["api_base"] = self.api_base
        if self.timeout is not None:
            kwargs["timeout"] = self.timeout
        return dspy.LM(model, engine="litellm", **kwargs)


def cost_of(model: str, prompt_tokens: int, completion_tokens: int) -> float | None:
    """USD for one call at litellm's prices, or None where the price is unknown (the demo model too)."""
    if model == DEMO_MODEL_NAME or not _priced(model):
        return None
    return _cost_per_token(model, prompt_tokens, completion_tokens)


@lru_cache(maxsize=256)
def _priced(model: str) -> bool:
    """Whether litellm has a price for `model` at all, asked once per model: a local server's model is usually
    unknown to it, and litellm's search of its tables for one costs more than the request (before this, one call
    in four of a benchmark run asked it again for a new token count)."""
    return _cost_per_token(model, 1, 1) is not None


@lru_cache(maxsize=4096)
def _cost_per_token(model: str, prompt_tokens: int, completion_tokens: int) -> float | None:
    try:
        import litellm

        prompt_cost, completion_cost = litellm.cost_per_token(
            model=model, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens
        )
    except Exception:  # litellm raises a bare Exception for models it has no price for
        return None
    return float(prompt_cost + completion_cost)
