"""The flow-check conformance corpus: each case is a definition Globus Flows accepts or refuses.

Cases live in tests/data/conformance/check/*.json. Each names the Globus page (or Globus's
published flow schema, ``flows_schema.json``, or the States Language where Globus defers to
it) in ``doc`` and quotes the sentence in ``quote``; ``decision`` says why, where the local
check departs from the old schema. ``expect`` is ``{"accept": true}`` (maybe with the
``warning`` code the preview shows) or ``{"accept": false, "code": ...}`` (``code`` null:
only the service refuses it). Each is run through ``flowdef.validate`` and through the local
service's ``create_flow`` and ``validate_flow`` with globus-sdk's FlowsClient: 422 for a
refusal, accepted otherwise.
"""

from __future__ import annotations

import json
import pathlib

import globus_sdk
import pytest

from gladier_jupyter import flowdef

CORPUS = pathlib.Path(__file__).resolve().parent / "data" / "conformance" / "check"
CASES = [case for path in sorted(CORPUS.glob("*.json")) for case in json.loads(path.read_text())]
IDS = [c["name"] for c in CASES]


def test_corpus_is_large_and_every_case_cites_its_source():
    assert len(CASES) >= 80
    assert len(IDS) == len(set(IDS)), "case names must be unique"
    assert sum(not c["expect"]["accept"] for c in CASES) >= 40
    for case in CASES:
        assert case["doc"].startswith("https://") and len(case["quote"]) >= 5, case["name"]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_flow_check_agrees_with_globus(case):
    problems = flowdef.validate(case["definition"])
    errors = [p for p in problems if p.severity == "error"]
    for p in problems:  # each problem is one line naming the state and field
        assert p.message.strip() and "\n" not in p.message, p
    expect = case["expect"]
    if expect["accept"]:
        assert not errors, [p.to_dict() for p in errors]
        if "warning" in expect:
            assert expect["warning"] in [p.code for p in problems if p.severity == "warning"], problems
    elif expect.get("code"):
        assert expect["code"] in [p.code for p in errors], [p.to_dict() for p in problems]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_local_service_accepts_and_refuses_as_globus(case, flows_client):
    expect = case["expect"]
    if expect["accept"]:
        flows_client.validate_flow(case["definition"])
        flow = flows_client.create_flow(case["name"], case["definition"], {}).data
        assert flow["definition"] == case["definition"]
        flows_client.delete_flow(flow["id"])
        return
    for call in (lambda: flows_client.validate_flow(case["definition"]),
                 lambda: flows_client.create_flow(case["name"], case["definition"], {})):
        with pytest.raises(globus_sdk.GlobusAPIError) as info:
            call()
        err = info.value
        assert err.http_status == 422, err.text[:300]
        details = err.raw_json["error"]["detail"]
        assert details and all("\n" not in d["msg"] for d in details), details
