"""compare_runs and flow_history, for real on the local service: runs of two versions of a
flow compared state by state, with the definition each was pinned to; per-state durations
over a flow's last runs."""

from __future__ import annotations

import globus_sdk
import pytest

from tests._fixtures.runs import wait_for_run

V1 = {"StartAt": "Double", "States": {
    "Double": {"Type": "ExpressionEval", "Parameters": {"value.=": "n * 2"}, "ResultPath": "$.Double",
               "Next": "Pause"},
    "Pause": {"Type": "Wait", "Seconds": 1, "Next": "Done"},
    "Done": {"Type": "Pass", "End": True}}}
V2 = {"StartAt": "Double", "States": {
    "Double": {"Type": "ExpressionEval", "Parameters": {"value.=": "n * 3"}, "ResultPath": "$.Double",
               "Next": "Done"},
    "Done": {"Type": "Pass", "End": True}}}


def _start(flows_client, flow_id: str, n: int, label: str) -> str:
    specific = globus_sdk.SpecificFlowClient(flow_id, authorizer=flows_client.authorizer)
    run_id = specific.run_flow({"n": n}, label=label).data["run_id"]
    assert wait_for_run(flows_client, run_id)["status"] == "SUCCEEDED"
    return run_id


@pytest.fixture
def two_versions(flows_client):
    flow_id = flows_client.create_flow("history test", V1, {}).data["id"]
    first = _start(flows_client, flow_id, 1, "v1 run")
    flows_client.update_flow(flow_id, definition=V2)
    second = _start(flows_client, flow_id, 2, "v2 run")
    return flow_id, first, second


def test_compare_runs_of_two_versions_shows_states_outputs_and_the_definition_diff(
        flows_client, two_versions):
    from gladier_jupyter import compare_runs

    _flow_id, first, second = two_versions
    view = compare_runs(first, {"run_id": second}, flows_client=flows_client)
    data = view.to_dict()
    assert [r["label"] for r in data["runs"]] == ["v1 run", "v2 run"]
    rows = {r["name"]: r for r in data["states"]}
    assert rows["Double"]["status"] == ["succeeded", "succeeded"]
    assert rows["Pause"]["status"] == ["succeeded", "absent"]
    assert rows["Pause"]["duration"][0] >= 0.9 and rows["Pause"]["duration"][1] is None
    changed = {c["path"]: (c.get("old"), c.get("new")) for c in rows["Double"]["output_changes"]}
    assert changed["$.Double.value"] == (2, 6)
    diff = data["definition_diff"]
    assert diff["states"]["Pause"]["status"] == "removed"
    assert diff["states"]["Double"]["status"] == "changed"
    html = view._repr_html_()
    assert "different definitions" in html and "data-state='Pause'" in html
    preview = view.diff_preview()
    assert preview.changes["against"] == "run v1 run"
    assert {n["id"]: n.get("diff") for n in preview.graph["nodes"]}["Pause"] == "removed"


def test_compare_runs_of_one_version_says_same_definition(flows_client):
    from gladier_jupyter import compare_runs

    flow_id = flows_client.create_flow("same version", V2, {}).data["id"]
    a, b = _start(flows_client, flow_id, 1, "a"), _start(flows_client, flow_id, 1, "b")
    view = compare_runs(a, b, flows_client=flows_client)
    assert view.definition_diff is None
    assert all(not r.output_changes for r in view.comparison.rows)
    assert "same definition" in view._repr_html_()


def test_flow_history_gives_per_state_min_median_max_and_a_gantt(flows_client, two_versions):
    from gladier_jupyter import flow_history

    flow_id, _first, _second = two_versions
    third = _start(flows_client, flow_id, 3, "v2 again")
    view = flow_history(flow_id, last=20, flows_client=flows_client)
    stats = view.stats()
    assert stats["Double"]["runs"] == 3 and stats["Pause"]["runs"] == 1
    assert stats["Pause"]["min"] == stats["Pause"]["median"] == stats["Pause"]["max"] >= 0.9
    assert stats["Double"]["min"] <= stats["Double"]["median"] <= stats["Double"]["max"]
    assert view.history.runs[-1].run_id == third  # oldest first, the latest last
    gantt = view.history.gantt()
    assert [b["state"] for b in gantt] == ["Double", "Done"]
    assert all(b["median"] is not None for b in gantt)
    html = view._repr_html_()
    assert "class='gj-gantt'" in html and "3 ended runs" in html
    two = flow_history(flow_id, last=2, flows_client=flows_client)
    assert len(two.history.runs) == 2 and "Pause" not in two.stats()


def test_bad_arguments_are_refused_in_one_line():
    from gladier_jupyter import compare_runs, flow_history
    from gladier_jupyter.errors import GladierJupyterUsageError

    with pytest.raises(GladierJupyterUsageError, match="not a run"):
        compare_runs(42, "x", flows_client=object())
    with pytest.raises(GladierJupyterUsageError, match="last=0"):
        flow_history("f", last=0, flows_client=object())
    with pytest.raises(GladierJupyterUsageError, match="neither a flow id nor a gladier client"):
        flow_history(3.5, flows_client=object())
