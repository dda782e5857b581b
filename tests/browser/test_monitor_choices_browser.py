"""A run waiting on a person in a real JupyterLab: the monitor shows the options as
buttons, a click in the page selects one, and the run goes on to SUCCEEDED."""

from __future__ import annotations

import json

import pytest

from tests._fixtures.browser import run_notebook, screenshot
from tests._notebook_cells import SETUP
from tests.test_monitor_choices import SELECTION

pytestmark = pytest.mark.browser


def test_clicking_a_selection_button_in_the_page_lets_the_run_succeed(local_service, lab, page, flows_client):
    cells = [
        SETUP,
        f"definition = json.loads({json.dumps(SELECTION)!r})\n"
        "flow = fc.create_flow(title='browser selection', definition=definition, input_schema={})\n"
        "sfc = globus_sdk.SpecificFlowClient(flow['id'], "
        "authorizer=backend.authorizer_for(flow['globus_auth_scope']))\n"
        "run = sfc.run_flow({}, label='pick one')\n"
        "monitor = gladier_jupyter.RunMonitor(run, client=fc)\n"
        "monitor",
    ]
    run_notebook(lab, page, "monitor_choices", cells, wait_for=".gj-monitor")
    page.wait_for_selector(".gj-monitor .gj-choice[data-kind='weboption']", timeout=60_000)
    run_id = page.locator(".gj-monitor").get_attribute("data-run-id")
    buttons = page.locator(".gj-monitor .gj-choice")
    assert [buttons.nth(i).inner_text() for i in range(buttons.count())] == ["go", "stop"]
    assert "carry on" in page.locator(".gj-monitor .gj-choices").inner_text()
    screenshot(page, "monitor_choices_waiting")
    page.locator(".gj-monitor .gj-choice", has_text="go").first.click()
    page.wait_for_selector('.gj-monitor[data-status="SUCCEEDED"]', timeout=60_000)
    page.wait_for_selector(".gj-monitor .gj-outbox-line", timeout=30_000)
    assert page.locator(".gj-monitor .gj-outbox-line").first.inner_text().endswith(
        "email to a@b.org: chose go")
    assert page.locator(".gj-monitor .gj-choices").is_hidden()
    screenshot(page, "monitor_choices_succeeded")
    run = flows_client.get_run(run_id)
    assert run["status"] == "SUCCEEDED"
    assert run["details"]["output"]["answer"]["details"]["name"] == "go"
