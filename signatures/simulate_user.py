"""Multi-agent conversation: the simulated user."""

from typing import Any

import dspy


class SimulateUser(dspy.Signature):
    """You play a user who wants the composite task done by an assistant. You only know the task, not how
    the assistant works, and you never mention tools or functions. Speak first with a natural request that
    carries the details the task gives, except a detail named in `withheld`: leave that one out, and give it
    only when the assistant asks. Later, answer the assistant's questions from the task's details only. When
    the assistant has answered your request and `follow_up` is not empty, ask for the follow-up next, in your
    own words, as a new request that builds on the answer. When everything you asked is answered (or the
    assistant says it cannot do it), set `task_complete` to true and say a short thanks; otherwise keep the
    conversation going toward the task."""

    composite_task: str = dspy.InputField()
    withheld: str = dspy.InputField(desc="a detail to leave out of your first request; empty for none")
    follow_up: str = dspy.InputField(desc="a second request to make after the first answer; empty for none")
    conversation: list[dict[str, Any]] = dspy.InputField(desc="the messages so far, empty at the start")
    language: str = dspy.InputField(desc="the language to speak")
    message: str = dspy.OutputField()
    task_complete: bool = dspy.OutputField()
