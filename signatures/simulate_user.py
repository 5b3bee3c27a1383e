"""Multi-agent conversation: the simulated user."""

from typing import Any

import dspy


class SimulateUser(dspy.Signature):
    """You play a user who wants the composite task done by an assistant. You only know the task, not how
    the assistant works, and you never mention tools or functions. Speak first with a natural request that
    carries the details the task gives; later, answer the assistant's questions from the task's details
    only. When the assistant has fully answered everything the task asks, set `task_complete` to true and
    say a short thanks; otherwise keep the conversation going toward the task."""

    composite_task: str = dspy.InputField()
    conversation: list[dict[str, Any]] = dspy.InputField(desc="the messages so far, empty at the start")
    language: str = dspy.InputField(desc="the language to speak")
    message: str = dspy.OutputField()
    task_complete: bool = dspy.OutputField()
