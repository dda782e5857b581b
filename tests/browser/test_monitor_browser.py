"""The run monitor in a real JupyterLab: live colours, and Cancel from the page."""

from __future__ import annotations

import json

import pytest

from tests._fixtures.browser import assert_accessible, run_notebook, screenshot
from tests._notebook_cells import FAILING_CELLS, SETUP, start_run

pytestmark = pytest.mark.browser


def _cells(flow: str, label: str) -> list[str]:
    return [
        SETUP,
        start_run(flow, f"browser {flow}", label) + "\n"
        "monitor = gladier_jupyter.RunMonitor(run, client=fc)\n"
        "monitor",
        # Another cell runs while the monitor watches: the kernel is not blocked.
        "kernel_free = 6 * 7\nkernel_free",
    ]


def test_run_monitor_colours_change_live_in_jupyterlab(local_service, lab, page):
    run_notebook(lab, page, "monitor_live", _cells("browser_steps", "live colours"),
                 wait_for=".gj-monitor")
    page.wait_for_selector('.gj-monitor[data-status="SUCCEEDED"]', timeout=60_000)
    root = page.locator(".gj-monitor")
    history = root.get_attribute("data-status-history")
    states = json.loads(root.get_attribute("data-state-history"))
    screenshot(page, "monitor_live_succeeded")
    assert history.split(">")[-2:] == ["ACTIVE", "SUCCEEDED"]
    # States the page drew before they ran, while they ran, and after: live updates.
    assert states["Step3"] == "pending>active>succeeded"
    assert states["Step4"] == "pending>active>succeeded"
    # The preview's graph renderer drew them, with the same history.
    node = page.locator('.gj-monitor .gj-node[data-name="Step4"]')
    assert node.get_attribute("data-status-history") == "pending>active>succeeded"
    assert page.locator(".gj-monitor .gj-log tr[data-code='FlowSucceeded']").count() == 1
    assert page.locator(".gj-monitor .gj-progress").get_attribute("data-done") == "5"
    # Click a state: its input and output show.
    page.locator('.gj-monitor .gj-log td', has_text="Step2").first.click()
    page.wait_for_selector(".gj-state-detail[data-state='Step2'] .gj-state-input")
    screenshot(page, "monitor_live_state_detail")
    assert_accessible(page, ".gj-monitor")


def test_cancel_from_the_page_ends_the_run(local_service, lab, page, flows_client):
    run_notebook(lab, page, "monitor_cancel", _cells("long_wait", "cancel me"),
                 wait_for=".gj-monitor")
    page.wait_for_selector('.gj-monitor .gj-node[data-name="LongWait"][data-status="active"]',
                           state="attached", timeout=60_000)
    run_id = page.locator(".gj-monitor").get_attribute("data-run-id")
    rendered = page.locator(".gj-monitor").get_attribute("data-rendered-at")
    # The user opens the Timeline while the run is active ...
    page.locator(".gj-monitor summary", has_text="Timeline").click()
    page.locator(".gj-monitor .gj-cancel").click()
    page.wait_for_selector(".gj-monitor .gj-cancel-confirm", state="visible")
    screenshot(page, "monitor_cancel_confirm")
    page.locator(".gj-monitor .gj-cancel-yes").click()
    page.wait_for_selector('.gj-monitor[data-status="FAILED"]', timeout=30_000)
    page.wait_for_selector(".gj-monitor .gj-log tr[data-code='FlowCanceled']")
    # ... and it stays open when the run ends, though the kernel's update of the output
    # (its saved snapshot) makes JupyterLab draw a new view
    page.wait_for_function("(before) => document.querySelector('.gj-monitor').dataset.renderedAt !== before",
                           arg=rendered, timeout=30_000)
    assert page.evaluate("() => [...document.querySelectorAll('.gj-monitor details')]"
                         ".find(d => d.querySelector('summary').textContent === 'Timeline').open")
    screenshot(page, "monitor_cancelled")
    assert_accessible(page, ".gj-monitor")
    assert flows_client.get_run(run_id)["status"] == "FAILED"
    assert page.locator('.gj-monitor .gj-node[data-name="After"]').get_attribute(
        "data-status") == "skipped"


def test_runs_panel_lists_runs_and_opens_one_in_a_monitor(local_service, lab, page):
    cells = _cells("pass_wait_pass", "listed run")[:2]
    cells[1] = cells[1].rsplit("monitor = ", 1)[0] + (
        "import time\n"
        "while fc.get_run(run['run_id'])['status'] == 'ACTIVE':\n"
        "    time.sleep(0.1)\n"
        "panel = gladier_jupyter.RunsPanel(fc, flow_id=flow['id'])\n"
        "panel")
    run_notebook(lab, page, "monitor_runs_panel", cells, wait_for=".gj-runs .gj-run-row")
    row = page.locator(".gj-runs .gj-run-row")
    assert row.count() == 1
    assert row.first.get_attribute("data-status") == "SUCCEEDED"
    row.first.click()
    page.wait_for_selector('.gj-monitor[data-status="SUCCEEDED"]', timeout=30_000)
    page.wait_for_selector(".gj-monitor .gj-log tr[data-code='FlowSucceeded']")
    page.locator(".gj-monitor summary", has_text="Timeline").click()
    page.wait_for_selector(".gj-monitor .gj-timeline g[data-state='Hold']")
    screenshot(page, "monitor_runs_panel_opened", full_page=True)


def test_failed_compute_state_shows_its_remote_traceback_on_click(local_service, lab, page):
    run_notebook(lab, page, "monitor_traceback", FAILING_CELLS, wait_for=".gj-monitor")
    page.wait_for_selector('.gj-monitor[data-status="SUCCEEDED"]', timeout=60_000)
    node = page.locator('.gj-monitor .gj-node[data-name="Calibrate"]')
    assert node.get_attribute("data-status") == "failed"
    node.click()
    traceback = page.wait_for_selector(".gj-state-detail[data-state='Calibrate'] .gj-traceback")
    text = traceback.inner_text()
    assert "Traceback (most recent call last)" in text
    assert "RuntimeError: calibration drifted by 3" in text
    traceback.scroll_into_view_if_needed()
    screenshot(page, "monitor_failed_compute_traceback")
