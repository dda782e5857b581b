"""RunMonitor answers what a run waits on a person for (Wait For User Selection, web
inputs) from a click's message, shows the run's notification emails and a moved clock;
through the real local service and globus-sdk."""

from __future__ import annotations

import json

import globus_sdk
import pytest

from gladier_jupyter import local
from gladier_jupyter.errors import GladierJupyterUsageError
from gladier_jupyter.monitor import human
from gladier_jupyter.widgets.monitor import RunMonitor
from tests._fixtures.waiting import wait_until

NOTIFY = {"Type": "Action", "ActionUrl": "https://actions.globus.org/notification/notify",
          "Parameters": {"destination": "a@b.org", "subject.=": "'chose ' + answer.details.name",
                         "body_template": "done", "send_credentials": [{"credential_type": "smtp",
                                                                         "credential_value": {"hostname": "x"}}]},
          "ResultPath": "$.mail", "End": True}
SELECTION = {"StartAt": "Ask", "States": {
    "Ask": {"Type": "Action", "ActionUrl": "https://actions.globus.org/weboption/wait_for_option",
            "Parameters": {"options": [
                {"name": "go", "description": "carry on", "url_suffix.=": "_context.run_id + '-go'"},
                {"name": "stop", "url_suffix.=": "_context.run_id + '-stop'"}]},
            "ResultPath": "$.answer", "WaitTime": 600, "Next": "Mail"},
    "Mail": NOTIFY}}
WEB_INPUT = {"StartAt": "Create", "States": {
    "Create": {"Type": "CreateWebInput", "Parameters": {
        "InputType": "Selection", "Context": {"Title": "Go on?"},
        "Options": [{"Value": "yes", "Label": "Yes", "Description": "go on"}, {"Value": "no", "Label": "No"}]},
        "ResultPath": "$.wi", "Next": "Await"},
    "Await": {"Type": "AwaitWebInput", "Parameters": {"web_input_id.$": "$.wi.web_input_id"},
              "ResultPath": "$.reply", "End": True}}}


def start(flows_client, definition):
    from gladier_jupyter import backend

    flow = flows_client.create_flow("choices", definition, {}).data
    scope = flow.get("globus_auth_scope") or str(globus_sdk.SpecificFlowClient(flow["id"]).scopes.user)
    specific = globus_sdk.SpecificFlowClient(flow["id"], authorizer=backend.authorizer_for(scope))
    return specific.run_flow({}, label="choices").data


def test_a_click_on_a_weboption_button_selects_it_and_the_run_succeeds(flows_client, local_service):
    run = start(flows_client, SELECTION)
    monitor = RunMonitor(run, client=flows_client)
    try:
        wait_until(lambda: len(monitor.choices) == 2, timeout=30, what="the monitor")
        # The view's state holds the options, never the service's secret nor a token.
        state = json.dumps(monitor.get_state(), default=str)
        assert local_service.secret not in state and "Bearer" not in state
        assert [(c["kind"], c["label"], c["description"], c["key"]) for c in monitor.choices] == [
            ("weboption", "go", "carry on", f"{run['run_id']}-go"),
            ("weboption", "stop", "", f"{run['run_id']}-stop")]
        assert all(c["state"] == "Ask" for c in monitor.choices)
        assert "waits for a choice: 'go', 'stop'" in monitor.snapshot_text()
        # What the page sends when the "go" button is clicked.
        monitor._on_page_msg(monitor, {"type": "choose", "key": f"{run['run_id']}-go"}, [])
        assert monitor.wait(30) == "SUCCEEDED"
        assert monitor.run["details"]["output"]["answer"]["details"]["name"] == "go"
        assert local.waiting_options(run["run_id"]) == []
        wait_until(lambda: monitor.outbox == ["email to a@b.org: chose go"], timeout=10, what="the monitor")
        assert monitor.choices == []
        assert monitor.action == ""
        assert monitor.snapshot_text().endswith("\n  email to a@b.org: chose go")
    finally:
        monitor.close()


def test_a_click_on_a_web_input_button_responds_and_the_run_succeeds(flows_client):
    run = start(flows_client, WEB_INPUT)
    monitor = RunMonitor(run, client=flows_client)
    try:
        wait_until(lambda: len(monitor.choices) == 2, timeout=30, what="the monitor")
        assert monitor.status == "INACTIVE"
        assert [(c["kind"], c["label"], c["description"], c["title"]) for c in monitor.choices] == [
            ("web_input", "Yes", "go on", "Go on?"), ("web_input", "No", "", "Go on?")]
        monitor._on_page_msg(monitor, {"type": "choose", "key": monitor.choices[1]["key"]}, [])
        assert monitor.wait(30) == "SUCCEEDED"
        assert monitor.run["details"]["output"]["reply"]["response"] == "no"
    finally:
        monitor.close()


def test_a_choice_the_run_does_not_offer_is_refused_in_one_line_and_selects_nothing(flows_client):
    run = start(flows_client, SELECTION)
    monitor = RunMonitor(run, client=flows_client)
    try:
        wait_until(lambda: len(monitor.choices) == 2, timeout=30, what="the monitor")
        # A page sending an address of another run's wait (or anything else) selects nothing.
        monitor._on_page_msg(monitor, {"type": "choose", "key": "../../flows/x"}, [])
        assert "waits on no choice '../../flows/x'" in monitor.action and "\n" not in monitor.action
        with pytest.raises(GladierJupyterUsageError, match="offered: 'go', 'stop'"):
            monitor.choose("maybe")
        assert len(local.waiting_options(run["run_id"])) == 1
        monitor.choose("stop")  # by label
        assert monitor.wait(30) == "SUCCEEDED"
        assert monitor.run["details"]["output"]["answer"]["details"]["name"] == "stop"
    finally:
        monitor.close()


def test_the_clock_badge_says_how_far_the_service_clock_was_moved():
    model = human.RunModel("r")
    assert human.clock_badge(model) == ""
    model.entries = [{"code": "ActionStarted", "details": {"clock_offset": 3600.2}}]
    assert human.clock_badge(model) == "clock +1 h"
    model.entries.append({"code": "x", "details": {"clock_offset": 90, "clock_speed": 60}})
    assert human.clock_badge(model) == "clock +1 h ×60"
    model.entries = [{"details": {"clock_offset": 45}}]
    assert human.clock_badge(model) == "clock +45 s"
    model.entries = [{"details": {"clock_offset": 86400 * 1.5}}]
    assert human.clock_badge(model) == "clock +1.5 d"


def test_a_run_whose_clock_was_advanced_shows_the_badge(tmp_path):
    from gladier_jupyter.local import clock
    from tests.reliability import _service as svc

    # A service of its own: a clock moved on the session's service would stay moved (it
    # never goes back while runs are active), and every later test would see its runs
    # start hours ahead.
    with svc.private_service(tmp_path / "svc") as info:
        fc = svc.flows_client(info)
        flow_id = svc.deploy(fc, {"StartAt": "Hold", "States": {"Hold": {"Type": "Wait", "Seconds": 7200,
                                                                          "End": True}}}, "clock badge")
        monitor = RunMonitor(svc.start(fc, flow_id), client=fc)
        try:
            wait_until(lambda: monitor.status == "ACTIVE" and monitor.events, timeout=30, what="the monitor")
            clock.next_timer(info.state_dir)
            assert monitor.wait(30) == "SUCCEEDED"
            monitor.refresh()
            assert monitor.clock.startswith("clock +")
        finally:
            monitor.close()
