"""A notebook run headless (nbclient): the monitor watches without any view rendering it."""

from __future__ import annotations

import json

from tests._notebook_cells import SETUP, execute_notebook, start_run


def test_monitor_in_a_headless_notebook_reaches_succeeded_and_saves_a_snapshot(
        local_service, tmp_path):
    nb = execute_notebook([
        SETUP + "\n" + start_run("pass_wait_pass", "headless", "headless run"),
        "monitor = gladier_jupyter.RunMonitor(run, client=fc)\nmonitor",
        "monitor.wait(60)",
        "monitor",
    ], tmp_path)
    assert nb.cells[2].outputs[0]["data"]["text/plain"] == "'SUCCEEDED'"
    last = nb.cells[3].outputs[0]["data"]
    assert 'data-status="SUCCEEDED"' in last["text/html"]
    assert "application/vnd.jupyter.widget-view+json" in last
    states = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    monitors = [s["state"] for s in states.values() if s["state"].get("view") == "run"]
    assert monitors and monitors[0]["status"] == "SUCCEEDED"
    assert [e["code"] for e in monitors[0]["events"]][-1] == "FlowSucceeded"
    json.dumps(nb)  # the saved notebook is plain JSON
