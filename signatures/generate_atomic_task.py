"""Stage 3: a scenario becomes self-contained one-step tasks (the atomic tasks of BUTTON)."""

import dspy

from toolsynth.types import NonEmptyList


class GenerateAtomicTask(dspy.Signature):
    """Write atomic tasks a user in this scenario could ask an assistant with tools to do. An atomic task
    is one request that one call to a software API completes: look something up, search, convert,
    calculate, book, send. Never a physical action. Make each task self-contained: it states every detail
    the call needs (names, places, dates, amounts, units), so the arguments follow from the text alone.
    Never name a tool or function. At most 30 words per task; the tasks differ from each other."""

    scenario: str = dspy.InputField()
    count: int = dspy.InputField(desc="how many tasks to write")
    language: str = dspy.InputField(desc="the language to write the tasks in")
    tasks: NonEmptyList[str] = dspy.OutputField()
