"""The flow language, one case per state type and feature, run through globus-sdk's FlowsClient.

Cases live in tests/data/flows/engine_cases.json: a definition, an input and what the run
must end with (status, a subset of the output, the error, the log entry codes).
"""

from __future__ import annotations

import json
import pathlib

import pytest

from tests._fixtures.local import run_log

CASES = json.loads(
    (
        pathlib.Path(__file__).resolve().parent.parent / "data" / "flows" / "engine_cases.json"
    ).read_text()
)


def assert_subset(expected, actual, where="output"):
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{where}: expected an object, got {actual!r}"
        for key, value in expected.items():
            assert key in actual, f"{where}.{key} is missing from {actual!r}"
            assert_subset(value, actual[key], f"{where}.{key}")
    else:
        assert actual == expected, f"{where}: {actual!r} != {expected!r}"


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_flow_language(case, run_definition, flows_client):
    run = run_definition(case["definition"], case["input"])
    expect = case["expect"]

    assert run["status"] == expect["status"], run["details"]
    if "output" in expect:
        assert_subset(expect["output"], run["details"]["output"])
    if "error" in expect:
        assert run["details"]["code"] == "FlowFailed"
        assert run["details"]["details"]["error"] == expect["error"], run["details"]
    if "cause_contains" in expect:
        assert expect["cause_contains"] in run["details"]["details"]["cause"]
        assert expect["cause_contains"] in run["details"]["description"]
    for dotted, keys in expect.get("output_keys", {}).items():
        value = run["details"]["output"]
        for part in dotted.split("."):
            value = value[part]
        assert sorted(value) == sorted(keys), f"{dotted} has keys {sorted(value)}"
    if "log_codes" in expect:
        assert [e["code"] for e in run_log(flows_client, run["run_id"])] == expect["log_codes"]


def test_log_entries_of_grouped_pure_states_keep_the_data_of_their_own_state(run_definition, flows_client):
    # Pure states are stored in groups, after later states of the group wrote into the same
    # nested object; each entry shows the run data as its own state had it.
    definition = {"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Result": 1, "ResultPath": "$.acc.a", "Next": "B"},
        "B": {"Type": "Pass", "Result": 2, "ResultPath": "$.acc.b", "Next": "Check"},
        "Check": {"Type": "Choice", "Choices": [
            {"Variable": "$.acc.c", "IsPresent": True, "Next": "Done"}], "Default": "C"},
        "C": {"Type": "ExpressionEval", "Parameters": {"sum.=": "acc.a + acc.b"},
              "ResultPath": "$.acc.c", "Next": "Check"},
        "Done": {"Type": "Pass", "End": True}}}
    run = run_definition(definition, {"acc": {"from": "input"}})
    assert run["status"] == "SUCCEEDED", run["details"]
    seen = [(e["code"], e["details"].get("input", e["details"].get("output")))
            for e in run_log(flows_client, run["run_id"]) if e["code"].startswith(("Pass", "Choice", "Expr"))]
    acc = [(code, value.get("acc") if isinstance(value, dict) else value) for code, value in seen]
    assert acc == [
        ("PassStarted", {"from": "input"}),
        ("PassCompleted", {"from": "input", "a": 1}),
        ("PassStarted", {"from": "input", "a": 1}),
        ("PassCompleted", {"from": "input", "a": 1, "b": 2}),
        ("ChoiceStarted", {"from": "input", "a": 1, "b": 2}),
        ("ChoiceCompleted", None),
        ("ExpressionEvalStarted", None),
        ("ExpressionEvalCompleted", {"from": "input", "a": 1, "b": 2, "c": {"sum": 3}}),
        ("ChoiceStarted", {"from": "input", "a": 1, "b": 2, "c": {"sum": 3}}),
        ("ChoiceCompleted", None),
        ("PassStarted", {"from": "input", "a": 1, "b": 2, "c": {"sum": 3}}),
        ("PassCompleted", {"from": "input", "a": 1, "b": 2, "c": {"sum": 3}}),
    ]
