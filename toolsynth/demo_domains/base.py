"""The shape of the demo model's knowledge: slots, capabilities, reasoning steps, domains.

A capability is one function together with the task sentence that asks for it. Task sentences are
templates whose slots are the function's arguments, so the demo model can write a task, read the
arguments back out of a user's words, and simulate a result that fits the function's `returns`.
Nothing here is used with a real model.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

Lang = str  # "en" or "zh"
Result = dict[str, Any]


@dataclass(frozen=True)
class Slot:
    """Values a task slot may take, per language; `display` renders an enum value in a language."""

    values: Mapping[Lang, tuple[str, ...]]
    display: Mapping[Lang, Mapping[str, str]] = field(default_factory=dict)

    def pick(self, lang: Lang, rng: random.Random, avoid: str | None = None) -> str:
        pool = [v for v in self.values.get(lang, self.values["en"]) if v != avoid]
        return rng.choice(pool)

    def render(self, value: str, lang: Lang) -> str:
        return self.display.get(lang, {}).get(value, value)

    def parse(self, text: str, lang: Lang) -> str:
        for value, shown in self.display.get(lang, {}).items():
            if shown == text:
                return value
        return text


@dataclass(frozen=True)
class Nesting:
    """How a capability's function takes some of its arguments as one nested parameter: `parameter`, an object
    of `fields` (or, with `many`, an array of such objects), in place of those fields at the top level."""

    parameter: str
    description: str
    fields: tuple[str, ...]
    many: bool = False


@dataclass(frozen=True)
class Capability:
    """One function and the task clause that needs it.

    `clause` maps a language to a template like ``"get the weather in {city}"``; every slot is an
    argument of the function. `consumes` lists arguments that come from an earlier result field of the
    same name and therefore never appear in the clause. `nesting`, if any, is the nested form of its
    parameters (`spec(nested=True)`).
    """

    name: str
    description: str
    parameters: dict[str, Any]
    returns: dict[str, Any]
    clause: Mapping[Lang, str]
    slots: Mapping[str, Slot]
    simulate: Callable[[dict[str, Any], random.Random], Result]
    summarize: Callable[[dict[str, Any], Result, Lang], str]
    consumes: tuple[str, ...] = ()
    nesting: Nesting | None = None

    def spec(self, nested: bool = False) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "parameters": self.nested_parameters() if nested and self.nesting else self.parameters,
            "returns": self.returns,
        }

    def nested_parameters(self) -> dict[str, Any]:
        """The parameters with the nesting's fields grouped into its one object (or array of objects) parameter,
        placed where the first of those fields was."""
        assert self.nesting is not None
        nesting, properties = self.nesting, self.parameters["properties"]
        inner = _obj({k: properties[k] for k in nesting.fields})
        grouped = (
            {"type": "array", "description": nesting.description, "items": inner, "minItems": 1}
            if nesting.many
            else {**inner, "description": nesting.description}
        )
        out: dict[str, Any] = {}
        for name, schema in properties.items():
            if name == nesting.fields[0]:
                out[nesting.parameter] = grouped
            elif name not in nesting.fields:
                out[name] = schema
        required = [nesting.parameter if k == nesting.fields[0] else k for k in self.parameters["required"]]
        return _obj(out, [k for k in required if k not in nesting.fields])

    def render(self, values: Mapping[str, str], lang: Lang) -> str:
        shown = {k: self.slots[k].render(v, lang) for k, v in values.items()}
        return self.clause[lang].format(**shown)

    def fill(self, lang: Lang, rng: random.Random, avoid: Mapping[str, str] | None = None) -> dict[str, str]:
        return {k: s.pick(lang, rng, (avoid or {}).get(k)) for k, s in self.slots.items()}

    def pattern(self, lang: Lang) -> re.Pattern[str]:
        parts = re.split(r"(\{\w+\})", self.clause[lang])
        regex = "".join(f"(?P<{p[1:-1]}>.+?)" if p.startswith("{") and p.endswith("}") else re.escape(p) for p in parts)
        # A trailing slot must stop at the end of its clause.
        if parts and parts[-1] == "":
            regex += r"(?=[,.;!?，。；！？]|\s+(?:and|then)\b|然后|并且|$)"
        return re.compile(regex, re.IGNORECASE)

    def find(self, text: str, lang: Lang) -> list[dict[str, str]]:
        """Every occurrence of this clause in `text`, as slot values."""
        found = []
        for match in self.pattern(lang).finditer(text):
            found.append({k: self.slots[k].parse(v.strip(), lang) for k, v in match.groupdict().items()})
        return found


@dataclass(frozen=True)
class Reasoning:
    """A subtask that is pure reasoning over two results: no function serves it.

    With `rank` (the result that wins the comparison ranks highest) and `many` (the clause for three results), it
    can also combine three results, and its winner can feed the domain's next step (the demo's deeper composites).
    """

    clause: Mapping[Lang, str]
    conclude: Callable[[list[Result], Lang], str]
    rank: Callable[[Result], float] | None = None
    many: Mapping[Lang, str] = field(default_factory=dict)

    def winner(self, results: list[Result]) -> Result:
        assert self.rank is not None
        return max(results, key=self.rank)

    def conclude_many(self, results: list[Result], lang: Lang) -> str:
        """The conclusion over three or more results: the winner against the runner-up."""
        assert self.rank is not None
        ranked = sorted(results, key=self.rank, reverse=True)
        return _t(lang, "Of the three: ", "三者之中：") + self.conclude(ranked[:2], lang)


@dataclass(frozen=True)
class Domain:
    name: str
    keywords: tuple[str, ...]
    scenarios: Mapping[Lang, tuple[str, ...]]
    capabilities: tuple[Capability, ...]
    # (first, then): `then` consumes fields of `first`'s result.
    sequential: tuple[tuple[str, str], ...]
    # (first, partner, reasoning): first and partner run in parallel, the reasoning uses both.
    parallel: tuple[tuple[str, str, Reasoning], ...]

    def capability(self, name: str) -> Capability:
        return next(c for c in self.capabilities if c.name == name)


def _obj(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required or list(properties)}


def _s(description: str, **extra: Any) -> dict[str, Any]:
    return {"type": "string", "description": description, **extra}


def _n(description: str, kind: str = "number", **extra: Any) -> dict[str, Any]:
    return {"type": kind, "description": description, **extra}


def _stable_int(*parts: object) -> int:
    """A process-independent integer from values (Python's hash() is salted per process)."""
    text = "\x1f".join(str(p) for p in parts)
    value = 0
    for ch in text.encode("utf-8"):
        value = (value * 131 + ch) % (2**61 - 1)
    return value


def seeded(*parts: object) -> random.Random:
    return random.Random(_stable_int(*parts))


def _t(lang: Lang, en: str, zh: str) -> str:
    return zh if lang == "zh" else en
