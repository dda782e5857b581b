"""What changed, in a real JupyterLab and Chromium: the re-deploy diff on the preview (added,
removed, changed states and a changed function), a run tab pinned to its definition after a
re-deploy, two runs compared from the runs panel, and a flow's durations view."""

from __future__ import annotations

import uuid

import globus_sdk
import pytest

from tests._fixtures.browser import (
    _jupyter_server,
    run_notebook,
    screenshot,
    this_checkouts_labextension,
)
from tests._fixtures.runs import wait_for_run

pytestmark = pytest.mark.browser

ENDPOINT = "4b116d3c-1703-4f8f-9f6f-39921e5864df"
NODE = ".gj-preview[data-diff='true'] g.gj-node[data-name='{}']"
V1 = {"StartAt": "A", "States": {
    "A": {"Type": "Pass", "Result": {"v": 1}, "ResultPath": "$.A", "Next": "B"},
    "B": {"Type": "Wait", "Seconds": 1, "Next": "End"},
    "End": {"Type": "Pass", "End": True}}}
V2 = {"StartAt": "A", "States": {
    "A": {"Type": "Pass", "Result": {"v": 2}, "ResultPath": "$.A", "Next": "C"},
    "C": {"Type": "Pass", "Next": "End"},
    "End": {"Type": "Pass", "End": True}}}


@pytest.fixture(scope="module")
def diff_lab():
    with this_checkouts_labextension(), _jupyter_server(
            "jupyterlab", "lab", ["--LabApp.expose_app_in_browser=True"], "JupyterLab") as server:
        yield server


def _open_lab(lab, page) -> None:
    page.goto(lab.page_url(f"lab/workspaces/changes-{uuid.uuid4().hex[:8]}"))
    page.wait_for_function("() => !!window.jupyterapp", timeout=60_000)
    page.evaluate("() => window.jupyterapp.restored.then(() => true)")


def _run(flows_client, flow_id: str, label: str) -> str:
    specific = globus_sdk.SpecificFlowClient(flow_id, authorizer=flows_client.authorizer)
    run_id = specific.run_flow({}, label=label).data["run_id"]
    assert wait_for_run(flows_client, run_id)["status"] == "SUCCEEDED"
    return run_id



def _assert_v1_to_v2_drawn(box) -> None:
    """The "flow changed" box, opened, draws V1 → V2: B removed (ghost), C added, and A's
    field change shown on a click."""
    box.locator(".gj-run-changes-toggle").click()
    ghost = box.locator("g.gj-node[data-name='B']")
    ghost.wait_for(timeout=10_000)
    assert ghost.get_attribute("data-diff") == "removed"
    assert box.locator("g.gj-node[data-name='C']").get_attribute("data-diff") == "added"
    box.locator("g.gj-node[data-name='A']").click()
    assert "$.States.A.Result.v: 1 → 2" in box.locator(".gj-run-changes-state").inner_text()

def test_redeploy_preview_marks_added_removed_changed_states_and_a_changed_function(diff_lab, page):
    u = uuid.uuid4().hex[:6]
    run_input = f'{{"input": {{"compute_endpoint": "{ENDPOINT}"}}}}'
    cells = [
        "%load_ext gladier_jupyter",
        f"%%gladier_tool Steps{u}\ndef prepare(**data):\n    return 1\n\ndef measure(**data):\n    return 2\n",
        f"%gladier_client C{u} Steps{u} --no-preview",
        f"%gladier_run C{u} {run_input} --no-monitor",
        # prepare()'s source changes, measure() becomes analyse()
        f"%%gladier_tool Steps{u}\ndef prepare(**data):\n    return 10\n\ndef analyse(**data):\n    return 3\n",
        f"%gladier_client C{u} Steps{u} --no-preview",
        f"%gladier_run C{u} {run_input} --no-monitor",
    ]
    run_notebook(diff_lab, page, f"redeploy_diff_{u}", cells, wait_for=NODE.format("Measure"))
    assert page.locator(NODE.format("Measure")).get_attribute("data-diff") == "removed"
    assert page.locator(NODE.format("Analyse")).get_attribute("data-diff") == "added"
    prepare = page.locator(NODE.format("Prepare"))
    assert prepare.get_attribute("data-diff") == "changed"
    assert prepare.get_attribute("data-function-changed") == "true"
    assert page.locator(NODE.format("Prepare") + " .gj-function-badge").count() == 1
    # removed: drawn dashed, with its old edge dashed too
    dash = page.evaluate("(sel) => getComputedStyle(document.querySelector(sel)).strokeDasharray",
                         NODE.format("Measure") + " .gj-shape")
    assert dash not in ("", "none")
    assert page.locator(".gj-preview[data-diff='true'] path.gj-edge-removed").count() >= 1
    banner = page.locator(".gj-preview[data-diff='true'] .gj-diff-banner").inner_text()
    assert "1 added; 1 removed; 1 changed" in banner and "the deployed flow" in banner
    prepare.click()
    pane = page.locator(".gj-preview[data-diff='true'] .gj-pane .gj-pane-diff[data-status='changed']")
    pane.wait_for(timeout=10_000)
    text = pane.inner_text()
    assert "$.States.Prepare.Next" in text and '"Measure" → "Analyse"' in text
    assert "prepare() source changed" in text
    screenshot(page, "changes_redeploy_diff")


def test_run_tab_says_the_flow_changed_since_the_run(diff_lab, page, flows_client):
    flow_id = flows_client.create_flow("pinned run", V1, {}).data["id"]
    run_id = _run(flows_client, flow_id, f"pinned-{uuid.uuid4().hex[:6]}")
    flows_client.update_flow(flow_id, definition=V2)
    _open_lab(diff_lab, page)
    page.evaluate("(id) => window.jupyterapp.commands.execute('gladier:open-run', {run_id: id})", run_id)
    view = f".gj-lab-run-view[data-run-id='{run_id}']"
    page.wait_for_selector(f"{view} .gj-run-changes-box[data-changes='changed']", timeout=30_000)
    box = page.locator(f"{view} .gj-run-changes")
    assert "The flow changed since this run." in box.inner_text()
    assert "1 added; 1 removed; 1 changed" in box.inner_text()
    _assert_v1_to_v2_drawn(box)
    # the run is still shown as it ran: its own monitor graph has B, not C
    page.wait_for_selector(f"{view} .gj-monitor g.gj-node[data-name='B']", timeout=30_000)
    assert page.locator(f"{view} .gj-monitor g.gj-node[data-name='C']").count() == 0
    screenshot(page, "changes_run_tab_pinned")


def test_two_runs_compared_from_the_runs_panel_and_the_flows_durations(diff_lab, page, flows_client):
    u = uuid.uuid4().hex[:6]
    flow_id = flows_client.create_flow(f"compare {u}", V1, {}).data["id"]
    first = _run(flows_client, flow_id, f"cmp-a-{u}")
    flows_client.update_flow(flow_id, definition=V2)
    second = _run(flows_client, flow_id, f"cmp-b-{u}")
    _open_lab(diff_lab, page)
    page.evaluate("() => window.jupyterapp.commands.execute('gladier:show-runs')")
    page.wait_for_selector(f".gj-lab-run[data-run-id='{second}']", timeout=30_000)
    for run_id in (first, second):
        page.locator(f".gj-lab-run[data-run-id='{run_id}']").click(modifiers=["Control"])
    assert page.locator(f".gj-lab-run[data-run-id='{first}']").get_attribute("data-selected") == "true"
    assert page.locator(".gj-lab-run-view").count() == 0  # selecting opens no run tab
    page.locator(".gj-lab-runs-compare").click()
    view = page.locator(".gj-compare-view[data-loaded='true']")
    view.wait_for(timeout=30_000)
    assert view.get_attribute("data-definitions") == "different"
    row_b = view.locator("tr[data-state='B']")
    assert row_b.locator(".gj-side-a").inner_text().startswith("succeeded")
    assert row_b.locator(".gj-side-b").inner_text().startswith("absent")
    assert "$.A.v: 1 → 2" in view.locator("tr[data-state='A'] .gj-output-diff").inner_text()
    assert "removed" in view.locator(".gj-diff-banner").inner_text()
    screenshot(page, "changes_compare_runs")

    page.locator(".gj-lab-runs-durations").click()
    durations = page.locator(".gj-durations-view[data-loaded='true']")
    durations.wait_for(timeout=30_000)
    assert durations.locator("tr[data-state='A'] td").nth(1).inner_text() == "2"
    assert durations.locator("tr[data-state='B'] td").nth(1).inner_text() == "1"
    assert durations.locator(".gj-gantt rect.gj-gantt-bar").count() == 3  # A, C, End
    assert durations.locator(".gj-gantt rect.gj-gantt-median").count() == 3
    screenshot(page, "changes_flow_durations")


def test_notebook_monitor_says_the_flow_changed_since_the_run(diff_lab, page, flows_client):
    from tests._notebook_cells import SETUP

    flow_id = flows_client.create_flow("pinned monitor", V1, {}).data["id"]
    run_id = _run(flows_client, flow_id, f"monitor-pinned-{uuid.uuid4().hex[:6]}")
    flows_client.update_flow(flow_id, definition=V2)
    cells = [SETUP, f"monitor = gladier_jupyter.RunMonitor.attach({run_id!r}, client=fc)\nmonitor",
             "print(monitor.flow_changes['summary'])"]
    changed = ".gj-monitor .gj-monitor-changes[data-changes='changed']"
    run_notebook(diff_lab, page, f"monitor_changes_{uuid.uuid4().hex[:6]}", cells, wait_for=changed)
    box = page.locator(f"{changed} .gj-run-changes")
    assert "The flow changed since this run: 1 added, 1 removed, 1 changed" in box.inner_text()
    _assert_v1_to_v2_drawn(box)
    # the monitor's own graph is the run as it ran: B, not C
    assert page.locator(".gj-monitor g.gj-node[data-name='B']").count() >= 2
    assert page.locator(".gj-monitor g.gj-node[data-name='C']").count() == 1  # the diff's only
    screenshot(page, "changes_monitor_pinned")
