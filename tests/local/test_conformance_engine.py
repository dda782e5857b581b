"""The engine conformance corpus: one case per documented behaviour of Globus Flows.

Cases live in tests/data/conformance/engine/*.json (one file per doc page). Each names the
page it follows (``doc``) and quotes the sentence (``quote``); where Globus documents
nothing, the case follows the States Language and says so in ``decision``. Every case is
deployed as a new flow and run through globus-sdk against the session's local service.

``expect`` holds what the run must end with: ``status``, ``output`` (a subset),
``output_equals`` (the whole output), ``error`` / ``cause_contains``, ``log_codes``,
``output_keys`` / ``output_key_types`` / ``output_matches_run`` (by dotted path),
``hidden`` (texts that appear nowhere in the run document, its log or the run listing),
``shown``, ``flow_has``; or the refusal: ``create_error``, ``start_error``,
``validate_run_error``.
"""

from __future__ import annotations

import json
import pathlib

import globus_sdk
import pytest

from tests._fixtures.local import run_log, wait_for_run

CORPUS = pathlib.Path(__file__).resolve().parent.parent / "data" / "conformance" / "engine"
CASES = [case for path in sorted(CORPUS.glob("*.json")) for case in json.loads(path.read_text())]
TYPES = {"string": str, "list": list, "object": dict, "integer": int}


def assert_subset(expected, actual, where="output"):
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{where}: expected an object, got {actual!r}"
        for key, value in expected.items():
            assert key in actual, f"{where}.{key} is missing from {actual!r}"
            assert_subset(value, actual[key], f"{where}.{key}")
    else:
        assert actual == expected, f"{where}: {actual!r} != {expected!r}"


def dotted(value, path):
    for part in path.split("."):
        value = value[part]
    return value


def test_corpus_is_large_and_every_case_cites_a_doc_page():
    assert len(CASES) >= 120
    names = [c["name"] for c in CASES]
    assert len(names) == len(set(names)), "case names must be unique"
    for case in CASES:
        assert case["doc"].startswith("https://") and len(case["quote"]) > 10, case["name"]


def _refusal(info, expected):
    err = info.value
    assert err.http_status == expected["http_status"], err.text[:300]
    if "code" in expected:
        assert err.code == expected["code"]
    body = err.raw_json["error"]
    if "loc" in expected:
        assert expected["loc"] in [d["loc"] for d in body["detail"]], body
    if "message" in expected:
        assert body["message"] == expected["message"]
    if "msg" in expected:
        assert expected["msg"] in [d["msg"] for d in body["detail"]]
    for detail in body["detail"] if isinstance(body["detail"], list) else []:
        assert "\n" not in detail["msg"]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_engine_conformance(case, flows_client):
    expect = case["expect"]
    try:
        flow = flows_client.create_flow(case["name"][:120], case["definition"], case.get("input_schema") or {}).data
    except globus_sdk.GlobusAPIError as exc:
        if expect.get("create_or_fail") and exc.http_status == 422:
            return  # the flow check may refuse what the engine would ignore
        if "create_error" not in expect:
            raise
        assert exc.http_status == expect["create_error"]["http_status"], exc.text[:300]
        if "loc" in expect["create_error"]:
            assert expect["create_error"]["loc"] in [d["loc"] for d in exc.raw_json["error"]["detail"]]
        return
    assert "create_error" not in expect, "the service accepted a definition Globus refuses"
    specific = globus_sdk.SpecificFlowClient(flow["id"], authorizer=flows_client.authorizer)
    for call in ("start_error", "validate_run_error"):
        if call in expect:
            method = specific.run_flow if call == "start_error" else specific.validate_run
            with pytest.raises(globus_sdk.GlobusAPIError) as info:
                method(case["input"])
            _refusal(info, expect[call])
            return
    started = specific.run_flow(case["input"], label="conformance").data
    run = wait_for_run(flows_client, started["run_id"])
    details = run["details"]
    assert run["status"] == expect["status"], details
    output = details.get("output")
    if "output" in expect:
        assert_subset(expect["output"], output)
    if "output_equals" in expect:
        assert output == expect["output_equals"]
    if "error" in expect:
        assert details["code"] == "FlowFailed" and details["details"]["error"] == expect["error"], details
    if "cause_contains" in expect:
        assert expect["cause_contains"] in details["details"]["cause"]
    for path, keys in expect.get("output_keys", {}).items():
        assert sorted(dotted(output, path)) == sorted(keys)
    for path, kind in expect.get("output_key_types", {}).items():
        value = dotted(output, path)
        assert isinstance(value, TYPES[kind]) and not isinstance(value, bool), (path, value)
    for path, field in expect.get("output_matches_run", {}).items():
        assert dotted(output, path) == run[field]
    for field, keys in expect.get("flow_has", {}).items():
        assert sorted(flows_client.get_flow(flow["id"]).data[field]) == sorted(keys)
    entries = run_log(flows_client, run["run_id"]) if "log_codes" in expect or "hidden" in expect or "shown" in expect else []
    if "log_codes" in expect:
        assert [e["code"] for e in entries] == expect["log_codes"]
    if "hidden" in expect or "shown" in expect:
        listed = [r for r in flows_client.list_runs(filter_flow_id=flow["id"]).data["runs"]]
        seen = json.dumps([started, run, flows_client.get_run(run["run_id"]).data, entries, listed])
        for text in expect.get("hidden", []):
            assert text not in seen, f"{text!r} is visible in the run document, log or listing"
        for text in expect.get("shown", []):
            assert text in seen
