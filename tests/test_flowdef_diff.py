"""flowdef.diff_definitions on a corpus of definition pairs whose diffs were written by hand."""

from __future__ import annotations

import copy
import json
import pathlib

import pytest

from gladier_jupyter import flowdef

DATA = pathlib.Path(__file__).parent / "data" / "diffs"
CASES = sorted(DATA.glob("*.json"))


def _load(path: pathlib.Path) -> dict:
    return json.loads(path.read_text())


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_diff_of_each_pair_is_the_hand_written_one(path):
    case = _load(path)
    before = copy.deepcopy((case["old"], case["new"]))
    got = flowdef.diff_definitions(case["old"], case["new"],
                                   old_functions=case.get("old_functions"),
                                   new_functions=case.get("new_functions")).to_dict()
    want = case["expected"]
    assert got["states"] == {n: {"name": n, **s} for n, s in want["states"].items()}
    assert got["top"] == want["top"]
    assert got["functions"] == want.get("functions", {})
    assert got["summary"] == want["summary"]
    assert got["changed"] == (want["summary"] != "No change.")
    assert (case["old"], case["new"]) == before  # pure: the inputs are left as they were
    json.dumps(got)  # JSON-ready, as the widgets send it


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_diff_reversed_swaps_added_and_removed(path):
    case = _load(path)
    forward = flowdef.diff_definitions(case["old"], case["new"])
    back = flowdef.diff_definitions(case["new"], case["old"])
    assert set(back.names("added")) == set(forward.names("removed"))
    assert set(back.names("removed")) == set(forward.names("added"))
    assert set(back.names("changed")) == set(forward.names("changed"))


def test_states_come_in_new_order_then_removed_in_old_order():
    case = _load(DATA / "rename_state.json")
    diff = flowdef.diff_definitions(case["old"], case["new"])
    assert list(diff.states) == ["Run", "GatherMetadata", "Gather"]


def test_diff_text_marks_each_state_and_field():
    case = _load(DATA / "parameters_dollar.json")
    text = flowdef.diff_definitions(case["old"], case["new"]).to_text()
    assert text.splitlines()[:2] == ["1 changed.", "~ Publish"]
    assert "    $.States.Publish.Parameters['index.$']: \"$.input.search_index\" → \"$.input.index\"" in text


def test_a_function_known_on_one_side_only_is_not_a_change():
    case = _load(DATA / "changed_function.json")
    diff = flowdef.diff_definitions(case["old"], case["new"], old_functions={},
                                    new_functions=case["new_functions"])
    assert not diff.changed


def test_non_definitions_diff_as_empty():
    diff = flowdef.diff_definitions(None, {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}})
    assert diff.names("added") == ["A"]
    assert diff.top == [flowdef.FieldChange("$.StartAt", "added", new="A")]
