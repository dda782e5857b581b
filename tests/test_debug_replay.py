"""Replay a failed compute state in the kernel, fix the cell, replay again; test a state by
magic; re-run from a state by the monitor. Real local service, real gladier, real IPython."""

from __future__ import annotations

import pytest

from tests._fixtures.runs import wait_for_run
from tests.test_magics import ipshell, run, shell, usage_error  # noqa: F401

ENDPOINT = "4b116d3c-1703-4f8f-9f6f-39921e5864df"
BROKEN = ("%%gladier_tool Measure\n"
          "def measure(**data):\n"
          "    print('measuring', data['sample'])\n"
          "    return {'ratio': data['total'] / data['count']}\n")
FIXED = BROKEN.replace("data['total'] / data['count']", "data['total'] / max(data['count'], 1)")


@pytest.fixture
def local_shell(shell, local_service):  # noqa: F811 - the imported fixture
    from gladier_jupyter import backend

    backend.use_local(local_service.state_dir)
    return shell


def _failed_run(ip, flows_client):
    run(ip, BROKEN)
    run(ip, "%gladier_client MeasureClient Measure --no-preview")
    ip.user_ns["flow_input"] = {"input": {"compute_endpoint": ENDPOINT, "sample": "s1", "total": 7, "count": 0}}
    run(ip, "%gladier_run MeasureClient flow_input --label replayed --out measured")
    monitor = ip.magics_manager.registry["GladierMagics"].last_monitor
    ip.user_ns["monitor"] = monitor
    monitor.wait(120)
    doc = wait_for_run(flows_client, ip.user_ns["measured"]["run_id"])
    # gladier sets ExceptionOnActionFailure false: the run "succeeds" with a failed state
    assert "ZeroDivisionError" in str(doc["details"]["output"]["Measure"])
    return monitor


def test_replay_raises_the_runs_exception_in_the_kernel_and_a_fixed_cell_replays_with_the_fix(
        local_shell, flows_client, capsys):
    ip = local_shell
    monitor = _failed_run(ip, flows_client)
    result = ip.run_cell('monitor.replay("Measure")')
    assert isinstance(result.error_in_exec, ZeroDivisionError)  # the same exception, here
    assert "measuring s1" in capsys.readouterr().out  # its prints, in this process
    # %debug reads the last traceback: the frame is the cell's own function
    tb = result.error_in_exec.__traceback__
    while tb.tb_next is not None:
        tb = tb.tb_next
    assert tb.tb_frame.f_code.co_name == "measure" and tb.tb_frame.f_locals["data"]["count"] == 0
    # the magic, against the run id, replays the same recorded arguments
    result = ip.run_cell(f"%gladier_replay {monitor.run_id} Measure")
    assert isinstance(result.error_in_exec, ZeroDivisionError)
    # without the tool in the notebook, the function the run called (read from Compute)
    from gladier_jupyter.inline.replay import replay

    with pytest.raises(ZeroDivisionError):
        replay(monitor.entries, "Measure", {})
    run(ip, FIXED)  # the cell fixed: the same recorded input now goes through the new function
    assert monitor.replay("Measure") == {"ratio": 7.0}
    assert run(ip, "%gladier_replay monitor Measure").result == {"ratio": 7.0}
    assert run(ip, f"%gladier_replay {monitor.run_id} Measure").result == {"ratio": 7.0}


def test_replay_refuses_a_state_the_run_never_started_in_one_line(local_shell, flows_client):
    ip = local_shell
    monitor = _failed_run(ip, flows_client)
    message = usage_error(ip, f"%gladier_replay {monitor.run_id} Nowhere")
    assert "never started action state 'Nowhere'" in message and "Measure" in message
    assert "neither a RunMonitor" in usage_error(ip, "%gladier_replay not-a-run Measure")


def test_replay_button_message_runs_in_the_kernel_and_shows_prints_and_traceback_in_the_pane(
        local_shell, flows_client):
    import sys

    ip = local_shell
    monitor = _failed_run(ip, flows_client)
    # The message handler runs the function in the kernel; what it prints and the
    # traceback, from the cell's own frame on, go to the pane's text.
    monitor._on_page_msg(monitor, {"type": "replay", "state": "Measure"}, [])
    text = monitor.debug_text
    assert text.startswith("Replaying Measure of run replayed in the kernel")
    assert "measuring s1" in text and "ZeroDivisionError: division by zero" in text
    assert "return {'ratio': data['total'] / data['count']}" in text  # the cell's line
    assert "gladier_jupyter" not in text.split("Traceback", 1)[1]  # no frames of the package
    assert isinstance(sys.last_value, ZeroDivisionError)  # what %debug opens
    run(ip, FIXED)
    monitor._on_page_msg(monitor, {"type": "replay", "state": "Measure"}, [])
    assert monitor.debug_text.endswith("Result: {'ratio': 7.0}\n") and "Traceback" not in monitor.debug_text


def test_test_state_magic_prints_every_step(local_shell, capsys):
    ip = local_shell
    run(ip, "%%gladier_tool Hold --definition\n"
            '{"StartAt": "Hold", "States": {"Hold": {"Type": "Pass", "Parameters": {"n.$": "$.input.n"}, '
            '"ResultPath": "$.held", "End": true}}}\n')
    run(ip, "%gladier_client HoldClient Hold --no-preview")
    ip.user_ns["data"] = {"input": {"n": 5}}
    run(ip, "%gladier_test_state HoldClient Hold --input data")
    printed = capsys.readouterr().out
    assert "1. InputPath" in printed and '2. Parameters: template={"n.$": "$.input.n"}, value={"n": 5}' in printed
    assert "3. ResultPath" in printed and "next state: (end)" in printed
    assert ip.user_ns["_"]["output"]["held"] == {"n": 5}
    assert "has no state 'Nope'" in usage_error(ip, "%gladier_test_state HoldClient Nope --input data")


def test_rerun_from_a_state_with_the_monitor_links_the_new_run_to_its_parent(local_shell, flows_client):
    ip = local_shell
    monitor = _failed_run(ip, flows_client)
    run(ip, FIXED)
    started = monitor.state_input("Measure")
    assert started["input"]["count"] == 0
    edited = {**started, "input": {**started["input"], "count": 2}}
    child = monitor.rerun_from("Measure", edited, show=False)
    assert child.wait(120) == "SUCCEEDED"
    child.refresh()
    assert child.parent == {"run_id": monitor.run_id, "label": "replayed", "state_name": "Measure"}
    doc = wait_for_run(flows_client, child.run_id)
    assert doc["details"]["output"]["Measure"]["details"]["result"][0] == {"ratio": 3.5}
    bad = monitor.rerun_form
    monitor._on_page_msg(monitor, {"type": "rerun", "state": "Measure", "input": "{not json"}, [])
    assert "is not valid JSON" in monitor.rerun_form["error"] and monitor.rerun_form is not bad


def test_rerun_after_fixing_the_cell_runs_the_fixed_function_and_says_which_id_it_replaced(
        local_shell, flows_client, capsys):
    ip = local_shell
    monitor = _failed_run(ip, flows_client)
    old_id = monitor.state_input("Measure")["input"]["measure_function_id"]
    capsys.readouterr()
    # the run data names the function a compute state runs: unchanged code keeps its id
    same = monitor.rerun_from("Measure", show=False)
    assert same.wait(120) == "SUCCEEDED"
    assert "ZeroDivisionError" in str(wait_for_run(flows_client, same.run_id)["details"]["output"]["Measure"])
    assert "registered anew" not in capsys.readouterr().out
    run(ip, FIXED)
    child = monitor.rerun_from("Measure", show=False)  # the run's own data, count still 0
    notice = capsys.readouterr().out
    assert "registered anew and replaced measure_function_id in the run data" in notice
    assert len(notice.strip().splitlines()) == 1
    assert child.wait(120) == "SUCCEEDED"
    doc = wait_for_run(flows_client, child.run_id)
    assert doc["details"]["output"]["Measure"]["details"]["result"][0] == {"ratio": 7.0}  # the fixed code ran
    new_id = child.state_input("Measure")["input"]["measure_function_id"]
    assert new_id != old_id
    # an id edited by hand in the form is the user's choice: kept, though the cell changed again
    run(ip, FIXED.replace("max(data['count'], 1)", "max(data['count'], 2)"))
    started = monitor.state_input("Measure")
    pinned = {**started, "input": {**started["input"], "measure_function_id": new_id}}
    kept = monitor.rerun_from("Measure", pinned, show=False)
    assert kept.wait(120) == "SUCCEEDED"
    assert kept.state_input("Measure")["input"]["measure_function_id"] == new_id
    assert wait_for_run(flows_client, kept.run_id)["details"]["output"]["Measure"]["details"]["result"][0] == {
        "ratio": 7.0}
