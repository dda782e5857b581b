"""The re-deploy diff, for real on the local service: %gladier_run shows what changed against
the deployed flow, %gladier_client --diff and FlowPreview(client).diff() show it on demand,
and each run stays pinned to the definition it ran."""

from __future__ import annotations

import pytest

from tests._fixtures.runs import wait_for_run
from tests.test_magics import ipshell, run, shell  # noqa: F401

ENDPOINT = "4b116d3c-1703-4f8f-9f6f-39921e5864df"
FIRST = "%%gladier_tool Steps\ndef prepare(**data):\n    return 1\n\ndef measure(**data):\n    return {M}\n"
SECOND = "%%gladier_tool Steps\ndef prepare(**data):\n    return 1\n\ndef analyse(**data):\n    return {M}\n"


@pytest.fixture
def local_shell(shell, local_service):  # noqa: F811 - the imported fixture
    from gladier_jupyter import backend

    backend.use_local(local_service.state_dir)
    return shell


def _deploy_first(ip) -> dict:
    run(ip, FIRST.replace("{M}", "2"))
    run(ip, "%gladier_client StepsClient Steps --no-preview")
    run(ip, f"%gladier_run StepsClient {{'input': {{'compute_endpoint': '{ENDPOINT}'}}}} --no-monitor")
    return ip.user_ns["_"]


def test_first_run_deploys_without_a_diff_and_an_unchanged_rerun_shows_none(local_shell):
    ip = local_shell
    _deploy_first(ip)
    magics = ip.magics_manager.registry["GladierMagics"]
    assert magics.last_redeploy is None  # nothing was deployed before: nothing to compare
    run(ip, f"%gladier_run StepsClient {{'input': {{'compute_endpoint': '{ENDPOINT}'}}}} --no-monitor")
    assert magics.last_redeploy is None


def test_run_after_a_state_rename_shows_removed_added_and_changed_states(local_shell, flows_client):
    ip = local_shell
    first = _deploy_first(ip)
    wait_for_run(flows_client, first["run_id"])
    run(ip, SECOND.replace("{M}", "3"))
    run(ip, "%gladier_client StepsClient Steps --no-preview")
    run(ip, f"%gladier_run StepsClient {{'input': {{'compute_endpoint': '{ENDPOINT}'}}}} --no-monitor")
    preview = ip.magics_manager.registry["GladierMagics"].last_redeploy
    assert preview is not None
    changes = preview.changes
    states = changes["states"]
    assert states["Analyse"]["status"] == "added"
    assert states["Measure"]["status"] == "removed"
    assert states["Prepare"]["status"] == "changed"
    assert {c["path"] for c in states["Prepare"]["changes"]} == {"$.States.Prepare.Next"}
    nodes = {n["id"]: n for n in preview.graph["nodes"]}
    assert nodes["Measure"]["ghost"] is True and nodes["Measure"]["diff"] == "removed"
    assert any(e.get("removed") and e["target"] == "Measure" for e in preview.graph["edges"])
    # the first run is pinned to the definition it ran, the flow has moved on
    second = ip.user_ns["_"]
    pinned = flows_client.get_run_definition(first["run_id"]).data
    assert set(pinned) >= {"flow_id", "definition", "input_schema"}
    assert "Measure" in pinned["definition"]["States"]
    now = flows_client.get_run_definition(second["run_id"]).data["definition"]
    assert "Analyse" in now["States"] and "Measure" not in now["States"]


def test_changed_function_source_marks_its_state_on_demand(local_shell):
    from gladier_jupyter.widgets.preview import FlowPreview

    ip = local_shell
    _deploy_first(ip)
    run(ip, FIRST.replace("{M}", "20"))  # same states, measure()'s source changed
    run(ip, "%gladier_client StepsClient Steps --diff")
    preview = ip.magics_manager.registry["GladierMagics"].last_preview
    states = preview.changes["states"]
    assert states["Measure"]["status"] == "changed"
    assert states["Measure"]["functions"] == ["measure_function_id"]
    assert states["Measure"]["changes"] == []
    assert states["Prepare"]["status"] == "unchanged"
    assert preview.changes["against"].startswith("the deployed flow ")
    again = FlowPreview(ip.user_ns["StepsClient"]).diff()
    assert list(again.functions) == ["measure_function_id"]


def test_diff_with_no_argument_on_a_definition_says_what_to_pass():
    from gladier_jupyter.errors import GladierJupyterUsageError
    from gladier_jupyter.widgets.preview import FlowPreview

    preview = FlowPreview({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}})
    with pytest.raises(GladierJupyterUsageError, match=r"preview.diff\(old_definition\)"):
        preview.diff()
    diff = preview.diff({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"},
                                                    "B": {"Type": "Pass", "End": True}}})
    assert diff.names("removed") == ["B"] and diff.names("changed") == ["A"]
    assert preview.changes["against"] == "the given definition"
    preview.diff(False)
    assert preview.changes == {} and "diff" not in preview.graph
