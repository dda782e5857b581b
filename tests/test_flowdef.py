"""flowdef: validation, JSONPaths read and required input, on definitions kept as JSON files."""

from __future__ import annotations

import json
import pathlib
import re

import pytest

from gladier_jupyter import flowdef
from gladier_jupyter.errors import GladierJupyterUsageError

DATA = pathlib.Path(__file__).parent / "data" / "definitions"
VALID = sorted((DATA / "valid").glob("*.json"))
BROKEN = sorted((DATA / "broken").glob("*.json"))


def _load(path: pathlib.Path) -> dict:
    return json.loads(path.read_text())


@pytest.mark.parametrize("path", VALID, ids=[p.stem for p in VALID])
def test_valid_definition_has_no_errors(path):
    problems = flowdef.validate(_load(path))
    assert [p for p in problems if p.severity == "error"] == []


@pytest.mark.parametrize("path", BROKEN, ids=[p.stem for p in BROKEN])
def test_broken_definition_reports_each_expected_problem_at_its_path(path):
    case = _load(path)
    found = flowdef.validate(case["definition"])
    got = {(p.code, p.state, p.path, p.severity) for p in found}
    for want in case["problems"]:
        key = (want["code"], want["state"], want["path"], want.get("severity", "error"))
        assert key in got, f"{key} not in {sorted(got, key=str)}"
    # every problem message is one sentence naming the state when there is one, with lists
    # written as prose ('A', 'B' or 'C'), never a Python list repr, and no '.;'
    for p in found:
        assert p.message and "\n" not in p.message
        assert not re.search(r"\['|\.;|\bNone\b\)", p.message), p.message
        if p.state:
            assert repr(p.state) in p.message


def test_broken_definitions_report_nothing_unexpected():
    case = _load(DATA / "broken" / "unknown_next.json")
    codes = sorted(p.code for p in flowdef.validate(case["definition"]))
    assert codes == ["no_end", "unknown_target", "unreachable"]


@pytest.mark.parametrize("value", [None, [], "StartAt", 3])
def test_non_dict_definition_is_one_error(value):
    problems = flowdef.validate(value)
    assert [p.code for p in problems] == ["not_a_dict"]


def test_choice_without_default_is_a_warning_not_an_error():
    definition = {
        "StartAt": "C",
        "States": {
            "C": {"Type": "Choice",
                  "Choices": [{"Variable": "$.input.x", "IsPresent": True, "Next": "E"}]},
            "E": {"Type": "Pass", "End": True},
        },
    }
    problems = flowdef.validate(definition)
    assert [(p.code, p.severity) for p in problems] == [("choice_without_default", "warning")]
    assert flowdef.errors(definition) == []


def test_choice_rule_with_wrong_value_type_is_reported():
    definition = {
        "StartAt": "C",
        "States": {
            "C": {"Type": "Choice", "Default": "E",
                  "Choices": [{"Variable": "$.n", "NumericEquals": "3", "Next": "E"}]},
            "E": {"Type": "Pass", "End": True},
        },
    }
    (problem,) = flowdef.validate(definition)
    assert problem.code == "bad_rule"
    assert problem.path == "$.States.C.Choices[0].NumericEquals"


def test_state_names_with_spaces_get_bracketed_paths():
    definition = {"StartAt": "Step one", "States": {"Step one": {"Type": "Pass", "Next": "x y"}}}
    paths = {p.path for p in flowdef.validate(definition)}
    assert "$.States['Step one'].Next" in paths


def test_input_paths_apply_input_path_to_parameters():
    definition = _load(DATA / "valid" / "wait_timestamp_input_path.json")
    reads = flowdef.input_paths(definition)
    assert reads["WaitUntil"] == ["$.input.not_before"]
    assert reads["Compute"] == [
        "$.input", "$.input.compute_endpoint", "$.input.analyse_function_id", "$.input.data_path"
    ]


def test_required_input_keys_cover_parameters_choices_waits_and_expressions():
    definition = _load(DATA / "valid" / "choice_loop.json")
    keys = flowdef.required_input_keys(definition)
    assert keys == {
        "limit": ["Init"],
        "mode": ["Check"],
        "delay": ["Pause"],
    }
    # an expression reading the flow state is a read of that path
    assert "$.counter.count" in flowdef.input_paths(definition)["Increment"]


def test_expression_paths_follow_attribute_and_subscript_chains():
    assert flowdef.expression_paths("input.count + len(input['items']) * 2") == [
        "$.input.count", "$.input.items"
    ]


def test_input_key_of_whole_input_is_none():
    assert flowdef.input_key("$.input") is None
    assert flowdef.input_key("$.input.name") == "name"
    assert flowdef.input_key("$.input['a b'].c") == "a b"
    assert flowdef.input_key("$.Other.input") is None


@pytest.mark.parametrize("expr", ["$.", "$.a[", "input.x", "", 7])
def test_parse_jsonpath_rejects_ill_formed_paths_with_a_usage_error(expr):
    with pytest.raises(GladierJupyterUsageError) as info:
        flowdef.parse_jsonpath(expr)
    assert repr(expr) in str(info.value)


def test_parse_jsonpath_accepts_flow_paths():
    for expr in ["$", "$.input", "$.GatherMetadata.details.result[0]", "$._context.run_id"]:
        assert flowdef.parse_jsonpath(expr) is not None


def test_parse_expression_rejects_bad_syntax():
    with pytest.raises(GladierJupyterUsageError, match="not valid expression syntax"):
        flowdef.parse_expression("a +")
