"""An INACTIVE run on the local service, watched by a RunMonitor: reason shown, resumed."""

from __future__ import annotations

import json
import pathlib

import globus_sdk

import gladier_jupyter
from gladier_jupyter import backend
from tests._fixtures.waiting import wait_until

CONSENT_FLOW = pathlib.Path(__file__).parent / "data" / "labext" / "consent_flow.json"
SCOPE = "https://auth.globus.org/scopes/actions.globus.org/hello_world/extra"


def test_monitor_shows_why_a_local_run_waits_and_resume_finishes_it(local_service):
    flows = backend.flows_client()
    flow = flows.create_flow("Consent", json.loads(CONSENT_FLOW.read_text()), {}).data
    specific = globus_sdk.SpecificFlowClient(
        flow["id"], authorizer=backend.authorizer_for(flow["id"])
    )
    run = specific.run_flow({}, label="needs consent").data

    monitor = gladier_jupyter.RunMonitor(run)
    wait_until(lambda: monitor.status, 60, "the run waits for consent",
               until=lambda status: status == "INACTIVE")

    assert monitor.inactive_reason == f"The action needs consent for the scope {SCOPE}."
    assert SCOPE in monitor.required_scopes
    assert monitor.states["Hello"]["status"] == "inactive"

    monitor.resume()
    assert monitor.wait(timeout=60) == "SUCCEEDED"
    assert monitor.inactive_reason == ""
    codes = [e["code"] for e in monitor.events]
    assert codes.count("ActionInactive") == 1 and codes[-1] == "FlowSucceeded"
    monitor.close()
