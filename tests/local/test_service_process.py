"""The service process: on-demand start, one per state folder, secret file, stale pid,
stop, and runs surviving a ``kill -9``. (That it listens on 127.0.0.1 only is in
``tests/reliability/test_security.py``.)"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time

import globus_sdk
import pytest

from gladier_jupyter import local
from tests._fixtures.data import load_json
from tests._fixtures.processes import gone
from tests._fixtures.runs import run_log, wait_for_log_code, wait_for_run
from tests._fixtures.waiting import wait_until
from tests.reliability._service import flows_client as flows

DEFINITIONS = load_json("flows/service_process.json")


@pytest.fixture
def private_service(tmp_path):
    state = tmp_path / "state"
    info = local.ensure_running(state)
    yield info
    local.stop(state)


def test_second_start_finds_the_running_service(private_service):
    again = local.ensure_running(private_service.state_dir)
    assert (again.pid, again.base_url) == (private_service.pid, private_service.base_url)
    assert local.status(private_service.state_dir).pid == private_service.pid


def test_secret_and_state_folder_are_private(private_service):
    state = private_service.state_dir
    assert stat.S_IMODE(os.stat(state).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(state / "secret").st_mode) == 0o600
    for name in ("service.json", "service.log", "flows.sqlite3"):
        assert stat.S_IMODE(os.stat(state / name).st_mode) & 0o077 == 0, name
    assert (state / "secret").read_text().strip() == private_service.secret
    assert private_service.secret not in repr(private_service)


def test_stale_state_file_is_replaced_by_a_new_service(tmp_path):
    state = tmp_path / "stale"
    info = local.ensure_running(state)
    os.kill(info.pid, signal.SIGKILL)
    wait_until(lambda: gone(info.pid), 10, f"the killed service {info.pid} is gone")
    assert json.loads((state / "service.json").read_text())["pid"] == info.pid  # left behind
    try:
        fresh = local.ensure_running(state)
        assert fresh.pid != info.pid
        assert fresh.secret != info.secret, "each start makes a fresh secret"
        assert flows(fresh).list_flows()["flows"] == []
    finally:
        local.stop(state)


def test_stop_ends_the_service_and_removes_the_state_file(tmp_path):
    state = tmp_path / "stopping"
    info = local.ensure_running(state)
    assert local.stop(state) is True
    assert not (state / "service.json").exists()
    assert local.status(state) is None
    assert local.stop(state) is False
    with pytest.raises(OSError):
        os.kill(info.pid, 0) if not gone(info.pid) else (_ for _ in ()).throw(OSError())


def test_command_line_start_status_stop(tmp_path):
    state = str(tmp_path / "cli")
    cmd = [sys.executable, "-m", "gladier_jupyter.local"]
    out = subprocess.run([*cmd, "start", "--state-dir", state], capture_output=True, text=True, check=True).stdout
    assert out.startswith("running: https://127.0.0.1:")
    assert subprocess.run([*cmd, "status", "--state-dir", state], capture_output=True, text=True).returncode == 0
    assert subprocess.run([*cmd, "stop", "--state-dir", state], capture_output=True, text=True).stdout.strip() == "stopped"
    assert subprocess.run([*cmd, "status", "--state-dir", state], capture_output=True, text=True).returncode == 1


def test_active_run_resumes_after_kill_9_and_restart(tmp_path, monkeypatch):
    state = tmp_path / "crash"
    info = local.ensure_running(state)
    monkeypatch.setenv("GLOBUS_SDK_SERVICE_URL_FLOWS", info.service_url("flows"))
    fc = flows(info)
    flow = fc.create_flow("Crash", DEFINITIONS["pass_wait_pass"], {}).data
    run = globus_sdk.SpecificFlowClient(flow["id"], authorizer=fc.authorizer, transport=fc.transport).run_flow({"keep": True}).data
    wait_for_log_code(fc, run["run_id"], "WaitStarted")
    os.kill(info.pid, signal.SIGKILL)
    try:
        restarted = local.ensure_running(state)
        assert restarted.pid != info.pid
        fc2 = flows(restarted)
        done = wait_for_run(fc2, run["run_id"])
        assert done["status"] == "SUCCEEDED", done["details"]
        assert done["details"]["output"] == {"keep": True, "before": {"x": 1}, "after": {"y": 2}}
        codes = [e["code"] for e in run_log(fc2, run["run_id"])]
        assert codes[:3] == ["FlowStarted", "PassStarted", "PassCompleted"]
        assert codes[-1] == "FlowSucceeded" and "WaitCompleted" in codes
        assert codes.count("WaitStarted") == 1, "the resumed Wait keeps its original end time"
    finally:
        local.stop(state)


def test_second_server_on_the_same_folder_refuses_to_start(private_service):
    proc = subprocess.run(
        [sys.executable, "-m", "gladier_jupyter.local", "serve", "--state-dir", str(private_service.state_dir)],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode != 0
    assert "already serves" in proc.stderr
    assert local.status(private_service.state_dir).pid == private_service.pid


def test_kill_9_during_a_loop_of_pure_states_loses_and_repeats_nothing(tmp_path, monkeypatch):
    state = tmp_path / "loop-crash"
    info = local.ensure_running(state)
    monkeypatch.setenv("GLOBUS_SDK_SERVICE_URL_FLOWS", info.service_url("flows"))
    fc = flows(info)
    n = 5000  # the definition counts to it
    flow = fc.create_flow("Loop", DEFINITIONS["count_to_5000"], {}).data
    run = globus_sdk.SpecificFlowClient(flow["id"], authorizer=fc.authorizer, transport=fc.transport).run_flow({"i": 0}).data
    wait_until(lambda: len(fc.get_run_logs(run["run_id"], limit=100)["entries"]), 60,
               "the loop logs 100 entries", until=lambda count: count >= 100)
    assert fc.get_run(run["run_id"])["status"] == "ACTIVE"
    os.kill(info.pid, signal.SIGKILL)
    try:
        fc2 = flows(local.ensure_running(state))
        done = wait_for_run(fc2, run["run_id"])
        assert done["status"] == "SUCCEEDED", done["details"]
        assert done["details"]["output"] == {"i": n}
        codes = [e["code"] for e in run_log(fc2, run["run_id"])]
        assert codes.count("ExpressionEvalCompleted") == n
        assert codes.count("ChoiceCompleted") == n
        assert codes.count("FlowStarted") == 1 and codes[-1] == "FlowSucceeded"
    finally:
        local.stop(state)


def test_another_process_finds_the_same_service(private_service):
    code = ("import sys; from gladier_jupyter import local; "
            "print(local.ensure_running(sys.argv[1]).pid)")
    out = subprocess.run([sys.executable, "-c", code, str(private_service.state_dir)],
                         capture_output=True, text=True, check=True).stdout
    assert int(out.strip()) == private_service.pid


def test_secret_never_reaches_the_service_log(private_service):
    fc = flows(private_service)
    fc.list_flows()
    with pytest.raises(globus_sdk.GlobusAPIError):
        flows(private_service, authorizer=globus_sdk.AccessTokenAuthorizer("wrong")).list_flows()
    log = (private_service.state_dir / "service.log").read_text()
    assert "listening" in log
    assert private_service.secret not in log


def test_idle_service_exits_and_is_started_again_on_demand(tmp_path, monkeypatch):
    monkeypatch.setenv("GLADIER_JUPYTER_IDLE_TIMEOUT", "1")
    state = tmp_path / "idle"
    info = local.ensure_running(state)
    try:
        wait_until(lambda: gone(info.pid), 30, f"the idle service {info.pid} exits")
        assert "no active run: exiting" in (state / "service.log").read_text()
        monkeypatch.setenv("GLADIER_JUPYTER_IDLE_TIMEOUT", "0")
        assert local.ensure_running(state).pid != info.pid
    finally:
        local.stop(state)


def test_service_with_an_active_run_does_not_exit_when_idle(tmp_path, monkeypatch):
    # long enough for ensure_running to find the service on a loaded machine, shorter than
    # the sleep below: the idle checks (every second at most) pass while the run waits
    monkeypatch.setenv("GLADIER_JUPYTER_IDLE_TIMEOUT", "1.5")
    state = tmp_path / "busy"
    info = local.ensure_running(state)
    try:
        monkeypatch.setenv("GLOBUS_SDK_SERVICE_URL_FLOWS", info.service_url("flows"))
        fc = flows(info)
        flow = fc.create_flow("Sleepy", DEFINITIONS["wait_3s"], {}).data
        run = globus_sdk.SpecificFlowClient(flow["id"], authorizer=fc.authorizer, transport=fc.transport).run_flow({}).data
        time.sleep(2.5)
        assert not gone(info.pid)
        assert wait_for_run(fc, run["run_id"])["status"] == "SUCCEEDED"
    finally:
        local.stop(state)
