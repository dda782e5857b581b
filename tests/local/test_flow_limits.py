"""The shrinking of log entries past a run's log budget: every entry, however hostile its
shape (huge strings, thousands of keys, deep nesting, non-ASCII), ends within
MAX_SHRUNK_ENTRY bytes of stored JSON and keeps what names it."""

from __future__ import annotations

import json

import pytest

from gladier_jupyter.local.flows import limits


def _entry(details):
    return {"time": "2026-01-01T00:00:00+00:00", "code": "PassStarted",
            "description": "State Spin of type Pass started",
            "details": {"state_name": "Spin", "state_type": "Pass", **details}}


def _deep(n):
    value = "x" * 1000
    for _ in range(n):
        value = {"k": value, "other": [value, value]}
    return value


HOSTILE = {
    "big_string": {"input": {"blob": "x" * 1_000_000}},
    "many_keys": {"input": {f"key{i}": i for i in range(100_000)}},
    "wide_and_deep": {"input": {str(i): {str(j): "é" * 300 for j in range(30)} for i in range(1000)}},
    "deep": {"input": _deep(40)},
    "long_list": {"output": list(range(200_000))},
    "long_names": {"input": {"k" * 5000: "v" * 5000}},
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_a_shrunk_entry_fits_its_bound_and_keeps_its_names(name):
    entry = _entry(HOSTILE[name])
    shrunk = limits.shrink_entry(entry, limits.LOG_FULL_BYTES)
    text = json.dumps(shrunk, separators=(",", ":"))
    assert len(text) <= limits.MAX_SHRUNK_ENTRY, (name, len(text))
    assert shrunk["code"] == "PassStarted" and shrunk["details"]["state_name"] == "Spin"
    assert "left out: the run's log is over 8 MiB" in text


def test_a_small_entry_is_kept_as_it_is():
    entry = _entry({"input": {"n": 1, "name": "é" * 10}})
    assert limits.shrink_entry(entry, limits.LOG_FULL_BYTES) is entry


def test_a_failure_reason_keeps_its_whole_description():
    reason = "The Flow Instance failed execution in state Spin: States.Runtime: " + limits.entries_cause("Spin")
    entry = {"time": "t", "code": "FlowFailed", "description": reason,
             "details": {"error": "States.Runtime", "cause": limits.entries_cause("Spin"),
                         "output": {"input": {"blob": "x" * 100_000}}}}
    assert limits.shrink_entry(entry, limits.LOG_FULL_BYTES)["description"] == reason
