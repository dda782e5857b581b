"""Local Compute endpoints: the registry (Python and CLI), export, routing a task to the
engine of the endpoint it was submitted to, and execute_task's own rules on every engine."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest
import yaml

from gladier_jupyter.errors import GladierJupyterUsageError
from gladier_jupyter.local import endpoints
from tests._fixtures.waiting import wait_until
from tests.reliability import _service as svc

ROOT = pathlib.Path(__file__).resolve().parents[2]


def where_am_i():
    import os
    import threading

    return {"pid": os.getpid(), "thread": threading.current_thread().name, "cwd": os.getcwd()}


def big_result():
    return "x" * (11 * 1024 * 1024)


def _cli(state: pathlib.Path, *args: str, home: pathlib.Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if home:
        env["HOME"] = str(home)
    return subprocess.run(
        [sys.executable, "-m", "gladier_jupyter.local", "endpoint", *args, "--state-dir", str(state)],
        capture_output=True, text=True, env=env, timeout=120,
    )


def test_cli_adds_lists_shows_exports_and_removes_an_endpoint(tmp_path):
    state, home = tmp_path / "state", tmp_path / "home"
    added = _cli(state, "add", "cluster", "--provider", "SlurmProvider", "--partition", "debug",
                 "--max-workers-per-node", "2", "--walltime", "00:10:00")
    assert added.returncode == 0, added.stderr
    name, endpoint_id = added.stdout.split()
    assert name == "cluster"
    listed = _cli(state, "list")
    assert listed.stdout.split() == ["cluster", endpoint_id, "GlobusComputeEngine", "SlurmProvider"]
    shown = _cli(state, "show", "cluster").stdout
    config = yaml.safe_load(shown)
    assert config["engine"]["type"] == "GlobusComputeEngine"
    assert config["engine"]["max_workers_per_node"] == 2
    assert config["engine"]["provider"] == {
        "type": "SlurmProvider", "nodes_per_block": 1, "partition": "debug",
        "walltime": "00:10:00", "launcher": {"type": "SrunLauncher"},
        "init_blocks": 1, "min_blocks": 0, "max_blocks": 1, "worker_init": "",
    }
    exported = _cli(state, "export", "cluster", home=home)
    assert exported.returncode == 0, exported.stderr
    written = home / ".globus_compute" / "cluster" / "config.yaml"
    assert "globus-compute-endpoint start cluster" in exported.stdout
    assert "compute_endpoint" in exported.stdout
    assert oct(written.stat().st_mode & 0o777) == "0o600"
    # the file a real endpoint reads, and globus-compute-endpoint's own loader accepts it
    from globus_compute_endpoint.endpoint.config.utils import get_config

    real = get_config(written.parent)
    assert type(real.engine).__name__ == "GlobusComputeEngine"
    real.engine.shutdown()
    removed = _cli(state, "remove", "cluster")
    assert removed.stdout.strip() == f"removed cluster {endpoint_id}"
    assert _cli(state, "list").stdout == ""


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["add", "../escape"], "Endpoint name '../escape' is not valid"),
        (["add", "x", "--provider", "NoSuchProvider"], "Provider type 'NoSuchProvider' is not known"),
        (["add", "x", "--engine", "Nope"], "Engine type 'Nope' is not known"),
        (["show", "missing"], "No local endpoint is called 'missing'"),
    ],
)
def test_cli_refuses_bad_input_in_one_line(tmp_path, args, says):
    done = _cli(tmp_path / "state", *args)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and says in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_a_config_globus_compute_endpoint_rejects_is_refused_naming_the_endpoint(tmp_path):
    bad = "engine:\n  type: GlobusComputeEngine\n  provider:\n    type: SlurmProvider\n    partitionz: x\n"
    with pytest.raises(GladierJupyterUsageError) as err:
        endpoints.add("typo", bad, state_dir=tmp_path)
    assert "The config of endpoint 'typo' is not a valid Globus Compute endpoint config" in str(err.value)
    assert "partitionz" in str(err.value)
    assert endpoints.list_endpoints(state_dir=tmp_path) == []


def test_a_planted_symlink_in_the_registry_is_never_followed(tmp_path):
    state, elsewhere = tmp_path / "state", tmp_path / "elsewhere"
    endpoints.add("mine", engine="ThreadPoolEngine", state_dir=state)
    elsewhere.mkdir()
    (elsewhere / "endpoint.json").write_text('{"uuid": "6a0f5a8e-8f2d-4a57-9b57-1b86ad0b7e1d"}')
    (elsewhere / "config.yaml").write_text("engine:\n  type: ThreadPoolEngine\n")
    os.symlink(elsewhere, state / "endpoints" / "planted")
    with pytest.raises(GladierJupyterUsageError, match="symbolic link"):
        endpoints.show("planted", state_dir=state)
    assert [e.name for e in endpoints.list_endpoints(state_dir=state)] == ["mine"]
    with pytest.raises(GladierJupyterUsageError, match="exists already"):
        endpoints.add("planted", engine="ThreadPoolEngine", state_dir=state)
    assert oct((state / "endpoints").stat().st_mode & 0o777) == "0o700"


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    state = tmp_path_factory.mktemp("endpoints-service")
    threads = endpoints.add("threads", engine="ThreadPoolEngine", max_workers_per_node=2,
                            state_dir=state)
    pool = endpoints.add("pool", engine="ProcessPoolEngine", max_workers_per_node=1, state_dir=state)
    with svc.private_service(state) as info:
        yield info, svc.compute_client(info), threads, pool


def _ended(cc, task_id: str, timeout: float = 120) -> dict:
    """The task's ``GET /v2/tasks/{id}`` document once it has ended."""
    raw = cc._compute_web_client.v2
    return wait_until(lambda: raw.get_task(task_id).data, timeout, f"task {task_id} ends",
                      until=lambda t: t["status"] in ("success", "failed"))


def _result(cc, task_id: str):
    _ended(cc, task_id)
    return cc.get_result(task_id)


def test_the_endpoint_id_picks_the_engine_and_other_ids_run_on_the_default(service):
    info, cc, threads, pool = service
    fid = cc.register_function(where_am_i)
    on_threads = _result(cc, cc.run(endpoint_id=threads.uuid, function_id=fid))
    on_pool = _result(cc, cc.run(endpoint_id=pool.uuid, function_id=fid))
    on_default = _result(cc, cc.run(endpoint_id=svc.ENDPOINT, function_id=fid))
    # a ThreadPoolEngine runs in the service's own process, the others in worker processes
    assert on_threads["pid"] == info.pid
    assert on_threads["thread"].startswith("ThreadPoolExecutor")
    assert on_pool["pid"] not in (info.pid, on_default["pid"])
    assert on_default["pid"] != info.pid
    # execute_task's run dir: each endpoint's tasks_working_dir under the state folder
    assert on_threads["cwd"] == str(info.state_dir / "compute-run" / "threads" / "tasks_working_dir")
    assert on_default["cwd"] == str(info.state_dir / "compute-run" / "default" / "tasks_working_dir")


def test_a_result_over_execute_tasks_10_mib_limit_fails_on_every_engine(service):
    _info, cc, threads, _pool = service
    fid = cc.register_function(big_result)
    for endpoint_id in (threads.uuid, svc.ENDPOINT):
        task = _ended(cc, cc.run(endpoint_id=endpoint_id, function_id=fid))
        assert task["status"] == "failed"
        assert "MaxResultSizeExceeded" in task["exception"]


def test_endpoint_status_reports_the_engine_of_each_endpoint(service):
    _info, cc, threads, _pool = service
    raw = cc._compute_web_client.v2
    default = raw.get_endpoint_status(svc.ENDPOINT)["details"]
    assert default["endpoint"] == "default"
    assert default["engine_type"] == "ProcessPoolEngine"
    assert default["total_workers"] >= 1
    status = raw.get_endpoint_status(threads.uuid)["details"]
    assert status["endpoint"] == "threads"
    assert status["engine"] == "ThreadPoolEngine"
    assert {"started", "outstanding_tasks"} <= set(status)


def test_a_hand_edited_config_parsl_would_refuse_fails_its_task_with_parsls_reason(service):
    # the service imports parsl without typeguard's checks (a faster cold start), so it
    # loads such a config in a fresh interpreter first: the type error is reported in
    # one line, as `endpoint add` (which checks in the caller's process) reports it
    info, cc, _threads, _pool = service
    text = ("engine:\n  type: GlobusComputeEngine\n  max_workers_per_node: two\n"
            "  provider:\n    type: LocalProvider\n")
    with pytest.raises(GladierJupyterUsageError, match="max_workers_per_node"):
        endpoints.add("edited", text, state_dir=info.state_dir)
    edited = endpoints.add("edited", text, state_dir=info.state_dir, validate=False)
    try:
        fid = cc.register_function(where_am_i)
        task = _ended(cc, cc.run(endpoint_id=edited.uuid, function_id=fid))
        assert task["status"] == "failed"
        assert "EngineError" in task["exception"]
        assert "The config of endpoint 'edited' is not a valid Globus Compute endpoint config" in (
            task["exception"])
        assert 'argument "max_workers_per_node" (str)' in task["exception"]
        # the service goes on: the next task on the embedded default runs
        assert _result(cc, cc.run(endpoint_id=svc.ENDPOINT, function_id=fid))["pid"] != info.pid
    finally:
        endpoints.remove("edited", state_dir=info.state_dir)
