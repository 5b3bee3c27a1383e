"""Evals and prompt optimization for ButtonProgram.

- `toolsynth.evals.metrics`: task completeness, conversation/function-call consistency and the combined
  score, as DSPy metrics (`metric(example, prediction, trace=None)`), plus GEPA feedback variants;
- `toolsynth.evals.diversity`: distinct scenarios, function names, distinct-n of user turns, strategy mix;
- `toolsynth.evals.dataset`: the shipped eval set (or any seeds file) as `dspy.Example`s, train/dev;
- `toolsynth.evals.evaluate`: `evaluate_program` (scores, diversity, per-seed feedback);
- `toolsynth.evals.optimize`: `compile_program` with BootstrapFewShot, MIPROv2 or GEPA, call estimates;
- `toolsynth.evals.commands`: the `toolsynth eval` and `toolsynth optimize` subcommands.

Submodules are imported on demand (this package imports nothing heavy), so the CLI stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "assess": "metrics",
    "combined": "metrics",
    "combined_with_feedback": "metrics",
    "completeness": "metrics",
    "consistency": "metrics",
    "load_examples": "dataset",
    "load_splits": "dataset",
    "evaluate_program": "evaluate",
    "compile_program": "optimize",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"toolsynth.evals.{_EXPORTS[name]}"), name)
    raise AttributeError(name)
