"""Runs whose outcome must not be missed, and monitors that stay truthful, in JupyterLab:
a run that SUCCEEDED while a state failed, a cancelled run, a monitor whose kernel went
away, and a saved notebook reopened without its widget state."""

from __future__ import annotations

import pytest

from tests._fixtures.browser import run_notebook, save_and_reopen, screenshot
from tests._notebook_cells import FAILING_CELLS, SETUP, start_run

pytestmark = pytest.mark.browser

# WCAG contrast of an element's text on its own background (both as computed).
_CONTRAST = """(el) => {
  const parse = (c) => c.match(/[\\d.]+/g).slice(0, 3).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const s = getComputedStyle(el);
  const a = lum(parse(s.color)), b = lum(parse(s.backgroundColor));
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}"""


def _badge(page, scope: str = ".gj-monitor"):
    return page.locator(f"{scope} .gj-status-badge").first


def test_run_that_succeeded_with_a_failed_state_is_a_warning_everywhere(local_service, lab, page):
    run_notebook(lab, page, "monitor_failed_state", FAILING_CELLS, wait_for=".gj-monitor")
    page.wait_for_selector('.gj-monitor[data-status="SUCCEEDED"]', timeout=90_000)
    root = page.locator(".gj-monitor")
    assert root.get_attribute("data-outcome") == "warning"
    assert _badge(page).inner_text() == "SUCCEEDED · 1 state failed"
    failure = page.locator(".gj-monitor .gj-failure")
    assert "Calibrate: RuntimeError: calibration drifted by 3" in failure.inner_text()
    assert page.evaluate(_CONTRAST, _badge(page).element_handle()) >= 4.5
    page.locator(".gj-monitor").first.scroll_into_view_if_needed()
    screenshot(page, "failures_header_warning")
    # The log filters by state and by code.
    page.locator(".gj-monitor .gj-log-state-filter").select_option("Calibrate")
    assert page.locator(".gj-monitor .gj-log").get_attribute("data-shown") == "2"
    page.locator(".gj-monitor .gj-log-code-filter").fill("failed")
    assert page.locator(".gj-monitor .gj-log").get_attribute("data-shown") == "1"
    page.locator(".gj-monitor .gj-log-state-filter").select_option("")
    page.locator(".gj-monitor .gj-log-code-filter").fill("")
    # One click on the header's failure opens the traceback.
    failure.click()
    tb = page.wait_for_selector(".gj-state-detail[data-state='Calibrate'] .gj-traceback")
    assert "RuntimeError: calibration drifted by 3" in tb.inner_text()
    screenshot(page, "failures_succeeded_with_failed_state")
    run_id = root.get_attribute("data-run-id")

    # The runs side panel's row and the run tab say the same.
    page.evaluate("() => window.jupyterapp.commands.execute('gladier:show-runs')")
    row = page.wait_for_selector(f'.gj-lab-run[data-run-id="{run_id}"][data-outcome="warning"]',
                                 timeout=30_000)
    assert row.query_selector(".gj-status-badge").inner_text() == "SUCCEEDED · 1 state failed"
    row.click()
    tab = f'.gj-lab-run-view[data-run-id="{run_id}"]'
    page.wait_for_selector(f'{tab} .gj-monitor[data-outcome="warning"]', timeout=30_000)
    assert _badge(page, tab).inner_text() == "SUCCEEDED · 1 state failed"
    assert "Calibrate: RuntimeError" in page.locator(f"{tab} .gj-failure").inner_text()
    screenshot(page, "failures_run_tab_and_panel_row")


def test_loop_state_shows_how_many_times_it_ran(local_service, lab, page):
    cells = [SETUP, start_run("choice_loop", "browser loop visits", "loop visits") + "\n"
             "monitor = gladier_jupyter.RunMonitor(run, client=fc)\nmonitor"]
    run_notebook(lab, page, "monitor_loop_visits", cells, wait_for=".gj-monitor")
    page.wait_for_selector('.gj-monitor[data-status="SUCCEEDED"]', timeout=60_000)
    visits = page.wait_for_selector('.gj-monitor .gj-node[data-name="Count"][data-visits]',
                                    state="attached", timeout=30_000)
    assert visits.get_attribute("data-visits") == "3"  # n = 1, 2, 3
    assert visits.query_selector(".gj-visits").text_content().startswith("×3")
    assert page.locator('.gj-monitor .gj-node[data-name="Init"]').get_attribute(
        "data-visits") is None
    screenshot(page, "failures_loop_visits")
    bar = page.locator(".gj-monitor .gj-progress")
    assert bar.get_attribute("data-done") == bar.get_attribute("data-total")


def test_cancelled_run_has_its_own_readable_colour_in_light_and_dark(local_service, lab, page):
    cells = [SETUP, start_run("long_wait", "browser cancel colour", "cancel colour") + "\n"
             "monitor = gladier_jupyter.RunMonitor(run, client=fc)\nmonitor"]
    run_notebook(lab, page, "monitor_cancel_colour", cells, wait_for=".gj-monitor")
    page.wait_for_selector('.gj-monitor .gj-node[data-name="LongWait"][data-status="active"]',
                           state="attached", timeout=60_000)
    page.locator(".gj-monitor .gj-cancel").click()
    page.locator(".gj-monitor .gj-cancel-yes").click()
    page.wait_for_selector('.gj-monitor[data-outcome="cancelled"]', timeout=30_000)
    assert _badge(page).inner_text() == "CANCELLED"
    node = page.locator('.gj-monitor .gj-node[data-name="LongWait"]')
    assert node.get_attribute("data-status") == "cancelled"
    assert page.locator('.gj-monitor .gj-node[data-name="After"]').get_attribute(
        "data-status") == "skipped"
    bar = page.locator(".gj-monitor .gj-progress")
    assert (bar.get_attribute("data-done"), bar.get_attribute("data-total")) == ("2", "2")
    colours = page.evaluate("""(el) => getComputedStyle(el).backgroundColor""",
                            _badge(page).element_handle())
    failed = page.evaluate("""() => { const e = document.createElement('span');
      e.style.background = 'var(--jp-error-color1, #d32f2f)'; document.body.append(e);
      const c = getComputedStyle(e).backgroundColor; e.remove(); return c; }""")
    assert colours != failed
    light = page.evaluate(_CONTRAST, _badge(page).element_handle())
    assert light >= 4.5
    screenshot(page, "failures_cancelled_light")
    page.evaluate("() => window.jupyterapp.commands.execute('apputils:change-theme', "
                  "{theme: 'JupyterLab Dark'})")
    page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'",
                           timeout=30_000)
    page.wait_for_timeout(300)
    dark = page.evaluate(_CONTRAST, _badge(page).element_handle())
    screenshot(page, "failures_cancelled_dark")
    page.evaluate("() => window.jupyterapp.commands.execute('apputils:change-theme', "
                  "{theme: 'JupyterLab Light'})")
    page.wait_for_function("() => document.body.dataset.jpThemeLight === 'true'",
                           timeout=30_000)
    assert dark >= 4.5, (light, dark)


def test_monitor_says_disconnected_when_its_kernel_restarts_and_opens_a_tab(
        local_service, lab, page, flows_client):
    cells = [SETUP, start_run("long_wait", "browser disconnected", "disconnected") + "\n"
             "monitor = gladier_jupyter.RunMonitor(run, client=fc)\nmonitor"]
    run_notebook(lab, page, "monitor_disconnected", cells, wait_for=".gj-monitor")
    page.wait_for_selector('.gj-monitor[data-status="ACTIVE"]', timeout=60_000)
    run_id = page.locator(".gj-monitor").get_attribute("data-run-id")
    page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.session"
                  ".kernel.restart()")
    page.wait_for_selector('.gj-monitor[data-connection="disconnected"]', timeout=60_000)
    assert "disconnected" in _badge(page).inner_text()
    assert page.locator(".gj-monitor .gj-elapsed").get_attribute("data-stopped") == "1"
    shown = page.locator(".gj-monitor .gj-elapsed").inner_text()
    assert page.locator(".gj-monitor .gj-cancel").is_hidden()
    page.wait_for_timeout(1500)
    assert page.locator(".gj-monitor .gj-elapsed").inner_text() == shown  # no running timer
    screenshot(page, "failures_disconnected_monitor")
    page.locator(".gj-monitor .gj-open-tab").click()
    tab = f'.gj-lab-run-view[data-run-id="{run_id}"]'
    page.wait_for_selector(f'{tab} .gj-monitor[data-status="ACTIVE"]', timeout=30_000)
    # The tab keeps following the run (the server extension reads it, no kernel).
    flows_client.cancel_run(run_id)
    page.wait_for_selector(f'{tab} .gj-monitor[data-outcome="cancelled"]', timeout=30_000)
    screenshot(page, "failures_disconnected_opened_in_tab")


def test_reopened_notebook_without_widget_state_shows_the_saved_snapshots(local_service, lab,
                                                                         page):
    cells = [SETUP + "\n" + start_run("browser_steps", "browser reopened", "reopened") + "\n"
             "monitor = gladier_jupyter.RunMonitor(run, client=fc)\nmonitor",
             "gladier_jupyter.FlowPreview(definition)",
             "monitor.wait(60)"]
    run_notebook(lab, page, "monitor_reopened_saved", cells, wait_for=".gj-monitor")
    # The kernel that held the widget models goes; the notebook opens again with a new one.
    save_and_reopen(page, lab.page_url("lab/tree/monitor_reopened_saved.ipynb"))
    page.wait_for_timeout(500)
    text = page.locator(".jp-Notebook").inner_text()
    assert "model not found" not in text
    assert page.locator(".gj-saved-snapshot").count() == 2
    screenshot(page, "failures_reopened_notebook_snapshots")
