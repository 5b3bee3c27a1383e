"""The corrupting responder: seeded, counted, every kind and its bounds, and raw bytes on the wire."""

from __future__ import annotations

import http.client
import json
import random
from typing import Any

import pytest

from toolsynth.testing import (
    CORRUPTION_KINDS,
    CorruptingResponder,
    OpenAICompatibleServer,
    RawBytesReply,
    corrupt_reply,
)
from toolsynth.testing.corrupt import HUGE_CHARS

FUNCTIONS_REPLY = json.dumps(
    {
        "functions": [
            {
                "name": "get_weather",
                "description": "Weather in a city.",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
                "returns": {"type": "object", "properties": {"temperature": {"type": "number"}}},
            }
        ],
        "subtask_functions": {"1": "get_weather"},
    }
)


def functions(messages: list[dict[str, Any]], request: dict[str, Any]) -> str:
    return FUNCTIONS_REPLY


def request_for(i: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    messages = [{"role": "user", "content": f"question {i}"}]
    return messages, {"messages": messages}


def replies(responder: CorruptingResponder, n: int) -> list[str]:
    return [responder(*request_for(i)) for i in range(n)]


def test_a_seed_fixes_every_reply_whatever_order_requests_come_in() -> None:
    first = replies(CorruptingResponder(0.5, seed=3, inner=functions), 40)
    backwards = CorruptingResponder(0.5, seed=3, inner=functions)
    assert [backwards(*request_for(i)) for i in reversed(range(40))][::-1] == first
    assert replies(CorruptingResponder(0.5, seed=4, inner=functions), 40) != first


def test_the_rate_is_kept_and_every_corrupted_reply_is_counted_by_kind_and_variant() -> None:
    responder = CorruptingResponder(0.3, seed=1, inner=functions)
    sent = replies(responder, 400)
    corrupted = sum(reply != FUNCTIONS_REPLY for reply in sent)
    assert responder.replies == 400
    assert 80 <= sum(responder.sent.values()) <= 160
    assert corrupted <= sum(responder.sent.values())  # a corruption may happen to leave the reply as it was
    assert set(responder.sent) == set(CORRUPTION_KINDS)
    assert sum(responder.variants.values()) == sum(responder.sent.values())
    assert CorruptingResponder(0.0, inner=functions)(*request_for(0)) == FUNCTIONS_REPLY


@pytest.mark.parametrize("kind", CORRUPTION_KINDS)
def test_each_kind_mangles_the_reply_within_its_bounds(kind: str) -> None:
    rng = random.Random(kind)
    for _ in range(20):
        corruption = corrupt_reply(kind, FUNCTIONS_REPLY, rng, ref_url="http://127.0.0.1:1/x.json")
        assert corruption.kind == kind and corruption.variant
        assert len(corruption.text) <= HUGE_CHARS
        if kind == "remote_ref":
            assert "http://127.0.0.1:1/x.json" in corruption.text
        if kind == "invalid_unicode":
            assert "\\ud" in corruption.text or any("\ud800" <= c <= "\udfff" for c in corruption.text)


def test_deep_nesting_spans_one_thousand_to_one_hundred_thousand_levels() -> None:
    rng = random.Random(0)
    depths = []
    for _ in range(60):
        text = corrupt_reply("deep_nesting", FUNCTIONS_REPLY, rng).text
        depths.append(text.count("[") + text.count("{"))  # the reply's own few braces aside, one per level
    assert min(depths) >= 1_000 and max(depths) <= 100_050 and max(depths) >= 20_000


def test_huge_strings_reach_one_megabyte_and_some_are_cut_short() -> None:
    rng = random.Random(0)
    made = [corrupt_reply("huge_string", FUNCTIONS_REPLY, rng) for _ in range(60)]
    cut = [c.text for c in made if c.variant == "truncated_1mb"]
    assert cut and all(len(text) == HUGE_CHARS for text in cut)
    with pytest.raises(ValueError):
        json.loads(cut[0])
    assert min(len(c.text) for c in made if c.variant != "repair_bait") >= 10_000


def test_non_finite_tokens_are_written_as_json_never_says_them() -> None:
    rng = random.Random(0)
    made = [corrupt_reply("non_finite", FUNCTIONS_REPLY, rng) for _ in range(40)]
    assert {c.variant for c in made} == {"NaN", "Infinity", "-Infinity", "1e999", "-1e999"}
    for corruption in made:
        assert corruption.variant in corruption.text


def test_unknown_kinds_and_rates_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown corruption kind"):
        CorruptingResponder(0.1, kinds=["typo"])
    with pytest.raises(ValueError, match="rate"):
        CorruptingResponder(1.5)


def test_a_raw_bytes_reply_reaches_the_wire_as_invalid_utf8() -> None:
    def raw(messages: list[dict[str, Any]], request: dict[str, Any]) -> str:
        return RawBytesReply('{"answer": "caf\udce9"}')

    with OpenAICompatibleServer(responder=raw) as server:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
        conn.request("POST", "/v1/chat/completions", json.dumps({"messages": []}))
        response = conn.getresponse()
        body = response.read()
        conn.close()
    assert response.status == 200 and b"caf\xe9" in body
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")
