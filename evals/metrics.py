"""Metrics for ButtonProgram predictions, usable by `dspy.Evaluate` and every DSPy optimizer.

Each metric has the DSPy shape `metric(example, prediction, trace=None)`. Without a trace it returns a
float in [0, 1]; with a trace (bootstrapping a demo) it returns `score >= PASS_THRESHOLD` as a bool, the
DSPy convention for "keep this trace". `combined_with_feedback` takes GEPA's five arguments and
always returns `dspy.Prediction(score=<float>, feedback=<text>)`, the feedback naming what was wrong
(first the faults of the stage `pred_name` points at, when GEPA asks about one predictor).

A prediction (`ButtonResult`) holds samples and rejections; its completeness and consistency are the
mean over its samples. A prediction with no samples scores 0 on both (its feedback names the
rejections' stages and codes).

Completeness of one sample (heuristic, no LM):
    completeness = 0.8 · mean(subtask scores) + 0.2 · final-answer score
  - subtask with a function: 1 if a valid, answered call to it has a result used later (a value of the
    result reappears in a dependent call's arguments or in the final answer); 0.5 if valid but its result
    is never used; 0.25 if called but the call or its result is invalid (error findings, an error
    result); 0 if never called. Which call serves a subtask, which subtasks depend on it and what the final
    answer is are the composition check's rules (`validators.composition`: `assign_calls`, `dependents`,
    `function_dependencies`, `final_answer`): the k-th subtask using a function is served by the k-th call
    to it, or by the last one when there are fewer calls.
  - call-free subtask (reasoning): 0.5 if the final answer repeats a value from the results it depends
    on (any result when it depends on none) + 0.5 if the final answer shares a keyword with the
    subtask's instruction (a word of 4+ letters that is not a stop word, matched on its stem; an
    acronym; a number; a CJK character bigram).
  - final answer: 0 when the conversation does not end with assistant text; 0.25 when it is a refusal;
    else 0.5 + 0.25 if it uses a tool result (or no call was made) + 0.25 if it shares a keyword with
    the composite task.
  Rows without `meta.subtasks` (other datasets) score on the final answer alone.
  Behaviours (`meta.behaviour`): subtasks no offered tool can serve (`unavailable_subtasks`) are not scored, and
  saying what cannot be done is no refusal fault for `no_call` and `missing_function`; a `no_call` sample scores
  its final answer alone, and 0 when it calls a tool.

Consistency of one sample: from `check_sample` findings (conversation, calls, function specs and
composition: order, data flow, parallel grouping, final answer use), E errors and W warnings:
    consistency = 1 / (1 + E + 0.25 · W)        (info findings weigh nothing)
Accepted samples carry no error by construction (the program rejects them), so errors mostly show
as rejections: that is what acceptance measures.

Acceptance of one prediction: samples / (samples + rejections), the share of branches that became
training rows (0 when there is neither).

Combined score (what `optimize` maximises and `eval` reports as `score`):
    score = 0.5 · completeness + 0.3 · consistency + 0.2 · acceptance
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import dspy

from toolsynth.stages import CONVERSATION_AGENTS, StageName
from toolsynth.validators.composition import (
    Call,
    Subtask,
    assign_calls,
    behaviour_of,
    collect_calls,
    dependents,
    final_answer,
    function_dependencies,
    read_subtasks,
    text_uses,
    unavailable_subtasks,
    values_flow,
)
from toolsynth.validators.findings import Finding, Loc, codes
from toolsynth.validators.sample import check_sample

WEIGHTS = {"completeness": 0.5, "consistency": 0.3, "acceptance": 0.2}
"""Weights of the combined score."""
SUBTASK_WEIGHT, FINAL_WEIGHT = 0.8, 0.2
ERROR_WEIGHT, WARNING_WEIGHT = 1.0, 0.25
PASS_THRESHOLD = 0.9
"""With a trace (bootstrapping), a prediction passes when its metric reaches this."""

_WORD = re.compile(r"[^\W\d_]{4,}", re.UNICODE)
_NAME_OR_NUMBER = re.compile(r"(?<![A-Za-z0-9.])(?:[A-Z]{2,}|\d{2,}(?:\.\d+)?)(?![A-Za-z0-9])")  # JD, USD, 500, 33.81
_CJK_RUN = re.compile(r"[\u3400-\u9fff]+")
_REFUSAL = re.compile(r"\b(i'?m sorry|i am sorry|i can(?:'|no)t|i am unable|i'?m unable)\b|抱歉|无法", re.IGNORECASE)
_STOPWORDS = frozenset(
    {
        "please",
        "then",
        "tell",
        "what",
        "which",
        "when",
        "where",
        "with",
        "from",
        "that",
        "this",
        "there",
        "their",
        "them",
        "they",
        "have",
        "will",
        "would",
        "could",
        "should",
        "about",
        "into",
        "also",
        "some",
        "than",
        "each",
        "both",
        "find",
        "check",
        "show",
        "give",
        "look",
        "list",
        "make",
        "want",
        "need",
        "know",
        "like",
        "first",
        "next",
        "after",
        "before",
        "using",
        "based",
        "just",
        "only",
        "more",
        "most",
        "much",
        "many",
        "your",
        "yours",
    }
)


# --------------------------------------------------------------------------- per-sample scores


@dataclass
class Fault:
    """One thing wrong with a sample or prediction, tagged with the stage most to blame (a `StageName`, or "*" for
    every stage); a finding is blamed by its `loc`, on the stage that wrote the part of the row it points at."""

    stage: str
    text: str
    sample: str | None = None


@dataclass
class SampleScore:
    """Completeness and consistency of one sample row, with the faults behind them."""

    id: str
    completeness: float
    consistency: float
    errors: int = 0
    warnings: int = 0
    faults: list[Fault] = field(default_factory=list)
    behaviour: str = "call"

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "behaviour": self.behaviour,
            "completeness": round(self.completeness, 4),
            "consistency": round(self.consistency, 4),
            "errors": self.errors,
            "warnings": self.warnings,
            "faults": [f.text for f in self.faults],
        }


_CJK_STOP = frozenset({"请查", "查询", "一下", "然后", "这个", "那个", "多少", "帮我", "我的", "告诉", "并且", "还有"})


def _keywords(text: str) -> set[str]:
    """Content words (4+ letters, not stop words), acronyms, numbers, and CJK character bigrams."""
    words = {w.casefold() for w in _WORD.findall(text)} - _STOPWORDS
    words |= {w.casefold() for w in _NAME_OR_NUMBER.findall(text)}
    for run in _CJK_RUN.findall(text):
        words |= ({run[i : i + 2] for i in range(len(run) - 1)} if len(run) > 1 else {run}) - _CJK_STOP
    return words


def _shares_keyword(source: str, text: str) -> bool:
    """Some keyword of `source` appears in `text` (words matched on their stem: all but two letters, four at least)."""
    keys = _keywords(source)
    if not keys:
        return True
    folded = text.casefold()
    return any(k[: max(4, len(k) - 2)] in folded if k.isalpha() and k.isascii() else k in folded for k in keys)


def row_messages(row: dict[str, Any]) -> list[Any]:
    messages = row.get("messages")
    return messages if isinstance(messages, list) else []


def row_meta(row: dict[str, Any]) -> dict[str, Any]:
    meta = row.get("meta")
    return meta if isinstance(meta, dict) else {}


_ASSISTANT_CODES = frozenset(
    {
        "subtask_not_served",
        "dependency_order_violated",
        "data_flow_missing",
        "parallel_not_grouped",
        "final_answer_ignores_results",
    }
)
_COVERED = frozenset({"subtask_not_served", "final_answer_ignores_results"})
"""Finding codes a completeness fault already states (kept out of the feedback, still counted)."""


def _stage_of(finding: Finding, messages: list[Any]) -> str:
    """Which stage wrote the part of the row a finding points at."""
    if finding.code in _ASSISTANT_CODES:
        return StageName.ASSISTANT_TURN
    head = finding.loc[:2]
    if head[:1] in (("tools",), ("meta",)):
        return StageName.GENERATE_FUNCTIONS
    if len(head) == 2 and head[0] == "messages" and isinstance(head[1], int) and 0 <= head[1] < len(messages):
        message = messages[head[1]]
        role = message.get("role") if isinstance(message, dict) else None
        return {"tool": StageName.SIMULATE_TOOL, "user": StageName.SIMULATE_USER}.get(
            str(role), StageName.ASSISTANT_TURN
        )
    return StageName.ASSISTANT_TURN


def _within(finding: Finding, loc: Loc) -> bool:
    """The finding points at `loc` or inside it."""
    return finding.loc[: len(loc)] == loc


def _is_error_result(result: Any) -> bool:
    return isinstance(result, dict) and "error" in result and len(result) <= 2


def _dependency_results(subtask: Subtask, by_id: dict[int, Subtask], served: dict[int, Call]) -> list[Any]:
    """The results of the calls serving what `subtask` depends on (through reasoning subtasks)."""
    return [
        served[d].result
        for d in sorted(function_dependencies(subtask, by_id))
        if d in served and served[d].result is not None
    ]


def _label(s: Subtask) -> str:
    text = s.instruction.strip()
    return f"subtask {s.id}" + (f" ({text[:80]})" if text else "")


def _subtask_scores(row: dict[str, Any], findings: list[Finding], faults: list[Fault]) -> list[float]:
    messages, meta = row_messages(row), row_meta(row)
    subtasks, _ = read_subtasks(meta)  # malformed entries are the validators' findings; the rest are scored
    unavailable = unavailable_subtasks(subtasks, meta)
    subtasks = [s for s in subtasks if s.id not in unavailable]
    by_id = {s.id: s for s in subtasks}
    calls = collect_calls(messages)
    served = assign_calls(subtasks, calls)
    final = final_answer(messages)
    error_findings = [f for f in findings if f.severity == "error"]
    raw_tools = row.get("tools")
    tools: list[Any] = raw_tools if isinstance(raw_tools, list) else []
    declared = {t["function"].get("name") for t in tools if isinstance(t, dict) and isinstance(t.get("function"), dict)}
    results = [c.result for c in calls if c.result is not None and not _is_error_result(c.result)]
    scores = []
    for s in subtasks:
        fn = s.function
        if fn is None:
            score = 0.0
            if final is None:
                faults.append(
                    Fault(
                        StageName.ASSISTANT_TURN,
                        f"{_label(s)}: needs reasoning in a final answer, and there is no final answer",
                    )
                )
            else:
                needed = _dependency_results(s, by_id, served) or results
                if not needed or any(text_uses(final, r) for r in needed):
                    score += 0.5
                else:
                    faults.append(
                        Fault(
                            StageName.ASSISTANT_TURN,
                            f"{_label(s)}: the final answer repeats no value from the results this step reasons over",
                        )
                    )
                if _shares_keyword(s.instruction, final):
                    score += 0.5
                else:
                    faults.append(
                        Fault(
                            StageName.ASSISTANT_TURN,
                            f"{_label(s)}: the final answer does not address this "
                            f"step (no word of its instruction appears)",
                        )
                    )
            scores.append(score)
            continue
        call = served.get(s.id)
        if call is None:
            stage = StageName.ASSISTANT_TURN if fn in declared else StageName.GENERATE_FUNCTIONS
            faults.append(
                Fault(
                    stage,
                    f"{_label(s)}: needs a call to {fn!r}, and there is none"
                    + ("" if fn in declared else f" ({fn!r} is not among the tools)"),
                )
            )
            scores.append(0.0)
            continue
        in_result = [f for f in error_findings if call.result_loc is not None and _within(f, call.result_loc)]
        broken = [f for f in error_findings if _within(f, call.loc)] + in_result
        if call.result_message is None or broken or _is_error_result(call.result) or call.arguments is None:
            why = (
                "it is never answered"
                if call.result_message is None
                else "its result is an error"
                if _is_error_result(call.result)
                else "[" + ", ".join(codes(broken)) + "]"
                if broken
                else "its arguments do not parse"
            )
            stage = StageName.SIMULATE_TOOL if _is_error_result(call.result) or in_result else StageName.ASSISTANT_TURN
            faults.append(Fault(stage, f"{_label(s)}: the call to {fn!r} at {call.path} is not valid: {why}"))
            scores.append(0.25)
            continue
        later = [served[d.id] for d in dependents(s, subtasks) if d.id in served]
        used = any(c is not call and c.arguments is not None and values_flow(call.result, c.arguments) for c in later)
        if used or (final is not None and text_uses(final, call.result)):
            scores.append(1.0)
        else:
            faults.append(
                Fault(
                    StageName.ASSISTANT_TURN,
                    f"{_label(s)}: the result of {fn!r} ({call.path}) is never used: "
                    f"no value of it reaches a dependent call or the final answer",
                )
            )
            scores.append(0.5)
    return scores


def _final_score(row: dict[str, Any], faults: list[Fault], reported: set[str]) -> float:
    messages, meta = row_messages(row), row_meta(row)
    final = final_answer(messages)
    if final is None:
        faults.append(Fault(StageName.ASSISTANT_TURN, "the conversation does not end with an assistant text answer"))
        return 0.0
    if _REFUSAL.search(final) and behaviour_of(meta) not in ("no_call", "missing_function"):
        faults.append(Fault(StageName.ASSISTANT_TURN, f"the final answer is a refusal: {final[:100]!r}"))
        return 0.25
    score = 0.5
    results = [c.result for c in collect_calls(messages) if c.result is not None and not _is_error_result(c.result)]
    if not results or any(text_uses(final, r) for r in results):
        score += 0.25
    elif "final_answer_ignores_results" not in reported:  # else the validator's finding says it
        faults.append(Fault(StageName.ASSISTANT_TURN, "the final answer repeats no value from any tool result"))
    request = str(
        meta.get("composite_task")
        or next((m.get("content") for m in messages if isinstance(m, dict) and m.get("role") == "user"), "")
        or ""
    )
    if _shares_keyword(request, final):
        score += 0.25
    else:
        faults.append(Fault(StageName.ASSISTANT_TURN, "the final answer shares no keyword with the request"))
    return score


def score_row(row: dict[str, Any], findings: list[Finding] | None = None) -> SampleScore:
    """Completeness and consistency of one canonical OpenAI row (`Sample.to_openai()`)."""
    findings = check_sample(row) if findings is None else findings
    messages = row_messages(row)
    faults: list[Fault] = []
    behaviour = behaviour_of(row_meta(row))
    subtask_scores = _subtask_scores(row, findings, faults)
    final = _final_score(row, faults, {f.code for f in findings})
    if behaviour == "no_call":
        called = bool(collect_calls(messages))
        if called:
            faults.append(Fault(StageName.ASSISTANT_TURN, "a no_call sample calls a tool no request needs"))
        completeness = 0.0 if called else final
    elif subtask_scores:
        completeness = SUBTASK_WEIGHT * sum(subtask_scores) / len(subtask_scores) + FINAL_WEIGHT * final
    else:
        completeness = final
    completeness = min(1.0, max(0.0, completeness))
    n_errors = sum(f.severity == "error" for f in findings)
    n_warnings = sum(f.severity == "warning" for f in findings)
    for f in findings:
        if f.severity != "info" and f.code not in _COVERED:
            faults.append(Fault(_stage_of(f, messages), f"[{f.code}] {f.path or '(row)'}: {f.message}"))
    consistency = 1.0 / (1.0 + ERROR_WEIGHT * n_errors + WARNING_WEIGHT * n_warnings)
    return SampleScore(str(row.get("id", "")), completeness, consistency, n_errors, n_warnings, faults, behaviour)


# --------------------------------------------------------------------------- per-prediction scores


@dataclass
class Assessment:
    """All scores of one prediction, the per-sample details and the faults for feedback."""

    completeness: float
    consistency: float
    acceptance: float
    score: float
    samples: list[SampleScore]
    rejections: list[dict[str, Any]]
    faults: list[Fault]

    def feedback(self, stage: str | None = None, limit: int = 12) -> str:
        """The faults as text; with `stage`, that stage's faults first (the others are counted)."""
        head = (
            f"Score {self.score:.2f} (completeness {self.completeness:.2f}, consistency {self.consistency:.2f}, "
            f"acceptance {self.acceptance:.2f}) over {len(self.samples)} sample(s) and "
            f"{len(self.rejections)} rejection(s)."
        )
        if stage is not None:
            own = _grouped([f for f in self.faults if f.stage in (stage, "*")])
            others = len(_grouped([f for f in self.faults if f.stage not in (stage, "*")]))
            lines = own[:limit]
            if not own:
                lines.append(f"- nothing wrong was traced to this stage ({stage})")
            if others:
                lines.append(f"- {others} problem(s) belong to other stages")
            return "\n".join([head, f"Problems for this stage ({stage}):", *lines])
        lines = _grouped(self.faults)
        if not lines:
            return head + " No problems found."
        more = [f"- ... and {len(lines) - limit} more"] if len(lines) > limit else []
        return "\n".join([head, "Problems:", *lines[:limit], *more])


def _grouped(faults: list[Fault]) -> list[str]:
    """One line per distinct fault, naming the samples it occurs in."""
    seen: dict[str, list[str]] = {}
    for f in faults:
        ids = seen.setdefault(f.text, [])
        if f.sample is not None and f.sample not in ids:
            ids.append(f.sample)
    lines = []
    for text, ids in seen.items():
        if len(ids) > 1:
            where = f" (in {len(ids)} samples: {', '.join(ids[:3])}{', ...' if len(ids) > 3 else ''})"
        else:
            where = f" (in {ids[0]})" if ids else ""
        lines.append(f"- {text}{where}")
    return lines


def sample_rows(prediction: Any) -> list[dict[str, Any]]:
    samples = getattr(prediction, "samples", None)
    return [s.to_openai() if hasattr(s, "to_openai") else s for s in samples or [] if s is not None]


def rejection_rows(prediction: Any) -> list[dict[str, Any]]:
    raw = getattr(prediction, "rejections", None) or []
    return [r.to_json() if hasattr(r, "to_json") else dict(r) for r in raw]


def _rejection_faults(rejections: list[dict[str, Any]]) -> list[Fault]:
    faults = []
    for r in rejections:
        stage, listed = str(r.get("stage", "?")), ", ".join(r.get("codes") or []) or "no code"
        message = str(r.get("message", ""))[:240]
        text = f"rejected at {stage} [{listed}] ({r.get('id', '?')}): {message}"
        if stage == StageName.CONVERSATION:
            faults += [Fault(s, text) for s in (StageName.ASSISTANT_TURN, StageName.SIMULATE_USER)]
        elif stage == StageName.VALIDATE:
            faults += [Fault(s, text) for s in CONVERSATION_AGENTS]
        else:
            faults.append(Fault(stage, text))
    return faults


def assess(prediction: Any) -> Assessment:
    """Score one prediction (`ButtonResult`, or anything with `.samples` rows and `.rejections`)."""
    rows = sample_rows(prediction)
    rejections = rejection_rows(prediction)
    samples = [score_row(row) for row in rows]
    faults = _rejection_faults(rejections)
    for s in samples:
        faults += [Fault(f.stage, f.text, s.id) for f in s.faults]
    if not samples:
        if not rejections:
            faults.insert(0, Fault("*", "the program produced no sample and no rejection (did it raise?)"))
        else:
            faults.insert(0, Fault("*", "no sample: every branch was rejected"))
        return Assessment(0.0, 0.0, 0.0, 0.0, [], rejections, faults)
    completeness = sum(s.completeness for s in samples) / len(samples)
    consistency = sum(s.consistency for s in samples) / len(samples)
    acceptance = len(samples) / (len(samples) + len(rejections))
    score = min(
        1.0,
        WEIGHTS["completeness"] * completeness
        + WEIGHTS["consistency"] * consistency
        + WEIGHTS["acceptance"] * acceptance,
    )
    return Assessment(completeness, consistency, acceptance, score, samples, rejections, faults)


# --------------------------------------------------------------------------- DSPy metrics


def _pass_or_score(value: float, trace: Any) -> float | bool:
    return value >= PASS_THRESHOLD if trace is not None else value


def completeness(example: Any, prediction: Any, trace: Any = None) -> float | bool:
    """Task completeness in [0, 1] (a bool when DSPy passes a trace)."""
    return _pass_or_score(assess(prediction).completeness, trace)


def consistency(example: Any, prediction: Any, trace: Any = None) -> float | bool:
    """Conversation / function-call consistency in [0, 1] (a bool when DSPy passes a trace)."""
    return _pass_or_score(assess(prediction).consistency, trace)


def combined(example: Any, prediction: Any, trace: Any = None) -> float | bool:
    """The combined score in [0, 1] (a bool when DSPy passes a trace)."""
    return _pass_or_score(assess(prediction).score, trace)


@cache
def _predictor_stages() -> dict[str, str]:
    """Predictor name (`conversation.assistant.predict`) → its stage's signature name (`AssistantTurn`)."""
    from toolsynth.programs import ButtonProgram

    program = ButtonProgram()
    by_id = {id(stage.predict): stage.stage_name for stage in program.stages()}
    return {name: by_id[id(p)] for name, p in program.named_predictors() if id(p) in by_id}


def stage_for(pred_name: str | None, pred_trace: Any = None) -> str | None:
    """The signature name of the predictor GEPA asks about, from its name (or the trace's signature)."""
    if not pred_name:
        return None
    stages = _predictor_stages()
    if pred_name in stages:
        return stages[pred_name]
    trimmed = pred_name.removeprefix("program.")
    if trimmed in stages:
        return stages[trimmed]
    try:
        return str(pred_trace[0][0].signature.__name__)
    except (TypeError, IndexError, AttributeError):
        return None


def _with_feedback(kind: str) -> Any:
    def metric(
        example: Any, prediction: Any, trace: Any = None, pred_name: str | None = None, pred_trace: Any = None
    ) -> dspy.Prediction:
        found = assess(prediction)
        return dspy.Prediction(
            score=float(getattr(found, kind)), feedback=found.feedback(stage_for(pred_name, pred_trace))
        )

    metric.__name__ = f"{kind}_with_feedback"
    metric.__doc__ = f"GEPA metric: `{kind}` as `dspy.Prediction(score, feedback)`; feedback names the faults."
    return metric


combined_with_feedback = _with_feedback("score")


# --------------------------------------------------------------------------- optional LM judge


def lm_judge_metric(lm: dspy.LM | None = None) -> Any:
    """An LM-judge metric (off by default): the share of samples the `JudgeSample` signature finds
    accomplished and faithful. Uses `lm`, else the configured LM; costs one LM call per sample."""
    from toolsynth.signatures import JudgeSample

    judge = dspy.Predict(JudgeSample)

    def lm_judge(example: Any, prediction: Any, trace: Any = None) -> float | bool:
        rows = sample_rows(prediction)
        if not rows:
            return _pass_or_score(0.0, trace)
        passed = 0
        for row in rows:
            meta = row_meta(row)
            messages = [m for m in row_messages(row) if isinstance(m, dict) and m.get("role") != "system"]
            try:
                with dspy.context(**({"lm": lm} if lm is not None else {})):
                    verdict = judge(composite_task=str(meta.get("composite_task", "")), conversation=messages)
                passed += bool(verdict.accomplished and verdict.faithful)
            except (dspy.AdapterParseError, ValueError):
                continue
        return _pass_or_score(passed / len(rows), trace)

    return lm_judge
