"""The runs panel's "Endpoints" section in a real JupyterLab and Chromium: the embedded
default first, then a local endpoint that ran a task, with its engine, state and workers;
opened and its UUID copied from the keyboard; accessible by axe-core."""

from __future__ import annotations

import uuid

import pytest

from gladier_jupyter import local
from gladier_jupyter.local import endpoints
from gladier_jupyter.local.compute.endpoints import DEFAULT_ENDPOINT_ID
from tests._fixtures.browser import (
    _jupyter_server,
    assert_accessible,
    screenshot,
    this_checkouts_labextension,
)
from tests._fixtures.waiting import wait_until
from tests.reliability import _service as svc

pytestmark = pytest.mark.browser


def nap():
    return "rested"


@pytest.fixture(scope="module")
def panel_lab():
    with this_checkouts_labextension(), _jupyter_server(
            "jupyterlab", "lab", ["--LabApp.expose_app_in_browser=True"], "JupyterLab") as server:
        yield server


@pytest.fixture
def threads():
    ep = endpoints.add(f"threads-{uuid.uuid4().hex[:6]}", engine="ThreadPoolEngine",
                       max_workers_per_node=2)
    yield ep
    endpoints.remove(ep.name)


def test_the_endpoints_section_lists_each_endpoint_with_its_status(panel_lab, page, threads):
    lab = panel_lab
    cc = svc.compute_client(local.ensure_running())
    task_id = cc.run(endpoint_id=threads.uuid, function_id=cc.register_function(nap))
    wait_until(lambda: cc._compute_web_client.v2.get_task(task_id).data, 60, "the task ends",
               until=lambda t: t["status"] == "success")

    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=lab.url)
    page.goto(lab.page_url(f"lab/workspaces/endpoints-{uuid.uuid4().hex[:8]}"))
    page.wait_for_function("() => !!window.jupyterapp", timeout=60_000)
    page.evaluate("() => window.jupyterapp.restored.then(() => true)")
    page.evaluate("() => window.jupyterapp.commands.execute('gladier:show-runs')")
    page.wait_for_selector("#gladier-runs-panel", state="visible", timeout=30_000)
    section = page.locator("#gladier-runs-panel .gj-lab-endpoints")
    # opened from the keyboard
    section.locator("summary").focus()
    page.keyboard.press("Enter")
    rows = section.locator(".gj-lab-endpoint")
    mine = section.locator(f".gj-lab-endpoint[data-endpoint-id='{threads.uuid}']")
    mine.wait_for(timeout=30_000)

    assert rows.first.get_attribute("data-endpoint-id") == DEFAULT_ENDPOINT_ID
    assert rows.first.locator(".gj-lab-endpoint-name").inner_text() == "default (embedded)"
    assert rows.first.locator(".gj-lab-endpoint-engine").inner_text() == "ProcessPoolEngine"
    assert mine.locator(".gj-lab-endpoint-name").inner_text() == threads.name
    assert mine.locator(".gj-lab-endpoint-engine").inner_text() == "ThreadPoolEngine"
    assert mine.locator(".gj-lab-endpoint-uuid").inner_text() == threads.uuid
    assert mine.locator(".gj-lab-endpoint-state").inner_text() == "running"
    assert mine.locator(".gj-lab-endpoint-workers").inner_text() == "0/2"
    assert mine.locator(".gj-lab-endpoint-pending").inner_text() == "0"
    # the table's headers name each column for a screen reader
    headers = section.locator("thead th[scope='col']").all_inner_texts()
    assert headers == ["Endpoint", "Status"]
    assert section.locator("tbody th[scope='row']").count() == rows.count()
    assert_accessible(page, "#gladier-runs-panel .gj-lab-endpoints")
    screenshot(page, "labext_endpoints_status")

    # the UUID's copy button, from the keyboard
    copy = mine.locator(".gj-lab-endpoint-copy")
    assert copy.get_attribute("aria-label") == f"Copy the UUID of endpoint {threads.name}"
    copy.focus()
    page.keyboard.press("Enter")
    section.locator(".gj-lab-endpoints-message", has_text="Copied the UUID").wait_for(timeout=10_000)
    assert page.evaluate("() => navigator.clipboard.readText()") == threads.uuid
    # the page holds neither the service's secret nor its address
    info = local.ensure_running()
    content = page.content()
    assert info.secret not in content and info.base_url not in content
