"""The local Compute API through a real globus-compute-sdk Client (and globus-sdk clients)."""

from __future__ import annotations

import json
import os
import pathlib

import globus_sdk
import pytest
from globus_compute_sdk.errors import TaskExecutionFailed
from globus_compute_sdk.serialize import ComputeSerializer, DillCodeSource
from globus_sdk.testing import get_response_set

from tests._fixtures.shapes import shape_problems
from tests._fixtures.waiting import wait_until

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


def exit_worker(pid_file, code):
    import os
    import pathlib
    import sys

    pathlib.Path(pid_file).write_text(str(os.getpid()))
    sys.exit(code)


def hard_exit_worker(pid_file):
    import os
    import pathlib

    pathlib.Path(pid_file).write_text(str(os.getpid()))
    os._exit(7)


def segfault_worker(pid_file):
    import ctypes
    import os
    import pathlib

    pathlib.Path(pid_file).write_text(str(os.getpid()))
    ctypes.string_at(0)


def touch(path):
    import pathlib

    pathlib.Path(path).write_text("ran")


def sleep_for(seconds):
    import time

    time.sleep(seconds)
    return seconds


def worker_pid():
    import os

    return os.getpid()


# ---- clients on the shared local service ----


@pytest.fixture(scope="module")
def gcc(local_service):
    from gladier_jupyter import backend

    backend.use_local(local_service.state_dir)
    # the strategy gladier uses for its compute functions
    return backend.compute_client(code_serialization_strategy=DillCodeSource())


@pytest.fixture(scope="module")
def raw(local_service):
    """globus-sdk's own Compute clients (v2, v3) on the service."""
    auth = globus_sdk.AccessTokenAuthorizer(local_service.secret)
    url = local_service.service_url("compute")
    return (
        globus_sdk.ComputeClientV2(base_url=url, authorizer=auth),
        globus_sdk.ComputeClientV3(base_url=url, authorizer=auth),
    )


def _result(gcc, task_id, timeout=60.0):
    wait_until(lambda: gcc.get_task(task_id), timeout, f"task {task_id} ends",
               until=lambda task: not task["pending"])
    return gcc.get_result(task_id)


# ---- behaviour ----


def test_client_version_check_passes_against_the_local_service(gcc):
    gcc.version_check()  # raises VersionMismatch if the service's minimum were above the SDK


def test_registered_function_runs_and_client_gets_its_result(gcc):
    fid = gcc.register_function(add)
    task_id = gcc.run(2, b=40, endpoint_id=TUTORIAL_ENDPOINT, function_id=fid)
    assert _result(gcc, task_id) == 42


def test_function_gets_keyword_payload_and_touches_files_like_the_tutorial(gcc, tmp_path):
    fid = gcc.register_function(describe_experiment)
    experiment = tmp_path / "file_1.txt"
    task_id = gcc.run(experiment=str(experiment), endpoint_id=TUTORIAL_ENDPOINT, function_id=fid)
    assert _result(gcc, task_id) == {"path": str(experiment), "size": 42}
    assert experiment.read_text() == "Hello Gladier!" * 3


def test_registered_function_document_keeps_name_code_and_metadata(gcc):
    from globus_compute_sdk.serialize.utils import unpack_buffers

    fid = gcc.register_function(add, description="adds two numbers")
    doc = gcc.get_function(fid)
    assert doc["function_uuid"] == fid
    assert doc["function_name"] == "add"
    assert doc["description"] == "adds two numbers"
    assert doc["metadata"]["sdk_version"]
    function = ComputeSerializer().deserialize(unpack_buffers(doc["function_code"])[0])
    assert function(1, b=2) == 3


def test_source_code_registration_runs_its_entry_function(gcc):
    source = "def greet(name):\n    return f'Hello {name}!'\n"
    fid = gcc.register_source_code(source, "greet")
    task_id = gcc.run("Gladier", endpoint_id=TUTORIAL_ENDPOINT, function_id=fid)
    assert _result(gcc, task_id) == "Hello Gladier!"


def test_raising_function_fails_task_and_client_reraises_remote_traceback(gcc, raw):
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
    doc = raw[0].get_task(task_id)
    assert doc["status"] == "failed"
    assert "result" not in doc.data


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
    gcc, raw, tmp_path, function, args, reason
):
    pid_file = tmp_path / "pid"
    fid = gcc.register_function(function)
    task_id = gcc.run(str(pid_file), *args, endpoint_id=TUTORIAL_ENDPOINT, function_id=fid)
    with pytest.raises(TaskExecutionFailed) as info:
        _result(gcc, task_id)
    assert "WorkerLost" in str(info.value)
    # the reason names the exit (multiprocessing's forkserver sometimes loses the status
    # under load: then the message says exactly that, never a wrong code)
    assert reason in str(info.value) or "its exit status did not reach the service" in str(info.value)
    dead = int(pid_file.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(dead, 0)
    # the service still runs tasks, on live workers
    pid_fn = gcc.register_function(worker_pid)
    pids = {
        _result(gcc, gcc.run(endpoint_id=TUTORIAL_ENDPOINT, function_id=pid_fn)) for _ in range(6)
    }
    assert dead not in pids
    # and the pool is back to full strength
    wait_until(lambda: raw[0].get_endpoint_status(TUTORIAL_ENDPOINT)["details"], 60,
               "the pool is back to two workers", until=lambda d: d["total_workers"] >= 2)


def test_batch_result_reports_every_task(gcc):
    fid = gcc.register_function(add)
    batch = gcc.create_batch()
    for i in range(5):
        batch.add(fid, (i,), {"b": 100})
    submitted = gcc.batch_run(TUTORIAL_ENDPOINT, batch)
    task_ids = submitted["tasks"][fid]
    assert len(task_ids) == 5
    for task_id in task_ids:
        _result(gcc, task_id)
    results = gcc.get_batch_result(task_ids)
    assert {tid: r["result"] for tid, r in results.items()} == {
        tid: 100 + i for i, tid in enumerate(task_ids)
    }


def test_v2_submit_form_runs_tasks(gcc, raw):
    fid = gcc.register_function(add)
    ser = ComputeSerializer()
    payload = ser.pack_buffers([ser.serialize((5,)), ser.serialize({"b": 6})])
    r = raw[0].submit({"tasks": [[fid, TUTORIAL_ENDPOINT, payload]]})
    task_id = r["results"][0]["task_uuid"]
    assert _result(gcc, task_id) == 11
    group = raw[0].get_task_group(r["task_group_id"])
    assert [t["id"] for t in group["tasks"]] == [task_id]


# ---- errors ----


def test_unknown_function_is_a_404_compute_api_error(gcc):
    with pytest.raises(globus_sdk.ComputeAPIError) as info:
        gcc.get_function("00000000-0000-0000-0000-00000000dead")
    assert info.value.http_status == 404
    assert info.value.code == "FUNCTION_NOT_FOUND"
    assert "00000000-0000-0000-0000-00000000dead" in info.value.message


def test_submit_of_unknown_function_is_rejected_before_running(gcc):
    batch = gcc.create_batch()
    batch.add("00000000-0000-0000-0000-00000000beef", (1,), {})
    with pytest.raises(globus_sdk.ComputeAPIError) as info:
        gcc.batch_run(TUTORIAL_ENDPOINT, batch)
    assert info.value.http_status == 404
    assert info.value.code == "FUNCTION_NOT_FOUND"


def test_unknown_task_is_a_404(gcc):
    with pytest.raises(globus_sdk.ComputeAPIError) as info:
        gcc.get_task("00000000-0000-0000-0000-000000000001")
    assert (info.value.http_status, info.value.code) == (404, "TASK_NOT_FOUND")


def test_request_without_the_secret_gets_401_and_runs_nothing(local_service, gcc, tmp_path):
    from gladier_jupyter.local.compute import compute_client

    fid = gcc.register_function(touch)
    intruder = compute_client(local_service.service_url("compute"), "not-the-secret")
    with pytest.raises(globus_sdk.ComputeAPIError) as info:
        intruder.register_function(add)
    assert info.value.http_status == 401
    marker = tmp_path / "ran"
    batch = intruder.create_batch()
    batch.add(fid, (str(marker),), {})
    with pytest.raises(globus_sdk.ComputeAPIError) as info:
        intruder.batch_run(TUTORIAL_ENDPOINT, batch)
    assert info.value.http_status == 401
    # the owner's own task, submitted after, runs: the intruder's never did
    assert (
        _result(
            gcc, gcc.run(str(tmp_path / "owner"), endpoint_id=TUTORIAL_ENDPOINT, function_id=fid)
        )
        is None
    )
    assert (tmp_path / "owner").exists()
    assert not marker.exists()


def test_registration_without_code_is_a_400(raw):
    with pytest.raises(globus_sdk.ComputeAPIError) as info:
        raw[1].register_function({"function_name": "f"})
    assert (info.value.http_status, info.value.code) == (400, "BAD_REQUEST")
    assert "'function_code'" in info.value.message


# ---- conformance with globus-sdk's recorded responses ----


def _conformance_cases():
    return json.loads((DATA / "conformance.json").read_text())


def test_every_compute_response_matches_the_recorded_globus_document(gcc, raw):
    v2, v3 = raw
    fid = gcc.register_function(add, description="adds")
    fail_id = gcc.register_function(fail_with_value_error)
    ser = ComputeSerializer()
    payload = ser.pack_buffers([ser.serialize((1,)), ser.serialize({})])
    submitted = v3.submit(TUTORIAL_ENDPOINT, {"tasks": {fid: [payload, payload]}})
    ok_id = submitted["tasks"][fid][0]
    failed_id = gcc.run("x", endpoint_id=TUTORIAL_ENDPOINT, function_id=fail_id)
    for tid in (ok_id, submitted["tasks"][fid][1]):
        _result(gcc, tid)
    with pytest.raises(TaskExecutionFailed):
        _result(gcc, failed_id)
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
        "compute.v2.get_endpoint:default": v2.get_endpoint(TUTORIAL_ENDPOINT),
        "compute.v2.get_endpoints:default": v2.get_endpoints(),
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
        problems = shape_problems(
            actual, reference, extra=case.get("extra_keys", []), null_ok=case.get("null_ok", [])
        )
        if problems:
            report[case["response"]] = problems
    assert report == {}
    assert set(answers) == {c["response"] for c in _conformance_cases()}
    # a failed task: the reference success document with ``exception`` in place of ``result``
    success = get_response_set("compute.v2.get_task").lookup("default").json
    failed_reference = {k: v for k, v in success.items() if k != "result"}
    failed_reference["exception"] = "text"
    failed_reference["status"] = "failed"
    assert shape_problems(failed_doc, failed_reference, extra=["$.details.endpoint_id"]) == []
