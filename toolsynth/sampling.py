"""Sampling settings per role: temperature and max_tokens are always sent, never left to server defaults.

Defaults: low temperature where the output must be exact (the judge, the tool simulator, the assistant's
calls), higher where variety is the point (scenarios and tasks, the simulated user). `max_tokens` bounds each
reply to what the role needs, so a runaway generation costs seconds, not minutes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Sampling:
    temperature: float
    max_tokens: int

    def __post_init__(self) -> None:
        if not 0.0 <= self.temperature <= 2.0:
            raise ValueError(f"temperature must be within [0, 2], got {self.temperature}")
        if self.max_tokens < 1:
            raise ValueError(f"max_tokens must be at least 1, got {self.max_tokens}")

    def request_kwargs(self) -> dict[str, Any]:
        return {"temperature": self.temperature, "max_tokens": self.max_tokens}


DEFAULT_SAMPLING: dict[str, Sampling] = {
    "generator": Sampling(temperature=0.7, max_tokens=1500),
    "user": Sampling(temperature=0.8, max_tokens=300),
    "assistant": Sampling(temperature=0.3, max_tokens=1000),
    "tool": Sampling(temperature=0.2, max_tokens=600),
    "judge": Sampling(temperature=0.0, max_tokens=400),
}


def sampling_for(
    roles: dict[str, Sampling] | None = None,
    temperature: float | dict[str, float] | None = None,
    max_tokens: int | dict[str, int] | None = None,
) -> dict[str, Sampling]:
    """The defaults, overridden per role by `roles`, then by `temperature` / `max_tokens` (one value for
    every role, or a mapping role → value)."""
    out = {**DEFAULT_SAMPLING, **(roles or {})}
    for role in list(out):
        t = temperature.get(role) if isinstance(temperature, dict) else temperature
        m = max_tokens.get(role) if isinstance(max_tokens, dict) else max_tokens
        out[role] = Sampling(
            temperature=out[role].temperature if t is None else float(t),
            max_tokens=out[role].max_tokens if m is None else int(m),
        )
    return out


def parse_per_role(text: str, cast: type[float] | type[int], roles: tuple[str, ...]) -> float | int | dict[str, Any]:
    """`0.7` (every role) or `judge=0,user=0.9` (those roles); raises ValueError naming what is wrong."""
    if "=" not in text:
        return cast(text)
    out: dict[str, Any] = {}
    for part in text.split(","):
        role, _, value = part.partition("=")
        role = role.strip()
        if role not in roles:
            raise ValueError(f"unknown role {role!r} (roles: {', '.join(roles)})")
        out[role] = cast(value.strip())
    return out
