"""An INACTIVE run: the reason shown, consent asked through the hook, then resume_run.

The local service has no way to make a run wait for consent, so this one case talks to a
canned Flows API (``responses``) in the shapes of globus-sdk's own fixtures, through the
real globus-sdk clients; it also covers the cloud-only parts (web-app link, Globus polling).
"""

from __future__ import annotations

import json
import pathlib
import re

import globus_sdk
import pytest
import responses

from gladier_jupyter.widgets.monitor import RunMonitor
from tests._fixtures.waiting import wait_until

DATA = pathlib.Path(__file__).parent / "data" / "monitor"
BASE = "https://flows.example.org/"


def _clients(flow_id: str) -> tuple[globus_sdk.FlowsClient, globus_sdk.SpecificFlowClient]:
    """The Flows client and the flow's own client, with the tokens the canned API expects."""
    return (globus_sdk.FlowsClient(authorizer=globus_sdk.AccessTokenAuthorizer("flows-token")),
            globus_sdk.SpecificFlowClient(
                flow_id, authorizer=globus_sdk.AccessTokenAuthorizer("flow-token")))


@pytest.fixture
def cloud_flows(monkeypatch):
    monkeypatch.setenv("GLOBUS_SDK_SERVICE_URL_FLOWS", BASE)
    doc = json.loads((DATA / "inactive_run.json").read_text())
    run_id, flow_id = doc["run_id"], doc["flow_id"]
    definition = {"StartAt": "Transfer", "States": {
        "Transfer": {"Type": "Action", "ActionUrl": "https://transfer.actions.globus.org/transfer",
                     "Parameters": {}, "Next": "Done"},
        "Done": {"Type": "Pass", "End": True}}}
    entries = [
        {"time": "2026-01-01T00:00:00+00:00", "code": "FlowStarted",
         "description": "The Flow Instance started execution", "details": {"input": {}}},
        {"time": "2026-01-01T00:00:01+00:00", "code": "ActionStarted",
         "description": "State Transfer of type Action started",
         "details": {"state_name": "Transfer", "state_type": "Action", "input": {}}},
    ]
    state = {"run": doc, "resumed": 0, "gets": 0}

    def get_run(request):
        state["gets"] += 1
        return 200, {}, json.dumps(state["run"])

    def get_log(request):
        return 200, {}, json.dumps({"limit": 100, "has_next_page": False, "entries": entries})

    def resume(request):
        state["resumed"] += 1
        assert request.headers["Authorization"] == "Bearer flow-token"
        entries.extend([
            {"time": "2026-01-01T00:01:00+00:00", "code": "ActionCompleted",
             "description": "State Transfer of type Action completed",
             "details": {"state_name": "Transfer", "state_type": "Action", "output": {"ok": 1}}},
            {"time": "2026-01-01T00:01:01+00:00", "code": "PassStarted",
             "description": "State Done of type Pass started",
             "details": {"state_name": "Done", "state_type": "Pass", "input": {}}},
            {"time": "2026-01-01T00:01:01+00:00", "code": "PassCompleted",
             "description": "State Done of type Pass completed",
             "details": {"state_name": "Done", "state_type": "Pass", "output": {}}},
            {"time": "2026-01-01T00:01:02+00:00", "code": "FlowSucceeded",
             "description": "The Flow Instance completed successfully",
             "details": {"output": {"ok": 1}}},
        ])
        state["run"] = {**doc, "status": "SUCCEEDED", "display_status": "SUCCEEDED",
                        "completion_time": "2026-01-01T00:01:02+00:00",
                        "details": {"code": "FlowSucceeded", "output": {"ok": 1}}}
        return 200, {}, json.dumps({**doc, "status": "ACTIVE", "display_status": "ACTIVE"})

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_callback("GET", re.compile(rf"{BASE}runs/{run_id}/log.*"), callback=get_log)
        mock.add("GET", re.compile(rf"{BASE}runs/{run_id}/definition.*"),
                 json={"flow_id": flow_id, "definition": definition, "input_schema": {}})
        mock.add_callback("GET", re.compile(rf"{BASE}runs/{run_id}(\?.*)?$"), callback=get_run)
        mock.add_callback("POST", f"{BASE}runs/{run_id}/resume", callback=resume)
        yield run_id, flow_id, state


def test_inactive_run_shows_the_reason_and_resumes_after_consent(cloud_flows):
    run_id, flow_id, state = cloud_flows
    flows, specific = _clients(flow_id)
    asked: list[list[str]] = []
    monitor = RunMonitor(run_id, client=flows, flow_client=specific,
                         consent_handler=lambda scopes: asked.append(scopes) or True)
    wait_until(lambda: (monitor.refresh().status, list(monitor.states)), 30,
               "the monitor shows the inactive run and its states",
               until=lambda seen: seen[0] == "INACTIVE" and seen[1])
    assert "needs consent" in monitor.inactive_reason
    assert monitor.required_scopes == [
        "https://auth.globus.org/scopes/actions.globus.org/transfer/transfer"]
    assert monitor.states["Transfer"]["status"] == "inactive"
    assert monitor.web_url == f"https://app.globus.org/runs/{run_id}"
    assert monitor.backend == "globus"
    # What the page's "Grant consent and resume" button sends.
    monitor._on_page_msg(monitor, {"type": "resume"}, [])
    assert asked == [monitor.required_scopes]
    assert state["resumed"] == 1
    assert monitor.wait(30) == "SUCCEEDED"
    assert monitor.states["Transfer"]["status"] == "succeeded"
    assert monitor.inactive_reason == ""
    monitor.close()


def test_consent_refused_leaves_the_run_inactive(cloud_flows):
    run_id, flow_id, state = cloud_flows
    flows, _ = _clients(flow_id)
    monitor = RunMonitor(run_id, client=flows, start=False, consent_handler=lambda s: False)
    monitor.refresh()
    assert monitor.grant_consent_and_resume() is None
    assert state["resumed"] == 0
    assert "not granted" in monitor.action
    assert monitor.status == "INACTIVE"
    monitor.close()


def test_without_a_handler_the_login_widget_shows_inside_and_resume_follows_login(
        cloud_flows, local_service):
    from gladier_jupyter import backend
    from gladier_jupyter.widgets.login import Login

    run_id, flow_id, state = cloud_flows
    flows, specific = _clients(flow_id)
    backend.use_globus()
    try:
        monitor = RunMonitor(run_id, client=flows, flow_client=specific, start=False)
        monitor.refresh()
        assert monitor.grant_consent_and_resume() is None
        login = monitor.login_widget
        assert isinstance(login, Login)
        assert login.needed == monitor.required_scopes
        assert state["resumed"] == 0
        assert "Log in below" in monitor.action
        # The login completes (the Login widget redraws from the session as logged in).
        login.status = "logged_in"
        assert state["resumed"] == 1
        assert monitor.login_widget is None
        assert monitor.wait(30) == "SUCCEEDED"
        monitor.close()
    finally:
        backend.use_local(local_service.state_dir)
