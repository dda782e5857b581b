"""A saved notebook shows the monitor's last state, not the state it was displayed in (a
notebook run headless, by nbclient: the monitor watches without any view rendering it)."""

from __future__ import annotations

import json

from tests._notebook_cells import SETUP, execute_notebook, start_run

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def _monitor_outputs(cell: dict) -> list[dict]:
    return [o for o in cell.get("outputs", [])
            if WIDGET_VIEW in o.get("data", {}) or "gj-monitor-static" in
            str(o.get("data", {}).get("text/html", ""))]


def test_headless_notebook_saves_the_monitor_cell_with_the_final_status(
        local_service, tmp_path):
    nb = execute_notebook([
        SETUP + "\n" + start_run("browser_steps", "saved snapshot", "saved snapshot run"),
        "monitor = gladier_jupyter.RunMonitor(run, client=fc)\nmonitor",
        "shown_status = monitor.status\nshown_status",
        "monitor.wait(60)",
        "print('after the run')",
    ], tmp_path)
    # The run was still going when the monitor was displayed ...
    assert nb.cells[2].outputs[0]["data"]["text/plain"] in ("'PENDING'", "'ACTIVE'")
    assert nb.cells[3].outputs[0]["data"]["text/plain"] == "'SUCCEEDED'"
    # ... and the saved monitor output shows where it ended, keeping the live view's entry.
    [out] = nb.cells[1].outputs
    assert out["output_type"] == "display_data"
    data = out["data"]
    assert 'data-status="SUCCEEDED"' in data["text/html"]
    assert "ACTIVE" not in data["text/html"] and "PENDING" not in data["text/html"]
    assert "SUCCEEDED" in data["text/plain"]
    assert "ACTIVE" not in data["text/plain"] and "PENDING" not in data["text/plain"]
    assert "Step5: succeeded" in data["text/plain"]
    model_id = data[WIDGET_VIEW]["model_id"]
    # No other cell got monitor output (the update went to the monitor's display only).
    for index, cell in enumerate(nb.cells):
        if index != 1:
            assert _monitor_outputs(cell) == [], index
    assert [o.get("text") for o in nb.cells[4].outputs] == ["after the run\n"]
    # The widget state saved with the notebook holds the final traits too.
    states = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    assert states[model_id]["state"]["status"] == "SUCCEEDED"
    assert states[model_id]["state"]["progress"]["done"] == 5
    assert [e["code"] for e in states[model_id]["state"]["log_tail"]][-1] == "FlowSucceeded"
    json.dumps(nb)  # the saved notebook is plain JSON


def test_displaying_a_monitor_twice_updates_both_outputs_with_one_watcher(
        local_service, tmp_path):
    nb = execute_notebook([
        SETUP + "\n" + start_run("slow_steps", "twice", "twice"),
        "monitor = gladier_jupyter.RunMonitor(run, client=fc)\nmonitor",
        "display(monitor)",
        "monitor.wait(60)\nlen(monitor.watcher._listeners)",
    ], tmp_path)
    for index in (1, 2):
        [out] = nb.cells[index].outputs
        assert 'data-status="SUCCEEDED"' in out["data"]["text/html"], index
    assert nb.cells[3].outputs[0]["data"]["text/plain"] == "1"
