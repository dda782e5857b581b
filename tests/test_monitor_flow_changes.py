"""RunMonitor says "the flow changed since this run": the run's pinned definition
(``GET /runs/{id}/definition``) against its flow's now (``get_flow``), on the local service."""

from __future__ import annotations

import globus_sdk

from tests._fixtures.runs import wait_for_run

V1 = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": {"v": 1}, "ResultPath": "$.A",
                                       "Next": "B"},
                                 "B": {"Type": "Pass", "End": True}}}
V2 = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": {"v": 2}, "ResultPath": "$.A",
                                       "Next": "C"},
                                 "C": {"Type": "Pass", "Next": "D"},
                                 "D": {"Type": "Pass", "End": True}}}


def _run(flows_client, flow_id: str) -> str:
    specific = globus_sdk.SpecificFlowClient(flow_id, authorizer=flows_client.authorizer)
    run_id = specific.run_flow({}, label="pinned").data["run_id"]
    wait_for_run(flows_client, run_id)
    return run_id


def _attach(run_id: str, flows_client):
    from gladier_jupyter.widgets.monitor import RunMonitor

    monitor = RunMonitor.attach(run_id, client=flows_client, start=False)
    monitor.refresh()
    return monitor


def test_run_monitor_says_the_flow_changed_since_the_run(flows_client):
    flow_id = flows_client.create_flow("monitor-pinned", V1, {}).data["id"]
    old = _run(flows_client, flow_id)
    monitor = _attach(old, flows_client)
    try:
        assert monitor.flow_changes is None and monitor.changes == {}
    finally:
        monitor.close()

    flows_client.update_flow(flow_id, definition=V2)
    monitor = _attach(old, flows_client)
    try:
        diff = monitor.flow_changes
        assert diff is not None and diff["changed"]
        states = {n: s["status"] for n, s in diff["states"].items()}
        assert states == {"A": "changed", "B": "removed", "C": "added", "D": "added"}
        assert diff["states"]["A"]["changes"][0]["path"] == "$.States.A.Result.v"
        assert monitor.changes["line"] == "The flow changed since this run: 2 added, 1 removed, 1 changed"
        nodes = {n["id"]: n for n in monitor.changes["graph"]["nodes"]}
        assert nodes["B"]["diff"] == "removed" and nodes["B"]["ghost"]
        assert "The flow changed since this run" in monitor.snapshot_text()
        # The monitor's own graph stays the run's definition (the one it ran).
        assert {n["id"] for n in monitor.graph["nodes"]} >= {"A", "B"}
    finally:
        monitor.close()

    new = _run(flows_client, flow_id)
    monitor = _attach(new, flows_client)
    try:
        assert monitor.flow_changes is None and monitor.changes == {}
        assert "changed since" not in monitor.snapshot_text()
    finally:
        monitor.close()


def test_run_monitor_of_a_deleted_flow_shows_no_change(flows_client):
    flow_id = flows_client.create_flow("monitor-gone", V1, {}).data["id"]
    run_id = _run(flows_client, flow_id)
    flows_client.delete_flow(flow_id)
    monitor = _attach(run_id, flows_client)
    try:
        assert monitor.flow_changes is None and monitor.status == "SUCCEEDED"
    finally:
        monitor.close()
