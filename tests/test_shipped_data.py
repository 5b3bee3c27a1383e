"""Invariants of the seed data the project ships: `evals/data/evalset.jsonl` and `examples/seeds.jsonl`.

Plain `json`, `re`, `jsonschema` and `pathlib` only: these checks must not depend on toolsynth modules.
"""

from __future__ import annotations

import itertools
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

ROOT = Path(__file__).resolve().parents[1]
EVALSET = ROOT / "evals" / "data" / "evalset.jsonl"
EXAMPLES = ROOT / "examples" / "seeds.jsonl"

DOMAINS = {
    "weather",
    "news",
    "currency",
    "stocks",
    "passwords",
    "statistics",
    "flights",
    "hotels",
    "recipes",
    "calendar",
    "email",
    "music",
    "movies",
    "translation",
    "fitness",
    "shopping",
    "navigation",
    "sports",
}
SHAPES = {"single_call", "clarify", "multi_call", "cannot_help"}

GLAIVE_HEADER = "SYSTEM: You are a helpful assistant with access to the following functions. Use them if required -\n"
GLAIVE_NO_FUNCTIONS = "SYSTEM: You are a helpful assistant, with no access to external functions.\n"
END = " <|endoftext|>"
CALL = re.compile(
    r'^ASSISTANT: <functioncall> \{"name": "(?P<name>[A-Za-z_][A-Za-z0-9_]*)", '
    r"\"arguments\": '(?P<args>.*)'\}" + re.escape(END) + r"$",
    re.DOTALL,
)
CJK = re.compile(r"[\u4e00-\u9fff]")
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
DECLINE = re.compile(r"sorry|can't|cannot|not able|抱歉|无法|不能", re.IGNORECASE)

Turn = tuple[str, Any]  # ("user" | "assistant", text) | ("calls", [(name, args)]) | ("results", [text])


def load(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


EVAL_ROWS = load(EVALSET)
EXAMPLE_ROWS = load(EXAMPLES)
CHAT_EXAMPLES = [r for r in EXAMPLE_ROWS if "scenario" not in r]


def fmt(row: dict[str, Any]) -> str:
    assert ("chat" in row) != ("messages" in row), f"{row['id']}: exactly one of 'chat' and 'messages'"
    return "glaive" if "chat" in row else "openai"


# ------------------------------------------------------------------ parsing both formats into one turn list


def glaive_functions(system: str) -> list[dict[str, Any]]:
    if system == GLAIVE_NO_FUNCTIONS:
        return []
    assert system.startswith(GLAIVE_HEADER), "unexpected glaive system header"
    text, decoder, functions = system[len(GLAIVE_HEADER) :], json.JSONDecoder(), []
    pos = 0
    while text[pos:].strip():
        pos += len(text[pos:]) - len(text[pos:].lstrip())
        function, pos = decoder.raw_decode(text, pos)
        functions.append(function)
    assert functions, "a glaive header must be followed by at least one function"
    return functions


def glaive_turns(chat: str) -> list[Turn]:
    assert chat.endswith("\n\n\n") and not chat.startswith("\n"), "blocks are each followed by two blank lines"
    turns: list[Turn] = []
    for block in chat[:-3].split("\n\n\n"):
        if block.startswith("USER: "):
            assert END not in block, "no <|endoftext|> in user turns"
            turns.append(("user", block[len("USER: ") :]))
        elif block.startswith("ASSISTANT: <functioncall>"):
            match = CALL.match(block)
            assert match, f"malformed function call block: {block[:120]!r}"
            turns.append(("calls", [(match["name"], json.loads(match["args"]))]))
        elif block.startswith("ASSISTANT: "):
            assert block.endswith(END) and block.count("<|endoftext|>") == 1, f"assistant turn must end with {END!r}"
            turns.append(("assistant", block[len("ASSISTANT: ") : -len(END)]))
        elif block.startswith("FUNCTION RESPONSE: "):
            turns.append(("results", [block[len("FUNCTION RESPONSE: ") :]]))
        else:
            raise AssertionError(f"block is not USER/ASSISTANT/FUNCTION RESPONSE: {block[:80]!r}")
    return turns


def openai_turns(messages: list[dict[str, Any]]) -> list[Turn]:
    turns: list[Turn] = []
    pending: dict[str, str] = {}
    seen_ids: set[str] = set()
    for i, m in enumerate(messages):
        role = m["role"]
        if role == "system":
            assert i == 0 and isinstance(m["content"], str) and m["content"]
        elif role == "user":
            assert not pending, "user spoke before every tool call was answered"
            turns.append(("user", m["content"]))
        elif role == "assistant" and m.get("tool_calls"):
            assert not pending, "new tool calls before the previous ones were answered"
            calls = []
            for call in m["tool_calls"]:
                assert call["type"] == "function" and call["id"] not in seen_ids, "tool call ids are unique"
                seen_ids.add(call["id"])
                pending[call["id"]] = call["function"]["name"]
                assert isinstance(call["function"]["arguments"], str), "arguments are a JSON string"
                calls.append((call["function"]["name"], json.loads(call["function"]["arguments"])))
            turns.append(("calls", calls))
        elif role == "assistant":
            assert not pending and isinstance(m["content"], str) and m["content"].strip()
            turns.append(("assistant", m["content"]))
        elif role == "tool":
            assert m["tool_call_id"] in pending, f"tool message answers no open call: {m['tool_call_id']}"
            assert pending.pop(m["tool_call_id"]) == m["name"], "tool message name matches its call"
            if turns[-1][0] == "results":
                turns[-1][1].append(m["content"])
            else:
                turns.append(("results", [m["content"]]))
        else:
            raise AssertionError(f"unknown role {role!r}")
    assert not pending, f"unanswered tool calls: {sorted(pending)}"
    return turns


def functions_and_turns(row: dict[str, Any]) -> tuple[list[dict[str, Any]], list[Turn]]:
    if fmt(row) == "glaive":
        return glaive_functions(row["system"]), glaive_turns(row["chat"])
    assert all(t["type"] == "function" for t in row["tools"])
    return [t["function"] for t in row["tools"]], openai_turns(row["messages"])


def calls_of(turns: list[Turn]) -> list[tuple[str, Any]]:
    return [call for kind, value in turns if kind == "calls" for call in value]


# ------------------------------------------------------------------ checks shared by both files


def check_record(row: dict[str, Any]) -> None:
    functions, turns = functions_and_turns(row)
    assert row["domain"] in DOMAINS
    by_name: dict[str, Draft202012Validator] = {}
    for f in functions:
        assert IDENTIFIER.match(f["name"]) and f["name"] not in by_name, f"bad or duplicate name {f['name']!r}"
        assert f["description"].strip(), "every function has a description"
        params = f["parameters"]
        Draft202012Validator.check_schema(params)
        assert params["type"] == "object" and set(params.get("required", [])) <= set(params["properties"])
        by_name[f["name"]] = Draft202012Validator(params, format_checker=Draft202012Validator.FORMAT_CHECKER)

    assert turns[0][0] == "user" and turns[-1][0] == "assistant", "starts with the user, ends with an answer"
    for (kind, value), (next_kind, next_value) in itertools.pairwise(turns):
        if kind == "calls":
            assert next_kind == "results" and len(next_value) == len(value), "every call is answered"
        if next_kind == "results":
            assert kind == "calls", "a function response follows a call"
    for kind, value in turns:
        if kind == "results":
            assert all(isinstance(json.loads(text), dict) for text in value), "function responses are JSON objects"
    for name, args in calls_of(turns):
        assert name in by_name, f"call to undeclared function {name!r}"
        errors = [e.message for e in by_name[name].iter_errors(args)]
        assert not errors, f"{name}: {errors}"

    shape, n_calls = row["shape"], len(calls_of(turns))
    texts = [v for k, v in turns if k == "assistant"]
    assert shape in SHAPES
    if shape == "single_call":
        assert n_calls == 1
    elif shape == "multi_call":
        assert n_calls >= 2
    elif shape == "clarify":
        assert turns[1][0] == "assistant" and re.search(r"[?？]", turns[1][1]) and n_calls >= 1, (
            "asks a question before the first call"
        )
    else:
        assert any(DECLINE.search(t) for t in texts), "the assistant says it cannot help"

    users = [v for k, v in turns if k == "user"]
    if row["language"] == "zh":
        assert all(CJK.search(t) for t in users + texts), "Chinese records speak Chinese in every turn"
    else:
        assert row["language"] == "en" and not any(CJK.search(t) for t in users)


# ------------------------------------------------------------------ eval set


@pytest.mark.parametrize("row", EVAL_ROWS, ids=[r["id"] for r in EVAL_ROWS])
def test_eval_record_is_well_formed(row: dict[str, Any]) -> None:
    check_record(row)


def test_evalset_counts_and_coverage() -> None:
    assert len(EVAL_ROWS) >= 48
    assert [r["id"] for r in EVAL_ROWS] == [f"eval-{i:03d}" for i in range(1, len(EVAL_ROWS) + 1)]
    per_domain = Counter(r["domain"] for r in EVAL_ROWS)
    assert set(per_domain) == DOMAINS and min(per_domain.values()) >= 2
    glaive = sum(fmt(r) == "glaive" for r in EVAL_ROWS) / len(EVAL_ROWS)
    assert 0.55 <= glaive <= 0.65, f"glaive share {glaive:.2f}"
    assert sum(r["language"] == "zh" for r in EVAL_ROWS) >= 8
    shapes = Counter(r["shape"] for r in EVAL_ROWS)
    assert set(shapes) == SHAPES and shapes["cannot_help"] >= 6
    assert any(not glaive_functions(r["system"]) for r in EVAL_ROWS if fmt(r) == "glaive"), "a zero-function system"
    assert any(len(glaive_functions(r["system"])) > 1 for r in EVAL_ROWS if fmt(r) == "glaive")
    assert any(
        len(v) > 1 for r in EVAL_ROWS if fmt(r) == "openai" for k, v in openai_turns(r["messages"]) if k == "calls"
    ), "a parallel call"


def test_split_follows_the_documented_rule() -> None:
    # within each domain, in id order: 1st, 3rd, 5th ... record -> train; 2nd, 4th ... -> dev
    position: Counter[str] = Counter()
    for row in EVAL_ROWS:
        expected = "train" if position[row["domain"]] % 2 == 0 else "dev"
        position[row["domain"]] += 1
        assert row["split"] == expected, row["id"]
    for domain in DOMAINS:
        splits = Counter(r["split"] for r in EVAL_ROWS if r["domain"] == domain)
        assert splits["train"] >= 1 and splits["dev"] >= 1 and abs(splits["train"] - splits["dev"]) <= 1, domain
    for split in ("train", "dev"):
        rows = [r for r in EVAL_ROWS if r["split"] == split]
        assert {r["domain"] for r in rows} == DOMAINS
        assert {r["language"] for r in rows} == {"en", "zh"} and {fmt(r) for r in rows} == {"glaive", "openai"}
        assert {r["shape"] for r in rows} == SHAPES


# ------------------------------------------------------------------ examples


@pytest.mark.parametrize("row", CHAT_EXAMPLES, ids=[r["id"] for r in CHAT_EXAMPLES])
def test_example_record_is_well_formed(row: dict[str, Any]) -> None:
    check_record(row)


def test_examples_mix() -> None:
    assert len(CHAT_EXAMPLES) == 8 and len({r["id"] for r in EXAMPLE_ROWS}) == len(EXAMPLE_ROWS)
    assert {fmt(r) for r in CHAT_EXAMPLES} == {"glaive", "openai"}
    assert any(r["language"] == "zh" for r in CHAT_EXAMPLES)
    assert any(r["shape"] == "cannot_help" for r in CHAT_EXAMPLES)
    assert len({r["domain"] for r in CHAT_EXAMPLES}) == 8
    scenarios = [r for r in EXAMPLE_ROWS if "scenario" in r]
    assert [s["id"] for s in scenarios] == ["scenario-1"] and scenarios[0]["scenario"].strip()
    assert not {"chat", "messages", "conversations"} & set(scenarios[0])


def test_examples_are_not_copied_from_the_evalset() -> None:
    eval_users = {v for r in EVAL_ROWS for k, v in functions_and_turns(r)[1] if k == "user"}
    assert not any(v in eval_users for r in CHAT_EXAMPLES for k, v in functions_and_turns(r)[1] if k == "user")
