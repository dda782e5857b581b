"""How a task of the embedded default ends when its result races a cancel or its time limit.

A normal result ends its task on the engine's result thread; the slot's own thread ends it
on a cancel, a timeout or a dead worker. Whatever the interleaving, a task ends exactly
once, with one status, and what ``cancel`` answered matches how it ended.
"""

from __future__ import annotations

import collections
import threading
import time

import pytest

from gladier_jupyter.local._http import ServiceContext
from gladier_jupyter.local.compute import ComputeService
from gladier_jupyter.local.compute.errors import FunctionNotFound
from tests._fixtures.waiting import wait_until
from tests.local.test_compute_service import ENDPOINT, _register, add, sleep_for


class _Ends:
    """Counts every end the pool records, per task; can hold one task's end midway."""

    def __init__(self, service: ComputeService):
        self._done = service.pool._done
        self.count: collections.Counter[str] = collections.Counter()
        self.hold_next = False  # hold the next end, until `release`
        self.held: str | None = None
        self.entered = threading.Event()
        self.release = threading.Event()
        service.pool._done = self

    def __call__(self, job, outcome):
        self.count[job.task_id] += 1
        if self.hold_next:
            self.hold_next, self.held = False, job.task_id
            self.entered.set()
            assert self.release.wait(30), "the test did not release the held end"
        self._done(job, outcome)


@pytest.fixture
def service(tmp_path):
    svc = ComputeService(ServiceContext(state_dir=tmp_path, secret="s"), workers=2)
    ends = _Ends(svc)
    yield svc, ends
    ends.release.set()
    svc.close()


def _pool_ready(service: ComputeService) -> list[int]:
    return wait_until(service.pool.worker_pids, 60, "the pool has all its workers",
                      until=lambda pids: len(pids) >= service.pool.size)


def test_a_cancel_while_the_result_is_being_recorded_leaves_the_result_and_the_worker(service):
    service, ends = service
    fid = _register(service, add)
    service.wait(service.submit(ENDPOINT, fid, [0], {}), timeout=60)  # warm
    before = set(_pool_ready(service))
    ends.hold_next = True
    task_id = service.submit(ENDPOINT, fid, [1], {"b": 2})
    assert ends.entered.wait(30), "the task did not end"
    assert ends.held == task_id
    # its result is on its way into the store: a cancel now must not stop it
    assert service.get_task(task_id)["status"] == "running"
    assert service.cancel(task_id) is False
    ends.release.set()
    doc = service.wait(task_id, timeout=30)
    assert (doc["status"], doc["result"]) == ("success", 3)
    assert ends.count[task_id] == 1
    assert set(service.pool.worker_pids()) == before  # no worker was stopped for it


@pytest.mark.parametrize("run_for", [0.02, 0.05])
def test_cancels_around_the_end_of_tasks_end_each_once_as_cancel_said(service, run_for):
    service, ends = service
    fid = _register(service, sleep_for)
    _pool_ready(service)
    answers = {}
    for i in range(16):
        task_id = service.submit(ENDPOINT, fid, [run_for], {})
        wait_until(lambda tid=task_id: service.get_task(tid)["status"], 60, f"task {task_id} starts",
                   until=lambda status: status != "pending")
        time.sleep(run_for * (0.5 + i / 10))  # from well before its end to after it
        answers[task_id] = service.cancel(task_id)
    for task_id, cancelled in answers.items():
        doc = service.wait(task_id, timeout=60)
        assert ends.count[task_id] == 1, (task_id, ends.count[task_id])
        if cancelled:
            assert doc["status"] == "failed" and "TaskCancelled" in doc["exception"], doc
        else:
            assert doc["status"] == "success", doc
    # the pool still runs tasks on warm workers
    assert service.wait(service.submit(ENDPOINT, fid, [0], {}), timeout=60)["result"] == 0


def test_a_result_at_the_time_limit_ends_its_task_once(service):
    service, ends = service
    fid = _register(service, sleep_for)
    _pool_ready(service)
    ids = [service.submit(ENDPOINT, fid, [0.05], {}, timeout=0.03 + i * 0.005)
           for i in range(8)]
    for task_id in ids:
        doc = service.wait(task_id, timeout=60)
        assert ends.count[task_id] == 1, (task_id, ends.count[task_id])
        assert doc["status"] == "success" or "TaskTimeout" in doc["exception"], doc


def test_a_deleted_function_takes_no_more_tasks(service):
    service, _ends = service
    fid = _register(service, add)
    assert service.wait(service.submit(ENDPOINT, fid, [1], {}), timeout=60)["result"] == 1
    service.delete_function(fid)
    with pytest.raises(FunctionNotFound):
        service.submit(ENDPOINT, fid, [1], {})
