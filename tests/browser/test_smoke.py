"""The browser harness itself: a notebook loads the extension and shows a package widget."""

from __future__ import annotations

import pytest

from tests._fixtures.browser import run_notebook, screenshot


@pytest.mark.browser
def test_badge_widget_renders_backend_in_jupyterlab(lab, page):
    run_notebook(
        lab,
        page,
        "smoke_badge",
        [
            "%load_ext gladier_jupyter",
            "from gladier_jupyter.widgets import BackendBadge\n"
            "badge = BackendBadge(backend='local', detail='127.0.0.1, offline')\nbadge",
            "badge.backend = 'globus'\nbadge.detail = 'cloud'",
        ],
        wait_for=".gj-badge",
    )
    badge = page.locator(".gj-badge")
    # The last cell changed the traits after the view was drawn: the view follows them.
    page.wait_for_function(
        "() => document.querySelector('.gj-badge').dataset.backend === 'globus'", timeout=15_000
    )
    assert badge.inner_text().split() == ["Globus", "cloud"]
    screenshot(page, "smoke_badge")
