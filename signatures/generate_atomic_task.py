"""Stage 3: a scenario becomes self-contained one-step tasks (the atomic tasks of BUTTON)."""

import dspy

from toolsynth.types import NonEmptyList


class GenerateAtomicTask(dspy.Signature):
    """Write atomic tasks a user in this scenario could ask an assistant with tools to do. An atomic task
    is one step that one function call could complete. Make each task self-contained: it states every
    detail a call needs (names, places, dates, amounts, units), so that the arguments follow from the text
    alone and never have to be guessed. Never name a tool or function. At most 30 words per task. The tasks
    must differ from each other."""

    scenario: str = dspy.InputField()
    count: int = dspy.InputField(desc="how many tasks to write")
    language: str = dspy.InputField(desc="the language to write the tasks in")
    tasks: NonEmptyList[str] = dspy.OutputField()
