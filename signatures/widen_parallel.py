"""Stage 4c: widen a parallel-then-sequential task to three independent steps that one final step combines."""

import dspy


class WidenParallel(dspy.Signature):
    """Widen a parallel-then-sequential task by one independent step. Write one new parallel task: the same kind
    of step as the independent ones, for a different subject, on its own (it restates none of them and needs none
    of their results, so all can run at once). Then rewrite the final step so that it combines the results of
    every independent step, and write one composite instruction: the user's own request for all steps, in the
    user's voice. Every task states the details it needs, never names a tool or a step number, and is at most
    30 words."""

    request: str = dspy.InputField(desc="the composite instruction so far")
    steps: str = dspy.InputField(desc="the subtasks so far, numbered, each with the steps whose results it uses")
    language: str = dspy.InputField(desc="the language to write in")
    parallel_task: str = dspy.OutputField(desc="the new independent step")
    subsequent_task: str = dspy.OutputField(desc="the final step, rewritten to use every independent step's result")
    composite_instruction: str = dspy.OutputField(desc="the whole request, all steps, one or two sentences")
