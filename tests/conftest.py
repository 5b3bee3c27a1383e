"""Shared fixtures."""

from __future__ import annotations

import os
from collections.abc import Iterator

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import dspy
import pytest

from toolsynth.demo_model import demo_lm


@pytest.fixture
def demo() -> Iterator[dspy.LM]:
    lm = demo_lm(0)
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
        yield lm
