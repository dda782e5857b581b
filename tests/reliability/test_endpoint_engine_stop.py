"""A GlobusComputeEngine endpoint (Parsl HighThroughputExecutor on a LocalProvider) and
what stops its work: a Flows cancel or a WaitTime timeout stops the worker that runs the
task; a task queued for a worker that died idle ends (it never waits forever); stopping
the service (SIGTERM, or kill -9) leaves none of Parsl's processes behind.
"""

from __future__ import annotations

import os
import pathlib
import signal

import psutil
import pytest

from gladier_jupyter.local import endpoints
from tests._fixtures.processes import descendants, gone
from tests._fixtures.waiting import wait_until
from tests.reliability import _service as svc
from tests.reliability.test_endpoint_engines import CONFIG, STARTUP, _ended, _run, pid_after

PARSL_WORDS = ("parsl", "process_worker_pool", "interchange", "multiprocessing")


def pid_then_sleep(path, seconds):
    """Write this worker's pid to ``path``, then sleep (the task a cancel must stop)."""
    import os
    import time

    with open(path, "w") as fh:
        fh.write(str(os.getpid()))
    time.sleep(seconds)
    return os.getpid()


@pytest.fixture(scope="module")
def htex(tmp_path_factory):
    state = tmp_path_factory.mktemp("htex-stop")
    ep = endpoints.add("htex", CONFIG, state_dir=state)
    with svc.private_service(state) as info:
        cc = svc.compute_client(info)
        fids = {"sleep": cc.register_function(pid_then_sleep), "pid": cc.register_function(pid_after)}
        yield info, cc, ep, fids, state


def _flow(ep, fid: str, wait_time: float) -> dict:
    state = svc.compute_state(fid, wait_time=wait_time)
    state["Parameters"]["tasks"][0]["endpoint"] = ep.uuid
    return {"StartAt": "Sleep", "States": {"Sleep": state}}


def _start_sleeping_run(info, cc, ep, fids, tmp_path, wait_time: float):
    fc = svc.flows_client(info)
    _run(cc, ep, fids["pid"])  # warm: the block is up
    flow_id = svc.deploy(fc, _flow(ep, fids["sleep"], wait_time), title="htex-stop")
    marker = tmp_path / "pid"
    run = svc.start(fc, flow_id, {"input": {"path": str(marker), "seconds": 600}},
                    label=svc.unique_label())

    def started() -> str | bool:
        if marker.exists() and marker.read_text():
            return marker.read_text()
        ended = fc.get_run(run["run_id"]).data
        assert ended["status"] == "ACTIVE", ended.get("details")
        return False

    pid = int(wait_until(started, STARTUP, "the task runs on a worker"))
    return fc, run["run_id"], pid


def test_cancelling_the_run_stops_the_worker_running_its_task(htex, tmp_path):
    info, cc, ep, fids, _state = htex
    fc, run_id, worker = _start_sleeping_run(info, cc, ep, fids, tmp_path, wait_time=900)
    fc.cancel_run(run_id)
    run = svc.wait_for_run(fc, run_id, 30)
    assert (run["status"], run["details"]["code"]) == ("FAILED", "FlowCanceled")
    # before: the worker slept its 600 s out after the cancel; now it is stopped
    wait_until(lambda: gone(worker), 15, f"worker {worker} of the cancelled task is stopped")
    assert isinstance(_run(cc, ep, fids["pid"]), int)  # the endpoint serves the next task


def test_a_wait_time_timeout_stops_the_worker_and_the_run_says_action_timeout(htex, tmp_path):
    info, cc, ep, fids, _state = htex
    fc, run_id, worker = _start_sleeping_run(info, cc, ep, fids, tmp_path, wait_time=8)
    run = svc.wait_for_run(fc, run_id, 60)
    assert run["status"] == "FAILED"
    assert "ActionTimeout" in str(run["details"]), run["details"]
    wait_until(lambda: gone(worker), 15, f"worker {worker} of the timed-out task is stopped")
    assert isinstance(_run(cc, ep, fids["pid"]), int)


def test_a_task_queued_for_a_worker_that_died_idle_ends_and_the_next_task_runs(htex):
    info, cc, ep, fids, _state = htex
    worker = _run(cc, ep, fids["pid"])
    # An idle worker waits on the manager's task queue holding its read lock: killed
    # there, the queue takes nobody's task again. Before: the task below stayed
    # "running" for ever.
    os.kill(worker, signal.SIGKILL)
    task_id = cc.run(endpoint_id=ep.uuid, function_id=fids["pid"])
    doc = _ended(cc, task_id, 120)
    if doc["status"] == "failed":  # queued on the broken manager before it was held
        assert "WorkerLost" in doc["exception"] and "never ran" in doc["exception"], doc
        assert "submitted again" in doc["exception"]
    assert _run(cc, ep, fids["pid"]) != worker


def _engine_processes(service_pid: int, state: pathlib.Path) -> dict[int, float]:
    """Every process of the service's engines (pid -> start time): the service's
    descendants, and the LocalProvider blocks (re-parented to pid 1: their shell exits)
    found by their submit script or log dir in the service's state folder, and theirs."""
    roots = {service_pid}
    for proc in psutil.process_iter(["cmdline"]):
        try:
            if str(state) in " ".join(proc.info["cmdline"] or []):
                roots.add(proc.pid)
        except psutil.Error:
            continue
    found: dict[int, float] = {}
    for pid in {p for r in roots for p in (r, *descendants(r))} - {service_pid}:
        try:
            proc = psutil.Process(pid)
            words = " ".join([proc.name(), *proc.cmdline()])
            if any(w in words for w in PARSL_WORDS) or str(state) in words:
                found[pid] = proc.create_time()
        except psutil.Error:
            continue
    return found


def _still_there(recorded: dict[int, float]) -> list[str]:
    left = []
    for pid, started in recorded.items():
        try:
            proc = psutil.Process(pid)
            if proc.create_time() == started and proc.status() != psutil.STATUS_ZOMBIE:
                left.append(f"{pid} {' '.join(proc.cmdline())[:100]}")
        except psutil.Error:
            continue
    return left


@pytest.mark.parametrize("how", ["stop", "kill -9"])
def test_stopping_the_service_leaves_no_parsl_process(tmp_path, how):
    state = tmp_path / "svc"
    ep = endpoints.add("htex", CONFIG, state_dir=state)
    with svc.private_service(state) as info:
        cc = svc.compute_client(info)
        assert isinstance(_run(cc, ep, cc.register_function(pid_after)), int)
        recorded = wait_until(lambda: _engine_processes(info.pid, state), 30,
                              "the engine's processes are seen",
                              until=lambda f: len(f) >= 4)
        titles = " | ".join(" ".join(psutil.Process(p).cmdline()) for p in recorded
                            if not gone(p))
        assert "parsl: monitoring zmq router" in titles and "process_worker_pool" in titles, titles
        if how == "kill -9":
            os.kill(info.pid, signal.SIGKILL)
    # before: "parsl: monitoring zmq router" stayed, re-parented to pid 1
    wait_until(lambda: _still_there(recorded), 20, "no engine process outlives the service",
               until=lambda left: not left)
