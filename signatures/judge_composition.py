"""Stage 5: keep only composite tasks that are feasible and really compositional."""

import dspy


class JudgeComposition(dspy.Signature):
    """Decide whether this composite task is good training material: a sensible request that an assistant with
    suitable tools could complete step by step. It is feasible for ordinary requests, such as getting two
    cities' weather and saying which is warmer, or looking up an exchange rate and converting an amount with
    it. Independent steps followed by one that combines their results, and chains where each step uses the
    previous result, are the intended shapes. It is infeasible only when a step is impossible or harmful, when
    a step marked as depending on another has no use for its result, or when the steps have nothing to do with
    each other. Give a short reason, then the verdict."""

    composite_instruction: str = dspy.InputField()
    steps: str = dspy.InputField(desc="the subtasks, numbered, each with the steps whose results it uses")
    reasons: str = dspy.OutputField(desc="one or two sentences: why it is or is not feasible")
    feasible: bool = dspy.OutputField(desc="true or false")
