"""Stage 4d: extend a composite task by one step at its end that uses the last step's result."""

import dspy


class ExtendChain(dspy.Signature):
    """Extend a composite task by one new step at its end. The next task does something no earlier step does: it
    acts on, or looks up more about, the result of the last step (it uses a value that step returns or concludes,
    without stating that value). Write it, then one composite instruction: the user's own request for all steps,
    in the user's voice. The next task states every other detail it needs, never names a tool or a step number,
    and is at most 30 words."""

    request: str = dspy.InputField(desc="the composite instruction so far")
    steps: str = dspy.InputField(desc="the subtasks so far, numbered, each with the steps whose results it uses")
    language: str = dspy.InputField(desc="the language to write in")
    next_task: str = dspy.OutputField(desc="the new last step")
    composite_instruction: str = dspy.OutputField(desc="the whole request, all steps, one or two sentences")
