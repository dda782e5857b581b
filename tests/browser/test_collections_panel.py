"""The runs panel's "Collections" section in a real JupyterLab and Chromium: a Globus
collection id is mapped to a folder through the panel, listed, and removed."""

from __future__ import annotations

import pathlib
import uuid

import pytest

from gladier_jupyter import local
from tests._fixtures.browser import _jupyter_server, screenshot, this_checkouts_labextension

pytestmark = pytest.mark.browser

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def panel_lab():
    with this_checkouts_labextension(), _jupyter_server(
            "jupyterlab", "lab", ["--LabApp.expose_app_in_browser=True"], "JupyterLab") as server:
        yield server


def test_a_collection_is_mapped_through_the_runs_panel_and_listed(panel_lab, page):
    lab = panel_lab
    cid = str(uuid.uuid4())
    folder = lab.root_dir / "beamline-data"
    folder.mkdir()
    try:
        page.goto(lab.page_url(f"lab/workspaces/collections-{uuid.uuid4().hex[:8]}"))
        page.wait_for_function("() => !!window.jupyterapp", timeout=60_000)
        page.evaluate("() => window.jupyterapp.restored.then(() => true)")
        page.evaluate("() => window.jupyterapp.commands.execute('gladier:show-runs')")
        page.wait_for_selector("#gladier-runs-panel", state="visible", timeout=30_000)
        section = page.locator("#gladier-runs-panel .gj-lab-collections")
        section.locator("summary").click()
        section.locator(".gj-lab-collections-form").wait_for(state="visible", timeout=10_000)

        # A path that is not a folder: refused in one line under the form, nothing mapped.
        section.locator(".gj-lab-collections-id").fill(cid)
        section.locator(".gj-lab-collections-folder").fill("no-such-folder")
        section.locator(".gj-lab-collections-add").click()
        message = section.locator(".gj-lab-collections-message[data-kind='error']")
        message.wait_for(timeout=10_000)
        assert "'no-such-folder' does not exist" in message.inner_text()
        assert "\n" not in message.inner_text()
        assert cid not in local.collections()

        section.locator(".gj-lab-collections-folder").fill("beamline-data")
        section.locator(".gj-lab-collections-add").click()
        row = section.locator(f".gj-lab-collection[data-collection-id='{cid}']")
        row.wait_for(timeout=10_000)
        assert row.locator(".gj-lab-collection-folder").inner_text() == "→ beamline-data"
        assert section.locator(".gj-lab-collections-message").inner_text() == ""
        # The very registry a notebook's local.collections() reads.
        assert local.collections()[cid] == folder.resolve()
        screenshot(page, "labext_collections_mapped")

        row.locator(".gj-lab-collection-remove").click()
        row.wait_for(state="detached", timeout=10_000)
        assert cid not in local.collections()
    finally:
        local.unmap_collection(cid)
