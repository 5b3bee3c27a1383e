"""Stage 4a: compose a sequential task, where the second step consumes the first step's result."""

import dspy


class ComposeSequential(dspy.Signature):
    """Extend an atomic task into a two-step sequential task. Write a subsequent atomic task that can only
    be done with the result of the first one (it uses a value the first step returns, without stating that
    value), and then one composite instruction: the user's own request for both steps, in the user's
    voice. The subsequent task states every other detail it needs, never names a tool, and is at most 30
    words."""

    task: str = dspy.InputField(desc="the first atomic task")
    language: str = dspy.InputField(desc="the language to write in")
    subsequent_task: str = dspy.OutputField()
    composite_instruction: str = dspy.OutputField(desc="the whole request, both steps, one or two sentences")
