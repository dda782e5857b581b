"""kill -9 of the parts of a GlobusComputeEngine endpoint (a worker, its Parsl manager, the
interchange) and of the service with tasks on it: every task ends (SUCCEEDED, or FAILED
with a reason), none is lost, the endpoint serves the next task, and no engine process
outlives the service.

Parsl's heartbeats are shortened in the endpoint's config.yaml (``heartbeat_period`` /
``heartbeat_threshold`` of the HighThroughputExecutor), so a lost manager is noticed in
seconds rather than the default two minutes.
"""

from __future__ import annotations

import os
import signal

import psutil
import pytest

from gladier_jupyter.local import endpoints
from tests._fixtures.processes import gone
from tests._fixtures.waiting import wait_until
from tests.reliability import _service as svc

CONFIG = """\
display_name: htex-reliability
engine:
  type: GlobusComputeEngine
  address: 127.0.0.1
  max_workers_per_node: 1
  heartbeat_period: 2
  heartbeat_threshold: 8
  job_status_kwargs:
    strategy_period: 1
  provider:
    type: LocalProvider
    init_blocks: 1
    min_blocks: 1
    max_blocks: 1
    worker_init: ''
"""

STARTUP = 240  # a cold engine (interchange, block, manager, worker) on a loaded 2-core box


def pid_after(seconds=0):
    import os
    import time

    time.sleep(seconds)
    return os.getpid()


@pytest.fixture(scope="module")
def htex(tmp_path_factory):
    state = tmp_path_factory.mktemp("htex")
    ep = endpoints.add("htex", CONFIG, state_dir=state)
    with svc.private_service(state) as info:
        cc = svc.compute_client(info)
        yield info, cc, ep, cc.register_function(pid_after)


def _ended(cc, task_id: str, timeout: float = STARTUP) -> dict:
    raw = cc._compute_web_client.v2
    return wait_until(lambda: raw.get_task(task_id).data, timeout, f"task {task_id} ends",
                      until=lambda t: t["status"] in ("success", "failed"))


def _run(cc, ep, fid, *args, timeout: float = STARTUP):
    task_id = cc.run(*args, endpoint_id=ep.uuid, function_id=fid)
    doc = _ended(cc, task_id, timeout)
    assert doc["status"] == "success", doc.get("exception")
    return cc.get_result(task_id)


def _engine_processes(service_pid: int, worker_pid: int) -> dict[str, list[int]]:
    """The interchange (a child of the service) and the manager (the worker's parent: a
    LocalProvider block runs in the background of a shell that has exited, so it is not
    the service's descendant any more)."""
    found: dict[str, list[int]] = {"interchange": [], "manager": []}
    for proc in psutil.Process(service_pid).children(recursive=True):
        try:
            cmd = " ".join(proc.cmdline())
        except psutil.Error:
            continue
        if "HTEX interchange" in cmd or "high_throughput.interchange" in cmd:
            found["interchange"].append(proc.pid)
    manager = psutil.Process(worker_pid).parent()
    if manager is not None and "process_worker_pool" in " ".join(manager.cmdline()):
        found["manager"].append(manager.pid)
    return found


def _running_then_kill(cc, ep, fid, victim) -> dict:
    task_id = cc.run(30, endpoint_id=ep.uuid, function_id=fid)
    raw = cc._compute_web_client.v2
    wait_until(lambda: raw.get_task(task_id).data, 60, "the task is handed to the engine",
               until=lambda t: t["status"] == "running")
    pid = victim()
    os.kill(pid, signal.SIGKILL)
    return _ended(cc, task_id, STARTUP)


def test_a_killed_worker_fails_its_task_with_a_reason_and_the_next_task_runs(htex):
    info, cc, ep, fid = htex
    worker = _run(cc, ep, fid)  # warm: the block is up
    doc = _running_then_kill(cc, ep, fid, lambda: worker)
    assert doc["status"] == "failed"
    assert doc["exception"].strip(), doc
    assert _run(cc, ep, fid) != worker


def test_a_killed_manager_fails_its_task_with_a_reason_and_a_new_block_serves_the_next(htex):
    info, cc, ep, fid = htex
    worker = _run(cc, ep, fid)
    managers = _engine_processes(info.pid, worker)["manager"]
    assert len(managers) == 1
    doc = _running_then_kill(cc, ep, fid, lambda: managers[0])
    assert doc["status"] == "failed"
    # Parsl's words for it: the interchange's ManagerLost, or (the block's job seen dead
    # first) the executor's BadStateException naming the block's exit code
    reason = [ln for ln in doc["exception"].splitlines() if ln.strip(" +-")][-1:]
    assert any(k in doc["exception"] for k in ("ManagerLost", "BadStateException", "EXIT CODE")), reason
    worker = _run(cc, ep, fid)
    assert _engine_processes(info.pid, worker)["manager"] != managers


def test_a_killed_interchange_fails_its_task_and_a_new_engine_serves_the_next(htex):
    info, cc, ep, fid = htex
    worker = _run(cc, ep, fid)
    # one interchange (an engine dropped by the test before may still be stopping its own)
    interchange = wait_until(lambda: _engine_processes(info.pid, worker)["interchange"], 30,
                             "one interchange", until=lambda found: len(found) == 1)
    doc = _running_then_kill(cc, ep, fid, lambda: interchange[0])
    assert doc["status"] == "failed"
    assert doc["exception"].strip()
    worker = _run(cc, ep, fid)
    wait_until(lambda: gone(interchange[0]), 30, "the old interchange is gone")
    assert _engine_processes(info.pid, worker)["interchange"] not in ([], interchange)


def test_service_killed_with_tasks_on_the_endpoint_loses_none_and_leaves_no_engine_behind(tmp_path):
    state = tmp_path / "svc"
    ep = endpoints.add("htex", CONFIG, state_dir=state)
    with svc.private_service(state) as info:
        cc = svc.compute_client(info)
        fid = cc.register_function(pid_after)
        engine = _engine_processes(info.pid, _run(cc, ep, fid))
        assert engine["interchange"] and engine["manager"]
        task_ids = [cc.run(30, endpoint_id=ep.uuid, function_id=fid) for _ in range(3)]
        raw = cc._compute_web_client.v2
        wait_until(lambda: [raw.get_task(t).data["status"] for t in task_ids], 60,
                   "the tasks are on the engine", until=lambda s: s == ["running"] * 3)
        os.kill(info.pid, signal.SIGKILL)
        for pid in engine["interchange"] + engine["manager"]:
            wait_until(lambda pid=pid: gone(pid), 30, f"engine process {pid} ends with the service")

        from gladier_jupyter import local

        restarted = local.ensure_running(state)
        cc = svc.compute_client(restarted)
        for task_id in task_ids:
            doc = _ended(cc, task_id, 30)
            assert doc["status"] == "failed"
            assert "stopped while task" in doc["exception"]
        assert isinstance(_run(cc, ep, fid), int)  # the endpoint serves the next task
