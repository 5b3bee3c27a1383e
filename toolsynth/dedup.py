"""Exact and near-duplicate texts, found with MinHash LSH (`datasketch`), first occurrence kept.

Texts are compared as sets of shingles: word trigrams of the casefolded text (each CJK character is a word,
as in `toolsynth.evals.diversity`), or its words when it has fewer than three. Two texts are duplicates when
their normalized forms are equal (exact) or when LSH makes them candidates and the Jaccard similarity of their
shingle sets is at least the threshold (near). LSH only proposes candidates; the Jaccard check decides, so a
false candidate never removes a row. Input order decides which text is kept: the first of each group.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from datasketch import MinHash, MinHashLSH

from toolsynth.evals.diversity import tokens
from toolsynth.store import dumps, guarded

DEFAULT_THRESHOLD = 0.8
"""Jaccard similarity of shingle sets at or above which two texts are near-duplicates."""
NUM_PERM = 128


@dataclass(frozen=True)
class Duplicate:
    """Text number `index` (its key `key`) repeats the kept text `of_index` (`of_key`)."""

    index: int
    key: str
    of_index: int
    of_key: str
    similarity: float
    exact: bool

    def to_json(self) -> dict[str, Any]:
        return {"id": self.key, "duplicates": self.of_key, "similarity": round(self.similarity, 4), "exact": self.exact}


def shingles(text: str) -> frozenset[str]:
    words = tokens(text)
    if len(words) < 3:
        return frozenset(words)
    return frozenset(" ".join(words[i : i + 3]) for i in range(len(words) - 2))


def _normalized(text: str) -> str:
    return " ".join(tokens(text))


def find_duplicates(
    texts: Sequence[str], keys: Sequence[str] | None = None, threshold: float = DEFAULT_THRESHOLD
) -> list[Duplicate]:
    """The texts that repeat an earlier kept text (exactly, or with shingle Jaccard >= `threshold`), in order."""
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"the dedup threshold must be within (0, 1], got {threshold}")
    names = list(keys) if keys is not None else [str(i) for i in range(len(texts))]
    lsh = MinHashLSH(num_perm=NUM_PERM, params=lsh_bands(threshold))
    kept_by_text: dict[str, int] = {}
    kept_shingles: dict[int, frozenset[str]] = {}
    found: list[Duplicate] = []
    for index, text in enumerate(texts):
        normalized = _normalized(text)
        if normalized in kept_by_text:
            first = kept_by_text[normalized]
            found.append(Duplicate(index, names[index], first, names[first], 1.0, True))
            continue
        own = shingles(text)
        signature = MinHash(num_perm=NUM_PERM)
        signature.update_batch([s.encode("utf-8") for s in own])
        match = _nearest(own, lsh.query(signature) if own else [], kept_shingles, threshold)
        if match is not None:
            first, similarity = match
            found.append(Duplicate(index, names[index], first, names[first], similarity, False))
            continue
        kept_by_text[normalized] = index
        if own:
            kept_shingles[index] = own
            lsh.insert(str(index), signature)
    return found


@functools.lru_cache(maxsize=32)
def lsh_bands(threshold: float) -> tuple[int, int]:
    """The bands and rows per band that datasketch picks for `threshold` (at `NUM_PERM` permutations), worked out
    once per threshold: datasketch integrates the false positive and negative rates numerically for every new
    `MinHashLSH(threshold=...)`, about 20 ms, which made up a tenth of the CPU of a run (benchmarks/README.md)."""
    chosen = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)
    return chosen.b, chosen.r


def _nearest(
    own: frozenset[str], candidates: Iterable[str], kept: dict[int, frozenset[str]], threshold: float
) -> tuple[int, float] | None:
    """The earliest kept candidate whose shingle Jaccard with `own` reaches the threshold, with that similarity."""
    for first in sorted(int(c) for c in candidates):
        other = kept[first]
        similarity = len(own & other) / len(own | other)
        if similarity >= threshold:
            return first, similarity
    return None


def unique_texts(texts: Sequence[str], threshold: float = DEFAULT_THRESHOLD) -> list[str]:
    """`texts` without the ones that repeat an earlier one (BUTTON deduplicates expanded scenarios so)."""
    dropped = {d.index for d in find_duplicates(texts, threshold=threshold)}
    return [text for i, text in enumerate(texts) if i not in dropped]


def first_user_request(row: dict[str, Any]) -> str | None:
    """The first user message of an OpenAI-style row (`messages`) or a ShareGPT one (`conversations`)."""
    for message in row.get("messages") or []:
        if isinstance(message, dict) and message.get("role") == "user":
            return str(message.get("content") or "")
    for turn in row.get("conversations") or []:
        if isinstance(turn, dict) and turn.get("from") in ("human", "user"):
            return str(turn.get("value") or "")
    return None


def duplicate_rows(rows: Iterable[dict[str, Any]], threshold: float = DEFAULT_THRESHOLD) -> list[Duplicate]:
    """Rows whose first user request repeats an earlier row's; rows without a user turn are never duplicates.
    `Duplicate.index` is the row's position in `rows`, its key the row's `id` (else its position). `rows` is read
    once; only the requests and keys are kept."""
    positions: list[int] = []
    texts: list[str] = []
    keys: list[str] = []
    for i, row in enumerate(rows):
        text = first_user_request(row)
        if text is not None:
            positions.append(i)
            texts.append(text)
            keys.append(str(row.get("id", i)))
    return [
        Duplicate(positions[d.index], d.key, positions[d.of_index], d.of_key, d.similarity, d.exact)
        for d in find_duplicates(texts, keys, threshold)
    ]


def dedup_samples_file(path: Path, threshold: float = DEFAULT_THRESHOLD) -> dict[str, Any]:
    """Rewrite a run's `samples.jsonl` without the rows whose first user request repeats an earlier row's; returns
    what the manifest records: the threshold, rows kept, and each removed row with the row it duplicates."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    duplicates = duplicate_rows(rows, threshold)
    removed = {d.index for d in duplicates}
    tmp = path.with_name(path.name + ".dedup.tmp")
    with guarded(path):
        tmp.write_text("".join(dumps(row) + "\n" for i, row in enumerate(rows) if i not in removed), encoding="utf-8")
        os.replace(tmp, path)
    return {"threshold": threshold, "kept": len(rows) - len(removed), "removed": [d.to_json() for d in duplicates]}
