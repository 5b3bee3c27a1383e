"""What a sample teaches: its behaviour, drawn per task from a configured mix.

- ``call``: the request is stated in full; the assistant calls the tools and answers.
- ``clarify``: the user's first request leaves out one required value; the assistant's first turn asks for it,
  the user answers, then the calls follow.
- ``no_call``: no offered tool can do the request (the needed functions are not offered, only others); the
  assistant calls nothing and says what it can and cannot do.
- ``missing_function``: one function the task needs is not offered; the assistant does the rest and says what
  it could not do.
- ``follow_up``: the user asks for the task's last step only after the first answer, as a second request that
  builds on the earlier results.

Independently of the behaviour, a task may be drawn *nested* (a share ``nested_share``, default
``DEFAULT_NESTED_SHARE``): its functions are asked to take an object or an array of objects as a parameter,
which its calls fill from the conversation.

Composites may be deeper than BUTTON's two shapes (``max_subtasks`` above ``DEFAULT_MAX_SUBTASKS``): longer
chains, where each step uses the previous result, and parallel fan-in of up to ``MAX_FAN_IN`` independent steps.

A mix is written ``call=0.6,clarify=0.15,no_call=0.15,follow_up=0.1``: weights, normalised to shares; behaviours
left out get none. Each task's behaviour is a seeded draw, so a run repeats exactly.
"""

from __future__ import annotations

import random
from typing import Literal, get_args

Behaviour = Literal["call", "clarify", "no_call", "missing_function", "follow_up"]
BEHAVIOURS: tuple[Behaviour, ...] = get_args(Behaviour)
DEFAULT_MIX = "call=0.85,clarify=0.15"
"""The default: mostly plain calls, some clarifying questions (what the pipeline made before mixes existed)."""
DEFAULT_NESTED_SHARE = 0.0
"""The default share of tasks whose functions take nested parameters: none (the output of earlier versions)."""
DEFAULT_MAX_SUBTASKS = 3
"""BUTTON's shapes: sequential composites have 2 subtasks, parallel-then-sequential ones 3."""
MAX_SUBTASKS = 5
"""The largest composite `max_subtasks` allows."""
MAX_FAN_IN = 3
"""The most independent steps that one step combines."""


def parse_mix(text: str | dict[str, float]) -> dict[Behaviour, float]:
    """Shares by behaviour (summing to 1) from ``name=weight,...`` or a mapping; ValueError names what is wrong."""
    if isinstance(text, dict):
        pairs = [(str(k), float(v)) for k, v in text.items()]
    else:
        pairs = []
        for part in (p.strip() for p in text.split(",")):
            if not part:
                continue
            key, sep, text_weight = part.partition("=")
            if not sep:
                raise ValueError(f"mix entry {part!r} is not name=weight")
            try:
                pairs.append((key.strip(), float(text_weight)))
            except ValueError:
                raise ValueError(f"mix weight {text_weight!r} of {key.strip()!r} is not a number") from None
    shares: dict[Behaviour, float] = {}
    for name, weight in pairs:
        if name not in BEHAVIOURS:
            raise ValueError(f"unknown behaviour {name!r} in the mix; known: {', '.join(BEHAVIOURS)}")
        if not weight >= 0 or weight == float("inf"):
            raise ValueError(f"the weight of {name!r} must be a finite number >= 0, got {weight}")
        behaviour: Behaviour = name
        shares[behaviour] = shares.get(behaviour, 0.0) + weight
    total = sum(shares.values())
    if total <= 0:
        raise ValueError("the mix gives no behaviour a positive weight")
    return {b: shares[b] / total for b in BEHAVIOURS if shares.get(b, 0.0) > 0}


def format_mix(shares: dict[Behaviour, float]) -> str:
    return ",".join(f"{b}={round(s, 4):g}" for b, s in shares.items())


def draw_behaviour(shares: dict[Behaviour, float], seed: int, key: str) -> Behaviour:
    """One seeded draw from the mix for the task under ``key``."""
    x = random.Random(f"{seed}|{key}|behaviour").random()
    cumulative = 0.0
    last: Behaviour = "call"
    for behaviour, share in shares.items():
        cumulative += share
        last = behaviour
        if x < cumulative:
            return behaviour
    return last


def draw_nested(share: float, seed: int, key: str) -> bool:
    """One seeded draw: whether the task under ``key`` gets functions with nested parameters."""
    return random.Random(f"{seed}|{key}|nested").random() < share
