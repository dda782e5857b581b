"""A notebook run headless (nbclient): the monitor watches without any view rendering it."""

from __future__ import annotations

import json

import nbformat
from nbclient import NotebookClient

from tests._notebook_cells import SETUP, start_run


def test_monitor_in_a_headless_notebook_reaches_succeeded_and_saves_a_snapshot(
        local_service, tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(src) for src in [
        SETUP + "\n" + start_run("pass_wait_pass", "headless", "headless run"),
        "monitor = gladier_jupyter.RunMonitor(run, client=fc)\nmonitor",
        "monitor.wait(60)",
        "monitor",
    ]]
    NotebookClient(nb, timeout=120, kernel_name="python3", store_widget_state=True,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    assert nb.cells[2].outputs[0]["data"]["text/plain"] == "'SUCCEEDED'"
    last = nb.cells[3].outputs[0]["data"]
    assert 'data-status="SUCCEEDED"' in last["text/html"]
    assert "application/vnd.jupyter.widget-view+json" in last
    states = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    monitors = [s["state"] for s in states.values() if s["state"].get("view") == "run"]
    assert monitors and monitors[0]["status"] == "SUCCEEDED"
    assert [e["code"] for e in monitors[0]["events"]][-1] == "FlowSucceeded"
    json.dumps(nb)  # the saved notebook is plain JSON
