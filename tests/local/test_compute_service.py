"""The in-process Compute service the flow engine calls: timeouts, waiting, cancel, restart."""

from __future__ import annotations

import itertools
import os
import signal
import threading

import pytest
from globus_compute_sdk.serialize import ComputeSerializer, DillCodeSource

from gladier_jupyter.local._http import ServiceContext
from gladier_jupyter.local.compute import ComputeService
from tests._fixtures.processes import gone
from tests._fixtures.waiting import wait_until

ENDPOINT = "4b116d3c-1703-4f8f-9f6f-39921e5864df"


def add(a, b=0):
    return a + b


def sleep_for(seconds):
    import time

    time.sleep(seconds)
    return seconds


def listed_after(seconds, *items):
    import time

    time.sleep(seconds)
    return list(items)


def exit_worker():
    import sys

    sys.exit(2)


def make_point(x):
    import fractions

    return fractions.Fraction(x, 3)


def import_what_the_forkserver_left_out():
    import boto3
    import sqlalchemy

    return [boto3.__name__, sqlalchemy.__name__]


def call_a_typechecked_function_with_a_wrong_type(folder):
    # a module of the task's own, decorated with typeguard's @typechecked after the
    # worker's preload imported parsl with that decorator left out
    import importlib
    import pathlib
    import sys

    pathlib.Path(folder, "checked_here.py").write_text(
        "from typeguard import typechecked\n\n"
        "@typechecked\n"
        "def double(n: int) -> int:\n"
        "    return 2 * n\n"
    )
    sys.path.insert(0, folder)
    module = importlib.import_module("checked_here")
    try:
        module.double("two")
    except Exception as exc:  # noqa: BLE001 - typeguard.TypeCheckError, named in the result
        return type(exc).__name__
    return "not checked"


def parsl_api_instrumented():
    import parsl.executors.high_throughput.executor as htex

    code = htex.HighThroughputExecutor.__init__.__code__
    return any("typeguard" in name or "check_argument_types" in name for name in code.co_names)


def _register(service: ComputeService, function) -> str:
    ser = ComputeSerializer(strategy_code=DillCodeSource())
    return service.register_function(
        {
            "function_name": function.__name__,
            "function_code": ser.pack_buffers([ser.serialize(function)]),
            "meta": {"python_version": "3", "sdk_version": "4"},
        }
    )


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    ctx = ServiceContext(state_dir=tmp_path_factory.mktemp("compute-service"), secret="s")
    svc = ComputeService(ctx, workers=2)
    yield svc
    svc.close()


def _until_running(service: ComputeService, task_id: str) -> None:
    wait_until(lambda: service.get_task(task_id), 30, f"task {task_id} runs",
               until=lambda task: task["status"] == "running")


def test_wait_returns_the_result_as_a_python_value(service):
    fid = _register(service, add)
    doc = service.wait(service.submit(ENDPOINT, fid, [1], {"b": 2}), timeout=30)
    assert doc["status"] == "success"
    assert doc["result"] == 3
    assert doc["exception"] is None
    assert float(doc["completion_t"]) > 0


def test_result_that_is_not_json_comes_back_deserialized(service):
    import fractions

    fid = _register(service, make_point)
    doc = service.wait(service.submit(ENDPOINT, fid, [2], {}), timeout=30)
    assert doc["result"] == fractions.Fraction(2, 3)


def test_packages_left_out_of_the_workers_preload_still_import_in_a_task(service):
    # the forkserver imports execute_task with boto3 and SQLAlchemy hidden (parsl would
    # import them for nothing); a task that needs them must get them all the same
    import importlib.util

    for name in ("boto3", "sqlalchemy"):
        if importlib.util.find_spec(name) is None:
            pytest.skip(f"{name} is not installed")
    fid = _register(service, import_what_the_forkserver_left_out)
    doc = service.wait(service.submit(ENDPOINT, fid, [], {}), timeout=60)
    assert doc["status"] == "success", doc["exception"]
    assert doc["result"] == ["boto3", "sqlalchemy"]


def test_a_task_function_gets_typeguard_checks_though_the_preload_left_them_out_of_parsl(
    service, tmp_path
):
    # the forkserver imports parsl with @typechecked a no-op (its checks are for parsl's
    # own API, which a worker never calls); the decorator works again for the user's code
    fid = _register(service, call_a_typechecked_function_with_a_wrong_type)
    doc = service.wait(service.submit(ENDPOINT, fid, [str(tmp_path)], {}), timeout=60)
    assert doc["status"] == "success", doc["exception"]
    assert doc["result"] == "TypeCheckError"
    fid = _register(service, parsl_api_instrumented)
    doc = service.wait(service.submit(ENDPOINT, fid, [], {}), timeout=60)
    assert doc["status"] == "success", doc["exception"]
    assert doc["result"] is False


def test_done_callback_fires_once_the_task_ends_and_at_once_when_already_ended(service):
    fid = _register(service, add)
    seen = []
    fired = threading.Event()
    task_id = service.submit(ENDPOINT, fid, [1, 2], {})
    service.add_done_callback(task_id, lambda doc: (seen.append(doc), fired.set()))
    assert fired.wait(30)
    assert [d["result"] for d in seen] == [3]
    late = []
    service.add_done_callback(task_id, late.append)
    assert [d["status"] for d in late] == ["success"]


def test_task_past_its_timeout_is_stopped_and_fails(service):
    fid = _register(service, sleep_for)
    task_id = service.submit(ENDPOINT, fid, [60], {}, timeout=0.5)
    doc = service.wait(task_id, timeout=30)
    assert doc["status"] == "failed"
    assert "TaskTimeout" in doc["exception"]
    assert "time limit of 0.5 s" in doc["exception"]


def test_wait_with_a_timeout_returns_the_unfinished_task(service):
    fid = _register(service, sleep_for)
    task_id = service.submit(ENDPOINT, fid, [0.5], {})
    doc = service.wait(task_id, timeout=0.01)
    assert doc["status"] in ("pending", "running")
    assert service.wait(task_id, timeout=30)["result"] == 0.5


def test_cancel_stops_a_running_task(service):
    fid = _register(service, sleep_for)
    task_id = service.submit(ENDPOINT, fid, [60], {})
    _until_running(service, task_id)
    assert service.cancel(task_id) is True
    doc = service.wait(task_id, timeout=30)
    assert doc["status"] == "failed"
    assert "TaskCancelled" in doc["exception"]
    assert service.cancel(task_id) is False


def _all_idle(service: ComputeService) -> None:
    wait_until(service.pool.status, 60, "every worker of the pool is idle",
               until=lambda st: st["idle_workers"] == service.pool.size)


def test_a_task_for_an_idle_worker_is_running_as_soon_as_submit_returns(service):
    fid = _register(service, sleep_for)
    _all_idle(service)
    task_id = service.submit(ENDPOINT, fid, [1], {})
    row = service.get_task_row(task_id)
    assert row["status"] == "running"
    assert row["started"] == row["created"]  # recorded running in the same insert
    assert service.wait(task_id, timeout=30)["result"] == 1


def test_tasks_beyond_the_idle_workers_wait_in_order_for_the_next_free_one(service):
    slow = _register(service, sleep_for)
    quick = _register(service, add)
    _all_idle(service)
    # one worker frees up long before the others: the waiting tasks all run on it, one after
    # the other, in the order they were submitted
    seconds = [1.0] + [4.0] * (service.pool.size - 1)
    busy = [service.submit(ENDPOINT, slow, [s], {}) for s in seconds]
    queued = [service.submit(ENDPOINT, quick, [n], {}) for n in range(3)]
    assert [service.get_task(t)["status"] for t in queued] == ["pending"] * 3
    assert service.pool.status()["pending_tasks"] == 3
    assert [service.wait(t, timeout=30)["result"] for t in queued] == [0, 1, 2]
    # when each ran inside its worker (execute_task's own transitions)
    ran = [service.get_task(t)["details"]["task_transitions"] for t in [busy[0], *queued]]
    for before, after in itertools.pairwise(ran):
        assert before["execution-end"] <= after["execution-start"]
    assert service.get_task(busy[-1])["status"] == "running"  # the others still busy
    assert [service.wait(t, timeout=30)["result"] for t in busy] == seconds
    assert service.pool.status()["pending_tasks"] == 0


def test_each_waiter_gets_its_own_copy_of_the_end_as_stored(service):
    # the waiters wait before it ends: each reads the end kept for them, not the store
    task_id = service.submit(ENDPOINT, _register(service, listed_after), [0.5, 1, 2], {})
    docs: list[dict] = []
    waiters = [threading.Thread(target=lambda: docs.append(service.wait(task_id, timeout=30)))
               for _ in range(3)]
    for waiter in waiters:
        waiter.start()
    wait_until(lambda: service._waiting.get(task_id), 10, "three waiters wait",
               until=lambda n: n == 3)
    for waiter in waiters:
        waiter.join(30)
    stored = service.get_task(task_id)
    assert len(docs) == 3
    assert all(doc == stored for doc in docs)
    assert stored["result"] == [1, 2]
    docs[0]["result"].append(3)
    docs[0]["details"]["task_transitions"].clear()
    assert docs[1]["result"] == [1, 2]
    assert docs[1]["details"]["task_transitions"]
    assert service.wait(task_id)["result"] == [1, 2]
    assert service._ended == {}  # nothing kept once its waiters have it
    assert service._waiting == {}


def test_cancel_of_a_queued_task_means_it_never_runs(service):
    fid = _register(service, sleep_for)
    busy = [service.submit(ENDPOINT, fid, [60], {}) for _ in range(service.pool.size)]
    queued = service.submit(ENDPOINT, fid, [0], {})
    for task_id in busy:
        _until_running(service, task_id)
    assert service.cancel(queued) is True
    assert service.get_task(queued)["status"] == "failed"
    for task_id in busy:
        service.cancel(task_id)
    for task_id in busy:
        service.wait(task_id, timeout=30)
    assert "before it started" in service.get_task(queued)["exception"]


def _full_pool(service: ComputeService) -> set[int]:
    return set(wait_until(service.pool.worker_pids, 60, "the pool has all its workers",
                          until=lambda pids: len(pids) >= service.pool.size))


def test_crashed_worker_is_replaced_by_a_new_process(service):
    fid = _register(service, exit_worker)
    before = _full_pool(service)
    doc = service.wait(service.submit(ENDPOINT, fid, [], {}), timeout=30)
    assert "exited with code 2" in doc["exception"]
    after = _full_pool(service)
    assert len(after - before) == 1
    assert len(before - after) == 1


def test_workers_killed_while_idle_are_replaced_before_the_next_tasks(service):
    # an idle worker's death is seen (its pidfd) before a task is sent there: the task goes
    # to a fresh worker instead of failing on the dead one (the tasks are submitted at
    # once, so every slot gets one)
    fid = _register(service, add)
    _all_idle(service)
    before = _full_pool(service)
    for pid in before:
        os.kill(pid, signal.SIGKILL)
    # (the pool knows once the kernel does: the pidfd is readable once every thread of the
    # worker has exited, a moment after its main thread shows as a zombie)
    wait_until(service.pool.worker_pids, 30, "the pool sees its killed workers gone",
               until=lambda pids: not pids)
    ids = [service.submit(ENDPOINT, fid, [i], {"b": 10}) for i in range(2 * service.pool.size)]
    docs = [service.wait(task_id, timeout=60) for task_id in ids]
    assert [d["exception"] for d in docs] == [None] * len(docs)
    assert [(d["status"], d["result"]) for d in docs] == [

        ("success", i + 10) for i in range(2 * service.pool.size)
    ]
    assert not before & _full_pool(service)


def test_worker_status_can_be_asked_from_many_threads_while_tasks_run(service):
    # liveness is read from every thread that asks (status, the runs panel, the slots)
    fid = _register(service, add)
    errors: list[BaseException] = []

    def ask() -> None:
        try:
            for _ in range(100_000):
                service.pool.worker_pids()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    askers = [threading.Thread(target=ask) for _ in range(8)]
    for asker in askers:
        asker.start()
    ids = [service.submit(ENDPOINT, fid, [i], {}) for i in range(40)]
    results = [service.wait(task_id, timeout=60)["result"] for task_id in ids]
    for asker in askers:
        asker.join(60)
    assert errors == []
    assert results == list(range(40))


def test_tasks_and_functions_survive_a_restart_and_interrupted_tasks_fail(tmp_path):
    ctx = ServiceContext(state_dir=tmp_path, secret="s")
    first = ComputeService(ctx, workers=1)
    fid = _register(first, add)
    done_id = first.submit(ENDPOINT, fid, [1, 2], {})
    assert first.wait(done_id, timeout=30)["result"] == 3
    sid = _register(first, sleep_for)
    running_id = first.submit(ENDPOINT, sid, [60], {})
    _until_running(first, running_id)
    queued_id = first.submit(ENDPOINT, fid, [20, 22], {})
    # the service dies hard: its worker is killed and nothing more reaches the store
    first.pool._stopping = True
    first.pool._done = lambda job, outcome: None
    for pid in first.pool.worker_pids():
        os.killpg(pid, signal.SIGKILL)
    first.pool.close()
    first.store.close()

    second = ComputeService(ctx, workers=1)
    try:
        assert second.get_function(fid)["function_name"] == "add"
        assert second.get_task(done_id)["result"] == 3
        interrupted = second.get_task(running_id)
        assert interrupted["status"] == "failed"
        assert "stopped while task" in interrupted["exception"]
        # a task that never started runs after the restart
        assert second.wait(queued_id, timeout=30)["result"] == 42
    finally:
        second.close()


_HARD_KILLED_SERVICE = """
import pathlib, sys, time
from globus_compute_sdk.serialize import ComputeSerializer, DillCodeSource
from gladier_jupyter.local._http import ServiceContext
from gladier_jupyter.local.compute import ComputeService

state = pathlib.Path(sys.argv[1])
service = ComputeService(ServiceContext(state_dir=state, secret="s"), workers=1)
code = (
    "def sleep_and_report():\\n"
    "    import os, time\\n"
    "    print(os.getpid(), flush=True)\\n"
    "    time.sleep(120)\\n"
)
fid = service.register_function(
    {"function_name": "sleep_and_report", "function_code": code, "serialized": False}
)
task_id = service.submit("4b116d3c-1703-4f8f-9f6f-39921e5864df", fid, [], {})
for _ in range(3000):  # 30 s at most: the test reads the line below
    if service.get_task(task_id)["status"] == "running":
        break
    time.sleep(0.01)
print("ready", task_id, service.pool.worker_pids()[0], flush=True)
time.sleep(120)
"""


def test_workers_do_not_outlive_a_hard_killed_service(tmp_path):
    import subprocess
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-c", _HARD_KILLED_SERVICE, str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        # the task's own print (its pid) shares this pipe and may come first: find ours
        line = ""
        for line in proc.stdout:
            if line.startswith("ready "):
                break
        assert line.startswith("ready "), f"the service process ended before its task ran: {line!r}"
        task_id, worker = line.split()[1:]
        os.kill(int(worker), 0)  # the worker is alive, busy with its task
        proc.kill()
        proc.wait(30)
        wait_until(lambda: gone(int(worker)), 30, f"the worker {worker} exits with the service")
    finally:
        proc.kill()
    # the restarted service reports the interrupted task as failed, saying why
    service = ComputeService(ServiceContext(state_dir=tmp_path, secret="s"), workers=1)
    try:
        doc = service.get_task(task_id)
        assert doc["status"] == "failed"
        assert "stopped while task" in doc["exception"]
    finally:
        service.close()


def test_function_that_cannot_load_fails_every_task_with_its_own_error(tmp_path):
    service = ComputeService(ServiceContext(state_dir=tmp_path, secret="s"), workers=1)
    try:
        fid = service.register_function(
            {"function_name": "broken", "function_code": "def broken(:\n", "serialized": False}
        )
        for _ in range(2):
            doc = service.wait(service.submit(ENDPOINT, fid, [], {}), timeout=30)
            assert doc["status"] == "failed"
            assert "SyntaxError" in doc["exception"]
    finally:
        service.close()


def read_environment(names):
    import os

    return {name: os.environ.get(name) for name in names}


def test_tasks_do_not_see_the_hub_credentials_of_the_service(tmp_path, monkeypatch):
    monkeypatch.setenv("GLOBUS_DATA", "pickled-hub-tokens")
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "hub-token")
    monkeypatch.setenv("GLOBUS_COMPUTE_CLIENT_SECRET", "client-secret")
    monkeypatch.setenv("EXPERIMENT_MODE", "dry-run")
    service = ComputeService(ServiceContext(state_dir=tmp_path, secret="s"), workers=1)
    try:
        fid = _register(service, read_environment)
        names = ["GLOBUS_DATA", "JUPYTERHUB_API_TOKEN", "GLOBUS_COMPUTE_CLIENT_SECRET"]
        doc = service.wait(service.submit(ENDPOINT, fid, [names + ["EXPERIMENT_MODE"]], {}), 30)
        assert doc["result"] == {
            "GLOBUS_DATA": None,
            "JUPYTERHUB_API_TOKEN": None,
            "GLOBUS_COMPUTE_CLIENT_SECRET": None,
            "EXPERIMENT_MODE": "dry-run",
        }
    finally:
        service.close()
