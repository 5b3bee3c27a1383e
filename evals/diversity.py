"""Diversity of a set of sample rows: reported beside the scores, never optimized.

- `distinct_scenarios`: distinct `meta.scenario` texts (and their share of the samples);
- `distinct_functions`: distinct tool names over all samples (and distinct / total tool declarations);
- `distinct_n`: for n = 1, 2, 3, distinct n-grams / all n-grams of the user turns (Li et al., 2016);
  tokens are lower-cased words, and single characters inside CJK text;
- `strategies`: how many samples use each composition strategy, and their shares.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any

from toolsynth.evals.metrics import row_meta

_TOKEN = re.compile(r"[\u3400-\u9fff]|[^\W_]+", re.UNICODE)


def tokens(text: str) -> list[str]:
    """Lower-cased words; each CJK character is its own token."""
    return [t.casefold() for t in _TOKEN.findall(text)]


def distinct_n(texts: Iterable[str], n: int) -> float:
    """Distinct n-grams / all n-grams over the texts (n-grams never cross texts); 0 when there are none. The texts
    are read once and only the distinct n-grams are kept."""
    distinct: set[tuple[str, ...]] = set()
    total = 0
    for text in texts:
        words = tokens(text)
        grams = [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]
        total += len(grams)
        distinct.update(grams)
    return len(distinct) / total if total else 0.0


def iter_user_turns(rows: Iterable[dict[str, Any]]) -> Iterator[str]:
    for row in rows:
        for m in row.get("messages") or []:
            if isinstance(m, dict) and m.get("role") == "user":
                yield str(m.get("content") or "")


def user_turns(rows: Iterable[dict[str, Any]]) -> list[str]:
    return list(iter_user_turns(rows))


def diversity(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The diversity figures of canonical OpenAI rows (`Sample.to_openai()`)."""
    metas = [row_meta(row) for row in rows]
    scenarios = {str(m["scenario"]) for m in metas if m.get("scenario")}
    tasks = {str(m["composite_task"]) for m in metas if m.get("composite_task")}
    names = [t.get("function", {}).get("name") for row in rows for t in row.get("tools") or [] if isinstance(t, dict)]
    strategies = Counter(str(m.get("strategy", "unknown")) for m in metas)
    turns = user_turns(rows)
    n = len(rows)
    return {
        "samples": n,
        "distinct_scenarios": len(scenarios),
        "distinct_scenarios_ratio": round(len(scenarios) / n, 4) if n else 0.0,
        "distinct_composite_tasks": len(tasks),
        "distinct_functions": len(set(names)),
        "distinct_functions_ratio": round(len(set(names)) / len(names), 4) if names else 0.0,
        "distinct_n": {f"distinct_{k}": round(distinct_n(turns, k), 4) for k in (1, 2, 3)},
        "strategies": dict(sorted(strategies.items())),
        "strategy_shares": {k: round(v / n, 4) for k, v in sorted(strategies.items())} if n else {},
    }
