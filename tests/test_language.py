"""A sample's language: forced, else the seed's own `language`, else detected from the people's words only."""

from __future__ import annotations

import json
import re
from pathlib import Path

import dspy

from toolsynth.language import detect_language, natural_text
from toolsynth.programs import ButtonProgram
from toolsynth.readers import Seed, read_seeds

CJK = re.compile(r"[\u4e00-\u9fff]")
ENGLISH_CHAT = "USER: What's the weather like in Paris right now?\n\nASSISTANT: It is 18 °C and sunny in Paris."
WEATHER_RESULT = {"city": "Beijing", "date": "2024-06-02", "condition": "sunny", "temperature_high_c": 25}
CHINESE_WITH_CALLS = [
    {"role": "user", "content": "北京明天天气怎么样？"},
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "get_weather_forecast", "arguments": '{"city": "Beijing", "date": "2024-06-02"}'},
            }
        ],
    },
    {"role": "tool", "tool_call_id": "call_1", "content": json.dumps(WEATHER_RESULT)},
    {"role": "assistant", "content": "北京明天晴，最高气温25度。"},
]
GLAIVE_CHINESE = (
    "USER: 北京明天天气怎么样？\n\n"
    'ASSISTANT: <functioncall> {"name": "get_weather_forecast", "arguments": \'{"city": "Beijing"}\'}\n\n'
    f"FUNCTION RESPONSE: {json.dumps(WEATHER_RESULT)}\n\n"
    "ASSISTANT: 北京明天晴，最高气温25度。"
)


def seed_file(tmp_path: Path, rows: list[dict[str, object]]) -> Path:
    path = tmp_path / "seeds.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def test_natural_text_drops_labels_function_calls_and_results() -> None:
    words = natural_text(GLAIVE_CHINESE)
    assert "Beijing" not in words and "USER" not in words and "FUNCTION" not in words
    assert "北京明天天气怎么样" in words and "最高气温" in words
    assert natural_text("just a sentence") == "just a sentence"


def test_a_chinese_chat_full_of_ascii_json_is_chinese(tmp_path: Path) -> None:
    (seed,) = read_seeds(seed_file(tmp_path, [{"id": "zh", "messages": CHINESE_WITH_CALLS}]))
    assert seed.chat and len(re.findall(r"[A-Za-z]", seed.chat)) > 4 * len(CJK.findall(seed.chat))
    assert detect_language(seed.chat) == "zh"
    assert detect_language(GLAIVE_CHINESE) == "zh"
    assert detect_language(ENGLISH_CHAT) == "en"


def test_a_seeds_own_language_is_read(tmp_path: Path) -> None:
    rows: list[dict[str, object]] = [{"chat": ENGLISH_CHAT, "language": "zh"}, {"chat": ENGLISH_CHAT}]
    seeds = read_seeds(seed_file(tmp_path, rows))
    assert seeds[0] == Seed("1", chat=ENGLISH_CHAT, format="glaive", location="line 1", language="zh")
    assert seeds[1].language is None


def test_the_seeds_language_wins_over_detection_and_a_forced_one_over_both(demo: dspy.LM) -> None:
    marked = ButtonProgram(expand=0)(chat=ENGLISH_CHAT, source_id="w", language="zh").samples[0]
    assert marked.meta["language"] == "zh" and CJK.search(marked.messages[1].content or "")
    forced = ButtonProgram(expand=0, language="en")(chat=ENGLISH_CHAT, source_id="w", language="zh").samples[0]
    assert forced.meta["language"] == "en" and not CJK.search(forced.messages[1].content or "")
