"""The local Flows API through globus-sdk: CRUD, paging, validation, runs, errors."""

from __future__ import annotations

import globus_sdk
import pytest
from globus_sdk import GlobusAPIError, SpecificFlowClient

from tests._fixtures.data import load_json
from tests._fixtures.runs import TERMINAL, run_log, wait_for_run
from tests.reliability import _service as svc

DEFINITIONS = load_json("flows/definitions.json")
PASS = DEFINITIONS["pass"]
WAIT = DEFINITIONS["wait_60s"]
CHAIN = DEFINITIONS["chain_6"]


def start(fc, flow_id, body=None, **kw):
    return SpecificFlowClient(flow_id, authorizer=fc.authorizer).run_flow(body or {}, **kw).data


def test_flow_create_get_update_delete(flows_client):
    flow = flows_client.create_flow("CRUD flow", PASS, {"type": "object"}, description="d").data
    assert flows_client.get_flow(flow["id"])["title"] == "CRUD flow"
    updated = flows_client.update_flow(flow["id"], title="Renamed", definition=CHAIN).data
    assert updated["title"] == "Renamed"
    assert flows_client.get_flow(flow["id"])["definition"] == CHAIN
    flows_client.delete_flow(flow["id"])
    with pytest.raises(GlobusAPIError) as info:
        flows_client.get_flow(flow["id"])
    assert (info.value.http_status, info.value.code) == (404, "NOT_FOUND")


def test_flow_scope_is_the_flow_user_scope(flows_client):
    flow = flows_client.create_flow("Scoped", PASS, {}).data
    assert flow["globus_auth_scope"] == str(SpecificFlowClient(flow["id"]).scopes.user)


def test_list_flows_pages_with_marker(flows_client):
    ids = {flows_client.create_flow(f"Paged {i}", PASS, {}).data["id"] for i in range(5)}
    first = flows_client.list_flows(query_params={"per_page": 2}).data
    assert len(first["flows"]) == 2 and first["has_next_page"] and first["marker"]
    seen = set()
    for page in flows_client.paginated.list_flows(query_params={"per_page": 2}).pages():
        assert len(page["flows"]) <= 2
        seen.update(f["id"] for f in page["flows"])
    assert ids <= seen


def test_list_flows_fulltext_filter(flows_client):
    flows_client.create_flow("Needle in haystack", PASS, {}, keywords=["zebra"])
    titles = [f["title"] for f in flows_client.list_flows(filter_fulltext="zebra")["flows"]]
    assert titles == ["Needle in haystack"]


def test_create_flow_lists_every_definition_problem_by_path(flows_client):
    bad = {"StartAt": "Nope", "States": {"A": {"Type": "Pass", "Next": "Missing"}, "B": {"Type": "Pass", "End": True}}}
    with pytest.raises(GlobusAPIError) as info:
        flows_client.create_flow("Bad", bad, {})
    err = info.value
    assert (err.http_status, err.code) == (422, "UNPROCESSABLE_ENTITY")
    locs = [d["loc"] for d in err.raw_json["error"]["detail"]]
    assert ["definition", "StartAt"] in locs
    assert ["definition", "States", "A", "Next"] in locs
    assert len(err.messages) == len(locs) >= 2


def test_validate_flow_accepts_good_and_rejects_bad_jsonpath(flows_client):
    assert "scopes" in flows_client.validate_flow(PASS).data
    bad = {"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {"x.$": "not-a-path"}, "End": True}}}
    with pytest.raises(GlobusAPIError) as info:
        flows_client.validate_flow(bad)
    assert info.value.http_status == 422
    assert any("not-a-path" in m for m in info.value.messages)


def test_run_input_is_checked_against_input_schema_with_every_violation(flows_client):
    schema = {"type": "object", "required": ["a", "b"], "properties": {"c": {"type": "integer"}}}
    flow = flows_client.create_flow("Schema", PASS, schema).data
    with pytest.raises(GlobusAPIError) as info:
        start(flows_client, flow["id"], {"c": "nope"})
    # Globus answers 400 FLOW_INPUT_ERROR (globus-sdk's flows.validate_run fixture).
    assert (info.value.http_status, info.value.code) == (400, "FLOW_INPUT_ERROR")
    assert info.value.raw_json["error"]["message"] == "Input failed schema validation with 3 errors."
    assert [d["loc"] for d in info.value.raw_json["error"]["detail"]] == [["$"], ["$"], ["$.c"]]
    text = " ".join(info.value.messages)
    assert "'a' is a required property" in text and "'b' is a required property" in text
    assert "'nope' is not of type 'integer'" in text
    assert start(flows_client, flow["id"], {"a": 1, "b": 2, "c": 3})["status"] == "ACTIVE"


def test_run_of_unknown_flow_is_404(flows_client):
    with pytest.raises(GlobusAPIError) as info:
        start(flows_client, "00000000-0000-0000-0000-000000000000")
    assert info.value.http_status == 404


def test_run_log_limit_marker_and_reverse_order(flows_client):
    flow = flows_client.create_flow("Chain", CHAIN, {}).data
    run = wait_for_run(flows_client, start(flows_client, flow["id"])["run_id"])
    everything = run_log(flows_client, run["run_id"])
    assert everything[0]["code"] == "FlowStarted" and everything[-1]["code"] == "FlowSucceeded"
    assert len(everything) == 2 + 2 * 6
    page = flows_client.get_run_logs(run["run_id"], limit=3).data
    assert len(page["entries"]) == 3 and page["has_next_page"]
    nxt = flows_client.get_run_logs(run["run_id"], limit=3, marker=page["marker"]).data
    assert nxt["entries"] == everything[3:6]
    rev = flows_client.get_run_logs(run["run_id"], limit=2, reverse_order=True).data
    assert [e["code"] for e in rev["entries"]] == ["FlowSucceeded", "PassCompleted"]
    rev2 = flows_client.get_run_logs(run["run_id"], limit=2, reverse_order=True, marker=rev["marker"]).data
    assert rev2["entries"] == everything[-4:-2][::-1]


def test_list_runs_filters_by_flow_and_pages(flows_client):
    a = flows_client.create_flow("A", PASS, {}).data
    b = flows_client.create_flow("B", PASS, {}).data
    runs_a = [start(flows_client, a["id"])["run_id"] for _ in range(3)]
    start(flows_client, b["id"])
    listed = [r["run_id"] for r in flows_client.list_runs(filter_flow_id=a["id"])["runs"]]
    assert sorted(listed) == sorted(runs_a)
    paged = [r["run_id"] for p in flows_client.paginated.list_runs(
        filter_flow_id=a["id"], query_params={"per_page": 2}).pages() for r in p["runs"]]
    assert sorted(paged) == sorted(runs_a)


def test_cancel_active_run_fails_it_with_flow_canceled(flows_client):
    flow = flows_client.create_flow("Waiting", WAIT, {}).data
    run = start(flows_client, flow["id"])
    canceled = flows_client.cancel_run(run["run_id"]).data
    assert canceled["status"] == "FAILED"
    assert canceled["details"]["code"] == "FlowCanceled"
    again = flows_client.get_run(run["run_id"]).data
    assert again["status"] == "FAILED" and again["details"]["code"] == "FlowCanceled"
    assert run_log(flows_client, run["run_id"])[-1]["code"] == "FlowCanceled"


def test_resume_of_finished_run_is_state_conflict(flows_client):
    flow = flows_client.create_flow("Quick", PASS, {}).data
    run = wait_for_run(flows_client, start(flows_client, flow["id"])["run_id"])
    with pytest.raises(GlobusAPIError) as info:
        SpecificFlowClient(flow["id"], authorizer=flows_client.authorizer).resume_run(run["run_id"])
    assert (info.value.http_status, info.value.code) == (409, "STATE_CONFLICT")


def test_release_removes_a_finished_run(flows_client):
    flow = flows_client.create_flow("Quick", PASS, {}).data
    run = wait_for_run(flows_client, start(flows_client, flow["id"])["run_id"])
    assert flows_client.delete_run(run["run_id"])["status"] == "SUCCEEDED"
    with pytest.raises(GlobusAPIError) as info:
        flows_client.get_run(run["run_id"])
    assert info.value.http_status == 404


def test_update_run_changes_label_and_tags(flows_client):
    flow = flows_client.create_flow("Quick", PASS, {}).data
    run = start(flows_client, flow["id"], label="before")
    flows_client.update_run(run["run_id"], label="after", tags=["x", "y"])
    doc = wait_for_run(flows_client, run["run_id"])
    assert (doc["label"], doc["tags"]) == ("after", ["x", "y"])


def test_request_without_the_secret_is_401(local_service):
    intruder = svc.flows_client(local_service, authorizer=globus_sdk.AccessTokenAuthorizer("guess"))
    with pytest.raises(GlobusAPIError) as info:
        intruder.list_flows()
    assert (info.value.http_status, info.value.code) == (401, "AUTHENTICATION_ERROR")
    anonymous = svc.flows_client(local_service, authorizer=None)
    with pytest.raises(GlobusAPIError) as info:
        anonymous.create_flow("x", PASS, {})
    assert info.value.http_status == 401


def test_unknown_flows_path_is_flows_shaped_404(flows_client):
    with pytest.raises(GlobusAPIError) as info:
        flows_client.get("/no/such/path")
    assert (info.value.http_status, info.value.code) == (404, "NOT_FOUND")


def test_update_of_an_active_run_survives_its_next_states(flows_client):
    flow = flows_client.create_flow("Relabel", DEFINITIONS["wait_half_second_then_pass"], {}).data
    run = start(flows_client, flow["id"], label="before")
    flows_client.update_run(run["run_id"], label="during", tags=["t"])
    doc = wait_for_run(flows_client, run["run_id"])
    assert doc["status"] == "SUCCEEDED"
    assert (doc["label"], doc["tags"]) == ("during", ["t"])
    listed = flows_client.list_runs(filter_flow_id=flow["id"])["runs"][0]
    assert listed["label"] == "during"


def test_action_needing_consent_makes_the_run_inactive_until_resumed(flows_client):
    definition = DEFINITIONS["hello_needs_consent"]
    scope = definition["States"]["Hello"]["Parameters"]["required_dependent_scope"]
    flow = flows_client.create_flow("Consent", definition, {}).data
    run = start(flows_client, flow["id"])
    doc = wait_for_run(flows_client, run["run_id"], 30, statuses=("INACTIVE", *TERMINAL))
    assert doc["status"] == "INACTIVE"
    assert doc["details"]["code"] == "ConsentRequired"
    assert doc["details"]["details"]["required_scope"] == scope
    assert run_log(flows_client, run["run_id"])[-1]["code"] == "ActionInactive"

    resumed = SpecificFlowClient(flow["id"], authorizer=flows_client.authorizer).resume_run(run["run_id"]).data
    assert resumed["status"] in ("ACTIVE", "SUCCEEDED")
    done = wait_for_run(flows_client, run["run_id"])
    assert done["status"] == "SUCCEEDED"
    assert done["details"]["output"]["hello"]["details"]["hello"] == "hi"


def test_inactive_run_can_be_canceled(flows_client):
    flow = flows_client.create_flow("Consent", DEFINITIONS["hello_needs_consent"], {}).data
    run = start(flows_client, flow["id"])
    assert wait_for_run(flows_client, run["run_id"], 30,
                        statuses=("INACTIVE", *TERMINAL))["status"] == "INACTIVE"
    assert flows_client.cancel_run(run["run_id"])["details"]["code"] == "FlowCanceled"
