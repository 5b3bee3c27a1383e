"""Stage 4b: compose a parallel-then-sequential task: two independent steps, then one that uses both."""

import dspy


class ComposeParallelThenSequential(dspy.Signature):
    """Extend an atomic task into a parallel-then-sequential task. Write a parallel task that is independent
    of the given one (neither needs the other's result, so both can run at once), then a subsequent task
    that needs the results of both, and one composite instruction: the user's own request for all three
    steps, in the user's voice. The subsequent task may be pure reasoning or arithmetic over the two
    results. Every task states the details it needs, never names a tool, and is at most 30 words."""

    task: str = dspy.InputField(desc="the first atomic task")
    language: str = dspy.InputField(desc="the language to write in")
    parallel_task: str = dspy.OutputField()
    subsequent_task: str = dspy.OutputField()
    composite_instruction: str = dspy.OutputField(desc="the whole request, all steps, one or two sentences")
