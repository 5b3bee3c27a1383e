"""Semantic gate (optional): does the finished conversation accomplish its task, faithfully?"""

from typing import Any

import dspy


class JudgeSample(dspy.Signature):
    """Judge a finished tool-use conversation as training data. `accomplished`: the assistant completed
    every part of the user's task, calling functions where they were needed. `faithful`: every claim in the
    assistant's answers is supported by the tool results or the user's words, and no result is misread,
    invented or ignored. Give your reasons first, pointing to the message that fails, if any."""

    composite_task: str = dspy.InputField(desc="what the user wanted")
    conversation: list[dict[str, Any]] = dspy.InputField(desc="the messages, OpenAI chat format")
    reasons: str = dspy.OutputField(desc="one or two sentences, naming the failing message if any")
    accomplished: bool = dspy.OutputField()
    faithful: bool = dspy.OutputField()
