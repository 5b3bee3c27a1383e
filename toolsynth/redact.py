"""Secrets never leave the process: API keys and bearer tokens are masked in all toolsynth writes or prints.

A server may repeat the request's `Authorization` header in an error body, and that text travels into
rejections, the manifest and error messages. Whatever leaves the process (every JSON toolsynth writes, through
`toolsynth.store.dumps`, and the CLI's error lines) passes through here first. Masked are:

- the value of every environment variable whose name ends in `_KEY`, `_TOKEN` or `_SECRET` (litellm reads
  provider keys from such variables: `OPENAI_API_KEY`, `HF_TOKEN`, ...) and that has at least 8 characters;
- anything shaped like a credential: `Bearer <token>` / `Basic <token>` (16+ token characters) and `sk-...`
  keys (16+ characters after `sk-`), whatever their source.
"""

from __future__ import annotations

import functools
import json
import os
import re
from typing import Any

REDACTED = "[REDACTED]"
MIN_SECRET_CHARS = 8
SECRET_SUFFIXES = ("_KEY", "_TOKEN", "_SECRET")
_SHAPES = (
    r"\b(?P<scheme>Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{16,}",  # an Authorization header's value
    r"\bsk-[A-Za-z0-9_-]{16,}",  # OpenAI, Anthropic and compatible keys
)
_SHAPE_WORDS = ("Bearer", "Basic", "sk-")
"""What every match of `_SHAPES` contains, word for word."""


def configured_secrets() -> tuple[str, ...]:
    """Values of the environment's key and token variables, longest first (so none is masked only in part)."""
    # Names first, then the few values asked for: decoding every value of the environment cost more than the rest
    # of a write (every JSON toolsynth writes asks this).
    names = [name for name in os.environ if name.upper().endswith(SECRET_SUFFIXES)]
    values = {value for name in names if len(value := os.environ.get(name, "")) >= MIN_SECRET_CHARS}
    return tuple(sorted(values, key=lambda v: (-len(v), v)))


@functools.lru_cache(maxsize=8)
def _pattern(secrets: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join([*(re.escape(s) for s in secrets), *_SHAPES]))


def _mask(match: re.Match[str]) -> str:
    scheme = match.group("scheme")
    return f"{scheme} {REDACTED}" if scheme else REDACTED


def redact(text: str) -> str:
    """`text` with every configured key and every credential-shaped token replaced by `[REDACTED]`."""
    return _pattern(configured_secrets()).sub(_mask, text)


@functools.lru_cache(maxsize=8)
def _markers(secrets: tuple[str, ...]) -> tuple[str, ...]:
    escaped = (json.dumps(secret, ensure_ascii=False)[1:-1] for secret in secrets)
    return (*escaped, *_SHAPE_WORDS)


def json_text_may_hold_secrets(text: str) -> bool:
    """False when JSON text written with `json.dumps(..., ensure_ascii=False)` has nothing `redact_value` would mask.

    JSON escapes a string character by character, so a configured key inside any string (or key) of a value shows
    in the value's JSON text as the key's own escaped form; and every credential shape starts with a word that no
    escaping changes. So a text holding none of these has nothing to mask, and the writer can skip walking the
    value (`toolsynth.store.dumps`); a text holding one is masked in full, value by value."""
    return any(marker in text for marker in _markers(configured_secrets()))


def redact_value(value: Any) -> Any:
    """A JSON-like value with every string in it (keys included) redacted; other values are kept as they are."""
    pattern = _pattern(configured_secrets())

    def walk(item: Any) -> Any:
        if isinstance(item, str):
            return pattern.sub(_mask, item)
        if isinstance(item, dict):
            return {walk(k): walk(v) for k, v in item.items()}
        if isinstance(item, (list, tuple)):
            return [walk(v) for v in item]
        return item

    return walk(value)
