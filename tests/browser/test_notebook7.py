"""The widgets and the prebuilt extension in a real Jupyter Notebook 7 + Chromium.

Notebook 7 is built on JupyterLab's components but has its own shell (one notebook per page,
no dock panels by default): the anywidget views and the extension's plugins must load there too.
"""

from __future__ import annotations

import json
import pathlib

import pytest

from tests._fixtures.browser import run_notebook, save_and_reopen, screenshot
from tests._notebook_cells import SETUP, start_run, write_saved_flow_notebook
from tests.browser.test_preview import NODE, TUTORIAL_CELLS

DATA = pathlib.Path(__file__).resolve().parents[1] / "data"
CHOICE_LOOP = DATA / "definitions" / "valid" / "choice_loop.json"

pytestmark = pytest.mark.browser

_DRAWN = ("() => [...document.querySelectorAll('.gj-preview g.gj-node[data-name]')]"
          ".map(n => n.dataset.name)")


def _page_problems(page) -> list[str]:
    """Start collecting uncaught page errors and console errors, each with where it came from
    (stack or script URL); the list fills as they come."""
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"pageerror: {exc}\n{exc.stack}"))
    page.on("console", lambda msg: problems.append(
        f"console: {msg.text} at {msg.location.get('url', '')}") if msg.type == "error" else None)
    return problems


def test_tutorial_client_preview_draws_its_states_and_a_click_shows_the_state_json(
        notebook7, page):
    run_notebook(notebook7, page, "nb7_preview_tutorial",
                 TUTORIAL_CELLS + ["preview = FlowPreview(MyGladierClient)\npreview"],
                 wait_for=NODE.format("PublishMetadata"))
    # The page is Notebook 7's, not JupyterLab's.
    assert page.evaluate("() => window.jupyterapp.name") == "Jupyter Notebook"
    drawn = page.evaluate(_DRAWN)
    assert set(drawn) == {"(start)", "RunExperiment", "GatherMetadata", "PublishMetadata",
                          "(end)"}
    page.locator(NODE.format("GatherMetadata")).click()
    page.wait_for_function(
        "() => document.querySelector('.gj-preview').dataset.selected === 'GatherMetadata'",
        timeout=15_000)
    state = json.loads(page.locator(".gj-pane-json").inner_text())
    assert state["ResultPath"] == "$.GatherMetadata"
    assert state["Parameters"]["tasks"][0]["function.$"] == "$.input.gather_metadata_function_id"
    assert "def gather_metadata(**data):" in page.locator(".gj-pane-source").inner_text()
    page.locator(".gj-preview").scroll_into_view_if_needed()
    screenshot(page, "notebook7_preview")


def test_preview_of_a_definition_file_draws_every_state(notebook7, page):
    states = json.loads(CHOICE_LOOP.read_text())["States"]
    run_notebook(notebook7, page, "nb7_preview_file", [
        "from gladier_jupyter.widgets import FlowPreview\n"
        f"FlowPreview({str(CHOICE_LOOP)!r})",
    ], wait_for=".gj-preview g.gj-node[data-name]")
    page.wait_for_function(
        f"() => ({_DRAWN})().length >= {len(states)}", timeout=15_000)
    assert set(states) <= set(page.evaluate(_DRAWN))
    page.locator(".gj-preview").scroll_into_view_if_needed()
    screenshot(page, "notebook7_preview_file")


def test_run_monitor_follows_a_local_run_to_succeeded(local_service, notebook7, page):
    run_notebook(notebook7, page, "nb7_monitor", [
        SETUP,
        start_run("pass_wait_pass", "notebook 7 run", "notebook 7") + "\n"
        "gladier_jupyter.RunMonitor(run, client=fc)",
    ], wait_for=".gj-monitor")
    page.wait_for_selector('.gj-monitor[data-status="SUCCEEDED"]', timeout=60_000)
    root = page.locator(".gj-monitor")
    assert root.get_attribute("data-status-history").split(">")[-1] == "SUCCEEDED"
    for name in ("Prepare", "Hold", "Finish"):
        node = page.locator(f'.gj-monitor .gj-node[data-name="{name}"]')
        assert node.get_attribute("data-status") == "succeeded"
    page.wait_for_selector(".gj-monitor .gj-log tr[data-code='FlowSucceeded']")
    root.scroll_into_view_if_needed()
    screenshot(page, "notebook7_monitor")


def test_prebuilt_extension_loads_in_notebook7_without_errors(notebook7, page):
    problems = _page_problems(page)
    definition = (DATA / "labext" / "quick_flow.json").read_text()
    run_notebook(notebook7, page, "nb7_flow_mime", [
        "from IPython.display import display\n"
        "from gladier_jupyter.flowgraph import FlowGraph\n"
        f"graph = FlowGraph.build({definition!r})\n"
        "display({'application/vnd.gladier.flow+json': graph.to_json(),"
        " 'text/plain': 'a flow'}, raw=True)",
    ], wait_for=".gj-lab-flow-output .gj-node[data-name='Prepare']")
    # Every plugin of the prebuilt extension started in Notebook 7's shell.
    activated = page.evaluate(
        "() => ['gladier-jupyter:runs', 'gladier-jupyter:flow-files',"
        " 'gladier-jupyter:flow-mime'].map(id => window.jupyterapp.isPluginActivated(id))")
    assert activated == [True, True, True]
    assert page.evaluate("() => window.jupyterapp.commands.hasCommand('gladier:show-runs')")
    # The flow mime renderer drew the output; no error dialog, no page error from the extension.
    names = set(page.evaluate(
        "() => [...document.querySelectorAll('.gj-lab-flow-output .gj-node[data-name]')]"
        ".map(n => n.dataset.name)"))
    assert {"Prepare", "Finish"} <= names
    assert page.locator(".jp-Dialog").count() == 0
    # Notebook 7.6 itself raises one page error while loading (its shortcuts settings handler,
    # also with this extension disabled): only errors from this extension's code count.
    ours = [p for p in problems if "gladier" in p.lower()]
    assert not ours, ours
    screenshot(page, "notebook7_flow_mime")


def test_saved_flow_output_shows_the_graph_when_notebook7_opens_it(notebook7, page):
    write_saved_flow_notebook(notebook7, "nb7_saved_flow")
    page.goto(notebook7.page_url("notebooks/nb7_saved_flow.ipynb"))
    page.wait_for_selector(".gj-lab-flow-output .gj-node[data-name='Finish']", timeout=60_000)
    assert page.locator(".jp-Dialog").count() == 0
    screenshot(page, "notebook7_saved_flow_output")


def test_reopened_notebook_without_widget_state_shows_the_saved_snapshots_in_notebook7(
        local_service, notebook7, page):
    # The kernel that held the widget models goes; Notebook 7 opens the notebook again with
    # a new one: each monitor and preview output shows its saved drawing, never
    # "Error displaying widget: model not found".
    run_notebook(notebook7, page, "nb7_reopened_saved", [
        SETUP + "\n" + start_run("browser_steps", "nb7 reopened", "nb7 reopened") + "\n"
        "monitor = gladier_jupyter.RunMonitor(run, client=fc)\nmonitor",
        "gladier_jupyter.FlowPreview(definition)",
        "monitor.wait(60)",
    ], wait_for=".gj-monitor")
    save_and_reopen(page, notebook7.page_url("notebooks/nb7_reopened_saved.ipynb"))
    # The new kernel's widget manager has started (its renderers replaced the placeholder)
    # and the snapshots stay.
    page.wait_for_function(
        "() => window.jupyterapp.shell.currentWidget.sessionContext?.session?.kernel?.status"
        " === 'idle'", timeout=60_000, polling=200)
    page.wait_for_timeout(1000)
    assert page.evaluate("() => window.jupyterapp.name") == "Jupyter Notebook"
    text = page.locator(".jp-Notebook").inner_text()
    assert "model not found" not in text
    assert "Loading widget" not in text
    assert page.locator(".gj-saved-snapshot").count() == 2
    screenshot(page, "notebook7_reopened_notebook_snapshots")
