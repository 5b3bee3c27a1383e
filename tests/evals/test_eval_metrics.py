"""Metrics on hand-built rows: scores move the right way and the feedback names the fault."""

from __future__ import annotations

import copy
import json

import dspy
import pytest
from evalrows import complete_row, missing_subtask_row, out_of_order_row, unused_result_row

from toolsynth.evals.diversity import distinct_n, diversity
from toolsynth.evals.metrics import (
    assess,
    combined,
    combined_with_feedback,
    completeness,
    consistency,
    score_row,
    stage_for,
)
from toolsynth.programs import ButtonProgram
from toolsynth.signatures import AssistantTurn
from toolsynth.stages import CONVERSATION_AGENTS, StageName
from toolsynth.types import Rejection


class Result:
    """A stand-in for ButtonResult holding raw rows."""

    def __init__(self, samples: list[dict], rejections: list[Rejection] | None = None) -> None:
        self.samples = samples
        self.rejections = rejections or []


def test_complete_row_scores_one() -> None:
    s = score_row(complete_row())
    assert (s.completeness, s.consistency, s.errors, s.warnings) == (1.0, 1.0, 0, 0)
    assert s.faults == []


def test_missing_subtask_lowers_completeness_and_names_it() -> None:
    s = score_row(missing_subtask_row())
    assert s.completeness < 0.7
    assert s.consistency < 1.0 and s.errors == 1  # subtask_not_served
    assert any("subtask 2" in f.text and "suggest_packing" in f.text and "none" in f.text for f in s.faults)


def test_out_of_order_dependent_call_lowers_consistency_and_names_it() -> None:
    good, bad = score_row(complete_row()), score_row(out_of_order_row())
    assert bad.consistency < good.consistency and bad.errors >= 1
    assert bad.completeness < good.completeness  # the dependent call is not a valid one
    text = " ".join(f.text for f in bad.faults)
    assert "dependency_order_violated" in text and "subtask 2" in text


def test_unused_result_lowers_completeness_and_names_it() -> None:
    s = score_row(unused_result_row())
    assert 0.5 < s.completeness < 1.0
    assert any("never used" in f.text and "suggest_packing" in f.text for f in s.faults)


def test_reasoning_subtask_needs_a_final_answer_that_reasons() -> None:
    row = complete_row()
    row["meta"]["subtasks"].append(
        {"id": 3, "instruction": "Say whether an umbrella is worth carrying.", "depends_on": [1, 2], "function": None}
    )
    assert score_row(row).completeness == 1.0  # "umbrella" and the results are in the answer
    row["messages"][-1] = {"role": "assistant", "content": "Lisbon: rain, 14 °C. Pack a raincoat."}
    s = score_row(row)
    assert s.completeness < 1.0
    assert any("subtask 3" in f.text and "does not address" in f.text for f in s.faults)


def test_missing_final_answer_and_refusal() -> None:
    row = complete_row()
    row["messages"][-1] = {"role": "assistant", "content": "I'm sorry, I can't help with that."}
    refusal = score_row(row)
    assert refusal.completeness < 1.0 and any("refusal" in f.text for f in refusal.faults)
    row["messages"] = row["messages"][:-1]
    unfinished = score_row(row)
    assert unfinished.completeness < refusal.completeness
    assert any("does not end with an assistant text answer" in f.text for f in unfinished.faults)


def test_prediction_score_is_the_mean_over_samples() -> None:
    good, bad = complete_row(), missing_subtask_row()
    both = assess(Result([good, bad]))
    assert both.completeness == pytest.approx((score_row(good).completeness + score_row(bad).completeness) / 2)
    assert both.acceptance == 1.0
    assert 0.0 < both.score < assess(Result([good])).score == 1.0


def test_no_samples_scores_zero_with_rejection_stages_and_codes() -> None:
    rejection = Rejection(
        id="s-t0",
        source_id="s",
        stage="GenerateFunctions",
        codes=["function_name_invalid"],
        message="gave up after 3 attempts",
    )
    prediction = Result([], [rejection])
    assert combined(None, prediction) == completeness(None, prediction) == consistency(None, prediction) == 0.0
    feedback = combined_with_feedback(None, prediction)
    assert feedback.score == 0.0
    assert "GenerateFunctions" in feedback.feedback and "function_name_invalid" in feedback.feedback
    assert "raise" in assess(dspy.Prediction()).feedback()  # a failed run: no samples, no rejections


def test_rejections_lower_acceptance() -> None:
    rejection = Rejection(id="s-t1", source_id="s", stage="Conversation", codes=["max_turns_reached"], message="x")
    found = assess(Result([complete_row()], [rejection]))
    assert found.acceptance == 0.5 and found.score == pytest.approx(0.9)
    assert "max_turns_reached" in found.feedback()


def test_with_a_trace_metrics_pass_or_fail() -> None:
    assert combined(None, Result([complete_row()]), trace=[]) is True
    assert combined(None, Result([missing_subtask_row()]), trace=[]) is False


def test_feedback_for_one_predictor_puts_its_faults_first() -> None:
    prediction = Result([complete_row(), unused_result_row()])
    assert stage_for("conversation.assistant.predict") == "AssistantTurn"
    for_assistant = combined_with_feedback(None, prediction, None, "conversation.assistant.predict", None)
    assert "Problems for this stage (AssistantTurn)" in for_assistant.feedback
    assert "never used" in for_assistant.feedback
    for_tool = combined_with_feedback(None, prediction, None, "conversation.tool.predict", None)
    assert "nothing wrong was traced to this stage (SimulateTool)" in for_tool.feedback
    assert for_tool.score == for_assistant.score  # module-level score, as GEPA expects


def test_demo_samples_score_high(demo: dspy.LM) -> None:
    result = ButtonProgram(expand=0, tasks_per_scenario=2)(chat="USER: What's the weather in Paris?", source_id="w")
    found = assess(result)
    assert found.samples and found.score >= 0.95, found.feedback()


def test_diversity_figures() -> None:
    rows = [complete_row(), copy.deepcopy(complete_row())]
    rows[1]["meta"]["strategy"] = "parallel_then_sequential"
    figures = diversity(rows)
    assert figures["samples"] == 2 and figures["distinct_scenarios"] == 1
    assert figures["distinct_functions"] == 2
    assert figures["strategies"] == {"parallel_then_sequential": 1, "sequential": 1}
    assert figures["distinct_n"]["distinct_1"] == pytest.approx(0.5)  # the same user turn twice
    assert distinct_n(["a b c", "d e f"], 2) == 1.0 and distinct_n([], 1) == 0.0
    assert distinct_n(["北京天气", "北京天气"], 1) == pytest.approx(0.5)


def test_metrics_and_the_composition_check_agree_on_which_call_serves_a_subtask() -> None:
    row = complete_row()  # two subtasks ask for the same weather: one call serves both, as the check says
    row["meta"]["subtasks"].append(
        {"id": 3, "instruction": "Check the weather in Lisbon again.", "depends_on": [], "function": "get_weather"}
    )
    s = score_row(row)
    assert "subtask_not_served" not in str(s.faults) and not any("there is none" in f.text for f in s.faults)
    assert s.completeness == 1.0


def test_a_final_answer_in_text_parts_is_a_final_answer() -> None:
    row = complete_row()
    row["messages"][-1]["content"] = [{"type": "text", "text": row["messages"][-1]["content"]}]
    assert score_row(row).completeness == 1.0


def test_stage_names_come_from_the_signatures_and_every_stage_is_registered() -> None:
    program = ButtonProgram()
    assert {stage.stage_name for stage in program.stages()} <= set(StageName)
    assert StageName.ASSISTANT_TURN == AssistantTurn.__name__ == program.conversation.assistant.stage_name
    assert stage_for("conversation.tool.predict") is StageName.SIMULATE_TOOL


def test_findings_are_blamed_on_the_stage_that_wrote_the_part_they_point_at() -> None:
    row = complete_row()
    row["messages"][3]["name"] = "suggest_packing"  # the tool message answering get_weather names another function
    row["tools"][1]["function"]["description"] = " "
    by_code = {f.text.split("]")[0].strip("["): f.stage for f in score_row(row).faults if f.text.startswith("[")}
    assert by_code["tool_name_mismatch"] == StageName.SIMULATE_TOOL
    assert by_code["function_description_missing"] == StageName.GENERATE_FUNCTIONS


def test_a_call_far_into_a_conversation_is_matched_by_location_not_by_text_prefix() -> None:
    row = complete_row()
    filler = [{"role": "user", "content": "And?"}, {"role": "assistant", "content": "Checking."}] * 5
    row["messages"][2:2] = [*filler[1:], {"role": "user", "content": "Go on."}]  # the calls move to messages[12..]
    row["messages"][14]["tool_calls"][0]["function"]["arguments"] = json.dumps({"condition": 3})
    s = score_row(row)
    assert [f.text for f in s.faults if "is not valid" in f.text] == [
        "subtask 2 (Suggest what to pack for that weather.): the call to 'suggest_packing' at "
        "messages[14].tool_calls[0] is not valid: [arguments_schema_violation]"
    ]
    assert [f.stage for f in s.faults if "is not valid" in f.text] == [StageName.ASSISTANT_TURN]


def test_rejections_of_the_conversation_loop_and_the_final_gate_go_to_the_conversation_agents() -> None:
    loop = Rejection(id="a", source_id="s", stage=StageName.CONVERSATION, codes=["max_turns_reached"], message="x")
    gate = Rejection(id="b", source_id="s", stage=StageName.VALIDATE, codes=["tool_call_unanswered"], message="y")
    faults = assess(Result([], [loop, gate])).faults
    assert {f.stage for f in faults if "max_turns_reached" in f.text} == {"AssistantTurn", "SimulateUser"}
    assert {f.stage for f in faults if "tool_call_unanswered" in f.text} == set(CONVERSATION_AGENTS)
