"""Find runs, in a real JupyterLab and Chromium: the runs panel filters by label, tag and start
time beside flow and status, keeps the filters across its refreshes and a page reload, opens
the matches in tabs (at most MAX_OPEN_TABS, with a notice), and keeps plain click / Enter for
opening a run while Ctrl-click and Space select."""

from __future__ import annotations

import time
import uuid

import globus_sdk
import pytest

from tests._fixtures.browser import _jupyter_server, screenshot, this_checkouts_labextension
from tests._fixtures.runs import wait_for_run

pytestmark = pytest.mark.browser

FLOW = {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}
MAX_OPEN_TABS = 10  # labextension/src/plugin/runsFilter.ts


@pytest.fixture(scope="module")
def find_lab():
    with this_checkouts_labextension(), _jupyter_server(
            "jupyterlab", "lab", ["--LabApp.expose_app_in_browser=True"], "JupyterLab") as server:
        yield server


def _open_panel(lab, page, workspace: str) -> None:
    page.goto(lab.page_url(f"lab/workspaces/{workspace}"))
    page.wait_for_function("() => !!window.jupyterapp", timeout=60_000)
    page.evaluate("() => window.jupyterapp.restored.then(() => true)")
    page.evaluate("() => window.jupyterapp.commands.execute('gladier:show-runs')")


def _shown(page) -> list[str]:
    return page.eval_on_selector_all("#gladier-runs-panel .gj-lab-run", "rows => rows.map(r => r.dataset.runId)")


def _until_shown(page, expected: set[str], timeout: float = 10.0) -> list[str]:
    """The rows once they are ``expected`` (the panel redraws on its own refreshes too);
    on a timeout, the rows, the filter inputs and the page's clock, to tell why."""
    deadline = time.monotonic() + timeout
    while True:
        shown = _shown(page)
        if set(shown) == expected or time.monotonic() > deadline:
            break
        page.wait_for_timeout(100)
    if set(shown) != expected:
        seen = page.evaluate("""() => ({now: new Date().toString(),
            from: document.querySelector('.gj-lab-runs-from')?.value,
            to: document.querySelector('.gj-lab-runs-to')?.value,
            panels: document.querySelectorAll('#gladier-runs-panel').length,
            stored: window.localStorage.getItem('gladier-jupyter:runs-filter')})""")
        pytest.fail(f"runs panel shows {sorted(shown)}, expected {sorted(expected)}; page: {seen}")
    return shown


def test_find_runs_by_label_tag_and_time_then_open_them_in_tabs(find_lab, page, flows_client):
    u = uuid.uuid4().hex[:6]
    flow_id = flows_client.create_flow(f"find {u}", FLOW, {}).data["id"]
    specific = globus_sdk.SpecificFlowClient(flow_id, authorizer=flows_client.authorizer)
    tagged = [specific.run_flow({}, label=f"find-{u}-tagged-{i}", tags=[f"beam-{u}", "calib"]).data["run_id"]
              for i in range(2)]
    plain = [specific.run_flow({}, label=f"find-{u}-plain-{i}").data["run_id"] for i in range(11)]
    other = specific.run_flow({}, label=f"elsewhere-{u}", tags=[f"beam-{u}"]).data["run_id"]
    for run_id in [*tagged, *plain, other]:
        wait_for_run(flows_client, run_id)

    _open_panel(find_lab, page, f"find-{u}")
    page.wait_for_selector(f".gj-lab-run[data-run-id='{other}']", timeout=30_000)
    panel = page.locator("#gladier-runs-panel")
    # label: a substring, any case
    panel.locator(".gj-lab-runs-label-filter").fill(f"FIND-{u}")
    _until_shown(page, {*tagged, *plain})
    # tag: the panel's own filter (the Flows API has none); its choices come from the runs
    assert f"beam-{u}" in panel.locator(".gj-lab-runs-tag option").all_inner_texts()
    panel.locator(".gj-lab-runs-tag").select_option(f"beam-{u}")
    _until_shown(page, set(tagged))
    assert panel.locator(".gj-lab-runs-open-all").inner_text() == "Open 2 in tabs"
    assert panel.locator(".gj-lab-runs-open-notice").inner_text() == "2 runs match."
    screenshot(page, "find_runs_label_and_tag")

    # kept across the panel's refreshes and a page reload
    panel.locator(".gj-lab-runs-refresh").click()
    page.wait_for_timeout(500)
    _until_shown(page, set(tagged))
    page.reload()
    page.wait_for_function("() => !!window.jupyterapp", timeout=60_000)
    page.evaluate("() => window.jupyterapp.restored.then(() => true)")
    page.evaluate("() => window.jupyterapp.commands.execute('gladier:show-runs')")
    page.wait_for_selector(f".gj-lab-run[data-run-id='{tagged[0]}']", timeout=30_000)
    _until_shown(page, set(tagged))
    assert panel.locator(".gj-lab-runs-label-filter").input_value() == f"FIND-{u}"
    assert panel.locator(".gj-lab-runs-tag").input_value() == f"beam-{u}"

    # time range: from an hour ahead matches nothing; until an hour ahead matches them again
    ahead = page.evaluate("""() => { const d = new Date(Date.now() + 3600e3);
        const p = (n) => String(n).padStart(2, '0');
        return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`; }""")
    panel.locator(".gj-lab-runs-from").fill(ahead)
    _until_shown(page, set())
    assert panel.locator(".gj-lab-runs-empty").inner_text() == "No run matches these filters."
    panel.locator(".gj-lab-runs-from").fill("")
    panel.locator(".gj-lab-runs-to").fill(ahead)
    _until_shown(page, set(tagged))

    # open the matches in tabs: 13 match, the newest 10 open, the notice says so
    panel.locator(".gj-lab-runs-tag").select_option("")
    panel.locator(".gj-lab-runs-to").fill("")
    shown = _until_shown(page, {*tagged, *plain})
    notice = panel.locator(".gj-lab-runs-open-notice").inner_text()
    assert notice == f"13 runs match; the newest {MAX_OPEN_TABS} open."
    button = panel.locator(".gj-lab-runs-open-all")
    assert button.inner_text() == f"Open {MAX_OPEN_TABS} in tabs"
    assert button.get_attribute("aria-label") == f"Open the {MAX_OPEN_TABS} newest matching runs in tabs"
    screenshot(page, "find_runs_open_in_tabs_notice")
    button.click()
    for run_id in shown[:MAX_OPEN_TABS]:
        page.wait_for_selector(f"#gladier-run-tab-{run_id}", state="attached", timeout=30_000)
    opened = page.eval_on_selector_all(".lm-DockPanel [id^='gladier-run-tab-']", "ws => ws.map(w => w.id)")
    assert sorted(opened) == sorted(f"gladier-run-tab-{r}" for r in shown[:MAX_OPEN_TABS])
    screenshot(page, "find_runs_opened_in_tabs")

    panel.locator(".gj-lab-runs-clear-filters").click()
    assert other in _shown(page)
    assert panel.locator(".gj-lab-runs-label-filter").input_value() == ""


def test_plain_click_opens_a_run_and_space_on_a_focused_row_selects(find_lab, page, flows_client):
    u = uuid.uuid4().hex[:6]
    flow_id = flows_client.create_flow(f"keys {u}", FLOW, {}).data["id"]
    specific = globus_sdk.SpecificFlowClient(flow_id, authorizer=flows_client.authorizer)
    a, b, c = (specific.run_flow({}, label=f"keys-{u}-{n}").data["run_id"] for n in "abc")
    for run_id in (a, b, c):
        wait_for_run(flows_client, run_id)
    _open_panel(find_lab, page, f"keys-{u}")
    page.locator("#gladier-runs-panel .gj-lab-runs-label-filter").fill(f"keys-{u}")
    page.wait_for_selector(f".gj-lab-run[data-run-id='{a}']", timeout=30_000)
    row = lambda run_id: page.locator(f".gj-lab-run[data-run-id='{run_id}']")  # noqa: E731

    row(a).focus()
    page.keyboard.press(" ")
    assert row(a).get_attribute("data-selected") == "true"
    compare = page.locator(".gj-lab-runs-compare")
    assert compare.get_attribute("aria-label") == "Compare: select exactly 2 runs (1 selected)"
    assert compare.is_disabled()
    assert page.locator(".gj-lab-runs-durations").get_attribute("aria-label") == (
        "Durations of the flow of the 1 selected run")
    row(b).focus()
    page.keyboard.press(" ")
    assert compare.get_attribute("aria-label") == "Compare the 2 selected runs"
    assert page.locator(".gj-lab-runs-durations").get_attribute("aria-label") == (
        "Durations of the flow of the 2 selected runs")
    assert page.get_by_role("button", name="Compare the 2 selected runs").is_enabled()
    assert page.locator(".gj-lab-run-view").count() == 0  # selecting opens no tab
    page.keyboard.press(" ")  # again: unselects
    assert row(b).get_attribute("data-selected") == "false"
    screenshot(page, "find_runs_keyboard_selection")

    # Enter on a focused row and a plain click still open a run (focused again first: the
    # panel's periodic refresh may have redrawn the rows since)
    row(b).focus()
    page.keyboard.press("Enter")
    page.wait_for_selector(f".gj-lab-run-view[data-run-id='{b}']", timeout=30_000)
    row(c).click()
    page.wait_for_selector(f".gj-lab-run-view[data-run-id='{c}']", timeout=30_000)
    assert row(c).get_attribute("data-selected") == "false"
