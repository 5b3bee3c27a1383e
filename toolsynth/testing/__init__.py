"""A public test double shipped with toolsynth: a local OpenAI-compatible server with latency and fault injection,
for trying a pipeline offline through the real litellm HTTP path (see README, "A test double"), and a responder
that corrupts a seeded share of replies (`CorruptingResponder`, for fuzzing the reply reader).

`import toolsynth` never imports this package. Names resolve lazily from `toolsynth.testing.server` and
`toolsynth.testing.corrupt`, so
``python -m toolsynth.testing.server`` runs cleanly.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from toolsynth.testing.corrupt import (
        CORRUPTION_KINDS,
        CorruptingResponder,
        Corruption,
        CorruptionKind,
        corrupt_reply,
    )
    from toolsynth.testing.server import (
        FAULT_NAMES,
        FaultName,
        Faults,
        Latency,
        OpenAICompatibleServer,
        RawBytesReply,
        RequestRecord,
        Responder,
        ServerStats,
        demo_responder,
        echo_responder,
    )

_CORRUPT = ("CORRUPTION_KINDS", "CorruptingResponder", "Corruption", "CorruptionKind", "corrupt_reply")

__all__ = [
    "CORRUPTION_KINDS",
    "FAULT_NAMES",
    "CorruptingResponder",
    "Corruption",
    "CorruptionKind",
    "FaultName",
    "Faults",
    "Latency",
    "OpenAICompatibleServer",
    "RawBytesReply",
    "RequestRecord",
    "Responder",
    "ServerStats",
    "corrupt_reply",
    "demo_responder",
    "echo_responder",
]


def __getattr__(name: str) -> Any:
    if name in _CORRUPT:
        return getattr(importlib.import_module("toolsynth.testing.corrupt"), name)
    if name in __all__:
        return getattr(importlib.import_module("toolsynth.testing.server"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
