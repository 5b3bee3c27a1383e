"""Stage 1 (bottom-up): a real chat becomes a short, general scenario."""

import dspy


class ExtractScenario(dspy.Signature):
    """Read a real conversation between a user and an assistant and state the scenario it comes from:
    one sentence on who needs what kind of help, general enough to host many different tasks. Leave out
    the specifics of this chat (names, numbers, places, dates) and any tool or function names. Write the
    scenario in the language of the conversation."""

    chat: str = dspy.InputField(desc="the seed conversation, as a transcript")
    scenario: str = dspy.OutputField(desc="one general sentence")
