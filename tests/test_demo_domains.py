"""The demo model's domain knowledge: every domain's clauses, schemas, simulations and detection.

Unit checks run over every registered domain; the end-to-end check runs the whole ButtonProgram on the
offline demo model for one scenario of each domain, in both languages, sequential and parallel.
"""

from __future__ import annotations

import json
import random
import re
from typing import Any

import dspy
import pytest
from jsonschema import Draft202012Validator

from toolsynth import demo_model
from toolsynth.demo_domains import DOMAINS, Capability, Domain, Reasoning, seeded
from toolsynth.demo_model import _domain_of, _match_capability, _match_reasoning, _typed

LANGS = ("en", "zh")
NEW_DOMAINS = (
    "news",
    "stocks",
    "passwords",
    "statistics",
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
)
BY_NAME = {d.name: d for d in DOMAINS}
CASES = [(d, lang) for d in DOMAINS for lang in LANGS]
IDS = [f"{d.name}-{lang}" for d, lang in CASES]
SEEDS = range(40)


def _first(domain: Domain) -> Capability:
    return domain.capability(domain.sequential[0][0])


def _sentence(clause: str, lang: str) -> str:
    return clause + "。" if lang == "zh" else clause[:1].upper() + clause[1:] + "."


def _sequential(first: str, then: str, lang: str) -> str:
    return f"请{first}，然后{then}。" if lang == "zh" else f"Please {first}, and then {then}."


def _parallel(first: str, partner: str, reason: str, lang: str) -> str:
    return (
        f"请{first}，并且{partner}，然后{reason}。" if lang == "zh" else f"Please {first} and {partner}, then {reason}."
    )


def _args(cap: Capability, values: dict[str, str]) -> dict[str, Any]:
    props = cap.parameters["properties"]
    return {k: _typed(v, props.get(k, {})) for k, v in values.items()}


def _run(cap: Capability, values: dict[str, str], feed: dict[str, Any], seed: int) -> tuple[dict[str, Any], Any]:
    args = {**_args(cap, values), **{k: feed[k] for k in cap.consumes}}
    return args, cap.simulate(args, seeded(seed, cap.name, json.dumps(args, sort_keys=True)))


def _scalars(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in _scalars(v)]
    if isinstance(value, list):
        return [s for v in value for s in _scalars(v)]
    if isinstance(value, bool) or value is None:
        return []
    return [f"{value:g}" if isinstance(value, float) else str(value)]


# --------------------------------------------------------------------------- registry and structure


def test_registry_lists_the_original_domains_first_then_the_new_ones() -> None:
    names = [d.name for d in DOMAINS]
    assert names[:3] == ["weather", "currency", "flights"]
    assert set(NEW_DOMAINS) <= set(names)
    assert len(names) == len(set(names))


def test_scenarios_are_distinct_across_all_domains() -> None:
    seen: dict[str, str] = {}
    for d in DOMAINS:
        for lang in LANGS:
            assert len(d.scenarios[lang]) >= 3, (d.name, lang)
            for s in d.scenarios[lang]:
                assert s not in seen, f"{s!r} is in both {seen[s]} and {d.name}"
                seen[s] = d.name


def test_function_names_are_unique_snake_case() -> None:
    names = [c.name for d in DOMAINS for c in d.capabilities]
    assert len(names) == len(set(names))
    assert all(re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)+", n) for n in names)


def test_reasoning_clauses_are_unique_and_not_nested() -> None:
    clauses = [r.clause[lang].lower() for d in DOMAINS for _, _, r in d.parallel for lang in LANGS]
    for i, a in enumerate(clauses):
        for j, b in enumerate(clauses):
            assert i == j or a not in b, (a, b)


@pytest.mark.parametrize("domain", DOMAINS, ids=[d.name for d in DOMAINS])
def test_domain_structure(domain: Domain) -> None:
    assert len(domain.capabilities) >= 2
    assert domain.sequential and domain.parallel
    first = _first(domain)
    assert first.slots, "the first capability's clause has slots"
    for a, b in domain.sequential:
        producer, consumer = domain.capability(a), domain.capability(b)
        assert consumer.consumes, f"{b} consumes a field of {a}'s result"
        produced = set(producer.returns["properties"])
        assert set(consumer.consumes) <= produced, f"{b} consumes {consumer.consumes}, {a} returns {produced}"
    for a, partner, reasoning in domain.parallel:
        assert isinstance(reasoning, Reasoning)
        domain.capability(a), domain.capability(partner)
    for cap in domain.capabilities:
        props = cap.parameters["properties"]
        assert cap.description.strip()
        assert set(cap.parameters["required"]) <= set(props)
        assert all(p.get("description") for p in props.values()), cap.name
        assert set(cap.slots) | set(cap.consumes) <= set(props), cap.name
        assert not set(cap.slots) & set(cap.consumes), cap.name
        assert set(cap.parameters["required"]) <= set(cap.slots) | set(cap.consumes), cap.name
        for lang in LANGS:
            assert set(re.findall(r"\{(\w+)\}", cap.clause[lang])) == set(cap.slots), (cap.name, lang)
            assert not cap.clause[lang].startswith("{"), "a clause starts with literal text"
            assert not re.search(r"\}\{", cap.clause[lang]), "adjacent slots need literal text between them"
        for slot in cap.slots.values():
            for lang in LANGS:
                assert len(set(slot.values[lang])) >= 2, "a parallel partner needs another value"


@pytest.mark.parametrize("domain", DOMAINS, ids=[d.name for d in DOMAINS])
def test_schemas_are_valid_json_schema(domain: Domain) -> None:
    for cap in domain.capabilities:
        Draft202012Validator.check_schema(cap.parameters)
        Draft202012Validator.check_schema(cap.returns)
        assert cap.parameters["type"] == "object" and cap.returns["type"] == "object"


# --------------------------------------------------------------------------- clauses read back


@pytest.mark.parametrize(("domain", "lang"), CASES, ids=IDS)
def test_clauses_round_trip(domain: Domain, lang: str) -> None:
    for cap in domain.capabilities:
        for seed in SEEDS:
            values = cap.fill(lang, random.Random(seed))
            clause = cap.render(values, lang)
            assert cap.find(clause, lang) == [values], clause
            sentence = _sentence(clause, lang)
            assert cap.find(sentence, lang) == [values], sentence
            # The demo model maps the subtask back to this very capability, not another domain's.
            matched = _match_capability(sentence, lang)
            assert matched is not None and matched[1].name == cap.name, (sentence, matched and matched[1].name)


@pytest.mark.parametrize(("domain", "lang"), CASES, ids=IDS)
def test_clauses_round_trip_inside_composite_instructions(domain: Domain, lang: str) -> None:
    for seed in SEEDS:
        rng = random.Random(seed)
        for a, b in domain.sequential:
            first, then = domain.capability(a), domain.capability(b)
            va, vb = first.fill(lang, rng), then.fill(lang, rng)
            text = _sequential(first.render(va, lang), then.render(vb, lang), lang)
            assert first.find(text, lang) == [va], text
            if then.slots:
                assert then.find(text, lang) == [vb], text
            else:
                assert then.clause[lang].lower() in text.lower()
            assert _match_reasoning(text, lang) is None, text
        for a, p, reasoning in domain.parallel:
            first, partner = domain.capability(a), domain.capability(p)
            va = first.fill(lang, rng)
            vp = partner.fill(lang, rng, avoid=va)
            text = _parallel(first.render(va, lang), partner.render(vp, lang), reasoning.clause[lang], lang)
            found = first.find(text, lang) if a == p else first.find(text, lang) + partner.find(text, lang)
            assert found == [va, vp], text
            assert _match_reasoning(text, lang) == (a, reasoning), text
            reason = _sentence(reasoning.clause[lang], lang)
            assert _match_capability(reason, lang) is None, f"a function would serve {reason!r}"
            assert _match_reasoning(reason, lang) == (a, reasoning)
            for _, b in domain.sequential:  # the consumer is not asked for in a parallel composite
                consumer = domain.capability(b)
                if b not in (a, p):
                    assert not consumer.find(text, lang) if consumer.slots else consumer.clause[lang] not in text


@pytest.mark.parametrize(("domain", "lang"), CASES, ids=IDS)
def test_a_withheld_value_is_still_read_as_that_slot(domain: Domain, lang: str) -> None:
    """The simulated user may hold one value back ("a value I will tell you"); the clause must still match."""
    vague = demo_model._VAGUE[lang]
    for seed in range(10):
        rng = random.Random(seed)
        for a, b in domain.sequential:
            first, then = domain.capability(a), domain.capability(b)
            values = first.fill(lang, rng)
            text = _sequential(first.render(values, lang), then.render(then.fill(lang, rng), lang), lang)
            matched = _match_capability(text, lang)
            assert matched is not None and matched[1].name == a, text
            for slot, value in values.items():
                shown = first.slots[slot].render(value, lang)
                if text.count(shown) != 1:
                    continue
                found = first.find(text.replace(shown, vague), lang)
                assert found == [{**values, slot: vague}], (text, slot)


# --------------------------------------------------------------------------- simulated results and answers


@pytest.mark.parametrize(("domain", "lang"), CASES, ids=IDS)
def test_simulated_results_fit_returns_and_answers_use_them(domain: Domain, lang: str) -> None:
    for a, b in domain.sequential:
        first, then = domain.capability(a), domain.capability(b)
        params = {c.name: Draft202012Validator(c.parameters) for c in (first, then)}
        returns = {c.name: Draft202012Validator(c.returns) for c in (first, then)}
        for seed in SEEDS:
            rng = random.Random(seed)
            args, result = _run(first, first.fill(lang, rng), {}, seed)
            assert not list(params[a].iter_errors(args)), args
            assert not list(returns[a].iter_errors(result)), (a, args, result)
            assert _run(first, first.fill(lang, random.Random(seed)), {}, seed)[1] == result, "deterministic"
            later_args, later = _run(then, then.fill(lang, rng), result, seed)
            assert not list(params[b].iter_errors(later_args)), later_args
            assert not list(returns[b].iter_errors(later)), (b, later_args, later)
            for cap, cargs, res in ((first, args, result), (then, later_args, later)):
                text = cap.summarize(cargs, res, lang)
                used = [s for s in _scalars(res) if len(s) >= 2 and s in text]
                assert used, f"{cap.name}'s answer {text!r} mentions no value of {res}"


@pytest.mark.parametrize(("domain", "lang"), CASES, ids=IDS)
def test_reasoning_compares_both_results(domain: Domain, lang: str) -> None:
    for a, p, reasoning in domain.parallel:
        first, partner = domain.capability(a), domain.capability(p)
        for seed in SEEDS:
            rng = random.Random(seed)
            va = first.fill(lang, rng)
            vp = partner.fill(lang, rng, avoid=va)
            results = [_run(first, va, {}, seed)[1], _run(partner, vp, {}, seed)[1]]
            text = reasoning.conclude(results, lang)
            assert text.strip()
            assert any(s in text for r in results for s in _scalars(r) if len(s) >= 2), (text, results)


# --------------------------------------------------------------------------- detection


@pytest.mark.parametrize("domain", DOMAINS, ids=[d.name for d in DOMAINS])
def test_keywords_route_text_to_their_domain(domain: Domain) -> None:
    assert any(re.search(r"[a-z]", k) for k in domain.keywords)
    assert any(re.search(r"[\u3400-\u9fff]", k) for k in domain.keywords)
    if domain.name not in NEW_DOMAINS:
        return
    for keyword in domain.keywords:
        assert _domain_of(f"Seed chat: {keyword}", 0).name == domain.name, keyword
    for lang in LANGS:
        for scenario in domain.scenarios[lang]:
            assert _domain_of(scenario, 0).name == domain.name  # exact text
            # Reworded a little, the scenario still routes by its own keywords.
            assert _domain_of(f"Seed: {scenario}", 0).name == domain.name, scenario


SEED_EXPECTATIONS = [
    ("book a flight", {"currency", "flights"}),
    ("news headlines", {"news"}),
    ("new password", {"passwords"}),
    ("find the median", {"statistics"}),
]


def test_shared_seed_chats_route_to_their_domains() -> None:
    from tests.support import shared_file

    rows = [json.loads(line) for line in shared_file("dataflow_chat_data.jsonl").read_text().splitlines() if line]
    checked = 0
    for row in rows:
        chat = str(row.get("chat", ""))
        for marker, expected in SEED_EXPECTATIONS:
            if marker in chat:
                checked += 1
                for text in (chat, f"{row.get('system', '')}\n{chat}"):
                    assert _domain_of(text, 0).name in expected, (marker, _domain_of(text, 0).name)
    assert checked >= len(SEED_EXPECTATIONS)


# --------------------------------------------------------------------------- end to end on the demo model

E2E = [(BY_NAME[n], lang, p) for n in NEW_DOMAINS for lang in LANGS for p in (0.0, 1.0)]


@pytest.mark.parametrize(
    ("domain", "lang", "ratio"), E2E, ids=[f"{d.name}-{lang}-{'parallel' if p else 'sequential'}" for d, lang, p in E2E]
)
def test_button_program_end_to_end(domain: Domain, lang: str, ratio: float) -> None:
    from toolsynth.programs import ButtonProgram

    scenario = domain.scenarios[lang][(len(domain.name) + int(ratio)) % len(domain.scenarios[lang])]
    seed = len(domain.name) * 7 + (lang == "zh")
    with dspy.context(lm=demo_model.demo_lm(seed), adapter=dspy.JSONAdapter()):
        out = ButtonProgram(expand=0, tasks_per_scenario=2, parallel_ratio=ratio)(scenario=scenario, source_id="t")
    problems = [f"{r.stage} {r.codes}: {r.message}" for r in out.rejections]
    assert not problems, problems
    assert len(out.samples) == 2
    for sample in out.samples:
        calls = [c for m in sample.messages for c in m.tool_calls]
        assert len(calls) >= 2, sample.to_openai()
        names = {c.name for c in calls}
        assert names <= {c.name for c in domain.capabilities}
        assert sample.messages[-1].role == "assistant" and sample.messages[-1].content
