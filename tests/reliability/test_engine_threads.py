"""Runs that wait cost the service no thread: many runs on a long Wait or on a Compute task
keep the service's thread count under a bound that does not grow with their number, and a
cancel still reaches each of them at once."""

from __future__ import annotations

import pathlib
import sys
import time

import pytest

from tests.reliability import _service as svc

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/<pid>/status")

# What the service may add to its idle threads however many runs wait: the engine's two
# fixed pools and a little slack (a warm-up or replacement-worker thread that comes and goes).
SLACK = 2


def sleeper(**data):
    import time

    time.sleep(data.get("sleep", 600))
    return "woke"


def _threads(pid: int) -> int:
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    raise AssertionError(f"/proc/{pid}/status has no Threads line")


def _settled_threads(pid: int) -> int:
    """The thread count once it has stopped changing (warm-up threads come and go)."""
    last, same = _threads(pid), 0
    deadline = time.monotonic() + 20
    while same < 5 and time.monotonic() < deadline:
        time.sleep(0.1)
        now = _threads(pid)
        same = same + 1 if now == last else 0
        last = now
    return last


def _wait_logged(fc, run_ids: list[str], code: str) -> None:
    """Until every run's log holds an entry ``code`` (the run has reached its wait)."""
    todo = list(run_ids)
    deadline = time.monotonic() + 60
    while todo and time.monotonic() < deadline:
        todo = [r for r in todo if not any(e["code"] == code for e in svc.run_log(fc, r))]
        if todo:
            time.sleep(0.1)
    assert not todo, f"{len(todo)} runs did not log {code} within 60 s"


def _peak_threads(pid: int, seconds: float = 1.0) -> int:
    peak, end = 0, time.monotonic() + seconds
    while time.monotonic() < end:
        peak = max(peak, _threads(pid))
        time.sleep(0.05)
    return peak


def _cancel_all(fc, run_ids: list[str]) -> None:
    for run_id in run_ids:
        fc.cancel_run(run_id)
    for run_id in run_ids:
        run = svc.wait_for_run(fc, run_id, timeout=30)
        assert run["status"] == "FAILED" and run["details"]["code"] == "FlowCanceled", run["details"]


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    from gladier_jupyter.local.flows.engine import POOL_SIZE, START_POOL_SIZE

    state_dir = tmp_path_factory.mktemp("threads") / "svc"
    with svc.private_service(state_dir) as info:
        idle = _settled_threads(info.pid)
        yield info, svc.flows_client(info), idle + POOL_SIZE + START_POOL_SIZE + SLACK


def test_fifty_runs_on_a_long_wait_hold_no_thread_each(service):
    info, fc, bound = service
    flow_id = svc.deploy(fc, {"StartAt": "Before", "States": {
        "Before": {"Type": "Pass", "Next": "Hold"},
        "Hold": {"Type": "Wait", "Seconds": 600, "End": True}}})
    run_ids = [svc.start(fc, flow_id)["run_id"] for _ in range(50)]
    try:
        _wait_logged(fc, run_ids, "WaitStarted")
        peak = _peak_threads(info.pid)
        assert peak <= bound, f"{peak} service threads with 50 runs waiting (bound {bound})"
        assert all(fc.get_run(r)["status"] == "ACTIVE" for r in run_ids)
    finally:
        _cancel_all(fc, run_ids)


def test_twenty_runs_on_compute_tasks_hold_no_thread_each(service):
    info, fc, bound = service
    fid = svc.compute_client(info).register_function(sleeper)
    flow_id = svc.deploy(fc, {"StartAt": "Compute", "States": {
        "Compute": svc.compute_state(fid, wait_time=3600)}})
    run_ids = [svc.start(fc, flow_id, {"input": {"sleep": 600}})["run_id"] for _ in range(20)]
    try:
        _wait_logged(fc, run_ids, "ActionStarted")
        peak = _peak_threads(info.pid)
        assert peak <= bound, f"{peak} service threads with 20 runs on compute tasks (bound {bound})"
        assert all(fc.get_run(r)["status"] == "ACTIVE" for r in run_ids)
    finally:
        _cancel_all(fc, run_ids)
