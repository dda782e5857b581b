"""The server extension's run history: a run's pinned definition against its re-deployed
flow, two runs compared, a flow's durations; on the local service, through its Registry."""

from __future__ import annotations

import globus_sdk
import pytest

from tests._fixtures.runs import wait_for_run

V1 = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": {"v": 1}, "ResultPath": "$.A",
                                       "Next": "B"},
                                 "B": {"Type": "Pass", "End": True}}}
V2 = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": {"v": 2}, "ResultPath": "$.A",
                                       "Next": "C"},
                                 "C": {"Type": "Pass", "End": True}}}


@pytest.fixture
def registry(local_service):
    from gladier_jupyter.server.runs import LocalSource, Registry

    return Registry([LocalSource(str(local_service.state_dir))])


def _run(flows_client, flow_id: str) -> str:
    specific = globus_sdk.SpecificFlowClient(flow_id, authorizer=flows_client.authorizer)
    run_id = specific.run_flow({}, label="history").data["run_id"]
    wait_for_run(flows_client, run_id)
    return run_id


def test_run_changes_shows_the_diff_once_the_flow_was_redeployed(registry, flows_client):
    from gladier_jupyter.server import history

    flow_id = flows_client.create_flow("pinned", V1, {}).data["id"]
    first = _run(flows_client, flow_id)
    same = history.run_changes(registry, first)
    assert same["known"] and not same["changed"] and same["graph"] == {}
    flows_client.update_flow(flow_id, definition=V2)
    moved = history.run_changes(registry, first)
    assert moved["changed"]
    states = moved["diff"]["states"]
    assert (states["A"]["status"], states["B"]["status"], states["C"]["status"]) == (
        "changed", "removed", "added")
    assert {n["id"]: n.get("diff") for n in moved["graph"]["nodes"]}["B"] == "removed"
    second = _run(flows_client, flow_id)
    assert not history.run_changes(registry, second)["changed"]
    compared = history.compare_runs(registry, first, second)
    assert compared["definition_diff"]["states"]["B"]["status"] == "removed"
    rows = {r["name"]: r for r in compared["states"]}
    assert rows["A"]["output_changes"][0]["path"] == "$.A.v"
    durations = history.flow_durations(registry, flow_id, last=5)
    assert durations["source"] == "local" and durations["stats"]["A"]["runs"] == 2


def test_flow_durations_of_an_unknown_flow_names_it(registry):
    from gladier_jupyter.server import history
    from gladier_jupyter.server.runs import RunNotFound

    with pytest.raises(RunNotFound, match="no-such-flow"):
        history.flow_durations(registry, "no-such-flow")
