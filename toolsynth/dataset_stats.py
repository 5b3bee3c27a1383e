"""The figures of a run's output that the report shows: pure functions of samples, rejections and the manifest.

The funnel follows one seed through the pipeline. Sample and rejection ids say how far each branch got: a seed's
own id (`SEED`) for a rejection before it branches, `SEED-sI` for a scenario rejected at its tasks, `SEED-sI-tJ`
for a task's sample or rejection. So scenarios and tasks are counted from the ids, and each stage's losses from
the rejections' `stage`, without anything else stored.

Token lengths use `cl100k_base`, the tiktoken encoding litellm ships with its package (loaded from litellm's own
copy, never downloaded): exact for OpenAI's GPT-4-era models, an approximation (usually within 10-30 %) for other
tokenizers.
"""

from __future__ import annotations

import itertools
import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from toolsynth.dedup import DEFAULT_THRESHOLD, duplicate_rows
from toolsynth.evals.diversity import distinct_n, iter_user_turns
from toolsynth.stages import CONVERSATION_AGENTS, StageName

FUNNEL_STEPS = ("seeds", "scenarios", "tasks", "composites", "feasible", "conversations", "accepted")
"""The funnel, in order; `FUNNEL_LOSSES[step]` names the stages whose rejections stand between a step and the next."""

FUNNEL_LOSSES: dict[str, tuple[str, ...]] = {
    "seeds": (StageName.READ, StageName.EXTRACT_SCENARIO, StageName.EXPAND_SCENARIO, StageName.RUN),
    "scenarios": (StageName.GENERATE_ATOMIC_TASK,),
    "tasks": (StageName.COMPOSE_SEQUENTIAL, StageName.COMPOSE_PARALLEL_THEN_SEQUENTIAL),
    "composites": (StageName.JUDGE_COMPOSITION,),
    "feasible": (StageName.GENERATE_FUNCTIONS, StageName.CONVERSATION, *CONVERSATION_AGENTS),
    "conversations": (StageName.VALIDATE, StageName.JUDGE_SAMPLE),
}


@lru_cache(maxsize=1)
def _encoding() -> Any:
    import litellm  # noqa: F401  (points tiktoken's cache at the encodings litellm bundles)
    from litellm.litellm_core_utils.default_encoding import encoding

    return encoding


def token_count(text: str) -> int:
    """Tokens of `text` in cl100k_base (offline; see the module docstring)."""
    return len(_encoding().encode(text, disallowed_special=()))


def row_tokens(row: dict[str, Any]) -> int:
    """Tokens of a row's messages (content and call arguments) and tool definitions, as JSON-free text."""
    parts: list[str] = []
    for message in row.get("messages") or []:
        if not isinstance(message, dict):
            continue
        parts.append(str(message.get("content") or ""))
        for call in message.get("tool_calls") or []:
            function = call.get("function", {}) if isinstance(call, dict) else {}
            parts.append(f"{function.get('name', '')} {function.get('arguments', '')}")
    parts.append(json.dumps(row.get("tools") or [], ensure_ascii=False))
    return token_count("\n".join(parts))


_BRANCH = re.compile(r"^-s(\d+)(?:-t(\d+))?")


def _branch(row: dict[str, Any]) -> tuple[str, str | None, str | None]:
    """(seed, scenario key or None, task key or None) of a sample or rejection, from its id."""
    source = str(row.get("source_id", ""))
    row_id = str(row.get("id", ""))
    match = _BRANCH.match(row_id[len(source) :]) if row_id.startswith(source) else None
    if match is None:
        return source, None, None
    scenario = f"{source}-s{match.group(1)}"
    return source, scenario, (f"{scenario}-t{match.group(2)}" if match.group(2) is not None else None)


@dataclass
class Funnel:
    steps: dict[str, int]
    losses: dict[str, dict[str, int]]
    """Per step, the rejections (per stage) between it and the next step."""
    duplicates_removed: int = 0


def funnel(samples: Iterable[dict[str, Any]], rejections: Iterable[dict[str, Any]], manifest: dict[str, Any]) -> Funnel:
    """The funnel of a run; `samples` and `rejections` are each read twice at most (they may be files read lazily)."""
    counts = manifest.get("counts", {})
    scenarios: set[str] = set()
    tasks: set[str] = set()
    accepted = 0
    by_stage: Counter[str] = Counter()
    for row in samples:
        accepted += 1
        _seed, scenario, task = _branch(row)
        if scenario is not None:
            scenarios.add(scenario)
        if task is not None:
            tasks.add(task)
    for row in rejections:
        by_stage[str(row.get("stage"))] += 1
        _seed, scenario, task = _branch(row)
        if scenario is not None:
            scenarios.add(scenario)
        if task is not None:
            tasks.add(task)
    losses = {step: {str(s): by_stage[s] for s in stages if by_stage[s]} for step, stages in FUNNEL_LOSSES.items()}
    composites = len(tasks) - sum(losses["tasks"].values())
    feasible = composites - sum(losses["composites"].values())
    conversations = feasible - sum(losses["feasible"].values())
    duplicates = int(counts.get("duplicates_removed", 0))
    steps = {
        "seeds": int(counts["inputs"]) if "inputs" in counts else len(_seeds(samples, rejections)),
        "scenarios": len(scenarios),
        "tasks": len(tasks),
        "composites": composites,
        "feasible": feasible,
        "conversations": conversations,
        "accepted": accepted + duplicates,
    }
    if duplicates:
        steps["deduplicated"] = accepted
    known = {s for stages in FUNNEL_LOSSES.values() for s in stages}
    other = {stage: n for stage, n in by_stage.items() if stage not in known}
    if other:
        losses["other"] = other
    return Funnel(steps, losses, duplicates)


def _seeds(samples: Iterable[dict[str, Any]], rejections: Iterable[dict[str, Any]]) -> set[str]:
    return {_branch(row)[0] for row in itertools.chain(samples, rejections)}


@dataclass
class ShapeStats:
    """Per sample: tools declared, calls made, assistant turns; and calls made in parallel (2+ in one message)."""

    tools: list[int] = field(default_factory=list)
    calls: list[int] = field(default_factory=list)
    turns: list[int] = field(default_factory=list)
    parallel_calls: int = 0
    all_calls: int = 0

    @property
    def parallel_share(self) -> float:
        return self.parallel_calls / self.all_calls if self.all_calls else 0.0


def shapes(samples: Iterable[dict[str, Any]]) -> ShapeStats:
    out = ShapeStats()
    for row in samples:
        messages = [m for m in row.get("messages") or [] if isinstance(m, dict)]
        per_message = [len(m.get("tool_calls") or []) for m in messages if m.get("role") == "assistant"]
        out.tools.append(len(row.get("tools") or []))
        out.calls.append(sum(per_message))
        out.turns.append(sum(1 for m in messages if m.get("role") in ("user", "assistant")))
        out.all_calls += sum(per_message)
        out.parallel_calls += sum(n for n in per_message if n > 1)
    return out


def meta_mix(samples: Iterable[dict[str, Any]], key: str) -> dict[str, int]:
    """How many samples have each value of `meta[key]` (rows without it are left out)."""
    values = Counter(
        str(row["meta"][key]) for row in samples if isinstance(row.get("meta"), dict) and key in row["meta"]
    )
    return dict(values.most_common())


def function_names(samples: Iterable[dict[str, Any]]) -> Counter[str]:
    return Counter(
        str(tool.get("function", {}).get("name"))
        for row in samples
        for tool in row.get("tools") or []
        if isinstance(tool, dict)
    )


@dataclass
class DiversityFigures:
    distinct: dict[str, float]
    distinct_functions: int
    function_declarations: int
    near_duplicate_clusters: list[list[str]]
    """Groups of sample ids whose first user requests are near-duplicates (the first id is the one kept)."""


def diversity_figures(samples: Sequence[dict[str, Any]], threshold: float = DEFAULT_THRESHOLD) -> DiversityFigures:
    """`samples` is read once per figure, never copied (it may be a file read lazily)."""
    names = function_names(samples)
    clusters: dict[str, list[str]] = {}
    for duplicate in duplicate_rows(samples, threshold):
        clusters.setdefault(duplicate.of_key, [duplicate.of_key]).append(duplicate.key)
    return DiversityFigures(
        distinct={f"distinct-{n}": round(distinct_n(iter_user_turns(samples), n), 4) for n in (1, 2, 3)},
        distinct_functions=len(names),
        function_declarations=sum(names.values()),
        near_duplicate_clusters=list(clusters.values()),
    )
