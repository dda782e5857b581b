"""RunMonitor against the local service, through real HTTP and the real globus-sdk."""

from __future__ import annotations

import json
import pathlib
import threading
import uuid

import globus_sdk
import pytest

from gladier_jupyter import monitor as run_monitor
from gladier_jupyter.widgets.monitor import RunMonitor
from gladier_jupyter.widgets.runs import RunsPanel
from tests._fixtures.waiting import wait_until

#: long enough for five polls of a watcher on the local service: nothing polling shows in it
QUIET = 5 * run_monitor.LOCAL_POLICY.slow

FLOWS = json.loads((pathlib.Path(__file__).parent / "data" / "monitor" / "flows.json").read_text())


def start_run(flows_client, name: str, flow_input: dict | None = None, label: str = "monitor test"):
    """Deploy flows.json[name] and start it; returns (run document, specific flow client)."""
    from gladier_jupyter import backend

    flow = flows_client.create_flow(title=f"monitor {name}", definition=FLOWS[name],
                                    input_schema={})
    scope = flow.get("globus_auth_scope") or str(
        globus_sdk.SpecificFlowClient(flow["id"]).scopes.user)
    specific = globus_sdk.SpecificFlowClient(flow["id"], authorizer=backend.authorizer_for(scope))
    run = specific.run_flow(flow_input or {"input": {"name": "x"}}, label=label).data
    return run, specific


def codes(monitor: RunMonitor) -> list[str]:
    return [e["code"] for e in monitor.entries]


def test_run_monitor_follows_a_run_to_succeeded_with_every_state_green(flows_client):
    run, _ = start_run(flows_client, "pass_wait_pass")
    seen: list[str] = []
    monitor = RunMonitor(run, client=flows_client)
    monitor.observe(lambda change: seen.append(change["new"]), "status")
    assert monitor.wait(60) == "SUCCEEDED"
    assert {n: s["status"] for n, s in monitor.states.items()} == {
        "Prepare": "succeeded", "Hold": "succeeded", "Finish": "succeeded"}
    assert seen[-1] == "SUCCEEDED"
    assert codes(monitor)[0] == "FlowStarted" and codes(monitor)[-1] == "FlowSucceeded"
    # The log the widget shows is the service's log, entry for entry.
    server_log = list(flows_client.paginated.get_run_logs(run["run_id"]).items())
    assert [e["code"] for e in server_log] == codes(monitor)
    assert [r["code"] for r in monitor.events] == codes(monitor)
    assert json.loads(monitor.output)["finished"] == {"done": True}
    assert monitor.progress == {"done": 3, "total": 3}
    assert [b["state"] for b in monitor.timeline] == ["Prepare", "Hold", "Finish"]
    assert monitor.states["Prepare"]["input"] and monitor.states["Prepare"]["output"]
    assert monitor.connection == "done"
    assert monitor.web_url == ""  # local runs have no Globus web-app page
    monitor.close()


def test_run_monitor_reads_a_log_of_more_than_250_entries_without_gaps_or_repeats(flows_client):
    run, _ = start_run(flows_client, "many_states_loop")
    monitor = RunMonitor(run["run_id"], client=flows_client)
    assert monitor.wait(120) == "SUCCEEDED"
    server_log = list(flows_client.paginated.get_run_logs(run["run_id"]).items())
    assert len(server_log) > 250
    assert monitor.entries == server_log
    assert len(monitor.events) == len(server_log)
    assert monitor.states["Count"]["attempts"] == 70
    assert [b["state"] for b in monitor.timeline].count("Check") == 70
    monitor.close()


def test_choice_loop_shows_each_visit_and_ends_succeeded(flows_client):
    run, _ = start_run(flows_client, "choice_loop")
    monitor = RunMonitor(run, client=flows_client)
    assert monitor.wait(60) == "SUCCEEDED"
    assert monitor.states["Count"]["attempts"] == 3
    assert [b["state"] for b in monitor.timeline] == [
        "Init", "Count", "Check", "Count", "Check", "Count", "Check", "Done"]
    assert json.loads(monitor.output)["counter"] == {"n": 3}
    monitor.close()


def test_cancel_from_the_panel_ends_the_run_and_marks_the_waiting_state(flows_client):
    run, _ = start_run(flows_client, "long_wait")
    monitor = RunMonitor(run, client=flows_client)
    wait_until(lambda: monitor.refresh().states.get("LongWait", {}).get("status"), 30,
               "the monitor shows LongWait active", until=lambda status: status == "active")
    # What the page's "Yes, cancel it" button sends.
    monitor._on_page_msg(monitor, {"type": "cancel"}, [])
    assert monitor.wait(30) == "FAILED"
    assert codes(monitor)[-1] == "FlowCanceled"
    assert flows_client.get_run(run["run_id"])["status"] == "FAILED"
    assert monitor.states["LongWait"]["status"] == "cancelled"
    assert (monitor.outcome, monitor.headline) == ("cancelled", "CANCELLED")
    assert monitor.states["After"]["status"] == "skipped"
    assert "cancel" in monitor.error.lower()
    assert monitor.action == ""  # "cancel requested" gives way to the ended run
    monitor.close()


def test_failed_compute_function_shows_the_remote_traceback(gladier_kwargs):
    from gladier import GladierBaseClient, GladierBaseTool, generate_flow_definition

    def read_detector(**data):
        raise ValueError("detector offline: " + data["detector"])

    @generate_flow_definition
    class ReadDetector(GladierBaseTool):
        compute_functions = [read_detector]

    @generate_flow_definition
    class DetectorClient(GladierBaseClient):
        gladier_tools = [ReadDetector]

    client = DetectorClient(**gladier_kwargs)
    run = client.run_flow(flow_input={"input": {"detector": "D7",
                                                "compute_endpoint": str(uuid.uuid4())}},
                          label="broken detector")
    monitor = RunMonitor(run, client=client)
    # gladier's compute states set ExceptionOnActionFailure false: the run goes on and
    # succeeds, and the monitor must still show which state failed, and why.
    assert monitor.wait(120) == "SUCCEEDED"
    state = monitor.states["ReadDetector"]
    assert state["status"] == "failed"
    assert "ValueError: detector offline: D7" in state["traceback"]
    assert "Traceback (most recent call last)" in state["traceback"]
    assert state["error"] == "ValueError: detector offline: D7"
    # The run SUCCEEDED, and its reader cannot miss that a state failed.
    assert monitor.failed_states == {"ReadDetector": "ValueError: detector offline: D7"}
    assert (monitor.outcome, monitor.headline) == ("warning", "SUCCEEDED · 1 state failed")
    assert monitor.failure == "ReadDetector: ValueError: detector offline: D7"
    assert "SUCCEEDED · 1 state failed" in monitor.snapshot_text()
    assert "ReadDetector: failed - ValueError: detector offline: D7" in monitor.snapshot_text()
    assert monitor.graph  # the gladier client's definition gives the graph at once
    html = monitor.snapshot_html()
    assert 'data-state="ReadDetector" data-status="failed"' in html and "gj-flow-svg" in html
    assert 'data-name="ReadDetector" data-status="failed"' in html  # the static graph too
    monitor.close()


def test_the_page_gets_only_new_log_rows_and_catches_up_when_it_reconnects(flows_client):
    run, _ = start_run(flows_client, "pass_wait_pass")
    monitor = RunMonitor(run, client=flows_client)
    tails: list[list[int]] = []
    monitor.observe(lambda change: tails.append([r["i"] for r in change["new"]]), "log_tail")
    assert monitor.wait(60) == "SUCCEEDED"
    total = len(monitor.entries)
    assert monitor.log_total == total
    # Each update carried the rows after the previous one, never the whole log again.
    sent = [i for tail in tails for i in tail]
    assert sent == list(range(sent[0], total)) and len(tails) > 1
    # A view that (re)connects with 2 rows asks for the rest, and gets exactly those.
    messages: list[dict] = []
    monitor.send = lambda content, buffers=None: messages.append(content)
    monitor._on_page_msg(monitor, {"type": "log_sync", "from": 2}, [])
    [reply] = messages
    assert reply["type"] == "log_rows" and reply["from"] == 2
    assert [r["i"] for r in reply["rows"]] == list(range(2, total))
    monitor._on_page_msg(monitor, {"type": "log_sync", "from": "x"}, [])  # ignored
    monitor._on_page_msg(monitor, {"type": "hello"}, [])
    assert messages[-1] == {"type": "hello", "log_total": total}
    monitor.close()


def test_closing_the_widget_stops_its_polling(flows_client):
    run, _ = start_run(flows_client, "long_wait")
    monitor = RunMonitor(run, client=flows_client)
    wait_until(lambda: monitor.watcher.polls, 30, "the monitor polls three times",
               until=lambda polls: polls >= 3)
    monitor.close()
    with monitor.watcher._poll_lock:  # any poll in flight finishes
        polls = monitor.watcher.polls
    # no poll comes in five of the local service's (slowest) poll intervals
    threading.Event().wait(QUIET)
    assert monitor.watcher.polls == polls
    assert monitor.watcher.stopped
    flows_client.cancel_run(run["run_id"])


def test_monitors_share_one_scheduler_thread_off_the_main_thread(flows_client):
    runs = [start_run(flows_client, "long_wait")[0] for _ in range(3)]
    names_before = {t.name for t in threading.enumerate()}
    monitors = [RunMonitor(r, client=flows_client) for r in runs]
    for m in monitors:
        wait_until(lambda m=m: m.watcher.polls, 30, f"monitor of {m.run_id} polls twice",
                   until=lambda polls: polls >= 2)
    schedulers = [t for t in threading.enumerate() if t.name == "gladier-monitor"]
    assert len(schedulers) == 1
    assert run_monitor.scheduler_thread() is schedulers[0]
    assert schedulers[0] is not threading.main_thread()
    polling = {t.name for t in threading.enumerate()} - names_before - {"gladier-monitor"}
    assert all(n.startswith("gladier-monitor-poll") for n in polling)
    for m, r in zip(monitors, runs, strict=True):
        m.close()
        flows_client.cancel_run(r["run_id"])


def test_attach_after_a_restart_rebuilds_the_whole_state_from_the_service(flows_client):
    run, _ = start_run(flows_client, "choice_loop")
    first = RunMonitor(run, client=flows_client)
    first.wait(60)
    first.close()
    again = RunMonitor.attach(run["run_id"], client=flows_client)
    assert again.wait(30) == "SUCCEEDED"
    assert again.entries == first.entries
    assert again.states == first.states
    assert again.flow_title == "monitor choice_loop"
    again.close()


def test_runs_panel_lists_runs_with_status_and_opens_one(flows_client):
    run, _ = start_run(flows_client, "pass_wait_pass", label="panel run")
    panel = RunsPanel(flows_client)
    rows = {r["run_id"]: r for r in panel.list.runs}
    assert rows[run["run_id"]]["label"] == "panel run"
    assert rows[run["run_id"]]["status"] in {"ACTIVE", "SUCCEEDED"}
    # What a click on the row sends.
    panel._on_page_msg(panel.list, {"type": "open", "run_id": run["run_id"]}, [])
    assert panel.monitor is not None and panel.monitor.run_id == run["run_id"]
    assert panel.children[-1] is panel.monitor
    assert panel.monitor.wait(60) == "SUCCEEDED"
    # The open run's row follows its monitor.
    assert {r["run_id"]: r for r in panel.list.runs}[run["run_id"]]["status"] == "SUCCEEDED"
    panel.close()
    assert panel.monitor.watcher.stopped


def test_monitor_accepts_a_gladier_client_run_id_and_backend_default(flows_client):
    run, _ = start_run(flows_client, "pass_wait_pass")
    monitor = RunMonitor(run["run_id"])  # the current backend's flows client
    assert monitor.wait(60) == "SUCCEEDED"
    monitor.close()
    with pytest.raises(ValueError, match="run_id"):
        RunMonitor({"status": "ACTIVE"}, client=flows_client)
    with pytest.raises(ValueError, match="client="):
        RunMonitor(run["run_id"], client=object())


def test_outside_a_live_kernel_the_bundle_holds_a_static_snapshot(flows_client):
    run, _ = start_run(flows_client, "pass_wait_pass")
    monitor = RunMonitor(run, client=flows_client)
    monitor.wait(60)
    data, metadata = monitor._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in data
    assert 'data-status="SUCCEEDED"' in data["text/html"]
    assert 'data-state="Hold" data-status="succeeded"' in data["text/html"]
    assert "<svg" in data["text/html"]
    assert "SUCCEEDED" in data["text/plain"] and "3/3 states" in data["text/plain"]
    # the run id once, after the label; a run without a label is named by its id alone
    assert data["text/plain"].startswith(f"Run monitor test ({run['run_id']}) of ")
    monitor.label = ""
    assert monitor.snapshot_text().count(run["run_id"]) == 1, monitor.snapshot_text()
    assert 'data-status="SUCCEEDED"' in monitor.snapshot().data
    monitor.close()


def test_showing_a_run_twice_shares_one_watcher_until_the_last_view_closes(flows_client):
    run, _ = start_run(flows_client, "long_wait")
    first = RunMonitor(run, client=flows_client)
    second = RunMonitor.attach(run["run_id"], client=flows_client)
    assert second.watcher is first.watcher
    first.close()
    assert not second.watcher.stopped
    polls = second.watcher.polls
    # The remaining view still gets updates: it sees the wait start, and polls go on.
    wait_until(lambda: (second.states.get("LongWait", {}).get("status"), second.watcher.polls),
               30, "the remaining view sees LongWait active and two more polls",
               until=lambda seen: seen[0] == "active" and seen[1] >= polls + 2)
    second.close()
    assert second.watcher.stopped
    third = RunMonitor(run["run_id"], client=flows_client)
    assert third.watcher is not first.watcher  # a closed watcher is not reused
    third.close()
    flows_client.cancel_run(run["run_id"])
