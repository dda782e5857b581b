"""The Gladier tutorial users already have, its code cells verbatim after one
``%load_ext gladier_jupyter`` cell, run in JupyterLab: Run All, the run monitor on screen."""

from __future__ import annotations

import pytest

from tests._fixtures.browser import run_notebook, screenshot
from tests.test_seed_tutorial import SEED, seed_code_cells


@pytest.mark.browser
def test_seed_tutorial_verbatim_runs_in_jupyterlab_to_succeeded(lab, page, local_service):
    cells = ["%load_ext gladier_jupyter", *seed_code_cells(SEED.read_text())]
    run_notebook(lab, page, "seed_tutorial", cells, timeout=240_000)
    page.wait_for_function(
        "() => document.querySelector('.gj-monitor')?.dataset.status === 'SUCCEEDED'",
        timeout=60_000,
    )
    # Every cell's outputs from the notebook's model: JupyterLab renders only the cells in view
    text = page.evaluate("""() => {
        const model = window.jupyterapp.shell.currentWidget.content.model;
        const out = [];
        for (let i = 0; i < model.cells.length; i++) {
            const outputs = model.cells.get(i).outputs;
            if (!outputs) continue;
            for (let j = 0; j < outputs.length; j++) {
                const o = outputs.get(j).toJSON();
                out.push(String(o.text || ''), String((o.data || {})['text/plain'] || ''));
            }
        }
        return out.join('\\n');
    }""")
    assert "GLOBUS_DATA holds local-service tokens" in text
    assert "is gladier's old name for 'compute_endpoint'" in text
    assert "SUCCEEDED." in text
    page.locator(".gj-monitor").first.scroll_into_view_if_needed()
    screenshot(page, "seed_tutorial_monitor")
