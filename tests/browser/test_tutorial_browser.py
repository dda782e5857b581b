"""The tutorial, as a user runs it: JupyterLab, Run All, graph and live run on screen."""

from __future__ import annotations

import pathlib

import nbformat
import pytest

from tests._fixtures.browser import notebook_errors, open_notebook, screenshot, wait_cells_done

TUTORIAL = pathlib.Path(__file__).resolve().parents[2] / "notebooks" / "gladier_tutorial.ipynb"


@pytest.mark.browser
def test_tutorial_runs_in_jupyterlab_showing_graph_and_succeeded_run(lab, page, local_service):
    nbformat.write(nbformat.read(TUTORIAL, as_version=4), lab.root_dir / "tutorial.ipynb")
    open_notebook(lab, page, "tutorial.ipynb")
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    wait_cells_done(page, timeout=240_000)
    assert notebook_errors(page) == []

    # The client's preview: the three tools' states, in one graph.
    preview = page.locator(".gj-preview .gj-graph").first
    preview.wait_for(timeout=30_000)
    names = page.eval_on_selector_all(
        ".gj-preview g.gj-node[data-name]", "els => els.map(e => e.dataset.name)"
    )
    assert {"RunExperiment", "GatherMetadata", "PublishMetadata"} <= set(names)

    # The monitor followed the run live to SUCCEEDED (the view records what it showed).
    monitor = page.locator(".gj-monitor").first
    page.wait_for_function(
        "() => document.querySelector('.gj-monitor')?.dataset.status === 'SUCCEEDED'",
        timeout=60_000,
    )
    history = monitor.get_attribute("data-status-history")
    assert history.split(">")[-1] == "SUCCEEDED"
    preview.scroll_into_view_if_needed()
    screenshot(page, "tutorial_preview")
    monitor.scroll_into_view_if_needed()
    screenshot(page, "tutorial_monitor")
