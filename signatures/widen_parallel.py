"""Stage 4c: widen a parallel-then-sequential task to three independent steps that one final step combines."""

import dspy


class WidenParallel(dspy.Signature):
    """Widen a parallel-then-sequential task by one independent step. Write a parallel task of the same kind as
    the independent steps but with different details (it needs none of their results, so all of them can run at
    once), then rewrite the final step so that it needs the results of every independent step, and one composite
    instruction: the user's own request for all steps, in the user's voice. Every task states the details it
    needs, never names a tool, and is at most 30 words."""

    request: str = dspy.InputField(desc="the composite instruction so far")
    steps: str = dspy.InputField(desc="the subtasks so far, numbered, each with the steps whose results it uses")
    language: str = dspy.InputField(desc="the language to write in")
    parallel_task: str = dspy.OutputField(desc="the new independent step")
    subsequent_task: str = dspy.OutputField(desc="the final step, rewritten to use every independent step's result")
    composite_instruction: str = dspy.OutputField(desc="the whole request, all steps, one or two sentences")
