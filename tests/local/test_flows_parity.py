"""Flows API parity with Globus beyond single runs: secrets that never leave the run,
run-input errors in Globus's shape, the list_runs filters, and expression bounds.

Pages followed: Protecting Secrets (globus-automate-client "Protecting Action and Flow
State"), the Flows API reference (list runs filters), globus-sdk's ``flows.validate_run``
fixture, Authoring Flows -> Expressions.
"""

from __future__ import annotations

import datetime as dt
import json
import time

import globus_sdk
import pytest
from globus_sdk.testing import get_response_set

from tests._fixtures.local import run_log, wait_for_run

HELLO = "https://actions.globus.org/hello_world"
PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
WAIT = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 600, "End": True}}}


def _specific(flows_client, definition, schema=None):
    flow = flows_client.create_flow("parity", definition, schema or {}).data
    return flow, globus_sdk.SpecificFlowClient(flow["id"], authorizer=flows_client.authorizer)


# ----------------------------------------------------------------------------- secrets

SECRETS = ["MyPassword-constant", "from-private-input", "nested-password", "role-token-AdminUser",
           "Bearer private-expr"]
SECRET_FLOW = {"StartAt": "A", "States": {
    "A": {"Type": "Action", "ActionUrl": HELLO, "RunAs": "AdminUser", "ResultPath": "$.A", "Next": "B",
          "Parameters": {"echo_string": "hi", "secret_value": "MyPassword-constant",
                         "ref.$": "$._private.password", "expr.=": "'Bearer ' + _private.expr",
                         "server_info": {"URL": "https://example.com", "password": "nested-password",
                                         "__Private_Parameters": ["password"]},
                         "__Private_Parameters": ["secret_value", "ref", "expr"]}},
    "B": {"Type": "Pass", "Parameters": {"copied.$": "$._private.password", "__Private_Parameters": ["copied"]},
          "ResultPath": "$.copy", "Next": "C"},
    "C": {"Type": "Fail", "Error": "Stop", "Cause": "after the secrets moved"}}}
SECRET_INPUT = {"_private": {"password": "from-private-input", "expr": "private-expr"},
                "_tokens": {"AdminUser": "role-token-AdminUser"}, "visible": "public-value"}


def test_private_parameters_private_properties_and_role_tokens_never_leave_the_run(flows_client):
    # The attack: everything a monitor, the runs panel or a saved notebook reads (the run
    # as started, fetched, listed; every log entry) is searched for the secrets. Before
    # this change 30 copies of the 5 secrets were readable; now none.
    flow, specific = _specific(flows_client, SECRET_FLOW)
    started = specific.run_flow(SECRET_INPUT, label="secrets").data
    run = wait_for_run(flows_client, started["run_id"])
    assert run["status"] == "FAILED" and run["details"]["details"]["error"] == "Stop"
    seen = json.dumps([started, run, flows_client.get_run(run["run_id"], include_flow_description=True).data,
                       run_log(flows_client, run["run_id"]),
                       flows_client.list_runs(filter_flow_id=flow["id"]).data["runs"]])
    leaks = {secret: seen.count(secret) for secret in [*SECRETS, "private-expr"]}
    assert sum(leaks.values()) == 0, leaks
    assert "public-value" in seen and "https://example.com" in seen  # the rest is shown
    assert "__Private_Parameters" not in json.dumps(run_log(flows_client, run["run_id"])[1]["details"]["input"])


def test_a_private_parameter_still_reaches_the_action(flows_client):
    # Hidden from introspection only: the action gets the value ("the value my_password
    # would be used for the parameter").
    definition = {"StartAt": "A", "States": {"A": {
        "Type": "Action", "ActionUrl": HELLO, "ResultPath": "$._private_result", "Next": "Len",
        "Parameters": {"echo_string.$": "$._private.password", "__Private_Parameters": ["echo_string"]}},
        "Len": {"Type": "ExpressionEval", "Parameters": {"n.=": "len(_private_result.details.hello)"},
                "ResultPath": "$.len", "End": True}}}
    _, specific = _specific(flows_client, definition)
    run = wait_for_run(flows_client, specific.run_flow({"_private": {"password": "my_password"}}).data["run_id"])
    assert run["status"] == "SUCCEEDED", run["details"]
    assert run["details"]["output"] == {"len": {"n": 11}}


# ----------------------------------------------------------------------------- input errors


def test_invalid_run_input_answers_like_globus_validate_run_fixture(flows_client):
    fixture = get_response_set("flows.validate_run").lookup("invalid_input_payload")
    expected = fixture.json
    _, specific = _specific(flows_client, PASS, {"type": "object", "properties": {"bool": {"type": "boolean"}}})
    for call in (specific.validate_run, specific.run_flow):
        with pytest.raises(globus_sdk.GlobusAPIError) as info:
            call({"bool": "not-a-boolean"})
        err = info.value
        assert err.http_status == fixture.status == 400
        body = err.raw_json
        assert sorted(body) == sorted(expected) and sorted(body["error"]) == sorted(expected["error"])
        assert body["error"]["code"] == expected["error"]["code"] == "FLOW_INPUT_ERROR"
        assert body["error"]["message"] == expected["error"]["message"]
        assert body["error"]["detail"] == expected["error"]["detail"]
        assert err.code == "FLOW_INPUT_ERROR"


def test_missing_role_token_is_refused_at_start_in_one_line(flows_client):
    definition = {"StartAt": "A", "States": {"A": {"Type": "Action", "ActionUrl": HELLO, "RunAs": "AdminUser",
                                                   "Parameters": {"echo_string": "x"}, "ResultPath": "$.a", "End": True}}}
    flow, specific = _specific(flows_client, definition)
    assert flows_client.get_flow(flow["id"]).data["globus_auth_scopes_by_RunAs"].keys() == {"AdminUser"}
    with pytest.raises(globus_sdk.GlobusAPIError) as info:
        specific.run_flow({"_tokens": {"Other": "t"}})
    assert (info.value.http_status, info.value.code) == (400, "FLOW_INPUT_ERROR")
    message = info.value.raw_json["error"]["message"]
    assert "'AdminUser'" in message and "_tokens" in message and "\n" not in message


# ----------------------------------------------------------------------------- list_runs


def _iso(moment: dt.datetime) -> str:
    return moment.isoformat()


def test_list_runs_filters_by_start_and_completion_time_roles_and_orders(flows_client):
    done, done_flow = _specific(flows_client, PASS)
    first = wait_for_run(flows_client, done_flow.run_flow({}, label="first").data["run_id"])
    time.sleep(0.01)
    between = dt.datetime.now(dt.timezone.utc)
    time.sleep(0.01)
    second = wait_for_run(flows_client, done_flow.run_flow({}, label="second", run_managers=[
        done["created_by"]]).data["run_id"])
    waits, wait_flow = _specific(flows_client, WAIT)
    waiting = wait_flow.run_flow({}, label="waiting").data
    try:
        flows = [done["id"], waits["id"]]

        def ids(**params):
            runs = flows_client.list_runs(filter_flow_id=flows, query_params=params).data["runs"]
            return [r["run_id"] for r in runs]

        assert ids(filter_start_time=f",{_iso(between)}") == [first["run_id"]]
        assert set(ids(filter_start_time=f"{_iso(between)},")) == {second["run_id"], waiting["run_id"]}
        assert set(ids(filter_start_time=_iso(between))) == {second["run_id"], waiting["run_id"]}
        # A run still executing has no completion time: excluded.
        assert set(ids(filter_completion_time="2000-01-01T00:00:00,")) == {first["run_id"], second["run_id"]}
        assert ids(filter_completion_time=f",{_iso(between)}") == [first["run_id"]]
        assert set(ids(filter_roles="run_owner")) == {first["run_id"], second["run_id"], waiting["run_id"]}
        assert ids(filter_roles="run_manager") == [second["run_id"]]
        assert ids(orderby="start_time ASC", filter_status="SUCCEEDED") == [first["run_id"], second["run_id"]]
        assert ids(orderby="start_time DESC", filter_status="SUCCEEDED") == [second["run_id"], first["run_id"]]
        paged = flows_client.list_runs(filter_flow_id=flows, query_params={"orderby": "label ASC", "per_page": 2}).data
        assert [r["label"] for r in paged["runs"]] == ["first", "second"] and paged["has_next_page"]
        rest = flows_client.list_runs(filter_flow_id=flows, marker=paged["marker"],
                                      query_params={"orderby": "label ASC", "per_page": 2}).data
        assert [r["label"] for r in rest["runs"]] == ["waiting"] and not rest["has_next_page"]
        for bad in ({"filter_start_time": "yesterday"}, {"filter_roles": "owner"}, {"orderby": "colour ASC"}):
            with pytest.raises(globus_sdk.GlobusAPIError) as info:
                flows_client.list_runs(query_params=bad)
            assert info.value.http_status == 422
            [detail] = info.value.raw_json["error"]["detail"]
            assert "\n" not in detail["msg"] and next(iter(bad.values())) in detail["msg"]
    finally:
        flows_client.cancel_run(waiting["run_id"])


# ----------------------------------------------------------------------------- expressions


def test_getattr_in_a_worker_evaluated_expression_reads_the_state(run_definition):
    # A comprehension is evaluated in the bounded worker, which must get the state that
    # getattr('x') names in a string.
    definition = {"StartAt": "E", "States": {"E": {"Type": "ExpressionEval", "ResultPath": "$.r", "End": True,
                                                   "Parameters": {"v.=": "[getattr('x', 0) for i in range(3)]",
                                                                  "p.=": "[is_present('y') for i in range(2)]"}}}}
    run = run_definition(definition, {"x": 7})
    assert run["details"]["output"]["r"] == {"v": [7, 7, 7], "p": [False, False]}


def test_getattr_path_string_is_length_capped(run_definition):
    definition = {"StartAt": "E", "States": {"E": {"Type": "ExpressionEval", "ResultPath": "$.r", "End": True,
                                                   "Parameters": {"v.=": "getattr('" + "a." * 1000 + "b')"}}}}
    run = run_definition(definition, {})
    assert run["status"] == "FAILED"
    cause = run["details"]["details"]["cause"]
    assert "longer than 1024 characters" in cause and len(cause) < 400
