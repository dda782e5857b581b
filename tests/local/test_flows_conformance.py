"""The local Flows API answers in the shapes of globus-sdk's recorded Globus responses.

For each endpoint the tutorial and the widgets use, the service's answer is compared with
the matching ``globus_sdk.testing`` document recursively, key by key and type by type.
"""

from __future__ import annotations

import json
import pathlib

import pytest
from globus_sdk import GlobusAPIError, SpecificFlowClient
from globus_sdk.testing import get_response_set

from tests._fixtures.local import run_log, wait_for_run
from tests._fixtures.shapes import shape_problems

# Values whose content is the flow author's or the run's own (not the API's shape).
FREE_FORM = {"definition", "input_schema", "input", "output", "body", "Parameters"}
# Keys the real service also sends as null in some states of a run or flow.
NULLABLE = {"label", "completion_time", "release_after", "marker", "subscription_id"}

DEFINITIONS = json.loads((pathlib.Path(__file__).resolve().parent.parent / "data" / "flows" / "definitions.json").read_text())
HELLO = DEFINITIONS["hello_world"]
WAIT = DEFINITIONS["wait_30s"]


def fixture_doc(name: str, case: str = "default") -> dict:
    found = get_response_set(name).lookup(case)
    found = found.responses[0] if hasattr(found, "responses") else found
    return found.json


def assert_same_shape(expected, actual, where="$"):
    """``actual`` has the shape of Globus's ``expected``: extra keys are fine, and a list's
    items may differ (log entries, a 422's ``loc``), so only its first item is compared."""
    __tracebackhide__ = True
    assert shape_problems(actual, expected, path=where, any_extra=True, null_ok=NULLABLE,
                          free=FREE_FORM, each_item=False) == []


@pytest.fixture(scope="module")
def world(local_service):
    """One flow with a finished hello-world run and one flow with a waiting run."""
    from gladier_jupyter import backend

    backend.use_local(local_service.state_dir)
    fc = backend.flows_client()
    hello = fc.create_flow("My Cool Flow", HELLO, {}, subtitle="sub", keywords=["cool"]).data
    sfc = SpecificFlowClient(hello["id"], authorizer=fc.authorizer)
    done = wait_for_run(fc, sfc.run_flow({"echo_string": "foo"}, label="My Cool Run", tags=["cool"]).data["run_id"])
    waiting_flow = fc.create_flow("Waits", WAIT, {}).data
    waiting = SpecificFlowClient(waiting_flow["id"], authorizer=fc.authorizer).run_flow({}).data
    return {"fc": fc, "sfc": sfc, "hello": hello, "done": done, "waiting_flow": waiting_flow, "waiting": waiting}


def test_create_flow_matches_fixture(world):
    assert_same_shape(fixture_doc("flows.create_flow"), world["hello"])


def test_get_flow_matches_fixture(world):
    assert_same_shape(fixture_doc("flows.get_flow"), world["fc"].get_flow(world["hello"]["id"]).data)


def test_update_flow_matches_fixture(world):
    doc = world["fc"].update_flow(world["hello"]["id"], subtitle="updated").data
    assert doc["subtitle"] == "updated"
    assert_same_shape(fixture_doc("flows.update_flow"), doc)


def test_list_flows_matches_fixture(world):
    assert_same_shape(fixture_doc("flows.list_flows"), world["fc"].list_flows().data)


def test_validate_flow_matches_fixture(world):
    assert_same_shape(fixture_doc("flows.validate_flow"), world["fc"].validate_flow(HELLO).data)


def test_validate_flow_error_matches_fixture(world):
    bad = {"StartAt": "Step1", "States": {"Step1": {**HELLO["States"]["RunHelloWorld"], "End": False}}}
    bad["States"]["Step1"].pop("End")
    with pytest.raises(GlobusAPIError) as info:
        world["fc"].validate_flow(bad)
    assert info.value.http_status == 422
    assert_same_shape(fixture_doc("flows.validate_flow", "definition_error"), info.value.raw_json)


def test_create_flow_bad_principal_error_matches_fixture(world):
    with pytest.raises(GlobusAPIError) as info:
        world["fc"].create_flow("x", HELLO, {}, flow_administrators=["ae341a98-d274-11e5-b888-dbae3a8ba545"])
    assert info.value.code == "UNPROCESSABLE_ENTITY"
    assert_same_shape(fixture_doc("flows.create_flow", "bad_admin_principal_error"), info.value.raw_json)


def test_run_flow_matches_fixture(world):
    assert_same_shape(fixture_doc("flows.run_flow"), world["waiting"])


def test_get_run_matches_fixture(world):
    assert_same_shape(fixture_doc("flows.get_run"), world["fc"].get_run(world["done"]["run_id"]).data)


def test_get_run_with_flow_description_matches_fixture(world):
    doc = world["fc"].get_run(world["done"]["run_id"], include_flow_description=True).data
    expected = fixture_doc("flows.get_run")
    found = get_response_set("flows.get_run").lookup("default").responses[2].json
    assert_same_shape(found, doc)
    assert doc["flow_description"]["title"] == "My Cool Flow"
    assert expected["run_id"]  # the plain fixture is the other variant


def test_get_run_logs_matches_fixture(world):
    assert_same_shape(fixture_doc("flows.get_run_logs"), world["fc"].get_run_logs(world["done"]["run_id"]).data)


def test_list_runs_matches_fixture(world):
    assert_same_shape(fixture_doc("flows.list_runs"), world["fc"].list_runs(filter_flow_id=world["hello"]["id"]).data)


def test_update_run_matches_fixture(world):
    doc = world["fc"].update_run(world["waiting"]["run_id"], label="relabelled", tags=["a"]).data
    assert doc["label"] == "relabelled"
    assert_same_shape(fixture_doc("flows.update_run"), doc)


def test_get_run_definition_matches_fixture(world):
    doc = world["fc"].get_run_definition(world["done"]["run_id"]).data
    assert doc["definition"] == HELLO
    assert_same_shape(fixture_doc("flows.get_run_definition"), doc)


def test_resume_run_matches_fixture(world):
    assert_same_shape(fixture_doc("flows.resume_run"), world["sfc"].resume_run(world["waiting"]["run_id"]).data)


def test_release_active_run_conflict_matches_fixture(world):
    with pytest.raises(GlobusAPIError) as info:
        world["fc"].delete_run(world["waiting"]["run_id"])
    assert info.value.http_status == 409
    assert info.value.code == "STATE_CONFLICT"
    assert_same_shape(fixture_doc("flows.delete_run", "conflict"), info.value.raw_json)


def test_cancel_run_matches_fixture(world):
    doc = world["fc"].cancel_run(world["waiting"]["run_id"]).data
    assert doc["status"] == "FAILED"
    assert doc["details"]["code"] == "FlowCanceled"
    assert_same_shape(fixture_doc("flows.cancel_run"), doc)
    assert run_log(world["fc"], doc["run_id"])[-1]["code"] == "FlowCanceled"


def test_release_run_matches_fixture(world):
    flow = world["fc"].create_flow("Releasable", HELLO, {}).data
    run = SpecificFlowClient(flow["id"], authorizer=world["fc"].authorizer).run_flow({"echo_string": "x"}).data
    wait_for_run(world["fc"], run["run_id"])
    assert_same_shape(fixture_doc("flows.delete_run"), world["fc"].delete_run(run["run_id"]).data)


def test_delete_flow_matches_fixture(world):
    flow = world["fc"].create_flow("Deletable", HELLO, {}).data
    doc = world["fc"].delete_flow(flow["id"]).data
    assert doc["DELETED"] is True
    assert_same_shape(fixture_doc("flows.delete_flow"), doc)


def test_every_log_entry_kind_matches_the_fixture_entry_of_its_code(world):
    ours = {e["code"]: e for e in run_log(world["fc"], world["done"]["run_id"])}
    expected = fixture_doc("flows.get_run_logs")["entries"]
    assert [e["code"] for e in expected] == list(ours)
    for entry in expected:
        assert_same_shape(entry, ours[entry["code"]], f"$[{entry['code']}]")
        if "output" in entry["details"] and entry["code"] == "ActionCompleted":
            # the action's own status document, key by key
            assert_same_shape(entry["details"]["output"], ours["ActionCompleted"]["details"]["output"],
                              "$[ActionCompleted].details.output")


def test_action_result_in_run_output_matches_the_fixture_action_document(world):
    expected = fixture_doc("flows.get_run")["details"]["output"]["HelloResult"]
    ours = world["fc"].get_run(world["done"]["run_id"])["details"]["output"]["HelloResult"]
    assert_same_shape(expected, ours, "$.details.output.HelloResult")
    assert ours["details"] == {"Hello": "World", "hello": "foo"}
