"""A public test double shipped with toolsynth: a local OpenAI-compatible server with latency and fault injection,
for trying a pipeline offline through the real litellm HTTP path (see README, "A test double").

`import toolsynth` never imports this package. Names resolve lazily from `toolsynth.testing.server`, so
``python -m toolsynth.testing.server`` runs cleanly.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from toolsynth.testing.server import (
        FAULT_NAMES,
        FaultName,
        Faults,
        Latency,
        OpenAICompatibleServer,
        RequestRecord,
        Responder,
        ServerStats,
        demo_responder,
        echo_responder,
    )

__all__ = [
    "FAULT_NAMES",
    "FaultName",
    "Faults",
    "Latency",
    "OpenAICompatibleServer",
    "RequestRecord",
    "Responder",
    "ServerStats",
    "demo_responder",
    "echo_responder",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module("toolsynth.testing.server"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
