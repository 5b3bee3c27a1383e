"""ButtonProgram: the BUTTON pipeline composed, top to bottom, for one seed.

    chat ─extract─▶ scenario ─expand─▶ scenarios ─atomic tasks─▶ tasks
         ─compose (sequential | parallel-then-sequential)─▶ composite ─judge─▶ feasible composite
         ─generate functions─▶ tools ─user ⇄ assistant ⇄ tool─▶ conversation ─validate─▶ sample | rejection

Every branch (scenario × task) ends as a `Sample` or a `Rejection`; a seed that fails before it
branches ends as one `Rejection`. Nothing raises for bad model output; only errors that would fail
every record (a wrong key, an unknown model) propagate.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

import dspy

from toolsynth import __version__
from toolsynth.language import detect_language, language_name
from toolsynth.lm import DEMO_MODEL_NAME
from toolsynth.programs.compose_parallel import ComposeParallelThenSequentialStage, parallel_then_sequential_task
from toolsynth.programs.compose_sequential import ComposeSequentialStage, sequential_task
from toolsynth.programs.conversation import DEFAULT_SYSTEM_PROMPT, Conversation
from toolsynth.programs.expand_scenario import ExpandScenarioStage
from toolsynth.programs.extract_scenario import ExtractScenarioStage
from toolsynth.programs.generate_atomic_task import GenerateAtomicTaskStage
from toolsynth.programs.generate_functions import GenerateFunctionsStage
from toolsynth.programs.judge_composition import JudgeCompositionStage
from toolsynth.programs.judge_sample import JudgeSampleStage
from toolsynth.programs.stage import Revision, Stage, StageRejected, run_sync
from toolsynth.readers import render_transcript
from toolsynth.sampling import Sampling, sampling_for
from toolsynth.stages import StageName
from toolsynth.types import CompositeTask, Rejection, Sample, SubtaskFunction
from toolsynth.validators.findings import as_feedback, codes, error, errors
from toolsynth.validators.sample import check_sample


class ButtonResult(dspy.Prediction):
    """What one seed became: `samples` and `rejections` (a `dspy.Prediction`, so evaluators accept it)."""

    def __init__(self, samples: list[Sample] | None = None, rejections: list[Rejection] | None = None) -> None:
        super().__init__(samples=list(samples or []), rejections=list(rejections or []))

    samples: list[Sample]
    rejections: list[Rejection]


class ButtonProgram(dspy.Module):
    """The BUTTON recipe as one DSPy program.

    Knobs: `expand` new scenarios per seed (besides the extracted one), `tasks_per_scenario` atomic tasks
    per scenario, `parallel_ratio` the share of parallel-then-sequential compositions, `max_turns`
    assistant turns per conversation, `max_attempts` per stage (1 = no repair retry), `seed` for the
    program's own choices, `language` to force one language for every sample, `role_lms` to give the
    assistant, user, tool, judge or generator roles their own `dspy.LM`, `sampling` their temperature and
    max_tokens (`toolsynth.sampling`), `compose_rounds` how often a composite the judge finds infeasible is
    composed again with the judge's reasons as feedback.

    A sample's language is the forced `language` if any, else the seed's own (`language=` of a call), else
    the one detected from the seed's natural-language text (never from its function calls or results).
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
    ) -> None:
        super().__init__()
        if not 0.0 <= parallel_ratio <= 1.0:
            raise ValueError(f"parallel_ratio must be within [0, 1], got {parallel_ratio}")
        self.extract_scenario = ExtractScenarioStage(max_attempts)
        self.expand_scenario = ExpandScenarioStage(max_attempts)
        self.generate_atomic_task = GenerateAtomicTaskStage(max_attempts)
        self.compose_sequential = ComposeSequentialStage(max_attempts)
        self.compose_parallel = ComposeParallelThenSequentialStage(max_attempts)
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
            "sampling": {role: s.request_kwargs() for role, s in sorted(self.sampling.items())},
        }

    def provenance(self) -> dict[str, Any]:
        """Which model played each role, and whether any of them was the offline demo model."""
        models = {}
        for stage in self.stages():
            lm = stage.role_lm or dspy.settings.lm
            models[stage.role] = str(getattr(lm, "model", None))
        return {"models": models, "demo": DEMO_MODEL_NAME in models.values(), "toolsynth": __version__}

    def stages(self) -> list[Stage]:
        c = self.conversation
        return [
            self.extract_scenario,
            self.expand_scenario,
            self.generate_atomic_task,
            self.compose_sequential,
            self.compose_parallel,
            self.judge_composition,
            self.generate_functions,
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
        try:
            if scenario is None:
                scenario = (await self.extract_scenario.run(f"{source_id}/scenario", chat=transcript)).scenario
            scenarios = [scenario]
            if self.expand > 0:
                expanded = await self.expand_scenario.run(f"{source_id}/expand", scenario=scenario, count=self.expand)
                scenarios += expanded.scenarios[: self.expand]
        except StageRejected as rejected:
            result.rejections.append(_rejection(source_id, source_id, rejected, {"language": code}))
            return result
        branches = await asyncio.gather(
            *(self._scenario(source_id, f"{source_id}-s{i}", s, code) for i, s in enumerate(scenarios))
        )
        for branch in branches:
            result.samples += branch.samples
            result.rejections += branch.rejections
        return result

    async def _scenario(self, source_id: str, key: str, scenario: str, code: str) -> ButtonResult:
        try:
            tasks = (
                await self.generate_atomic_task.run(
                    f"{key}/tasks", scenario=scenario, count=self.tasks_per_scenario, language=language_name(code)
                )
            ).tasks[: self.tasks_per_scenario]
        except StageRejected as rejected:
            return ButtonResult(rejections=[_rejection(key, source_id, rejected, {"scenario": scenario})])
        outcomes = await asyncio.gather(
            *(self._task(source_id, f"{key}-t{i}", scenario, t, code) for i, t in enumerate(tasks))
        )
        out = ButtonResult()
        for outcome in outcomes:
            if isinstance(outcome, Sample):
                out.samples.append(outcome)
            else:
                out.rejections.append(outcome)
        return out

    def strategy_for(self, key: str) -> str:
        parallel = random.Random(f"{self.seed}|{key}").random() < self.parallel_ratio
        return "parallel_then_sequential" if parallel else "sequential"

    async def _task(self, source_id: str, key: str, scenario: str, task: str, code: str) -> Sample | Rejection:
        meta: dict[str, Any] = {"scenario": scenario, "atomic_task": task, "language": code}
        try:
            composite, verdict = await self._feasible_composite(key, task, code)
            meta.update(composite_task=composite.instruction, strategy=composite.strategy)
            if not verdict.feasible:
                raise StageRejected(self.judge_composition.stage_name, ["infeasible"], verdict.reasons)
            planned = await self.generate_functions.run(
                f"{key}/functions", composite_instruction=composite.instruction, subtasks=composite.subtasks
            )
            meta["subtasks"] = _subtasks_meta(composite, planned.subtask_functions)
            messages = await self.conversation.run(key, composite, planned.functions, language_name(code))
        except StageRejected as rejected:
            return _rejection(key, source_id, rejected, meta)
        meta["judge"] = verdict.reasons
        meta["provenance"] = self.provenance()
        sample = Sample(id=key, source_id=source_id, messages=messages, functions=planned.functions, meta=meta)
        row = sample.to_openai()
        findings = errors(check_sample(row))
        if findings:
            return Rejection(
                id=key,
                source_id=source_id,
                stage=StageName.VALIDATE,
                codes=codes(findings),
                message=as_feedback(findings, limit=6),
                meta=meta,
            )
        if self.judge_samples:
            return await self._judge(sample, row)
        return sample

    async def _judge(self, sample: Sample, row: dict[str, Any]) -> Sample | Rejection:
        """The optional semantic gate; its verdict is kept on the sample or the rejection."""
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

    async def _feasible_composite(self, key: str, task: str, code: str) -> tuple[CompositeTask, dspy.Prediction]:
        """Compose, then judge; a composite judged infeasible is composed again with the judge's reasons as
        feedback, up to `compose_rounds` times. Returns the last composite and its verdict."""
        revise: Revision | None = None
        for round_number in range(1, self.compose_rounds + 1):
            step = "" if round_number == 1 else f"/{round_number}"
            composite, outputs = await self._compose(key, step, task, code, revise)
            verdict = await self.judge_composition.run(
                f"{key}/judge{step}", composite_instruction=composite.instruction, steps=composite.steps_text()
            )
            if verdict.feasible:
                break
            revise = Revision(outputs, [error("infeasible", "", f"the feasibility judge: {verdict.reasons}")])
        return composite, verdict

    async def _compose(
        self, key: str, step: str, task: str, code: str, revise: Revision | None
    ) -> tuple[CompositeTask, dict[str, Any]]:
        stage = self.compose_sequential if self.strategy_for(key) == "sequential" else self.compose_parallel
        prediction = await stage.run(f"{key}/compose{step}", revise=revise, task=task, language=language_name(code))
        build = sequential_task if stage is self.compose_sequential else parallel_then_sequential_task
        return build(task, prediction), stage.dump(prediction)


def _subtasks_meta(composite: CompositeTask, plan: list[SubtaskFunction]) -> list[dict[str, Any]]:
    served = {p.subtask: p.function for p in plan}
    return [{**s.model_dump(), "function": served.get(s.id)} for s in composite.subtasks]


def _rejection(key: str, source_id: str, rejected: StageRejected, meta: dict[str, Any]) -> Rejection:
    return Rejection(
        id=key, source_id=source_id, stage=rejected.stage, codes=rejected.codes, message=rejected.message, meta=meta
    )
