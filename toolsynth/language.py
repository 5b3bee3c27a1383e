"""Languages of seeds and samples: detection (Chinese vs. English) and the names stages are given."""

import re

CJK = re.compile(r"[\u3400-\u9fff]")
LANGUAGES = {"en": "English", "zh": "Chinese (简体中文)"}

# A turn of a transcript ("USER: ...", "ASSISTANT (function call): ...", "FUNCTION RESPONSE: ..."), at a line start.
_TURN_LABEL = re.compile(r"^([A-Z][A-Z_ ]*(?: \(function call\))?):", re.MULTILINE)
_GLAIVE_CALL = "<functioncall>"
_RESULT_LABELS = {"FUNCTION RESPONSE", "TOOL"}


def natural_text(transcript: str) -> str:
    """The people's words of a transcript: its turns without their labels, function calls and function results.

    A glaive assistant turn's `<functioncall> {...}` is dropped with the rest of that turn; text that is not a
    transcript is returned whole.
    """
    pieces = _TURN_LABEL.split(transcript)
    kept = [pieces[0]]
    for label, body in zip(pieces[1::2], pieces[2::2], strict=True):
        if label in _RESULT_LABELS or label.endswith("(function call)"):
            continue
        kept.append(body.split(_GLAIVE_CALL, 1)[0])
    return "\n".join(kept)


def detect_language(text: str) -> str:
    """`zh` when the natural-language text is mostly Chinese, else `en`; function-call JSON is not counted."""
    words = natural_text(text)
    cjk = len(CJK.findall(words))
    letters = len(re.findall(r"[A-Za-z]", words))
    return "zh" if cjk and cjk >= letters / 4 else "en"


def language_name(code: str) -> str:
    return LANGUAGES.get(code, code)
