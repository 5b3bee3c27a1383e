"""ButtonProgram: the BUTTON pipeline composed, top to bottom, for one seed.

    chat ─extract─▶ scenario ─expand─▶ scenarios ─atomic tasks─▶ tasks
         ─compose (sequential | parallel-then-sequential)─▶ composite ─deepen (widen | extend)─▶ composite
         ─judge─▶ feasible composite
         ─generate functions─▶ tools ─user ⇄ assistant ⇄ tool─▶ conversation ─validate─▶ sample | rejection

Every branch (scenario × task) ends as a `Sample` or a `Rejection`; a seed that fails before it
branches ends as one `Rejection`. Nothing raises for bad model output; only errors that would fail
every record (a wrong key, an unknown model) propagate.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import dspy

from toolsynth import __version__
from toolsynth.behaviours import (
    DEFAULT_MAX_SUBTASKS,
    DEFAULT_MIX,
    DEFAULT_NESTED_SHARE,
    MAX_FAN_IN,
    MAX_SUBTASKS,
    Behaviour,
    draw_behaviour,
    draw_nested,
    format_mix,
    parse_mix,
)
from toolsynth.dedup import unique_texts
from toolsynth.distractor_pool import DISTRACTOR_POOL
from toolsynth.execution import current_meter
from toolsynth.language import detect_language, language_name
from toolsynth.lm import DEMO_MODEL_NAME
from toolsynth.programs.compose_parallel import ComposeParallelThenSequentialStage, parallel_then_sequential_task
from toolsynth.programs.compose_sequential import ComposeSequentialStage, sequential_task
from toolsynth.programs.conversation import DEFAULT_SYSTEM_PROMPT, Conversation
from toolsynth.programs.expand_scenario import ExpandScenarioStage
from toolsynth.programs.extend_chain import ExtendChainStage, extended_task
from toolsynth.programs.extract_scenario import ExtractScenarioStage
from toolsynth.programs.generate_atomic_task import GenerateAtomicTaskStage
from toolsynth.programs.generate_functions import GenerateFunctionsStage
from toolsynth.programs.generate_near_misses import GenerateNearMissesStage
from toolsynth.programs.judge_composition import JudgeCompositionStage
from toolsynth.programs.judge_sample import JudgeSampleStage
from toolsynth.programs.select_functions import SelectFunctionsStage
from toolsynth.programs.stage import Revision, Stage, StageRejected, run_sync
from toolsynth.programs.widen_parallel import WidenParallelStage, widenable, widened_task
from toolsynth.readers import render_transcript
from toolsynth.sampling import Sampling, sampling_for
from toolsynth.stages import StageName
from toolsynth.tools.contract import ToolSource
from toolsynth.tools.execute import CallExecutor
from toolsynth.tools.loading import ToolLibrary
from toolsynth.types import CompositeTask, FunctionSpec, Rejection, Sample, SubtaskFunction
from toolsynth.validators.findings import as_feedback, codes, error, errors
from toolsynth.validators.sample import check_sample


class ButtonResult(dspy.Prediction):
    """What one seed became: `samples` and `rejections` (a `dspy.Prediction`, so evaluators accept it)."""

    def __init__(self, samples: list[Sample] | None = None, rejections: list[Rejection] | None = None) -> None:
        super().__init__(samples=list(samples or []), rejections=list(rejections or []))

    samples: list[Sample]
    rejections: list[Rejection]


@dataclass
class Plan:
    """One branch (scenario × task) after its functions are written: what its conversation starts from."""

    key: str
    source_id: str
    code: str
    behaviour: Behaviour
    composite: CompositeTask
    functions: list[FunctionSpec]
    near_misses: list[tuple[FunctionSpec, str]]
    """(near-miss, the needed function it resembles)."""
    meta: dict[str, Any]
    pool: list[FunctionSpec] = field(default_factory=list)
    """With a tool library: the seed's sampled functions, which also supply the distractors."""


class ButtonProgram(dspy.Module):
    """The BUTTON recipe as one DSPy program.

    Knobs: `expand` new scenarios per seed (besides the extracted one), `tasks_per_scenario` atomic tasks
    per scenario, `parallel_ratio` the share of parallel-then-sequential compositions, `max_turns`
    assistant turns per conversation, `max_attempts` per stage (1 = no repair retry), `seed` for the
    program's own choices, `language` to force one language for every sample, `role_lms` to give the
    assistant, user, tool, judge or generator roles their own `dspy.LM`, `sampling` their temperature and
    max_tokens (`toolsynth.sampling`), `compose_rounds` how often a composite the judge finds infeasible is
    composed again with the judge's reasons as feedback.

    What the data teaches: `mix` the share of each behaviour (`toolsynth.behaviours`: call, clarify, no_call,
    missing_function, follow_up; `"call=0.6,clarify=0.4"` or a mapping), drawn per task with `seed`;
    `distractors` how many functions a sample offers besides the ones it needs (about half near-misses written
    by the `GenerateNearMisses` stage, the rest unrelated: functions of the seed's other branches, then
    `distractor_pool`), shuffled with `seed`; `nested_share` the share of tasks whose functions are asked to take
    an object or array-of-objects parameter (drawn per task with `seed`; recorded as `meta.nested_parameters`
    when the share is above 0); `max_subtasks` the largest composite (3 to 5). At 3, the default, composites
    have BUTTON's two shapes (2 or 3 subtasks); above 3, each composite's size is drawn per task with `seed`
    from its shape's size up to `max_subtasks`, and it is deepened step by step: `WidenParallel` adds an
    independent step to a parallel fan-in (up to 3), `ExtendChain` a step using the last one's result. A
    composite that cannot be deepened keeps the size it reached (the manifest counts the accepted samples short of
    their `meta.subtask_target`).

    A sample's language is the forced `language` if any, else the seed's own (`language=` of a call), else
    the one detected from the seed's natural-language text (never from its function calls or results).

    Real tools: `tools` (a `ToolLibrary`, a `ToolSource`, or a list of sources or `--tools` texts) grounds the
    run in a library. Each seed samples `tools_per_seed` of its functions (seeded); its scenarios, tasks and
    compositions are written for them (they are the stages' `tools` input), the functions stage becomes a
    selection from them (`SelectFunctions`; nothing is invented), they supply the distractors (no near-misses are
    written), and the tool role runs each call of a library function for real, under `tool_timeout` seconds
    (`toolsynth.tools.execute`). `meta.execution` lists the executed calls.
    """

    def __init__(
        self,
        *,
        expand: int = 1,
        tasks_per_scenario: int = 1,
        parallel_ratio: float = 0.5,
        max_turns: int = 8,
        max_attempts: int = 3,
        seed: int = 0,
        language: str | None = None,
        system_prompt: str = DEFAULT_SYSTEM_PROMPT,
        role_lms: dict[str, dspy.LM] | None = None,
        judge_samples: bool = False,
        sampling: dict[str, Sampling] | None = None,
        compose_rounds: int = 2,
        mix: str | dict[str, float] = DEFAULT_MIX,
        distractors: int = 0,
        distractor_pool: tuple[FunctionSpec, ...] | list[FunctionSpec] = DISTRACTOR_POOL,
        nested_share: float = DEFAULT_NESTED_SHARE,
        max_subtasks: int = DEFAULT_MAX_SUBTASKS,
        tools: ToolLibrary | ToolSource | Sequence[ToolSource | str] | None = None,
        tools_per_seed: int = 6,
        tool_timeout: float = 30.0,
    ) -> None:
        super().__init__()
        if not DEFAULT_MAX_SUBTASKS <= max_subtasks <= MAX_SUBTASKS:
            raise ValueError(f"max_subtasks must be within [{DEFAULT_MAX_SUBTASKS}, {MAX_SUBTASKS}]: {max_subtasks}")
        self.max_subtasks = max_subtasks
        if tools_per_seed < 1:
            raise ValueError(f"tools_per_seed must be >= 1, got {tools_per_seed}")
        if tool_timeout <= 0:
            raise ValueError(f"tool_timeout must be > 0, got {tool_timeout}")
        self.library = as_library(tools)
        self.tools_per_seed = tools_per_seed
        self.tool_timeout = tool_timeout
        self.run_tools = True
        """False: the library's calls are answered by the tool agent instead of run (the cost estimate's dry run)."""
        self.select_functions = SelectFunctionsStage(max_attempts) if self.library is not None else None
        if not 0.0 <= nested_share <= 1.0:
            raise ValueError(f"nested_share must be within [0, 1], got {nested_share}")
        self.nested_share = nested_share
        if not 0.0 <= parallel_ratio <= 1.0:
            raise ValueError(f"parallel_ratio must be within [0, 1], got {parallel_ratio}")
        if distractors < 0:
            raise ValueError(f"distractors must be >= 0, got {distractors}")
        self.mix = parse_mix(mix)
        self.distractors = distractors
        self.distractor_pool = list(distractor_pool)
        self.generate_near_misses = GenerateNearMissesStage(max_attempts)
        self.extract_scenario = ExtractScenarioStage(max_attempts)
        self.expand_scenario = ExpandScenarioStage(max_attempts)
        self.generate_atomic_task = GenerateAtomicTaskStage(max_attempts)
        self.compose_sequential = ComposeSequentialStage(max_attempts)
        self.compose_parallel = ComposeParallelThenSequentialStage(max_attempts)
        self.widen_parallel = WidenParallelStage(max_attempts)
        self.extend_chain = ExtendChainStage(max_attempts)
        self.judge_composition = JudgeCompositionStage(max_attempts)
        self.generate_functions = GenerateFunctionsStage(max_attempts)
        self.conversation = Conversation(max_turns, max_attempts, system_prompt)
        self.judge_sample = JudgeSampleStage(max_attempts)
        self.judge_samples = judge_samples
        self.compose_rounds = max(1, compose_rounds)
        self.expand = expand
        self.tasks_per_scenario = tasks_per_scenario
        self.parallel_ratio = parallel_ratio
        self.seed = seed
        self.language = language
        self.sampling = sampling_for(sampling)
        for stage in self.stages():
            stage.sampling = self.sampling[stage.role]
        self.use_lms(role_lms or {})

    def config(self) -> dict[str, Any]:
        """The knobs that decide results (for run fingerprints and manifests)."""
        return {
            "expand": self.expand,
            "tasks_per_scenario": self.tasks_per_scenario,
            "parallel_ratio": self.parallel_ratio,
            "max_turns": self.conversation.max_turns,
            "max_attempts": self.extract_scenario.max_attempts,
            "seed": self.seed,
            "language": self.language,
            "system_prompt": self.conversation.system_prompt,
            "judge_samples": self.judge_samples,
            "compose_rounds": self.compose_rounds,
            "mix": format_mix(self.mix),
            "distractors": self.distractors,
            "nested_share": self.nested_share,
            **({"max_subtasks": self.max_subtasks} if self.max_subtasks != DEFAULT_MAX_SUBTASKS else {}),
            "distractor_pool": sorted(f.name for f in self.distractor_pool),
            "sampling": {role: s.request_kwargs() for role, s in sorted(self.sampling.items())},
            **self._tools_config(),
        }

    def _tools_config(self) -> dict[str, Any]:
        """The library's part of `config` (absent without one, so runs without tools keep their fingerprints)."""
        if self.library is None:
            return {}
        functions = sorted(f.name for f in self.library.functions())
        return {
            "tools": {"sources": self.library.labels, "functions": functions},
            "tools_per_seed": self.tools_per_seed,
            "tool_timeout": self.tool_timeout,
        }

    def provenance(self) -> dict[str, Any]:
        """Which model played each role, whether any of them was the offline demo model, and the tool sources."""
        models = {}
        for stage in self.stages():
            lm = stage.role_lm or dspy.settings.lm
            models[stage.role] = str(getattr(lm, "model", None))
        out: dict[str, Any] = {"models": models, "demo": DEMO_MODEL_NAME in models.values(), "toolsynth": __version__}
        if self.library is not None:
            out["tools"] = self.library.labels
        return out

    def stages(self) -> list[Stage]:
        c = self.conversation
        return [
            self.extract_scenario,
            self.expand_scenario,
            self.generate_atomic_task,
            self.compose_sequential,
            self.compose_parallel,
            self.widen_parallel,
            self.extend_chain,
            self.judge_composition,
            self.generate_functions,
            *([self.select_functions] if self.select_functions is not None else []),
            self.generate_near_misses,
            c.user,
            c.assistant,
            c.tool,
            self.judge_sample,
        ]

    def use_lms(self, role_lms: dict[str, dspy.LM]) -> None:
        """Give roles their own LM; roles not named use the configured `dspy.settings.lm`."""
        for stage in self.stages():
            stage.role_lm = role_lms.get(stage.role)

    def forward(
        self, chat: Any = None, scenario: str | None = None, source_id: str = "0", language: str | None = None
    ) -> ButtonResult:
        return run_sync(self.aforward(chat=chat, scenario=scenario, source_id=source_id, language=language))

    async def aforward(
        self, chat: Any = None, scenario: str | None = None, source_id: str = "0", language: str | None = None
    ) -> ButtonResult:
        if chat is None and scenario is None:
            raise ValueError("ButtonProgram needs a seed `chat` or a `scenario`")
        transcript = chat if isinstance(chat, str) or chat is None else render_transcript(chat)
        code = self.language or language or detect_language(transcript or scenario or "")
        result = ButtonResult()
        pool = self.tool_subset(source_id)
        grounding = _grounding(pool)
        try:
            if scenario is None:
                scenario = (
                    await self.extract_scenario.run(f"{source_id}/scenario", chat=transcript, **grounding)
                ).scenario
            scenarios = [scenario]
            if self.expand > 0:
                expanded = await self.expand_scenario.run(
                    f"{source_id}/expand", scenario=scenario, count=self.expand, **grounding
                )
                scenarios = _distinct_scenarios([*scenarios, *expanded.scenarios[: self.expand]])
        except StageRejected as rejected:
            result.rejections.append(_rejection(source_id, source_id, rejected, {"language": code}))
            return result
        planned = await asyncio.gather(
            *(self._scenario(source_id, f"{source_id}-s{i}", s, code, pool) for i, s in enumerate(scenarios))
        )
        plans = [p for branch in planned for p in branch if isinstance(p, Plan)]
        result.rejections += [p for branch in planned for p in branch if isinstance(p, Rejection)]
        outcomes = await asyncio.gather(*(self._converse(plan, plans) for plan in plans))
        for outcome in outcomes:
            if isinstance(outcome, Sample):
                result.samples.append(outcome)
            else:
                result.rejections.append(outcome)
        return result

    def tool_subset(self, source_id: str) -> list[FunctionSpec]:
        """The library functions a seed's data is written for: `tools_per_seed` of them, drawn with `seed` (in
        the library's order); none without a library."""
        if self.library is None:
            return []
        functions = self.library.functions()
        if len(functions) <= self.tools_per_seed:
            return functions
        chosen = set(random.Random(f"{self.seed}|{source_id}|tools").sample(range(len(functions)), self.tools_per_seed))
        return [f for i, f in enumerate(functions) if i in chosen]

    async def _scenario(
        self, source_id: str, key: str, scenario: str, code: str, pool: list[FunctionSpec] | None = None
    ) -> list[Plan | Rejection]:
        pool = pool or []
        try:
            tasks = (
                await self.generate_atomic_task.run(
                    f"{key}/tasks",
                    scenario=scenario,
                    count=self.tasks_per_scenario,
                    language=language_name(code),
                    **_grounding(pool),
                )
            ).tasks[: self.tasks_per_scenario]
        except StageRejected as rejected:
            return [_rejection(key, source_id, rejected, {"scenario": scenario})]
        return list(
            await asyncio.gather(
                *(self._plan(source_id, f"{key}-t{i}", scenario, t, code, pool) for i, t in enumerate(tasks))
            )
        )

    def strategy_for(self, key: str) -> str:
        parallel = random.Random(f"{self.seed}|{key}").random() < self.parallel_ratio
        return "parallel_then_sequential" if parallel else "sequential"

    async def _plan(
        self, source_id: str, key: str, scenario: str, task: str, code: str, pool: list[FunctionSpec] | None = None
    ) -> Plan | Rejection:
        """Compose, judge and write the functions of one task; with distractors, their near-misses too. With a tool
        library the functions are selected from the seed's `pool` instead, and no near-miss is written."""
        pool = pool or []
        behaviour = draw_behaviour(self.mix, self.seed, key)
        meta: dict[str, Any] = {"scenario": scenario, "atomic_task": task, "language": code, "behaviour": behaviour}
        nested = draw_nested(self.nested_share, self.seed, key)
        if self.nested_share > 0:
            meta["nested_parameters"] = nested
        try:
            composite, verdict = await self._feasible_composite(key, task, code, meta, _grounding(pool))
            meta.update(composite_task=composite.instruction, strategy=composite.strategy)
            if not verdict.feasible:
                raise StageRejected(self.judge_composition.stage_name, ["infeasible"], verdict.reasons)
            if self.select_functions is not None:
                selected = await self.select_functions.run(
                    f"{key}/functions",
                    composite_instruction=composite.instruction,
                    subtasks=composite.subtasks,
                    library=tool_view(pool),
                )
                meta["subtasks"] = _subtasks_meta(composite, selected.subtask_functions)
                meta["judge"] = verdict.reasons
                assert self.library is not None
                names = dict.fromkeys(p.function for p in selected.subtask_functions if p.function is not None)
                functions = [self.library.spec(name) for name in names]
                return Plan(key, source_id, code, behaviour, composite, functions, [], meta, pool)
            planned = await self.generate_functions.run(
                f"{key}/functions",
                composite_instruction=composite.instruction,
                subtasks=composite.subtasks,
                nested_parameters=nested,
            )
            meta["subtasks"] = _subtasks_meta(composite, planned.subtask_functions)
            meta["judge"] = verdict.reasons
            near_misses: list[tuple[FunctionSpec, str]] = []
            count = self.near_miss_count(behaviour)
            if count:
                near = await self.generate_near_misses.run(
                    f"{key}/near_misses", functions=planned.functions, count=count
                )
                near_misses = list(zip(near.near_misses, near.resembles, strict=False))[:count]
        except StageRejected as rejected:
            return _rejection(key, source_id, rejected, meta)
        return Plan(key, source_id, code, behaviour, composite, list(planned.functions), near_misses, meta)

    def near_miss_count(self, behaviour: str) -> int:
        """Near-misses among a sample's distractors: half of them, rounded up (a no_call sample offers at least
        two distractors, so that its assistant has tools it must not use)."""
        total = max(self.distractors, 2) if behaviour == "no_call" else self.distractors
        return (total + 1) // 2 if self.distractors else 0

    async def _converse(self, plan: Plan, siblings: list[Plan]) -> Sample | Rejection:
        key, meta = plan.key, dict(plan.meta)
        shaped = shape_behaviour(plan, self.seed)
        meta.update(shaped.meta())
        offered = [f for f in plan.functions if f.name not in shaped.missing] if shaped.behaviour != "no_call" else []
        distractors = self._distractors(plan, siblings, shaped.behaviour)
        meta["distractors"] = [
            {"name": f.name, "kind": kind, **({"resembles": like} if like else {})} for f, kind, like in distractors
        ]
        tools = offered + [f for f, _, _ in distractors]
        random.Random(f"{self.seed}|{key}|tools").shuffle(tools)
        session = self.library.open_session() if self.library is not None and self.run_tools else None
        executor = None
        if self.library is not None and session is not None:
            executor = CallExecutor(self.library, session, self.tool_timeout)
        try:
            messages = await self.conversation.run(
                key,
                plan.composite,
                tools,
                language_name(plan.code),
                request=shaped.request,
                withheld=shaped.withheld,
                follow_up=shaped.follow_up,
                executor=executor,
            )
        except StageRejected as rejected:
            return _rejection(key, plan.source_id, rejected, meta)
        finally:
            if session is not None:
                await session.close()
        if executor is not None:
            meta["execution"] = executor.report([c.id for m in messages for c in m.tool_calls])
        meta["provenance"] = self.provenance()
        sample = Sample(id=key, source_id=plan.source_id, messages=messages, functions=tools, meta=meta)
        row = sample.to_openai()
        findings = errors(check_sample(row))
        if findings:
            return Rejection(
                id=key,
                source_id=plan.source_id,
                stage=StageName.VALIDATE,
                codes=codes(findings),
                message=as_feedback(findings, limit=6),
                meta=meta,
            )
        if self.judge_samples:
            return await self._judge(sample, row)
        return sample

    def _distractors(self, plan: Plan, siblings: list[Plan], behaviour: str) -> list[tuple[FunctionSpec, str, str]]:
        """(function, kind, the function it resembles or "") for one sample: its near-misses, then unrelated
        functions from the seed's other branches and the pool, none sharing a name with a needed function."""
        total = max(self.distractors, 2) if behaviour == "no_call" else self.distractors
        taken = {f.name for f in plan.functions}
        out: list[tuple[FunctionSpec, str, str]] = []
        if self.library is not None:  # the seed's sampled functions, nothing else: every offered tool is real
            spare = [f for f in plan.pool if f.name not in taken]
            random.Random(f"{self.seed}|{plan.key}|distractors").shuffle(spare)
            return [(f, "unrelated", "") for f in spare[:total]]
        for near, like in plan.near_misses:
            if near.name not in taken and len(out) < total:
                out.append((near, "near_miss", like))
                taken.add(near.name)
        rng = random.Random(f"{self.seed}|{plan.key}|distractors")
        others = sorted({f.name: f for p in siblings if p is not plan for f in p.functions}.values(), key=_name)
        rng.shuffle(others)
        pool = list(self.distractor_pool)
        rng.shuffle(pool)
        for f in others + pool:
            if len(out) >= total:
                break
            if f.name not in taken:
                out.append((f, "unrelated", ""))
                taken.add(f.name)
        return out

    async def _judge(self, sample: Sample, row: dict[str, Any]) -> Sample | Rejection:
        """The optional semantic gate; its verdict is kept on the sample or the rejection. Samples that leave
        the task undone by design (no_call, missing_function) are not judged on completing it."""
        if sample.meta.get("behaviour") in ("no_call", "missing_function"):
            return sample
        try:
            assessment = await self.judge_sample.run(
                f"{sample.id}/judge_sample",
                composite_task=sample.meta["composite_task"],
                conversation=row["messages"][1:],
            )
        except StageRejected as rejected:
            return _rejection(sample.id, sample.source_id, rejected, sample.meta)
        verdict = {k: assessment[k] for k in ("accomplished", "faithful", "reasons")}
        failed = ([] if assessment.accomplished else ["judge_task_incomplete"]) + (
            [] if assessment.faithful else ["judge_unfaithful"]
        )
        if failed:
            return Rejection(
                id=sample.id,
                source_id=sample.source_id,
                stage=self.judge_sample.stage_name,
                codes=failed,
                message=assessment.reasons,
                meta={**sample.meta, "sample_judge": verdict},
            )
        sample.meta["sample_judge"] = verdict
        return sample

    async def _feasible_composite(
        self, key: str, task: str, code: str, meta: dict[str, Any], grounding: dict[str, Any] | None = None
    ) -> tuple[CompositeTask, dspy.Prediction]:
        """Compose, then judge; a composite judged infeasible is composed again with the judge's reasons as
        feedback, up to `compose_rounds` times. Returns the last composite and its verdict."""
        revise: Revision | None = None
        for round_number in range(1, self.compose_rounds + 1):
            step = "" if round_number == 1 else f"/{round_number}"
            composite, outputs = await self._compose(key, step, task, code, revise, grounding or {})
            composite = await self._deepen(key, step, composite, code, meta, grounding or {})
            verdict = await self.judge_composition.run(
                f"{key}/judge{step}",
                composite_instruction=composite.instruction,
                steps=composite.steps_text(),
                **(grounding or {}),
            )
            if verdict.feasible:
                break
            revise = Revision(outputs, [error("infeasible", "", f"the feasibility judge: {verdict.reasons}")])
        return composite, verdict

    async def _compose(
        self, key: str, step: str, task: str, code: str, revise: Revision | None, grounding: dict[str, Any]
    ) -> tuple[CompositeTask, dict[str, Any]]:
        stage = self.compose_sequential if self.strategy_for(key) == "sequential" else self.compose_parallel
        prediction = await stage.run(
            f"{key}/compose{step}", revise=revise, task=task, language=language_name(code), **grounding
        )
        build = sequential_task if stage is self.compose_sequential else parallel_then_sequential_task
        return build(task, prediction), stage.dump(prediction)

    def subtask_target(self, key: str, base: int) -> int:
        """How many subtasks the composite of task `key` should have: `base` (its shape's) at the default
        `max_subtasks`, else a seeded draw from `base` up to `max_subtasks`."""
        if self.max_subtasks <= DEFAULT_MAX_SUBTASKS:
            return base
        return random.Random(f"{self.seed}|{key}|subtasks").randint(base, self.max_subtasks)

    async def _deepen(
        self, key: str, step: str, composite: CompositeTask, code: str, meta: dict[str, Any], grounding: dict[str, Any]
    ) -> CompositeTask:
        """Deepen `composite` to its target size, one step at a time: widen a parallel fan-in (seeded coin) or
        extend the chain. A step the model cannot write leaves the composite at the size it reached."""
        target = self.subtask_target(key, len(composite.subtasks))
        if self.max_subtasks > DEFAULT_MAX_SUBTASKS:
            meta["subtask_target"] = target
        coin = random.Random(f"{self.seed}|{key}|deepen{step}")
        number = 0
        while len(composite.subtasks) < target:
            number += 1
            widen = widenable(composite, MAX_FAN_IN) and coin.random() < 0.5
            stage = self.widen_parallel if widen else self.extend_chain
            try:
                prediction = await stage.run(
                    f"{key}/deepen{step}/{number}",
                    check_with={"composite": composite},
                    request=composite.instruction,
                    steps=composite.steps_text(),
                    language=language_name(code),
                    **grounding,
                )
            except StageRejected:
                break
            composite = widened_task(composite, prediction) if widen else extended_task(composite, prediction)
        return composite


def _name(f: FunctionSpec) -> str:
    return f.name


def as_library(tools: ToolLibrary | ToolSource | Sequence[ToolSource | str] | None) -> ToolLibrary | None:
    """`ButtonProgram`'s `tools` as one library: sources and `--tools` texts are loaded and combined."""
    if tools is None or isinstance(tools, ToolLibrary):
        return tools
    if isinstance(tools, ToolSource):
        return ToolLibrary([tools])
    if isinstance(tools, str):
        return ToolLibrary.load([tools])
    texts = [t for t in tools if isinstance(t, str)]
    loaded = ToolLibrary.load(texts).sources if texts else []
    given = iter(loaded)
    return ToolLibrary([next(given) if isinstance(t, str) else t for t in tools])


def tool_view(functions: list[FunctionSpec]) -> list[dict[str, Any]]:
    """Library functions as the stages read them: name, description, parameters and returns."""
    return [f.model_dump() for f in functions]


def _grounding(pool: list[FunctionSpec]) -> dict[str, Any]:
    """The extra stage input that grounds a step in the seed's tools (`GROUNDING_FIELDS`); none without any."""
    return {"tools": tool_view(pool)} if pool else {}


@dataclass
class Shaped:
    """A plan's behaviour made concrete: the user's first request, the value it withholds, its follow-up, the
    functions withheld from the tools, and what `meta` records of it."""

    behaviour: Behaviour
    request: str
    withheld: str = ""
    follow_up: str = ""
    missing: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    def meta(self) -> dict[str, Any]:
        out: dict[str, Any] = {"behaviour": self.behaviour, **self.extra}
        if self.missing:
            out["missing_functions"] = list(self.missing)
        if self.follow_up:
            out["follow_up"] = self.follow_up
        return out


def shape_behaviour(plan: Plan, seed: int) -> Shaped:
    """The plan's behaviour, made concrete from its subtasks and functions. A behaviour the plan cannot carry
    becomes the nearest one it can: clarify with no plain required value to withhold becomes call;
    missing_function that would leave nothing to call becomes no_call."""
    composite, behaviour = plan.composite, plan.behaviour
    rng = random.Random(f"{seed}|{plan.key}|shape")
    served = {s["id"]: s.get("function") for s in plan.meta.get("subtasks", [])}
    specs = {f.name: f for f in plan.functions}
    if behaviour == "clarify":
        first = next((s for s in composite.subtasks if not s.depends_on and served.get(s.id) in specs), None)
        function = specs[str(served[first.id])] if first is not None else None
        options = withholdable(function) if function is not None else []
        if function is None or not options:
            return Shaped("call", composite.instruction)
        name, description = rng.choice(options)
        return Shaped(
            "clarify",
            composite.instruction,
            withheld=f"{name} ({description})" if description else name,
            extra={"clarify": {"parameter": name, "function": function.name}},
        )
    if behaviour == "missing_function":
        for s in reversed(composite.subtasks):
            fn = served.get(s.id)
            if fn is None:
                continue
            blocked = {s.id}
            for t in composite.subtasks:
                if any(d in blocked for d in t.depends_on) or served.get(t.id) == fn:
                    blocked.add(t.id)
            if any(served.get(t.id) is not None and t.id not in blocked for t in composite.subtasks):
                return Shaped("missing_function", composite.instruction, missing=(fn,))
        return Shaped("no_call", composite.instruction)
    if behaviour == "follow_up" and len(composite.subtasks) >= 2:
        *first_steps, last = composite.subtasks
        request = " ".join(s.instruction.strip() for s in first_steps)
        return Shaped("follow_up", request, follow_up=last.instruction.strip())
    if behaviour == "follow_up":
        return Shaped("call", composite.instruction)
    return Shaped(behaviour, composite.instruction)


def withholdable(function: FunctionSpec) -> list[tuple[str, str]]:
    """(name, description) of the required parameters of plain type (string, number, integer) a user could
    leave out of a request and give when asked."""
    raw_properties, raw_required = function.parameters.get("properties"), function.parameters.get("required")
    properties: dict[str, Any] = raw_properties if isinstance(raw_properties, dict) else {}
    required: list[Any] = raw_required if isinstance(raw_required, list) else []
    out = []
    for name in required:
        schema = properties.get(name)
        if isinstance(schema, dict) and schema.get("type") in ("string", "number", "integer") and "enum" not in schema:
            out.append((str(name), str(schema.get("description") or "")))
    return out


def _distinct_scenarios(scenarios: list[str]) -> list[str]:
    """The scenarios without near-duplicates (MinHash LSH), the first kept, as BUTTON does before writing tasks."""
    distinct = unique_texts(scenarios)
    meter = current_meter()
    if meter is not None and len(distinct) < len(scenarios):
        meter.note("scenario_duplicates_removed", len(scenarios) - len(distinct))
    return distinct


def _subtasks_meta(composite: CompositeTask, plan: list[SubtaskFunction]) -> list[dict[str, Any]]:
    served = {p.subtask: p.function for p in plan}
    return [{**s.model_dump(), "function": served.get(s.id)} for s in composite.subtasks]


def _rejection(key: str, source_id: str, rejected: StageRejected, meta: dict[str, Any]) -> Rejection:
    return Rejection(
        id=key, source_id=source_id, stage=rejected.stage, codes=rejected.codes, message=rejected.message, meta=meta
    )
