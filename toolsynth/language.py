"""Languages of seeds and samples: detection (Chinese vs. English) and the names stages are given."""

import re

CJK = re.compile(r"[\u3400-\u9fff]")
LANGUAGES = {"en": "English", "zh": "Chinese (简体中文)"}


def detect_language(text: str) -> str:
    """`zh` when the text is mostly Chinese, else `en`; a seed's samples keep its language."""
    cjk = len(CJK.findall(text))
    letters = len(re.findall(r"[A-Za-z]", text))
    return "zh" if cjk and cjk >= letters / 4 else "en"


def language_name(code: str) -> str:
    return LANGUAGES.get(code, code)
