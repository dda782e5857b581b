"""The JupyterLab extension in a real JupyterLab and Chromium: runs panel, run tabs, flow files."""

from __future__ import annotations

import json
import pathlib
import uuid

import pytest

from tests._fixtures.browser import assert_accessible, run_notebook, screenshot
from tests._notebook_cells import write_saved_flow_notebook

DATA = pathlib.Path(__file__).resolve().parents[1] / "data"

pytestmark = pytest.mark.browser

_ROW = ("([label, status]) => [...document.querySelectorAll('.gj-lab-run')].some(r =>"
        " r.querySelector('.gj-lab-run-label').textContent === label"
        " && (!status || r.dataset.status === status))")
_ROW_DATA = ("(label) => { const r = [...document.querySelectorAll('.gj-lab-run')].find(r =>"
             " r.querySelector('.gj-lab-run-label').textContent === label);"
             " return r ? {...r.dataset} : null; }")


def gate_cells(gate: pathlib.Path, label: str) -> list[str]:
    spec = json.loads((DATA / "labext" / "gate_run_cells.json").read_text())
    return [c.replace("@GATE@", str(gate)).replace("@LABEL@", label) for c in spec["cells"]]


def fresh() -> str:
    """A new workspace name: the page opens without the tabs (and kernels) earlier tests left."""
    return f"labext-{uuid.uuid4().hex[:8]}"


def show_runs_panel(page) -> None:
    page.evaluate("() => window.jupyterapp.commands.execute('gladier:show-runs')")
    page.wait_for_selector("#gladier-runs-panel", state="visible", timeout=30_000)


def test_runs_panel_follows_a_notebook_run_to_succeeded(lab, page):
    label = f"panel-{uuid.uuid4().hex[:8]}"
    gate = lab.root_dir / f"{label}.gate"
    run_notebook(lab, page, "labext_panel_run", gate_cells(gate, label))
    show_runs_panel(page)
    # The compute function waits for the gate file: the run is ACTIVE until the test opens it.
    page.wait_for_function(_ROW, arg=[label, "ACTIVE"], timeout=60_000, polling=200)
    row = page.evaluate(_ROW_DATA, label)
    assert row["source"] == "local"
    text = page.locator(".gj-lab-run", has_text=label).inner_text()
    assert "GateClient" in text or "WaitForGate" in text or row["runId"] in text or label in text
    # Its tab, opened while the run waits, follows it too.
    page.locator(f".gj-lab-run[data-run-id='{row['runId']}']").click()
    tab = f".gj-lab-run-view[data-run-id='{row['runId']}'] .gj-monitor"
    page.wait_for_function(f"() => document.querySelector(\"{tab}\")?.dataset.status === 'ACTIVE'",
                           timeout=30_000)
    screenshot(page, "labext_panel_active")
    gate.write_text("open")
    page.wait_for_function(_ROW, arg=[label, "SUCCEEDED"], timeout=60_000, polling=200)
    row = page.evaluate(_ROW_DATA, label)
    # The panel itself followed the run: it showed ACTIVE, then SUCCEEDED, with no reload.
    assert row["statusHistory"] == "ACTIVE>SUCCEEDED"
    page.wait_for_function(f"() => document.querySelector(\"{tab}\").dataset.status === 'SUCCEEDED'",
                           timeout=30_000)
    assert page.locator(tab).get_attribute("data-status-history").endswith("ACTIVE>SUCCEEDED")
    node = page.locator(f"{tab} [data-name='WaitForGate']")
    assert node.get_attribute("data-status-history") == "active>succeeded"
    badge = page.locator(f".gj-lab-run[data-run-id='{row['runId']}'] .gj-status-badge")
    assert badge.inner_text() == "SUCCEEDED"
    duration = page.locator(f".gj-lab-run[data-run-id='{row['runId']}'] .gj-lab-run-duration")
    assert duration.inner_text().endswith("s")
    # the row's tooltip names the run by its label
    assert page.locator(f".gj-lab-run[data-run-id='{row['runId']}']").get_attribute(
        "title").startswith(f"{label} · SUCCEEDED")
    screenshot(page, "labext_panel_succeeded")
    assert_accessible(page, "#gladier-runs-panel")

    # Filters: by status, then by flow (the flow list holds the flows of the listed runs).
    this_run = f".gj-lab-run[data-run-id='{row['runId']}']"
    page.select_option(".gj-lab-runs-status", "FAILED")
    assert page.locator(this_run).count() == 0
    assert all(s == "FAILED" for s in page.evaluate(
        "() => [...document.querySelectorAll('.gj-lab-run')].map(r => r.dataset.status)"))
    page.select_option(".gj-lab-runs-status", "SUCCEEDED")
    assert page.locator(this_run).count() == 1
    flows = page.evaluate("() => [...document.querySelectorAll('.gj-lab-runs-flow option')]"
                          ".map(o => [o.value, o.textContent])")
    gate_flow = next(value for value, title in flows if title == "GateClient flow")
    page.select_option(".gj-lab-runs-flow", gate_flow)
    shown = page.evaluate("() => [...document.querySelectorAll('.gj-lab-run .gj-lab-run-flow')]"
                          ".map(f => f.textContent)")
    assert shown and set(shown) == {"GateClient flow"}
    assert page.locator(this_run).count() == 1
    screenshot(page, "labext_panel_filtered")


def test_run_opens_from_the_panel_after_its_kernel_is_shut_down(lab, page):
    label = f"orphan-{uuid.uuid4().hex[:8]}"
    gate = lab.root_dir / f"{label}.gate"
    gate.write_text("open")  # no waiting: the run just goes through
    run_notebook(lab, page, "labext_orphan_run", gate_cells(gate, label))
    kernel_id = page.evaluate(
        "() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.id")
    page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.shutdown()")
    page.wait_for_function(
        "() => !window.jupyterapp.shell.currentWidget.sessionContext.session", timeout=30_000)
    assert kernel_id not in {k["id"] for k in lab.api("api/kernels")}

    show_runs_panel(page)
    page.wait_for_function(_ROW, arg=[label, "SUCCEEDED"], timeout=60_000, polling=200)
    row = page.evaluate(_ROW_DATA, label)
    page.locator(f".gj-lab-run[data-run-id='{row['runId']}']").click()
    view = page.locator(f".gj-lab-run-view[data-run-id='{row['runId']}'] .gj-monitor")
    view.wait_for(timeout=30_000)
    page.wait_for_function(
        "(id) => { const m = document.querySelector(`.gj-lab-run-view[data-run-id='${id}'] .gj-monitor`);"
        " return m && m.dataset.status === 'SUCCEEDED'"
        " && !!m.querySelector(\"[data-name='WaitForGate'][data-status='succeeded']\"); }",
        arg=row["runId"], timeout=30_000, polling=200)
    assert view.locator(".gj-status-badge").first.inner_text() == "SUCCEEDED"
    assert label in view.inner_text()
    # The event log came through the server's paged log route.
    assert int(view.locator(".gj-log").get_attribute("data-rows")) >= 4
    # The tab is a main-area tab named after the run.
    assert page.evaluate("() => window.jupyterapp.shell.currentWidget.title.label") == label
    screenshot(page, "labext_run_tab_after_kernel_shutdown")


def test_flow_json_file_opens_as_a_graph_with_its_check(lab, page):
    broken = json.loads((DATA / "definitions" / "broken" / "unknown_next.json").read_text())
    (lab.root_dir / "labext_broken.flow.json").write_text(json.dumps(broken["definition"], indent=2))
    page.goto(lab.page_url(f"lab/workspaces/{fresh()}/tree/labext_broken.flow.json"))
    flow = page.locator(".gj-lab-flow-file .gj-lab-flow")
    flow.wait_for(timeout=60_000)
    page.wait_for_function(
        "() => document.querySelectorAll('.gj-lab-flow-file .gj-node[data-name]').length > 0",
        timeout=30_000)
    names = set(page.evaluate(
        "() => [...document.querySelectorAll('.gj-lab-flow-file .gj-node[data-name]')]"
        ".map(n => n.dataset.name)"))
    assert {"First", "Second"} <= names
    # *.flow.json opened with the "Flow graph" viewer by default, not the JSON editor.
    factory = page.evaluate(
        "() => window.jupyterapp.docRegistry.defaultWidgetFactory('x.flow.json').name")
    assert factory == "Flow graph"
    assert int(flow.get_attribute("data-errors")) >= 1
    problems = page.locator(".gj-lab-flow-file .gj-problems").inner_text()
    assert "Secnd" in problems
    screenshot(page, "labext_flow_file")


def test_yaml_definition_opens_with_flow_graph(lab, page):
    (lab.root_dir / "labext_pipeline.yaml").write_text(
        "StartAt: Fetch\nStates:\n  Fetch:\n    Type: Pass\n    Next: Store\n"
        "  Store:\n    Type: Pass\n    End: true\n")
    page.goto(lab.page_url(f"lab/workspaces/{fresh()}"))
    page.wait_for_function("() => !!window.jupyterapp", timeout=60_000)
    page.evaluate("() => window.jupyterapp.restored.then(() => true)")
    page.evaluate("() => window.jupyterapp.commands.execute('docmanager:open',"
                  " {path: 'labext_pipeline.yaml', factory: 'Flow graph'})")
    page.wait_for_function(
        "() => document.querySelectorAll('.gj-lab-flow-file .gj-node[data-name]').length >= 2",
        timeout=60_000)
    flow = page.locator(".gj-lab-flow-file .gj-lab-flow")
    assert flow.get_attribute("data-state") == "flow"
    assert flow.get_attribute("data-errors") == "0"
    screenshot(page, "labext_yaml_flow_graph")
    # An edit of the document (as from an editor open on the same file) redraws the graph.
    page.evaluate("() => window.jupyterapp.shell.currentWidget.context.model.fromString("
                  "'StartAt: Fetch\\nStates:\\n  Fetch:\\n    Type: Pass\\n    Next: Gone\\n')")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.gj-lab-flow-file .gj-node[data-name]')]"
        ".some(n => n.dataset.name.endsWith('Gone'))",
        timeout=30_000)
    assert int(flow.get_attribute("data-errors")) >= 1
    assert page.locator(".gj-lab-flow-file .gj-node[data-name='Store']").count() == 0


def test_flow_mime_output_renders_as_a_graph_without_widget_state(lab, page):
    definition = (DATA / "labext" / "quick_flow.json").read_text()
    run_notebook(lab, page, "labext_flow_mime", [
        "from IPython.display import display\n"
        "from gladier_jupyter.flowgraph import FlowGraph\n"
        f"graph = FlowGraph.build({definition!r})\n"
        "display({'application/vnd.gladier.flow+json': graph.to_json(),"
        " 'text/plain': 'a flow'}, raw=True)",
    ], wait_for=".gj-lab-flow-output .gj-node[data-name='Prepare']")
    names = set(page.evaluate(
        "() => [...document.querySelectorAll('.gj-lab-flow-output .gj-node[data-name]')]"
        ".map(n => n.dataset.name)"))
    assert {"Prepare", "Finish"} <= names
    screenshot(page, "labext_flow_mime")


def test_saved_flow_preview_without_widget_state_shows_the_graph_on_open(lab, page):
    # FlowPreview's own bundle as a saved notebook keeps it when widget state was not saved:
    # the SVG and mermaid fallbacks are there too, and the flow renderer is preferred.
    data = write_saved_flow_notebook(lab, "labext_saved_flow")
    assert {"image/svg+xml", "text/vnd.mermaid", "application/vnd.gladier.flow+json"} <= set(data)
    page.goto(lab.page_url(f"lab/workspaces/{fresh()}/tree/labext_saved_flow.ipynb"))
    page.wait_for_selector(".gj-lab-flow-output .gj-node[data-name='Finish']", timeout=60_000)
    screenshot(page, "labext_saved_flow_output")


def test_run_started_elsewhere_is_cancelled_from_its_tab(lab, page, run_definition):
    # Started by this test process, not by any notebook of this JupyterLab.
    definition = json.loads((DATA / "labext" / "long_wait_flow.json").read_text())
    label = f"cancel-{uuid.uuid4().hex[:8]}"
    started = run_definition(definition, wait=False, label=label)
    page.goto(lab.page_url(f"lab/workspaces/{fresh()}"))
    page.wait_for_function("() => !!window.jupyterapp", timeout=60_000)
    page.evaluate("() => window.jupyterapp.restored.then(() => true)")
    show_runs_panel(page)
    page.wait_for_function(_ROW, arg=[label, "ACTIVE"], timeout=60_000, polling=200)
    page.locator(f".gj-lab-run[data-run-id='{started['run_id']}']").click()
    view = page.locator(f".gj-lab-run-view[data-run-id='{started['run_id']}'] .gj-monitor")
    view.wait_for(timeout=30_000)
    page.wait_for_function(
        "(id) => document.querySelector(`.gj-lab-run-view[data-run-id='${id}'] .gj-monitor`)"
        ".dataset.status === 'ACTIVE'", arg=started["run_id"], timeout=30_000)
    view.locator(".gj-cancel").click()
    view.locator(".gj-cancel-yes").click()
    page.wait_for_function(
        "(id) => ['FAILED', 'ENDED'].includes(document.querySelector("
        "`.gj-lab-run-view[data-run-id='${id}'] .gj-monitor`).dataset.status)",
        arg=started["run_id"], timeout=30_000, polling=200)
    assert view.get_attribute("data-status-history").startswith("ACTIVE>")
    # The side panel follows the cancel too.
    page.wait_for_function(
        "([label]) => [...document.querySelectorAll('.gj-lab-run')].some(r =>"
        " r.querySelector('.gj-lab-run-label').textContent === label"
        " && ['FAILED', 'ENDED'].includes(r.dataset.status))",
        arg=[label], timeout=30_000, polling=200)
    screenshot(page, "labext_run_tab_cancelled")


def test_run_waiting_for_consent_is_resumed_from_its_tab(lab, page, run_definition):
    definition = json.loads((DATA / "labext" / "consent_flow.json").read_text())
    label = f"consent-{uuid.uuid4().hex[:8]}"
    started = run_definition(definition, wait=False, label=label)
    page.goto(lab.page_url(f"lab/workspaces/{fresh()}"))
    page.wait_for_function("() => !!window.jupyterapp", timeout=60_000)
    page.evaluate("() => window.jupyterapp.restored.then(() => true)")
    page.evaluate("([id, label]) => window.jupyterapp.commands.execute('gladier:open-run',"
                  " {run_id: id, label})", [started["run_id"], label])
    tab = f".gj-lab-run-view[data-run-id='{started['run_id']}'] .gj-monitor"
    page.wait_for_function(f"() => document.querySelector(\"{tab}\")?.dataset.status === 'INACTIVE'",
                           timeout=60_000, polling=200)
    inactive = page.locator(f"{tab} .gj-inactive")
    assert "hello_world/extra" in inactive.inner_text()
    screenshot(page, "labext_run_tab_inactive")
    inactive.locator(".gj-resume").click()
    page.wait_for_function(f"() => document.querySelector(\"{tab}\").dataset.status === 'SUCCEEDED'",
                           timeout=60_000, polling=200)
    assert "INACTIVE>ACTIVE" in page.locator(tab).get_attribute("data-status-history") or \
        "INACTIVE>SUCCEEDED" in page.locator(tab).get_attribute("data-status-history")
    screenshot(page, "labext_run_tab_resumed")


def _chain(names: list[str]) -> dict:
    return {"StartAt": names[0], "States": {
        n: ({"Type": "Pass", "Next": nxt} if nxt else {"Type": "Pass", "End": True})
        for n, nxt in zip(names, [*names[1:], None], strict=True)}}


def test_flow_graph_tab_has_the_flow_icon_refits_as_it_grows_and_comes_back_after_a_reload(lab, page):
    from tests._fixtures.waiting import wait_until

    path = "labext_grow.flow.json"
    (lab.root_dir / path).write_text(json.dumps(_chain(["One", "Two"]), indent=2))
    workspace = fresh()
    page.goto(lab.page_url(f"lab/workspaces/{workspace}"))
    page.wait_for_function("() => !!window.jupyterapp", timeout=60_000)
    page.evaluate("() => window.jupyterapp.restored.then(() => true)")
    page.evaluate(f"() => window.jupyterapp.commands.execute('docmanager:open', {{path: '{path}'}})")
    nodes = ".gj-lab-flow-file .gj-node[data-name]:not([data-name^='('])"
    page.wait_for_function(f"() => document.querySelectorAll(\"{nodes}\").length === 2", timeout=60_000)
    # the file browser and the tab show the flow icon for *.flow.json
    icon = "svg[data-icon='gladier-jupyter:flow']"
    page.wait_for_selector(f".jp-DirListing-item[title*='{path}'] .jp-DirListing-itemIcon {icon}",
                           state="attached", timeout=30_000)
    assert page.locator(f".lm-DockPanel .lm-TabBar-tab.lm-mod-current {icon}").count() == 1
    screenshot(page, "labext_flow_file_icon")

    # the definition grows (as from an editor on the same file): the graph is refitted
    def fitted() -> dict:
        return page.evaluate(
            "() => { const g = document.querySelector('.gj-lab-flow-file .gj-graph');"
            " const v = g.querySelector('.gj-viewport').getBoundingClientRect(), b = g.getBoundingClientRect();"
            " return {zoom: Number(g.dataset.zoom), height: b.height,"
            " inside: v.top >= b.top - 1 && v.bottom <= b.bottom + 1 && v.left >= b.left - 1 && v.right <= b.right + 1}; }")
    small = fitted()
    assert small["inside"], small
    grown = json.dumps(_chain([f"Step{i}" for i in range(1, 8)]), indent=2)
    page.evaluate("(text) => window.jupyterapp.shell.currentWidget.context.model.fromString(text)", grown)
    page.wait_for_function(f"() => document.querySelectorAll(\"{nodes}\").length === 7", timeout=30_000)
    big = fitted()
    assert big["inside"] and (big["height"] > small["height"] or big["zoom"] < small["zoom"]), (small, big)
    screenshot(page, "labext_flow_file_refitted")
    assert_accessible(page, ".gj-lab-flow-file")

    # after a reload the "Flow graph" tab comes back (the layout restorer)
    wait_until(lambda: json.dumps(lab.api(f"lab/api/workspaces/{workspace}")), 30,
               "the workspace records the Flow graph tab", until=lambda text: "gladier-flow-graph:" in text)
    page.reload()
    page.wait_for_function("() => !!window.jupyterapp", timeout=60_000)
    page.evaluate("() => window.jupyterapp.restored.then(() => true)")
    page.wait_for_selector(f".gj-lab-flow-file[data-path='{path}'] .gj-node[data-name='One']",
                           state="attached", timeout=60_000)
    screenshot(page, "labext_flow_file_restored")
