"""The local Compute API through a real globus-compute-sdk Client (and globus-sdk clients)."""

from __future__ import annotations

import asyncio
import json
import os
import pathlib
import re
import secrets
import signal
import threading
import time

import globus_sdk
import pytest
from globus_compute_sdk.errors import TaskExecutionFailed
from globus_compute_sdk.serialize import ComputeSerializer, DillCodeSource
from globus_sdk.testing import get_response_set

from gladier_jupyter.local._http import ServiceContext

DATA = pathlib.Path(__file__).resolve().parent.parent / "data" / "compute"
TUTORIAL_ENDPOINT = "4b116d3c-1703-4f8f-9f6f-39921e5864df"


# ---- functions run remotely (module level: DillCodeSource ships their source) ----


def add(a, b=0):
    return a + b


def describe_experiment(**data):
    import pathlib

    path = pathlib.Path(data["experiment"])
    path.write_text("Hello Gladier!" * 3)
    return {"path": str(path), "size": path.stat().st_size}


def fail_with_value_error(name):
    raise ValueError(f"bad experiment name {name!r}")


def exit_worker(code):
    import sys

    sys.exit(code)


def hard_exit_worker():
    import os

    os._exit(7)


def segfault_worker():
    import ctypes

    ctypes.string_at(0)


def sleep_for(seconds):
    import time

    time.sleep(seconds)
    return seconds


def worker_pid():
    import os

    return os.getpid()


# ---- a local API on 127.0.0.1 (until the shared local_service fixture is in place) ----


class LocalApi:
    """The Compute routes mounted under /api/compute/ in a Tornado app on its own thread."""

    def __init__(self, state_dir: pathlib.Path, workers: int = 2):
        import tornado.web

        from gladier_jupyter.local import compute

        self.ctx = ServiceContext(state_dir=state_dir, secret=secrets.token_urlsafe(24))
        self.service = compute.ComputeService(self.ctx, workers=workers)
        self.ctx.services["compute"] = self.service
        handlers = [
            (f"/api/compute/{path}", handler, kwargs)
            for path, handler, kwargs in compute.routes(self.ctx)
        ]
        started = threading.Event()

        def run() -> None:
            async def main() -> None:
                app = tornado.web.Application(handlers)
                self.server = app.listen(0, address="127.0.0.1")
                self.port = next(iter(self.server._sockets.values())).getsockname()[1]
                self._stop = asyncio.Event()
                self.loop = asyncio.get_running_loop()
                started.set()
                await self._stop.wait()
                self.server.stop()

            asyncio.run(main())

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        started.wait(10)
        self.base_url = f"http://127.0.0.1:{self.port}/api/compute"

    def client(self, **kwargs):
        from gladier_jupyter.local.compute import compute_client

        return compute_client(self.base_url, self.ctx.secret, **kwargs)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self._stop.set)
        self.thread.join(10)
        self.service.close()


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    local = LocalApi(tmp_path_factory.mktemp("compute-state"))
    yield local
    local.close()


@pytest.fixture(scope="module")
def gcc(api):
    # the strategy gladier uses for its compute functions
    return api.client(code_serialization_strategy=DillCodeSource())


def _result(gcc, task_id, timeout=60.0):
    deadline = time.monotonic() + timeout
    while True:
        task = gcc.get_task(task_id)
        if not task["pending"]:
            return gcc.get_result(task_id)
        if time.monotonic() > deadline:
            raise AssertionError(f"task {task_id} still pending: {task}")
        time.sleep(0.02)


# ---- behaviour ----


def test_registered_function_runs_and_client_gets_its_result(api, gcc):
    fid = gcc.register_function(add)
    task_id = gcc.run(2, b=40, endpoint_id=TUTORIAL_ENDPOINT, function_id=fid)
    assert _result(gcc, task_id) == 42


def test_function_gets_keyword_payload_and_touches_files_like_the_tutorial(api, gcc, tmp_path):
    fid = gcc.register_function(describe_experiment)
    experiment = tmp_path / "file_1.txt"
    task_id = gcc.run(experiment=str(experiment), endpoint_id=TUTORIAL_ENDPOINT, function_id=fid)
    assert _result(gcc, task_id) == {"path": str(experiment), "size": 42}
    assert experiment.read_text() == "Hello Gladier!" * 3


def test_registered_function_document_keeps_name_code_and_metadata(api, gcc):
    from globus_compute_sdk.serialize.utils import unpack_buffers

    fid = gcc.register_function(add, description="adds two numbers")
    doc = gcc.get_function(fid)
    assert doc["function_uuid"] == fid
    assert doc["function_name"] == "add"
    assert doc["description"] == "adds two numbers"
    assert doc["metadata"]["sdk_version"]
    function = ComputeSerializer().deserialize(unpack_buffers(doc["function_code"])[0])
    assert function(1, b=2) == 3


def test_raising_function_fails_task_and_client_reraises_remote_traceback(api, gcc):
    fid = gcc.register_function(fail_with_value_error)
    task_id = gcc.run("x1", endpoint_id=TUTORIAL_ENDPOINT, function_id=fid)
    with pytest.raises(TaskExecutionFailed) as info:
        _result(gcc, task_id)
    text = str(info.value)
    assert "Traceback (most recent call last)" in text
    assert "in fail_with_value_error" in text
    assert "ValueError: bad experiment name 'x1'" in text
    # the worker's own frames are not part of the user's traceback
    assert "_worker_main" not in text
    raw = globus_sdk.ComputeClientV2(
        base_url=api.base_url, authorizer=globus_sdk.AccessTokenAuthorizer(api.ctx.secret)
    ).get_task(task_id)
    assert raw["status"] == "failed"
    assert "result" not in raw.data


@pytest.mark.parametrize(
    ("function", "args", "reason"),
    [
        (exit_worker, (3,), "exited with code 3"),
        (hard_exit_worker, (), "exited with code 7"),
        (segfault_worker, (), "killed by SIGSEGV"),
    ],
    ids=["sys.exit", "os._exit", "segfault"],
)
def test_function_killing_its_worker_fails_only_that_task_and_worker_is_replaced(
    api, gcc, function, args, reason
):
    pid_fn = gcc.register_function(worker_pid)
    pids_before = set(api.service.pool.worker_pids())
    fid = gcc.register_function(function)
    task_id = gcc.run(*args, endpoint_id=TUTORIAL_ENDPOINT, function_id=fid)
    with pytest.raises(TaskExecutionFailed) as info:
        _result(gcc, task_id)
    assert "WorkerLost" in str(info.value)
    assert reason in str(info.value)
    # the service still runs tasks, on a fresh worker in place of the dead one
    pids = {
        _result(gcc, gcc.run(endpoint_id=TUTORIAL_ENDPOINT, function_id=pid_fn)) for _ in range(4)
    }
    assert pids <= set(api.service.pool.worker_pids())
    assert set(api.service.pool.worker_pids()) != pids_before


def test_task_past_its_timeout_is_stopped_and_fails(api, gcc):
    fid = gcc.register_function(sleep_for)
    started = time.monotonic()
    task_id = api.service.submit(TUTORIAL_ENDPOINT, fid, [30], {}, timeout=0.5)
    doc = api.service.wait(task_id, timeout=20)
    assert time.monotonic() - started < 20
    assert doc["status"] == "failed"
    assert "TaskTimeout" in doc["exception"]
    assert "time limit of 0.5 s" in doc["exception"]


def test_wait_returns_when_task_ends_and_callback_fires(api, gcc):
    fid = gcc.register_function(add)
    seen = []
    fired = threading.Event()
    task_id = api.service.submit(TUTORIAL_ENDPOINT, fid, [1, 2], {})
    api.service.add_done_callback(task_id, lambda doc: (seen.append(doc), fired.set()))
    doc = api.service.wait(task_id, timeout=30)
    assert doc["status"] == "success"
    assert doc["result"] == 3
    assert doc["exception"] is None
    assert fired.wait(10)
    assert seen[0]["result"] == 3
    # a callback added after the end runs at once
    late = []
    api.service.add_done_callback(task_id, late.append)
    assert late and late[0]["status"] == "success"


def test_cancel_stops_a_running_task(api, gcc):
    fid = gcc.register_function(sleep_for)
    task_id = api.service.submit(TUTORIAL_ENDPOINT, fid, [30], {})
    deadline = time.monotonic() + 20
    while api.service.get_task(task_id)["status"] != "running":
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert api.service.cancel(task_id) is True
    doc = api.service.wait(task_id, timeout=20)
    assert doc["status"] == "failed"
    assert "TaskCancelled" in doc["exception"]
    assert api.service.cancel(task_id) is False


def test_batch_result_reports_every_task(api, gcc):
    fid = gcc.register_function(add)
    batch = gcc.create_batch()
    for i in range(5):
        batch.add(fid, (i,), {"b": 100})
    submitted = gcc.batch_run(TUTORIAL_ENDPOINT, batch)
    task_ids = submitted["tasks"][fid]
    assert len(task_ids) == 5
    for task_id in task_ids:
        api.service.wait(task_id, timeout=30)
    results = gcc.get_batch_result(task_ids)
    assert {tid: r["result"] for tid, r in results.items()} == {
        tid: 100 + i for i, tid in enumerate(task_ids)
    }


def test_v2_submit_form_runs_tasks(api, gcc):
    fid = gcc.register_function(add)
    ser = ComputeSerializer()
    payload = ser.pack_buffers([ser.serialize((5,)), ser.serialize({"b": 6})])
    v2 = globus_sdk.ComputeClientV2(
        base_url=api.base_url, authorizer=globus_sdk.AccessTokenAuthorizer(api.ctx.secret)
    )
    r = v2.submit({"tasks": [[fid, TUTORIAL_ENDPOINT, payload]]})
    task_id = r["results"][0]["task_uuid"]
    assert _result(gcc, task_id) == 11
    group = v2.get_task_group(r["task_group_id"])
    assert [t["id"] for t in group["tasks"]] == [task_id]


# ---- errors ----


def test_unknown_function_is_a_404_compute_api_error(api, gcc):
    with pytest.raises(globus_sdk.ComputeAPIError) as info:
        gcc.get_function("00000000-0000-0000-0000-00000000dead")
    assert info.value.http_status == 404
    assert info.value.code == "FUNCTION_NOT_FOUND"
    assert "00000000-0000-0000-0000-00000000dead" in info.value.message


def test_submit_of_unknown_function_is_rejected_before_running(api, gcc):
    batch = gcc.create_batch()
    batch.add("00000000-0000-0000-0000-00000000beef", (1,), {})
    with pytest.raises(globus_sdk.ComputeAPIError) as info:
        gcc.batch_run(TUTORIAL_ENDPOINT, batch)
    assert info.value.http_status == 404
    assert info.value.code == "FUNCTION_NOT_FOUND"


def test_unknown_task_is_a_404(api, gcc):
    with pytest.raises(globus_sdk.ComputeAPIError) as info:
        gcc.get_task("00000000-0000-0000-0000-000000000001")
    assert (info.value.http_status, info.value.code) == (404, "TASK_NOT_FOUND")


def test_request_without_the_secret_gets_401_and_runs_nothing(api):
    from gladier_jupyter.local.compute import compute_client

    intruder = compute_client(api.base_url, "not-the-secret")
    before = api.service.store.counts()
    with pytest.raises(globus_sdk.ComputeAPIError) as info:
        intruder.register_function(add)
    assert info.value.http_status == 401
    assert api.service.store.counts() == before


def test_registration_without_code_is_a_400(api):
    v3 = globus_sdk.ComputeClientV3(
        base_url=api.base_url, authorizer=globus_sdk.AccessTokenAuthorizer(api.ctx.secret)
    )
    with pytest.raises(globus_sdk.ComputeAPIError) as info:
        v3.register_function({"function_name": "f"})
    assert (info.value.http_status, info.value.code) == (400, "BAD_REQUEST")
    assert "'function_code'" in info.value.message


# ---- conformance with globus-sdk's recorded responses ----


_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def _same_shape(actual, reference, path="$", extra=()):
    """Recursively compare keys and value types of ``actual`` with ``reference``."""
    problems = []
    if isinstance(reference, dict) and len(reference) == 1 and _UUID.match(next(iter(reference))):
        # a map keyed by ids (task ids, function ids): every entry has the reference's shape
        if not isinstance(actual, dict) or not actual:
            return [f"{path}: expected a non-empty map keyed by ids"]
        sample = next(iter(reference.values()))
        for key, value in actual.items():
            if not _UUID.match(key):
                problems.append(f"{path}: key {key!r} is not an id")
            problems += _same_shape(value, sample, f"{path}.<id>", extra)
    elif isinstance(reference, dict):
        if not isinstance(actual, dict):
            return [f"{path}: expected an object, got {type(actual).__name__}"]
        for key in reference:
            if key not in actual:
                problems.append(f"{path}.{key}: missing")
            else:
                problems += _same_shape(actual[key], reference[key], f"{path}.{key}", extra)
        for key in actual:
            if key not in reference and f"{path}.{key}" not in extra:
                problems.append(f"{path}.{key}: not in the reference document")
    elif isinstance(reference, list):
        if not isinstance(actual, list):
            return [f"{path}: expected a list, got {type(actual).__name__}"]
        if reference and actual:
            for i, item in enumerate(actual):
                problems += _same_shape(item, reference[0], f"{path}[{i}]", extra)
    else:
        number = (int, float)
        same = (
            (reference is None and actual is None)
            or (isinstance(reference, bool) and isinstance(actual, bool))
            or (
                not isinstance(reference, bool)
                and isinstance(reference, number)
                and isinstance(actual, number)
                and not isinstance(actual, bool)
            )
            or (isinstance(reference, str) and isinstance(actual, str))
        )
        if not same:
            problems.append(
                f"{path}: expected {type(reference).__name__}, got {type(actual).__name__}"
            )
    return problems


def _conformance_cases():
    return json.loads((DATA / "conformance.json").read_text())


def test_every_compute_response_matches_the_recorded_globus_document(api, gcc, tmp_path):
    secret = globus_sdk.AccessTokenAuthorizer(api.ctx.secret)
    v2 = globus_sdk.ComputeClientV2(base_url=api.base_url, authorizer=secret)
    v3 = globus_sdk.ComputeClientV3(base_url=api.base_url, authorizer=secret)
    fid = gcc.register_function(add, description="adds")
    fail_id = gcc.register_function(fail_with_value_error)
    ser = ComputeSerializer()
    payload = ser.pack_buffers([ser.serialize((1,)), ser.serialize({})])
    submitted = v3.submit(TUTORIAL_ENDPOINT, {"tasks": {fid: [payload, payload]}})
    ok_id = submitted["tasks"][fid][0]
    failed_id = gcc.run("x", endpoint_id=TUTORIAL_ENDPOINT, function_id=fail_id)
    for tid in (ok_id, failed_id, submitted["tasks"][fid][1]):
        api.service.wait(tid, timeout=30)
    answers = {
        "compute.v2.get_version:all": v2.get_version(service="all"),
        "compute.v2.get_version:default": v2.get_version(),
        "compute.v3.register_function:default": v3.register_function(
            {"function_name": "f", "function_code": "1\nx", "meta": {}}
        ),
        "compute.v2.register_function:default": v2.register_function(
            {"function_name": "f", "function_code": "1\nx", "meta": {}}
        ),
        "compute.v2.get_function:default": v2.get_function(fid),
        "compute.v3.submit:default": submitted,
        "compute.v2.get_task:default": v2.get_task(ok_id),
        "compute.v2.get_task_batch:default": v2.get_task_batch([ok_id]),
        "compute.v2.get_endpoint_status:default": v2.get_endpoint_status(TUTORIAL_ENDPOINT),
        "compute.v2.get_task_group:default": v2.get_task_group(submitted["task_group_id"]),
        "compute.v2.delete_function:default": v2.delete_function(gcc.register_function(worker_pid)),
    }
    failed_doc = v2.get_task(failed_id).data
    report = {}
    for case in _conformance_cases():
        name, variant = case["response"].split(":")
        reference = get_response_set(name).lookup(variant).json
        actual = answers[case["response"]].data
        if case.get("reference_override"):
            reference = case["reference_override"]
        problems = _same_shape(actual, reference, extra=case.get("extra_keys", []))
        if problems:
            report[case["response"]] = problems
    assert report == {}
    assert set(answers) == {c["response"] for c in _conformance_cases()}
    # a failed task: the reference success document with ``exception`` in place of ``result``
    success = get_response_set("compute.v2.get_task").lookup("default").json
    failed_reference = {k: v for k, v in success.items() if k != "result"}
    failed_reference["exception"] = "text"
    failed_reference["status"] = "failed"
    assert _same_shape(failed_doc, failed_reference, extra=["$.details.endpoint_id"]) == []


def test_tasks_and_functions_survive_a_restart_and_interrupted_tasks_fail(tmp_path):
    from gladier_jupyter.local.compute import ComputeService

    ctx = ServiceContext(state_dir=tmp_path, secret="s")
    first = ComputeService(ctx, workers=1)
    ser = ComputeSerializer(strategy_code=DillCodeSource())
    code = ser.pack_buffers([ser.serialize(add)])
    fid = first.register_function({"function_name": "add", "function_code": code, "meta": {}})
    done_id = first.submit(TUTORIAL_ENDPOINT, fid, [1, 2], {})
    assert first.wait(done_id, timeout=30)["result"] == 3
    sleep_code = ser.pack_buffers([ser.serialize(sleep_for)])
    sid = first.register_function({"function_name": "sleep_for", "function_code": sleep_code})
    running_id = first.submit(TUTORIAL_ENDPOINT, sid, [30], {})
    deadline = time.monotonic() + 20
    while first.get_task(running_id)["status"] != "running":
        assert time.monotonic() < deadline
        time.sleep(0.01)
    queued_id = first.submit(TUTORIAL_ENDPOINT, fid, [20, 22], {})
    # the service dies hard: its worker goes, and nothing more reaches the store
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
