"""The offline demo model: a DSPy LM engine that answers every toolsynth signature from its inputs.

It reads the prompt the adapter built (the input and output fields the system message declares, the
input values of the last user message), recognises which `toolsynth.signatures` signature it is for by
those fields (`signature_for`), and answers with that signature's handler from the small domain
knowledge in `demo_domains`: a weather seed gives weather scenarios, tasks, functions whose parameters
fit, calls whose arguments validate and tool results the final answer uses. Answers vary with the seed
and are deterministic for a given seed and input. It is a stand-in for trying and testing the pipeline
without a key or a network; it shows nothing about the quality a real model reaches.

It fails loudly rather than answer a toolsynth prompt wrongly: a toolsynth signature with no handler, an
input its handler needs that the prompt does not give, or an output the handler leaves out raise
`DemoModelError`. Prompts of other programs (an optimizer's own) get a generic, well-typed placeholder
unless `other_signatures` answers them (`toolsynth.demo_optimizer_replies`).
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import dspy
from dspy.lm15 import Message as LMMessage
from dspy.lm15 import Response, TextPart, Usage

from toolsynth import demo_tools
from toolsynth.demo_domains import DOMAINS, Capability, Domain, Lang, Reasoning, Result, seeded
from toolsynth.demo_domains.base import _t
from toolsynth.language import CJK as _CJK
from toolsynth.lm import DEMO_MODEL_NAME
from toolsynth.signatures import (
    AssistantTurn,
    ComposeParallelThenSequential,
    ComposeSequential,
    ExpandScenario,
    ExtendChain,
    ExtractScenario,
    GenerateAtomicTask,
    GenerateFunctions,
    GenerateNearMisses,
    JudgeComposition,
    JudgeSample,
    SelectFunctions,
    SimulateTool,
    SimulateUser,
    WidenParallel,
)

_VAGUE = {"en": "a value I will tell you", "zh": "我稍后告诉你的那个"}
_FIELD_LINE = re.compile(r"^\d+\. `(\w+)` \(([^)]*)\)", re.MULTILINE)
_INPUT_BLOCK = re.compile(r"\[\[ ## (\w+) ## \]\]\n")


def language_of(text: str) -> Lang:
    """The demo's two languages: Chinese if the text has CJK characters, else English."""
    return "zh" if _CJK.search(text) else "en"


class DemoModelError(dspy.LMConfigurationError):
    """The demo model cannot answer a toolsynth prompt: its signature has no handler, the prompt lacks an input
    the handler needs, or the handler left out an output. A configuration error: a run stops at once."""

    def __init__(self, message: str) -> None:
        super().__init__(message, model=DEMO_MODEL_NAME)


class Inputs(dict[str, Any]):
    """A prompt's input values by field name. Asking for one the prompt does not give raises `DemoModelError`
    naming it, so a renamed input never silently reads as empty."""

    def __init__(self, values: Mapping[str, Any], signature: str) -> None:
        super().__init__(values)
        self.signature = signature

    def __missing__(self, name: str) -> Any:
        given = ", ".join(self) or "none"
        raise DemoModelError(
            f"the demo model's answer to {self.signature} needs the input {name!r}, which the prompt does not give "
            f"(it gives: {given})"
        )


def _language_asked(inputs: Inputs, text: str) -> Lang:
    """The language the `language` input names, or the text's language when that input is empty."""
    asked = inputs["language"]
    if not asked:
        return language_of(text)
    named = str(asked).lower()
    return "zh" if ("chinese" in named or "zh" in named or _CJK.search(named)) else "en"


# --------------------------------------------------------------------------- knowledge look-ups

_SCENARIO_DOMAIN = {s: d for d in DOMAINS for lang in d.scenarios for s in d.scenarios[lang]}
_CAPABILITIES = {c.name: c for d in DOMAINS for c in d.capabilities}


def _domain_of(text: str, salt: object) -> Domain:
    if text.strip() in _SCENARIO_DOMAIN:
        return _SCENARIO_DOMAIN[text.strip()]
    lowered = text.lower()
    scores = [(sum(lowered.count(k) for k in d.keywords), -i) for i, d in enumerate(DOMAINS)]
    best_score, best = max(scores)
    if best_score > 0:
        return DOMAINS[-best]
    return DOMAINS[seeded(salt, text).randrange(len(DOMAINS))]


def _first_capabilities(domain: Domain) -> list[Capability]:
    starts = {a for a, _ in domain.sequential} & {a for a, _, _ in domain.parallel}
    return [c for c in domain.capabilities if c.name in starts]


def _match_capability(text: str, lang: Lang) -> tuple[Domain, Capability, dict[str, str]] | None:
    for domain in DOMAINS:
        for cap in domain.capabilities:
            found = cap.find(text, lang)
            if found:
                return domain, cap, found[0]
    return None


def _match_reasoning(text: str, lang: Lang) -> tuple[str, Reasoning] | None:
    for domain in DOMAINS:
        for first, _, reasoning in domain.parallel:
            clauses = [reasoning.clause[lang], *([reasoning.many[lang]] if reasoning.many else [])]
            if any(c.lower() in text.lower() for c in clauses):
                return first, reasoning
    return None


def _combines_many(reasoning: Reasoning, text: str, lang: Lang) -> bool:
    """Whether `text` asks the reasoning over three results (its `many` clause) rather than two."""
    return bool(reasoning.many) and reasoning.many[lang].lower() in text.lower()


def _domain_with(capability: str) -> Domain:
    return next(d for d in DOMAINS if any(c.name == capability for c in d.capabilities))


def _sentence(clause: str, lang: Lang) -> str:
    return clause + "。" if lang == "zh" else clause[:1].upper() + clause[1:] + "."


def _field_schemas(properties: dict[str, Any]) -> dict[str, Any]:
    """Each argument's schema by name, the fields of object (or array-of-object) parameters among them."""
    out: dict[str, Any] = {}
    for name, schema in properties.items():
        inner = _object_schema(schema)
        if inner is not None:
            out.update(inner.get("properties", {}))
        else:
            out[name] = schema
    return out


def _object_schema(schema: Any) -> dict[str, Any] | None:
    """The object schema a parameter takes: itself if an object, its items if an array of objects, else None."""
    if not isinstance(schema, dict):
        return None
    if schema.get("type") == "array":
        schema = schema.get("items")
    if isinstance(schema, dict) and schema.get("type") == "object" and isinstance(schema.get("properties"), dict):
        return schema
    return None


def _nest(flat: dict[str, Any], properties: dict[str, Any]) -> dict[str, Any]:
    """Flat arguments shaped to a function's parameters: fields of an object parameter grouped into it (into a
    one-item array for an array of objects); the others left as they are."""
    out = dict(flat)
    for name, schema in properties.items():
        inner = _object_schema(schema)
        if inner is None or name in flat:
            continue
        group = {k: out.pop(k) for k in inner["properties"] if k in out}
        if group:
            out[name] = [group] if schema.get("type") == "array" else group
    return out


def _flatten(arguments: dict[str, Any]) -> dict[str, Any]:
    """Nested arguments back to flat ones: an object's fields (an array's first object's) at the top level."""
    out: dict[str, Any] = {}
    for name, value in arguments.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            value = value[0]
        if isinstance(value, dict):
            out.update(value)
        else:
            out[name] = value
    return out


def _typed(value: str, schema: dict[str, Any]) -> Any:
    kind = schema.get("type")
    try:
        if kind == "integer":
            return int(value)
        if kind == "number":
            return int(value) if re.fullmatch(r"-?\d+", value) else float(value)
    except ValueError:
        return value
    return value


# --------------------------------------------------------------------------- the stages


def _extract_scenario(inputs: Inputs, seed: int) -> dict[str, Any]:
    chat = str(inputs["chat"])
    tools = demo_tools.grounded_tools(inputs)
    if tools is not None:
        return {"scenario": demo_tools.scenario(tools, seeded(seed, "tool-scenario", chat))}
    lang = language_of(chat)
    domain = _domain_of(chat, seed)
    options = domain.scenarios[lang]
    return {"scenario": options[seeded(seed, "scenario", chat).randrange(len(options))]}


def _expand_scenario(inputs: Inputs, seed: int) -> dict[str, Any]:
    scenario = str(inputs["scenario"])
    tools = demo_tools.grounded_tools(inputs)
    if tools is not None:
        count = max(0, int(inputs["count"]))
        return {"scenarios": demo_tools.scenarios(tools, scenario, count, seeded(seed, "tool-expand", scenario))}
    lang = language_of(scenario)
    domain = _domain_of(scenario, seed)
    others = [s for s in domain.scenarios[lang] if s != scenario.strip()]
    seeded(seed, "expand", scenario).shuffle(others)
    return {"scenarios": others[: max(0, int(inputs["count"]))]}


def _atomic_tasks(inputs: Inputs, seed: int) -> dict[str, Any]:
    scenario = str(inputs["scenario"])
    tools = demo_tools.grounded_tools(inputs)
    if tools is not None:
        count = max(0, int(inputs["count"]))
        return {"tasks": demo_tools.atomic_tasks(tools, scenario, count, seeded(seed, "tool-tasks", scenario))}
    lang = _language_asked(inputs, scenario)
    domain = _domain_of(scenario, seed)
    rng = seeded(seed, "tasks", scenario)
    firsts = _first_capabilities(domain)
    rng.shuffle(firsts)
    tasks: list[str] = []
    for i in range(max(0, int(inputs["count"]))):
        cap = firsts[i % len(firsts)]
        for _ in range(10):
            task = _sentence(cap.render(cap.fill(lang, rng), lang), lang)
            if task not in tasks:
                break
        tasks.append(task)
    return {"tasks": tasks}


def _compose(inputs: Inputs, seed: int, parallel: bool) -> dict[str, Any]:
    task = str(inputs["task"])
    tools = demo_tools.grounded_tools(inputs)
    if tools is not None:
        return demo_tools.compose(tools, task, parallel, seeded(seed, "tool-compose", parallel, task))
    lang = _language_asked(inputs, task)
    rng = seeded(seed, "compose", parallel, task)
    matched = _match_capability(task, lang)
    if matched is None:  # The demo only composes tasks it wrote itself.
        out = {"subsequent_task": "", "composite_instruction": ""}
        return {**out, "parallel_task": ""} if parallel else out
    domain, cap, values = matched
    first_clause = cap.render(values, lang)
    if not parallel:
        then = domain.capability(rng.choice([b for a, b in domain.sequential if a == cap.name]))
        then_clause = then.render(then.fill(lang, rng), lang)
        composite = (
            f"请{first_clause}，然后{then_clause}。"
            if lang == "zh"
            else f"Please {first_clause}, and then {then_clause}."
        )
        return {"subsequent_task": _sentence(then_clause, lang), "composite_instruction": composite}
    partner_name, reasoning = rng.choice([(p, r) for a, p, r in domain.parallel if a == cap.name])
    partner = domain.capability(partner_name)
    partner_clause = partner.render(partner.fill(lang, rng, avoid=values), lang)
    reason_clause = reasoning.clause[lang]
    composite = (
        f"请{first_clause}，并且{partner_clause}，然后{reason_clause}。"
        if lang == "zh"
        else f"Please {first_clause} and {partner_clause}, then {reason_clause}."
    )
    return {
        "parallel_task": _sentence(partner_clause, lang),
        "subsequent_task": _sentence(reason_clause, lang),
        "composite_instruction": composite,
    }


def _widen(inputs: Inputs, seed: int) -> dict[str, Any]:
    """A third independent step of the same capability, and the reasoning over all three (domains whose reasoning
    has a `rank` and a `many` clause); empty outputs otherwise."""
    request = str(inputs["request"])
    lang = _language_asked(inputs, request)
    empty = {"parallel_task": "", "subsequent_task": "", "composite_instruction": ""}
    *independent, (_, last) = _step_texts(inputs) or [(0, "")]
    found = _match_reasoning(last, lang)
    if found is None or found[1].rank is None or not found[1].many or len(independent) != 2:
        return empty
    first, reasoning = found
    matched = [_match_capability(text, lang) for _, text in independent]
    clauses = [m[1].render(m[2], lang) for m in matched if m is not None and m[1].name == first]
    if len(clauses) != len(independent):
        return empty
    cap, rng = _CAPABILITIES[first], seeded(seed, "widen", request)
    fresh = [c for c in (cap.render(cap.fill(lang, rng), lang) for _ in range(20)) if c not in clauses]
    if not fresh:
        return empty
    combine = reasoning.many[lang]
    composite = (
        f"请{clauses[0]}，{clauses[1]}，并且{fresh[0]}，然后{combine}。"
        if lang == "zh"
        else f"Please {clauses[0]}, {clauses[1]} and {fresh[0]}, then {combine}."
    )
    return {
        "parallel_task": _sentence(fresh[0], lang),
        "subsequent_task": _sentence(combine, lang),
        "composite_instruction": composite,
    }


def _extend(inputs: Inputs, seed: int) -> dict[str, Any]:
    """After a comparison (a reasoning with a `rank`), the domain's next step applied to the winner; empty outputs
    after any other last step."""
    request = str(inputs["request"])
    lang = _language_asked(inputs, request)
    steps = _step_texts(inputs)
    found = _match_reasoning(steps[-1][1], lang) if steps else None
    if found is None or found[1].rank is None:
        return {"next_task": "", "composite_instruction": ""}
    domain = _domain_with(found[0])
    then = domain.capability(next(b for a, b in domain.sequential if a == found[0]))
    clause = then.render(then.fill(lang, seeded(seed, "extend", request)), lang)
    stem = request.strip().rstrip(".。")
    composite = f"{stem}，然后{clause}。" if lang == "zh" else f"{stem}, and then {clause}."
    return {"next_task": _sentence(clause, lang), "composite_instruction": composite}


def _subtask_texts(inputs: Inputs) -> list[tuple[int, str]]:
    subtasks = inputs["subtasks"] or []
    out = []
    for i, s in enumerate(subtasks if isinstance(subtasks, list) else []):
        if isinstance(s, dict):
            out.append((int(s.get("id", i + 1)), str(s.get("instruction", ""))))
    return out


_STEP_LINE = re.compile(r"^(\d+)\. (.*?)(?: \(uses the results? of steps? [\d and]+\))?$", re.MULTILINE)


def _step_texts(inputs: Inputs) -> list[tuple[int, str]]:
    """The judge's numbered steps (`CompositeTask.steps_text`) as (id, instruction)."""
    return [(int(number), text) for number, text in _STEP_LINE.findall(str(inputs["steps"]))]


def _judge(inputs: Inputs, seed: int) -> dict[str, Any]:
    steps = _step_texts(inputs)
    tools = demo_tools.grounded_tools(inputs)
    if tools is not None:
        feasible, reasons = demo_tools.feasible(tools, [text for _, text in steps])
        return {"reasons": reasons, "feasible": feasible}
    unknown = [
        sid
        for sid, text in steps
        if _match_capability(text, language_of(text)) is None and _match_reasoning(text, language_of(text)) is None
    ]
    if unknown or not steps:
        return {"reasons": f"Subtasks {unknown} are not concrete enough to map to a function call.", "feasible": False}
    return {"reasons": "Every subtask is concrete and the dependencies are real.", "feasible": True}


def _functions(inputs: Inputs, seed: int) -> dict[str, Any]:
    specs: dict[str, dict[str, Any]] = {}
    mapping: list[dict[str, Any]] = []
    for sid, text in _subtask_texts(inputs):
        matched = _match_capability(text, language_of(text))
        if matched is None:
            mapping.append({"subtask": sid, "function": None})
            continue
        cap = matched[1]
        specs.setdefault(cap.name, cap.spec(nested=str(inputs["nested_parameters"]).lower() == "true"))
        mapping.append({"subtask": sid, "function": cap.name})
    return {"functions": list(specs.values()), "subtask_functions": mapping}


def _select_functions(inputs: Inputs, seed: int) -> dict[str, Any]:
    library = demo_tools.grounded_tools(inputs, "library") or []
    return {"subtask_functions": demo_tools.select(library, _subtask_texts(inputs))}


def _messages(inputs: Inputs) -> list[dict[str, Any]]:
    conv = inputs["conversation"]
    return [m for m in conv if isinstance(m, dict)] if isinstance(conv, list) else []


def _withhold(task: str, withheld: str, lang: Lang) -> str:
    """The task with the value of the parameter `withheld` names ("city (City name)") replaced by a vague phrase;
    the task unchanged when the demo cannot find that value exactly once."""
    name = withheld.split(" (", 1)[0].strip()
    stated = demo_tools.withhold(task, name, _VAGUE[lang])
    if stated is not None:  # a task over a tool library states its values as `name "value"`
        return stated
    for domain in DOMAINS:
        for cap in domain.capabilities:
            if name not in cap.slots:
                continue
            for values in cap.find(task, lang):
                shown = cap.slots[name].render(values[name], lang)
                if task.count(shown) == 1:
                    return task.replace(shown, _VAGUE[lang])
    return task


def _simulate_user(inputs: Inputs, seed: int) -> dict[str, Any]:
    task = str(inputs["composite_task"])
    lang = _language_asked(inputs, task)
    conversation = _messages(inputs)
    follow_up = str(inputs["follow_up"] or "").strip()
    if not conversation:
        rng = seeded(seed, "user", task)
        withheld = str(inputs["withheld"] or "").strip()
        opening = _withhold(task, withheld, lang) if withheld else task
        greeting = rng.choice(["你好！", "您好，"] if lang == "zh" else ["Hi! ", "Hello! ", ""])
        return {"message": greeting + opening, "task_complete": False}
    last = conversation[-1]
    content = str(last.get("content") or "")
    if last.get("role") == "assistant" and content.rstrip().endswith(("?", "？")):
        first_user = next((str(m.get("content", "")) for m in conversation if m.get("role") == "user"), "")
        value = _recover_vague_value(first_user, task, lang)
        if value is not None:
            return {"message": f"是{value}。" if lang == "zh" else f"It's {value}.", "task_complete": False}
        return {"message": task, "task_complete": False}
    if last.get("role") == "assistant" and content and not last.get("tool_calls"):
        asked = " ".join(str(m.get("content") or "") for m in conversation if m.get("role") == "user")
        body = follow_up[:1].lower() + follow_up[1:] if lang == "en" else follow_up
        if follow_up and body not in asked:
            leads = ["接下来，", "好的，那么"] if lang == "zh" else ["Great, now ", "Thanks. Next, ", "OK, and now "]
            return {"message": seeded(seed, "follow_up", follow_up).choice(leads) + body, "task_complete": False}
        return {
            "message": "谢谢，这正是我需要的！" if lang == "zh" else "Thanks, that's all I needed!",
            "task_complete": True,
        }
    return {"message": "请继续。" if lang == "zh" else "Please go on.", "task_complete": False}


def _recover_vague_value(opening: str, task: str, lang: Lang) -> str | None:
    vague = _VAGUE[lang]
    if vague not in opening:
        return None
    after_greeting = opening[opening.find(task[:1]) :] if task else opening
    head, _, tail = after_greeting.partition(vague)
    match = re.search(re.escape(head[-20:]) + "(.+?)" + re.escape(tail[:20]), task)
    return match.group(1) if match else None


@dataclass
class _Done:
    name: str
    arguments: dict[str, Any]
    result: Result


def _done_calls(conversation: list[dict[str, Any]]) -> list[_Done]:
    results = {m.get("tool_call_id"): m.get("content") for m in conversation if m.get("role") == "tool"}
    done = []
    for m in conversation:
        for call in m.get("tool_calls") or []:
            fn = call.get("function", call)
            args = fn.get("arguments", {})
            if isinstance(args, str):
                try:
                    args = json.loads(args)
                except json.JSONDecodeError:
                    args = {}
            raw = results.get(call.get("id"))
            if raw is None:
                continue
            try:
                result = json.loads(raw) if isinstance(raw, str) else raw
            except json.JSONDecodeError:
                result = {"text": raw}
            done.append(_Done(str(fn.get("name")), args, result if isinstance(result, dict) else {}))
    return done


def _assistant(inputs: Inputs, seed: int) -> dict[str, Any]:
    conversation = _messages(inputs)
    raw_tools = inputs["tools"]
    tools: list[Any] = raw_tools if isinstance(raw_tools, list) else []
    users = [str(m.get("content") or "") for m in conversation if m.get("role") == "user"]
    text = " ".join(users)
    lang = _language_asked(inputs, text)
    vague = _VAGUE[lang]
    if vague in text:
        answers = [re.fullmatch(r"(?:It's |是)(.+?)[.。]", u.strip()) for u in users[1:]]
        value = next((a.group(1) for a in answers if a), None)
        if value is None:
            return {"content": _clarifying_question(users[0], lang), "tool_calls": []}
        text = users[0].replace(vague, value)

    done = _done_calls(conversation)
    reasoning = _match_reasoning(text, lang)
    pending: list[dict[str, Any]] = []
    waiting = False
    usable = False
    offered: list[dict[str, Any]] = []
    for tool in tools:
        fn = tool.get("function", tool) if isinstance(tool, dict) else {}
        offered.append(fn)
        cap = _capability_of(fn)
        if cap is None:
            continue
        instances = _instances(cap, text, lang)
        props = (fn.get("parameters") or {}).get("properties", {})
        fields = _field_schemas(props)
        for values in instances:
            usable = True
            args = {k: _typed(v, fields.get(k, {})) for k, v in values.items()}
            feeds = [d.result for d in done if all(k in d.result for k in cap.consumes)]
            if cap.consumes and reasoning is not None and reasoning[1].rank is not None:
                feeds = _winner_feed(reasoning, done, text, lang)
            if cap.consumes and not feeds:
                waiting = True
                continue
            if cap.consumes:
                args.update({k: feeds[-1][k] for k in cap.consumes})
            args = _nest(args, props)
            if not any(d.name == cap.name and d.arguments == args for d in done):
                pending.append({"name": cap.name, "arguments": args})
    grounded = False
    if offered and all(_capability_of(fn) is None for fn in offered):  # maybe a user's tool library
        found, grounded, lib_waiting = demo_tools.calls(offered, text, [(d.name, d.arguments, d.result) for d in done])
        if grounded:  # the request states what these functions do: read it from their schemas
            usable, waiting = True, lib_waiting
            pending += found
    if pending:
        return {"content": "", "tool_calls": pending}
    names = {str(fn.get("name")) for fn in offered}
    cannot = [
        cap.render(values, lang)
        for cap in _CAPABILITIES.values()
        if cap.name not in names and not grounded
        for values in _instances(cap, text, lang)
    ]
    if not usable or (waiting and not done):
        if reasoning is not None:
            cannot.append(reasoning[1].clause[lang])
        return {"content": _cannot_text(cannot, offered, lang), "tool_calls": []}
    by_name = {str(fn.get("name")): fn for fn in offered}
    parts = []
    for d in done:
        fn = by_name.get(d.name, {})
        cap = _CAPABILITIES.get(d.name) if not grounded else None
        if cap is not None:
            parts.append(cap.summarize(_flatten(d.arguments), d.result, lang))
        elif fn:
            parts.append(demo_tools.summary(fn, d.result))
    if reasoning is not None:
        first, rule = reasoning
        inputs_for_rule = [d.result for d in done if d.name == first]
        if _combines_many(rule, text, lang) and len(inputs_for_rule) >= 3:
            parts.append(rule.conclude_many(inputs_for_rule[-3:], lang))
        elif len(inputs_for_rule) >= 2:
            parts.append(rule.conclude(inputs_for_rule[-2:], lang))
        elif first not in names:
            cannot.append(rule.clause[lang])
    if cannot:
        parts.append(_cannot_text(cannot, [], lang))
    return {"content": (" " if lang == "en" or grounded else "").join(parts), "tool_calls": []}


def _capability_of(fn: dict[str, Any]) -> Capability | None:
    """The demo capability an offered function is: same name, description and parameter names, flat or nested (a
    library function that only shares a capability's name and description is not one)."""
    cap = _CAPABILITIES.get(str(fn.get("name")))
    if cap is None or fn.get("description") != cap.description:
        return None
    raw = fn.get("parameters")
    properties = raw.get("properties") if isinstance(raw, dict) else None
    forms = [cap.parameters, *([cap.nested_parameters()] if cap.nesting else [])]
    names = set(properties) if isinstance(properties, dict) else set()
    return cap if any(names == set(form["properties"]) for form in forms) else None


def _winner_feed(reasoning: tuple[str, Reasoning], done: list[_Done], text: str, lang: Lang) -> list[Result]:
    """A step after a comparison consumes the winner's result, once every compared result is in."""
    first, rule = reasoning
    compared = [d.result for d in done if d.name == first]
    expected = len(_instances(_CAPABILITIES[first], text, lang))
    return [rule.winner(compared)] if compared and len(compared) >= expected else []


def _instances(cap: Capability, text: str, lang: Lang) -> list[dict[str, str]]:
    """The capability's clause in `text`, as slot values (one empty set for a clause without slots)."""
    if cap.slots:
        return cap.find(text, lang)
    return [{}] if cap.clause[lang].lower() in text.lower() else []


def _cannot_text(cannot: list[str], offered: list[dict[str, Any]], lang: Lang) -> str:
    """What the assistant cannot do with its tools and, when it did nothing, what its tools can do."""
    what = (
        ("、".join(cannot) if lang == "zh" else " or ".join(cannot)) if cannot else _t(lang, "do that", "完成这个请求")
    )
    text = f"抱歉，我现有的工具无法{what}。" if lang == "zh" else f"I'm sorry, I can't {what} with the tools I have."
    uses = [str(fn.get("description") or "").rstrip(".") for fn in offered[:3] if fn.get("description")]
    if uses:
        joined = "; ".join(u[:1].lower() + u[1:] for u in uses)
        text += f"我能做的是：{joined}。" if lang == "zh" else f" What I can do: {joined}."
    return text


def _clarifying_question(opening: str, lang: Lang) -> str:
    for domain in DOMAINS:
        for cap in domain.capabilities:
            for values in cap.find(opening, lang):
                for slot, value in values.items():
                    if _VAGUE[lang] in value:
                        if lang == "zh":  # parameter descriptions are English; ask about the user's own words
                            return f"好的。请问您说的“{_VAGUE[lang]}”具体是什么？"
                        desc = str(cap.parameters["properties"][slot].get("description", slot))
                        if desc[1:2].islower():
                            desc = desc[:1].lower() + desc[1:]
                        return f"Sure, could you tell me the {desc}?"
    return "请问具体是哪一个？" if lang == "zh" else "Could you give me the missing detail?"


def _simulate_tool(inputs: Inputs, seed: int) -> dict[str, Any]:
    raw_fn, raw_args = inputs["function"], inputs["arguments"]
    fn: dict[str, Any] = raw_fn if isinstance(raw_fn, dict) else {}
    name = str(fn.get("name", ""))
    args: dict[str, Any] = raw_args if isinstance(raw_args, dict) else {}
    for earlier in inputs["earlier_results"] or []:
        if isinstance(earlier, dict) and earlier.get("name") == name and earlier.get("arguments") == args:
            return {"result": earlier.get("result", {})}
    cap = _CAPABILITIES.get(name)
    if cap is None:
        return {"result": {"error": f"unknown function {name}"}}
    try:
        return {"result": cap.simulate(_flatten(args), seeded(seed, name, json.dumps(args, sort_keys=True)))}
    except (KeyError, TypeError, ValueError) as exc:
        return {"result": {"error": f"invalid arguments: {exc}"}}


def _near_miss(fn: dict[str, Any], kind: str) -> dict[str, Any]:
    """One near-miss of `fn`: a history over a date range, a queued batch of requests (an array of the original
    arguments), or a scheduled run; each does another job than `fn` and returns something else."""
    name, desc = str(fn.get("name", "function")), str(fn.get("description", "")).rstrip(".")
    raw = fn.get("parameters")
    params: dict[str, Any] = raw if isinstance(raw, dict) else {"type": "object", "properties": {}}
    props: dict[str, Any] = dict(params.get("properties") or {})
    required: list[Any] = list(params.get("required") or [])
    lowered = desc[:1].lower() + desc[1:]
    date = {"type": "string", "description": "Date, YYYY-MM-DD"}
    if kind == "history":
        return {
            "name": f"{name}_history",
            "description": f"Past records only, over a date range (no live or current data): {lowered}.",
            "parameters": {
                "type": "object",
                "properties": {**props, "start_date": date, "end_date": date},
                "required": [*required, "start_date", "end_date"],
            },
            "returns": {
                "type": "object",
                "properties": {
                    "records": {"type": "array", "items": fn.get("returns") or {"type": "object"}},
                    "count": {"type": "integer"},
                },
                "required": ["records", "count"],
            },
        }
    if kind == "batch":
        return {
            "name": f"{name}_batch",
            "description": f"Queue several requests for offline processing; returns a job id, not results: {lowered}.",
            "parameters": {
                "type": "object",
                "properties": {
                    "requests": {"type": "array", "description": "The requests to queue", "items": params},
                    "notify_email": {"type": "string", "description": "Where to send the results"},
                },
                "required": ["requests", "notify_email"],
            },
            "returns": {
                "type": "object",
                "properties": {"job_id": {"type": "string"}, "queued": {"type": "integer"}},
                "required": ["job_id", "queued"],
            },
        }
    return {
        "name": f"schedule_{name}",
        "description": f"Schedule this to run later at a set time and return a schedule id, not its result: {lowered}.",
        "parameters": {
            "type": "object",
            "properties": {**props, "run_at": {"type": "string", "description": "When to run, ISO 8601 date-time"}},
            "required": [*required, "run_at"],
        },
        "returns": {
            "type": "object",
            "properties": {"schedule_id": {"type": "string"}, "run_at": {"type": "string"}},
            "required": ["schedule_id", "run_at"],
        },
    }


def _near_misses(inputs: Inputs, seed: int) -> dict[str, Any]:
    given = [f for f in inputs["functions"] or [] if isinstance(f, dict) and f.get("name")]
    count = max(1, int(inputs["count"] or 1))
    kinds = ["history", "batch", "schedule"]
    seeded(seed, "near", json.dumps([f.get("name") for f in given])).shuffle(kinds)
    taken = {str(f["name"]) for f in given} | set(_CAPABILITIES)
    out: list[dict[str, Any]] = []
    resembles: list[str] = []
    for i in range(count * len(kinds)):
        if len(out) >= count or not given:
            break
        fn = given[i % len(given)]
        near = _near_miss(fn, kinds[(i // len(given)) % len(kinds)])
        if near["name"] not in taken:
            taken.add(near["name"])
            out.append(near)
            resembles.append(str(fn["name"]))
    return {"near_misses": out, "resembles": resembles}


def _judge_sample(inputs: Inputs, seed: int) -> dict[str, Any]:
    """Accomplished when the conversation ends in an answer; faithful when that answer quotes a result."""
    conversation = _messages(inputs)
    last = conversation[-1] if conversation else {}
    answer = str(last.get("content") or "") if last.get("role") == "assistant" else ""
    values = [str(v) for d in _done_calls(conversation) for v in d.result.values() if isinstance(v, str | int | float)]
    accomplished = bool(answer) and bool(values)
    faithful = any(v in answer for v in values)
    reasons = (
        "The final answer completes the task and quotes the tool results."
        if accomplished and faithful
        else "The final answer does not use the tool results."
        if accomplished
        else "The conversation does not end with an answer built on tool results."
    )
    return {"reasons": reasons, "accomplished": accomplished, "faithful": faithful}


Handler = Callable[[Inputs, int], dict[str, Any]]
"""Answers one prompt: (input values, the model's seed) → output values by field name."""

STAGE_HANDLERS: dict[type[dspy.Signature], Handler] = {
    ExtractScenario: _extract_scenario,
    ExpandScenario: _expand_scenario,
    GenerateAtomicTask: _atomic_tasks,
    ComposeSequential: lambda i, s: _compose(i, s, parallel=False),
    ComposeParallelThenSequential: lambda i, s: _compose(i, s, parallel=True),
    WidenParallel: _widen,
    ExtendChain: _extend,
    JudgeComposition: _judge,
    GenerateFunctions: _functions,
    GenerateNearMisses: _near_misses,
    SelectFunctions: _select_functions,
    SimulateUser: _simulate_user,
    AssistantTurn: _assistant,
    SimulateTool: _simulate_tool,
    JudgeSample: _judge_sample,
}
"""The demo's answer to each signature of `toolsynth.signatures` (a test checks that none is missing)."""


# --------------------------------------------------------------------------- prompt in, text out


@dataclass(frozen=True)
class Prompt:
    """An adapter-formatted prompt as the demo reads it: the fields its system message declares, in order, and
    the input values of its last user message."""

    inputs: tuple[str, ...]
    outputs: tuple[tuple[str, str], ...]
    """(name, type as the adapter writes it)."""
    values: dict[str, Any]
    wants_json: bool

    @classmethod
    def read(cls, messages: list[dict[str, Any]]) -> Prompt:
        system = next((str(m.get("content") or "") for m in messages if m.get("role") == "system"), "")
        user = next((str(m.get("content") or "") for m in reversed(messages) if m.get("role") == "user"), "")
        declared_inputs, _, rest = system.partition("Your output fields are:")
        declared_outputs = rest.split("All interactions", 1)[0]
        return cls(
            inputs=tuple(name for name, _ in _FIELD_LINE.findall(declared_inputs.split("Your input fields are:")[-1])),
            outputs=tuple(_FIELD_LINE.findall(declared_outputs)),
            values=_parse_inputs(user),
            wants_json="Outputs will be a JSON object" in system,
        )

    @property
    def output_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.outputs)


@dataclass(frozen=True)
class SignatureShape:
    """A signature's input and output field names, as its prompts declare them."""

    signature: type[dspy.Signature]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]

    @classmethod
    def of(cls, signature: type[dspy.Signature]) -> SignatureShape:
        return cls(signature, tuple(signature.input_fields), tuple(signature.output_fields))

    @property
    def size(self) -> int:
        return len(self.inputs) + len(self.outputs)

    def fits(self, prompt: Prompt) -> bool:
        """The prompt declares this signature's inputs, maybe followed by more (a repair's `feedback`), and its
        outputs, maybe preceded by more (`dspy.ChainOfThought`'s `reasoning`)."""
        extra = len(prompt.outputs) - len(self.outputs)
        return (
            extra >= 0
            and prompt.output_names[extra:] == self.outputs
            and prompt.inputs[: len(self.inputs)] == self.inputs
        )


_signatures = importlib.import_module("toolsynth.signatures")  # typed as a module (its folder is `signatures/`)
TOOLSYNTH_SHAPES = tuple(SignatureShape.of(getattr(_signatures, name)) for name in _signatures.__all__)


def signature_for(prompt: Prompt) -> type[dspy.Signature] | None:
    """The `toolsynth.signatures` signature a prompt is for, or None for another program's prompt.

    Instructions are not compared (optimizers rewrite them); fields are. Where several signatures fit, the one
    with the most fields of its own is meant: a parallel composition's prompt also fits the sequential
    composition, whose outputs end its own. Two that fit equally are an error.
    """
    fitting = sorted((shape for shape in TOOLSYNTH_SHAPES if shape.fits(prompt)), key=lambda s: -s.size)
    if len(fitting) > 1 and fitting[0].size == fitting[1].size:
        names = " and ".join(s.signature.__name__ for s in fitting if s.size == fitting[0].size)
        raise DemoModelError(f"the demo model cannot tell which signature a prompt is for: it fits {names}")
    return fitting[0].signature if fitting else None


def signature_of(messages: list[dict[str, Any]]) -> type[dspy.Signature] | None:
    """`signature_for` an adapter-formatted prompt given as OpenAI-style messages."""
    return signature_for(Prompt.read(messages))


def _parse_inputs(text: str) -> dict[str, Any]:
    blocks = _INPUT_BLOCK.split(text)
    inputs: dict[str, Any] = {}
    for name, raw in zip(blocks[1::2], blocks[2::2], strict=False):
        value = raw.split("\n\nRespond with", 1)[0].strip()
        try:
            inputs[name] = json.loads(value)
        except (ValueError, RecursionError):  # not JSON, or JSON Python will not read (a 5,000-digit number)
            inputs[name] = value
    return inputs


def _placeholder(kind: str, text: str) -> Any:
    """A value of the field's type where the demo has no answer of its own (`text` for a string)."""
    if kind.startswith("bool"):
        return True
    if kind.startswith(("int", "float")):
        return 1
    if kind.startswith("list"):
        return []
    if kind.startswith("dict"):
        return {}
    return text


def _stage_answer(signature: type[dspy.Signature], prompt: Prompt, seed: int) -> dict[str, Any]:
    """The handler's answer, after placeholders for the output fields the prompt adds before the signature's."""
    name = signature.__name__
    handler = STAGE_HANDLERS.get(signature)
    if handler is None:
        raise DemoModelError(f"the demo model has no answer for toolsynth's {name} signature (see STAGE_HANDLERS)")
    own = handler(Inputs(prompt.values, name), seed)
    missing = [field for field in signature.output_fields if field not in own]
    if missing:
        raise DemoModelError(f"the demo model's answer to {name} leaves out the output {', '.join(missing)}")
    added = prompt.outputs[: len(prompt.outputs) - len(signature.output_fields)]
    filler = "The offline demo model answers from the inputs by fixed rules; it has no {} to give."
    return {**{field: _placeholder(kind, filler.format(field)) for field, kind in added}, **own}


def _other_answer(prompt: Prompt, seed: int, handlers: Mapping[frozenset[str], Handler]) -> dict[str, Any]:
    """Another program's prompt: its handler by output field names, else a well-typed placeholder per field
    (a string field gets the first input's text)."""
    handler = handlers.get(frozenset(prompt.output_names))
    if handler is not None:
        return handler(Inputs(prompt.values, f"the prompt for {', '.join(prompt.output_names)}"), seed)
    first_input = [str(value) for value in prompt.values.values()][:1]
    return {name: _placeholder(kind, first_input[0] if first_input else name) for name, kind in prompt.outputs}


def reply_to(
    messages: list[dict[str, Any]], seed: int = 0, other_signatures: Mapping[frozenset[str], Handler] | None = None
) -> str:
    """Answer one adapter-formatted prompt (OpenAI-style messages) as the demo model.

    A toolsynth signature's prompt is answered by its `STAGE_HANDLERS` entry; any other by `other_signatures`
    (output field names → handler, e.g. an optimizer's own signatures) or a generic placeholder."""
    prompt = Prompt.read(messages)
    signature = signature_for(prompt)
    if signature is not None:
        answer = _stage_answer(signature, prompt, seed)
    else:
        answer = _other_answer(prompt, seed, other_signatures or {})
    if prompt.wants_json or not prompt.outputs:
        return json.dumps(answer, ensure_ascii=False)
    # ChatAdapter format: one marked block per field.
    blocks = [
        f"[[ ## {k} ## ]]\n{v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)}" for k, v in answer.items()
    ]
    return "\n\n".join([*blocks, "[[ ## completed ## ]]"])


class DemoEngine:
    """A DSPy engine (`complete(Request) -> Response`) backed by `reply_to`."""

    def __init__(self, seed: int = 0, other_signatures: Mapping[frozenset[str], Handler] | None = None) -> None:
        self.seed = seed
        self.other_signatures = other_signatures

    def complete(self, request: Any) -> Response:
        messages: list[dict[str, Any]] = []
        if request.system is not None:
            system = request.system if isinstance(request.system, str) else "".join(p.text for p in request.system)
            messages.append({"role": "system", "content": system})
        messages.extend({"role": m.role, "content": m.text or ""} for m in request.messages)
        text = reply_to(messages, self.seed, self.other_signatures)
        prompt_tokens = sum(len(str(m["content"])) for m in messages) // 4 + 1
        completion_tokens = len(text) // 4 + 1
        return Response(
            id=None,
            model=DEMO_MODEL_NAME,
            message=LMMessage.assistant([TextPart(text)]),
            finish_reason="stop",
            usage=Usage(
                input_tokens=prompt_tokens,
                output_tokens=completion_tokens,
                total_tokens=prompt_tokens + completion_tokens,
            ),
        )

    def stream(self, request: Any) -> Any:
        from dspy.lm15 import response_to_events

        return response_to_events(self.complete(request))

    def close(self) -> None:
        return None


class AsyncDemoEngine:
    """The async face of `DemoEngine` (answers are computed in-process, so nothing is awaited)."""

    def __init__(self, sync: DemoEngine) -> None:
        self.sync = sync

    async def complete(self, request: Any) -> Response:
        return self.sync.complete(request)

    async def stream(self, request: Any) -> Any:
        for event in self.sync.stream(request):
            yield event

    async def aclose(self) -> None:
        return None


def demo_lm(seed: int = 0, other_signatures: Mapping[frozenset[str], Handler] | None = None) -> dspy.LM:
    """The offline demo model as a `dspy.LM`; its model name says it is a demo. `other_signatures` answers
    prompts of signatures that are not toolsynth's, by their output field names."""
    engine = DemoEngine(seed, other_signatures)
    return dspy.LM(DEMO_MODEL_NAME, engine=engine, async_engine=AsyncDemoEngine(engine), cache=False)
