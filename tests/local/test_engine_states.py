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
