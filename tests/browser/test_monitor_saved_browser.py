"""JupyterLab saves a RunMonitor's output with the run's last state, and the live view stays."""

from __future__ import annotations

import json

import pytest

from tests._fixtures.browser import run_notebook, screenshot
from tests._notebook_cells import SETUP, start_run

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"

pytestmark = pytest.mark.browser

CELLS = [
    SETUP + "\n" + start_run("browser_steps", "saved in lab", "saved in lab"),
    "monitor = gladier_jupyter.RunMonitor(run, client=fc)\nmonitor",
    # Runs (and ends) long before the run does: the final update must not land here.
    "shown_status = monitor.status\nshown_status",
]

# The monitor cell's output model (what JupyterLab saves) holds the final snapshot.
_SAVED_HTML_FINAL = """() => {
  const cell = window.jupyterapp.shell.currentWidget.content.widgets[1];
  const outputs = cell.model.outputs;
  return outputs.length === 1 &&
    String(outputs.get(0).data['text/html'] || '').includes('data-status="SUCCEEDED"');
}"""


def test_saved_notebook_shows_the_monitor_final_state_and_the_live_view_stays(
        local_service, lab, page):
    run_notebook(lab, page, "monitor_saved", CELLS, wait_for=".gj-monitor")
    shown = page.locator(".jp-CodeCell").nth(2).locator(".jp-OutputArea-output").inner_text()
    assert shown.strip() in ("'PENDING'", "'ACTIVE'")  # the run was going when displayed
    page.wait_for_selector('.gj-monitor[data-status="SUCCEEDED"]', timeout=60_000)
    page.wait_for_function(_SAVED_HTML_FINAL, timeout=30_000, polling=200)
    # The live view still works after its output was refreshed: one view, final state.
    cell = page.locator(".jp-CodeCell").nth(1)
    assert cell.locator(".gj-monitor").count() == 1
    assert page.locator(".gj-monitor").count() == 1
    assert cell.locator(".gj-monitor").get_attribute("data-status") == "SUCCEEDED"
    assert cell.locator(".gj-monitor .gj-log tr[data-code='FlowSucceeded']").count() == 1
    screenshot(page, "monitor_saved_live_view")

    page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    page.wait_for_function(
        "() => !window.jupyterapp.shell.currentWidget.context.model.dirty", timeout=30_000)
    nb = json.loads((lab.root_dir / "monitor_saved.ipynb").read_text(encoding="utf-8"))
    [out] = nb["cells"][1]["outputs"]
    assert out["output_type"] == "display_data"
    html = "".join(out["data"]["text/html"])
    text = "".join(out["data"]["text/plain"])
    assert 'data-status="SUCCEEDED"' in html and "ACTIVE" not in html
    assert "SUCCEEDED" in text and "ACTIVE" not in text and "PENDING" not in text
    assert WIDGET_VIEW in out["data"]
    # No other cell got monitor output.
    for index in (0, 2):
        for other in nb["cells"][index]["outputs"]:
            data = other.get("data", {})
            assert WIDGET_VIEW not in data and "gj-monitor" not in json.dumps(data), index
    assert [o["output_type"] for o in nb["cells"][2]["outputs"]] == ["execute_result"]


def test_monitor_output_reopened_in_a_new_page_is_saved_with_the_final_state(
        local_service, lab, page, flows_client):
    # The page that displayed the monitor is gone (reload): the cell's execution is no
    # longer tracked, so the lab extension applies the kernel's final update itself.
    cells = [CELLS[0].replace("'browser_steps'", "'long_wait'"), CELLS[1]]
    run_notebook(lab, page, "monitor_reopened", cells, wait_for=".gj-monitor")
    page.wait_for_selector('.gj-monitor .gj-node[data-name="LongWait"][data-status="active"]',
                           state="attached", timeout=60_000)
    run_id = page.locator(".gj-monitor").get_attribute("data-run-id")
    page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    page.wait_for_function(
        "() => !window.jupyterapp.shell.currentWidget.context.model.dirty", timeout=30_000)
    page.reload()
    page.wait_for_function(
        "() => window.jupyterapp && window.jupyterapp.shell.currentWidget && "
        "window.jupyterapp.shell.currentWidget.sessionContext?.session?.kernel?.status "
        "=== 'idle'", timeout=60_000, polling=200)
    page.wait_for_selector('.gj-monitor[data-status="ACTIVE"]', timeout=60_000)
    flows_client.cancel_run(run_id)
    page.wait_for_selector('.gj-monitor[data-status="FAILED"]', timeout=30_000)
    page.wait_for_function(_SAVED_HTML_FINAL.replace("SUCCEEDED", "FAILED"),
                           timeout=30_000, polling=200)
    assert page.locator(".jp-CodeCell").nth(1).locator(".gj-monitor").count() == 1
    screenshot(page, "monitor_reopened_final")
    page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    page.wait_for_function(
        "() => !window.jupyterapp.shell.currentWidget.context.model.dirty", timeout=30_000)
    nb = json.loads((lab.root_dir / "monitor_reopened.ipynb").read_text(encoding="utf-8"))
    [out] = nb["cells"][1]["outputs"]
    assert 'data-status="FAILED"' in "".join(out["data"]["text/html"])
    assert WIDGET_VIEW in out["data"]
