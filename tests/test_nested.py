"""Nested parameters end to end on the demo model: with `--nested-share 1.0` the functions of the domains that
have a nested form take an object or array-of-objects parameter, the calls fill it, the samples validate and the
manifest counts them; the default run records nothing of it. The `nested_parameter_unfilled` check on its own."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support import ROOT
from toolsynth.behaviours import DEFAULT_NESTED_SHARE, draw_nested
from toolsynth.cli import main
from toolsynth.demo_domains.shopping import SHOPPING
from toolsynth.demo_model import _flatten, _nest
from toolsynth.programs.button import ButtonProgram
from toolsynth.validators.behaviour import check_behaviour, nested_parameters
from toolsynth.validators.findings import codes, errors
from toolsynth.validators.plan import check_function_plan
from toolsynth.validators.sample import check_sample

SEEDS = ROOT / "examples" / "seeds.jsonl"


def _rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _nested_arguments(row: dict[str, Any]) -> list[dict[str, Any]]:
    """The arguments of the row's calls that hold an object or an array of objects."""
    out = []
    for message in row["messages"]:
        for call in message.get("tool_calls") or []:
            arguments = json.loads(call["function"]["arguments"])
            if any(
                isinstance(v, dict) or (isinstance(v, list) and v and isinstance(v[0], dict))
                for v in arguments.values()
            ):
                out.append(arguments)
    return out


@pytest.fixture(scope="module")
def nested_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("nested")
    assert main(["synth", str(SEEDS), "-o", str(out), "--nested-share", "1.0", "--quiet"]) == 0
    return out


def test_nested_run_fills_nested_parameters_validates_and_is_counted(nested_run: Path) -> None:
    samples = _rows(nested_run / "samples.jsonl")
    manifest = json.loads((nested_run / "manifest.json").read_text(encoding="utf-8"))
    assert len(samples) >= 2
    assert all(s["meta"]["nested_parameters"] is True for s in samples)
    assert all(_nested_arguments(s) for s in samples)
    assert {"trip", "stay"} <= {
        k for s in samples for a in _nested_arguments(s) for k, v in a.items() if isinstance(v, dict)
    }
    assert manifest["counts"]["accepted_nested"] == len(samples)
    assert manifest["program"]["nested_share"] == 1.0
    assert [e for s in samples for e in errors(check_sample(s))] == []
    assert main(["validate", str(nested_run / "samples.jsonl")]) == 0


def test_default_run_records_no_nested_draw(tmp_path: Path) -> None:
    assert DEFAULT_NESTED_SHARE == 0.0
    assert main(["synth", str(SEEDS), "-o", str(tmp_path), "--quiet"]) == 0
    samples = _rows(tmp_path / "samples.jsonl")
    manifest = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    assert samples and all("nested_parameters" not in s["meta"] and not _nested_arguments(s) for s in samples)
    assert manifest["counts"]["accepted_nested"] == 0


def test_nested_draw_follows_the_share_and_the_share_is_checked() -> None:
    keys = [f"seed-{i}-s0-t0" for i in range(200)]
    assert not any(draw_nested(0.0, 0, k) for k in keys)
    assert all(draw_nested(1.0, 0, k) for k in keys)
    assert 60 <= sum(draw_nested(0.5, 0, k) for k in keys) <= 140
    with pytest.raises(ValueError, match="nested_share"):
        ButtonProgram(nested_share=1.5)


def test_line_items_are_an_array_of_objects_the_demo_fills_and_reads_back() -> None:
    add_to_cart = SHOPPING.capability("add_to_cart").spec(nested=True)
    items = add_to_cart["parameters"]["properties"]["items"]
    assert add_to_cart["parameters"]["required"] == ["items"]
    assert items["type"] == "array" and items["items"]["required"] == ["product_id", "quantity"]
    assert nested_parameters(add_to_cart) == {"items"}
    flat = {"product_id": "P1", "quantity": 2}
    nested = _nest(flat, add_to_cart["parameters"]["properties"])
    assert nested == {"items": [{"product_id": "P1", "quantity": 2}]}
    assert _flatten(nested) == flat
    assert SHOPPING.capability("add_to_cart").spec()["parameters"]["required"] == ["product_id", "quantity"]


def _row(arguments: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    tools = [{"type": "function", "function": SHOPPING.capability("add_to_cart").spec(nested=True)}]
    call: dict[str, Any] = {
        "id": "c1",
        "type": "function",
        "function": {"name": "add_to_cart", "arguments": json.dumps(arguments)},
    }
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": "Add two of P1 to my cart."},
        {"role": "assistant", "content": "", "tool_calls": [call]},
    ]
    return messages, tools


def test_a_nested_sample_whose_calls_fill_no_nested_parameter_is_an_error() -> None:
    flat, tools = _row({"product_id": "P1", "quantity": 2})
    assert codes(check_behaviour(flat, {"nested_parameters": True}, tools)) == ["nested_parameter_unfilled"]
    assert check_behaviour(flat, {"nested_parameters": False}, tools) == []
    filled, _ = _row({"items": [{"product_id": "P1", "quantity": 2}]})
    assert check_behaviour(filled, {"nested_parameters": True}, tools) == []
    assert check_behaviour(flat[:1], {"nested_parameters": True}, tools) == []


def test_a_result_field_may_flow_into_a_field_of_an_object_parameter() -> None:
    search, add = (SHOPPING.capability(n).spec(nested=True) for n in ("search_products", "add_to_cart"))
    plan = [{"subtask": 1, "function": "search_products"}, {"subtask": 2, "function": "add_to_cart"}]
    subtasks = [{"id": 1, "depends_on": []}, {"id": 2, "depends_on": [1]}]
    assert check_function_plan([search, add], plan, subtasks) == []
    sku = {
        "type": "object",
        "description": "What to add",
        "properties": {"sku": {"type": "string", "description": "SKU"}},
    }
    unrelated = {**add, "parameters": {"type": "object", "properties": {"items": sku}, "required": ["items"]}}
    assert codes(check_function_plan([search, unrelated], plan, subtasks)) == ["data_flow_unwired"]
