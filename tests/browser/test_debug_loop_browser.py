"""The debug loop in a real JupyterLab and Chromium, on the local service: a compute state
that raised is replayed in the kernel from the monitor's state pane (the same exception, its
traceback in the notebook), the cell fixed and replayed again; a state of a preview tested
alone, each step shown; a finished run re-run from a state with edited run data, the new run
linked to its parent in its monitor and in the runs panel."""

from __future__ import annotations

import json

import pytest

from tests._fixtures.browser import (
    _jupyter_server,
    run_notebook,
    screenshot,
    this_checkouts_labextension,
)
from tests._notebook_cells import FLOWS

pytestmark = pytest.mark.browser

DEBUG_FLOWS = FLOWS.parents[1] / "debug" / "flows.json"
ENDPOINT = "4b116d3c-1703-4f8f-9f6f-39921e5864df"
BROKEN = ("%%gladier_tool Measure\n"
          "def measure(**data):\n"
          "    print('measuring', data['sample'])\n"
          "    return {'ratio': data['total'] / data['count']}")
FIXED = BROKEN.replace("data['total'] / data['count']", "data['total'] / max(data['count'], 1)")
SETUP = "%load_ext gladier_jupyter\nimport gladier_jupyter\ngladier_jupyter.use_local()"
START = (f"flow_input = {{'input': {{'compute_endpoint': {ENDPOINT!r}, 'sample': 's1', 'total': 7, 'count': 0}}}}\n"
         "%gladier_run MeasureClient flow_input --label replayed --out measured")

_RUN_CELL = """([i, src]) => {
  const w = window.jupyterapp.shell.currentWidget;
  const cell = w.content.widgets[i];
  cell.model.sharedModel.setSource(src);
  w.content.activeCellIndex = i;
  window.__gjCount = cell.model.executionCount;
  return window.jupyterapp.commands.execute('notebook:run-cell').then(() => true);
}"""
_CELL_RAN = """(i) => {
  const w = window.jupyterapp.shell.currentWidget;
  const k = w.sessionContext.session && w.sessionContext.session.kernel;
  const n = w.content.widgets[i].model.executionCount;
  return !!k && k.status === 'idle' && n !== null && n !== window.__gjCount;
}"""


@pytest.fixture(scope="module")
def debug_lab(local_service):
    """JupyterLab with this checkout's front end (the runs panel is the lab extension's)."""
    with this_checkouts_labextension(), _jupyter_server(
            "jupyterlab", "lab", ["--LabApp.expose_app_in_browser=True"], "JupyterLab") as server:
        yield server


def _rerun_cell(page, index: int, source: str) -> None:
    page.evaluate(_RUN_CELL, [index, source])
    page.wait_for_function(_CELL_RAN, arg=index, timeout=60_000, polling=200)


def _select_state(monitor, state: str) -> None:
    monitor.locator(".gj-log td", has_text=state).first.click()
    monitor.page.wait_for_selector(f".gj-state-detail[data-state='{state}']")


def test_replay_in_kernel_shows_the_exception_then_the_fixed_result_and_rerun_links_its_parent(
        debug_lab, page):
    cells = [SETUP, BROKEN, "%gladier_client MeasureClient Measure --no-preview", START]
    run_notebook(debug_lab, page, "debug_replay", cells, wait_for=".gj-monitor")
    monitor = page.locator(".gj-monitor").first
    page.wait_for_selector('.gj-monitor[data-status="SUCCEEDED"]', timeout=120_000)
    _select_state(monitor, "Measure")
    output = monitor.locator(".gj-debug-text").first

    # (a) the run's exception, raised in the kernel with the run's arguments, shown in the monitor
    monitor.locator(".gj-state-detail .gj-replay").click()
    output.locator("text=ZeroDivisionError").first.wait_for(timeout=60_000)
    text = output.inner_text()
    assert "Replaying Measure of run replayed in the kernel" in text
    assert "measuring s1" in text  # the function's own print, from this kernel
    assert "Traceback (most recent call last)" in text  # the traceback, with the cell's own line
    assert "data['total'] / data['count']" in text and "gladier_jupyter" not in text.split("Traceback")[1]
    assert output.get_attribute("data-kind") == "error"
    screenshot(page, "debug_replay_exception")

    # the cell fixed and run again: the same recorded input replays through the new code
    _rerun_cell(page, 1, FIXED)
    if not monitor.locator(".gj-state-detail .gj-replay").count():
        _select_state(monitor, "Measure")
    monitor.locator(".gj-state-detail .gj-replay").click()
    page.wait_for_function("(el) => el.textContent.includes(\"Result: {'ratio': 7.0}\")",
                           arg=output.element_handle(), timeout=60_000, polling=200)
    assert "ZeroDivisionError" not in output.inner_text()
    screenshot(page, "debug_replay_fixed")

    # (c) re-run from the state with edited run data: the fixed code runs (its function id
    # registered anew, said in one line), the new run names its parent
    monitor.locator(".gj-state-detail .gj-rerun").click()
    form = monitor.locator(".gj-rerun-form[data-state='Measure']")
    form.wait_for(timeout=30_000)
    data = json.loads(form.locator(".gj-rerun-input").input_value())
    assert data["input"]["count"] == 0 and data["input"]["sample"] == "s1"
    data["input"]["sample"] = "s2"
    form.locator(".gj-rerun-input").fill(json.dumps(data, indent=2))
    screenshot(page, "debug_rerun_form")
    form.locator(".gj-rerun-start").click()
    page.wait_for_function("() => document.querySelectorAll('.gj-monitor').length >= 2", timeout=60_000)
    child = monitor.locator(".gj-debug-output .gj-monitor").first  # shown in the parent's pane
    child.locator(".gj-parent").wait_for(timeout=60_000)
    assert child.locator(".gj-parent").inner_text() == "re-run of replayed from Measure"
    assert "registered anew and replaced measure_function_id" in output.inner_text()
    page.wait_for_function("(el) => el.dataset.status === 'SUCCEEDED'", arg=child.element_handle(),
                           timeout=120_000, polling=250)
    output_text = child.locator(".gj-output pre").inner_text()
    assert "'ratio': 7.0" in output_text or '"ratio": 7.0' in output_text  # the fixed code ran
    child_id = child.get_attribute("data-run-id")
    assert child_id and child_id != monitor.get_attribute("data-run-id")
    child.scroll_into_view_if_needed()
    screenshot(page, "debug_rerun_child_monitor")

    # the runs panel links the re-run to its parent
    page.evaluate("() => window.jupyterapp.commands.execute('gladier:show-runs')")
    link = page.locator(f"#gladier-runs-panel .gj-lab-run-parent[data-parent='{monitor.get_attribute('data-run-id')}']")
    link.first.wait_for(timeout=60_000)
    assert link.first.inner_text() == "re-run of replayed from Measure"
    screenshot(page, "debug_rerun_runs_panel")


def test_test_this_state_shows_each_step_in_the_previews_pane(debug_lab, page):
    cells = [SETUP, f"import json\ndefinition = json.load(open({str(DEBUG_FLOWS)!r}))['choice_and_pass']\n"
                    "preview = gladier_jupyter.FlowPreview(definition, flow_input={'input': {'n': 4}})\npreview"]
    run_notebook(debug_lab, page, "debug_test_state", cells, wait_for=".gj-preview .gj-node")
    preview = page.locator(".gj-preview").first

    # (b) a Pass: InputPath, Parameters with every .$ and .= resolved, ResultPath, the output
    preview.locator('.gj-node[data-name="Prepare"]').first.click()
    preview.locator(".gj-test-state").wait_for(timeout=30_000)
    preview.locator(".gj-test-state").click()
    steps = preview.locator(".gj-test-steps")
    steps.wait_for(timeout=60_000)
    names = [s.get_attribute("class").split("gj-test-step-")[-1] for s in steps.locator(".gj-test-step").all()]
    assert names == ["InputPath", "Parameters", "ResultPath"]
    params = steps.locator(".gj-test-step-Parameters").inner_text()
    assert '"doubled": 8' in params and '"n": 4' in params
    assert '"$.prepared"' in steps.locator(".gj-test-step-ResultPath").inner_text()
    assert preview.locator(".gj-test-outcome").inner_text() == "SUCCEEDED · next state: Pick"
    screenshot(page, "debug_test_state_pass")

    # a Choice: the rule that matched and the next state
    preview.locator('.gj-node[data-name="Pick"]').first.click()
    preview.locator(".gj-test-input").wait_for(timeout=30_000)
    preview.locator(".gj-test-input").fill(json.dumps({"prepared": {"n": 20}}))
    preview.locator(".gj-test-state").click()
    choice = preview.locator(".gj-test-step-Choice")
    choice.wait_for(timeout=60_000)
    assert '"rule_index": 0' in choice.inner_text() and '"next_state": "Big"' in choice.inner_text()
    assert preview.locator(".gj-test-outcome").inner_text() == "SUCCEEDED · next state: Big"
    screenshot(page, "debug_test_state_choice")
