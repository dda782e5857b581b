"""kill -9 of the Parsl interchange, and of the whole service, with tasks pending on Slurm.

A private local service runs a local endpoint whose ``GlobusComputeEngine`` submits its
blocks to the session's single-node Slurm cluster (``slurm_cluster``). Three tasks of a
function that waits for a file the test writes are put in flight (two on the block's two
workers, one queued in the interchange), then a part is SIGKILLed:

- the interchange: Parsl does not notice, the service does (``local/compute/enginewatch``):
  every task ends FAILED naming the interchange and the signal, none runs twice, the old
  block job is cancelled, and a new engine (a new block job) serves the next task;
- the service itself: its reaper cancels the block job and kills the interchange, so
  within seconds ``squeue`` lists no job of it and no engine process is left; started
  again on the same state folder, the service ends each task the engine held FAILED
  saying the service stopped while it ran (the restart rule of every endpoint, the
  embedded default's included: a task already handed to an engine is not run again, as
  it may have run in part), and the endpoint serves the next task.

Each task leaves one line per attempt in ``<tag>.attempts`` (its Slurm job id): a task
that ran twice would show two.
"""

from __future__ import annotations

import os
import pathlib
import signal

import psutil
import pytest

from gladier_jupyter.local import endpoints
from tests._fixtures.processes import gone
from tests._fixtures.slurm import VENV_BIN, SlurmCluster, write_endpoint_config
from tests._fixtures.waiting import wait_until
from tests.reliability import _service as svc

pytestmark = [pytest.mark.slurm, pytest.mark.timeout(600)]

RESULT_WAIT = 240  # a cold block start: ~10 s on an idle 2-core machine, 70 s at load 11
GONE_WAIT = 30  # the bound within which a killed service's engine and jobs must be gone


def held(tag, folder):
    """Wait (at most 120 s) until the test writes ``folder/release``; each attempt leaves
    a line with its Slurm job id in ``folder/<tag>.attempts``."""
    import os
    import pathlib
    import time

    folder = pathlib.Path(folder)
    with (folder / f"{tag}.attempts").open("a") as f:
        f.write(f"{os.environ.get('SLURM_JOB_ID')}\n")
    deadline = time.monotonic() + 120
    while not (folder / "release").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    return os.environ.get("SLURM_JOB_ID")


def where_am_i():
    import os

    return os.environ.get("SLURM_JOB_ID")


@pytest.fixture
def slurm_service(slurm_cluster: SlurmCluster, tmp_path):
    """``(state, env, endpoint)``: a state folder with a Slurm endpoint, and the cluster's
    environment a service of it starts with; the cluster is left idle at the end."""
    slurm_cluster.wait_idle()
    state = tmp_path / "state"
    config = write_endpoint_config(slurm_cluster, tmp_path / "slurm-endpoint")
    ep = endpoints.add("slurm", config.read_text(), state_dir=state)
    env = {**slurm_cluster.env, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    try:
        yield state, env, ep
    finally:
        slurm_cluster.cancel_all()
        slurm_cluster.wait_idle(60)


def _task(cc, task_id: str) -> dict:
    return cc._compute_web_client.v2.get_task(task_id).data


def _ended(cc, task_id: str, timeout: float = RESULT_WAIT) -> dict:
    return wait_until(lambda: _task(cc, task_id), timeout, f"task {task_id} ends",
                      until=lambda doc: doc["status"] in ("success", "failed"))


def _in_flight(cc, ep, fid, folder: pathlib.Path, n: int = 3) -> tuple[list[str], str]:
    """``n`` held tasks, two of them running in the block: (their ids, the block's job)."""
    task_ids = [cc.run(f"t{i}", str(folder), endpoint_id=ep.uuid, function_id=fid)
                for i in range(n)]
    started = wait_until(lambda: sorted(folder.glob("t*.attempts")), RESULT_WAIT,
                         "two tasks running in the block", until=lambda found: len(found) >= 2)
    jobs = {p.read_text().split()[0] for p in started}
    assert len(jobs) == 1, jobs
    return task_ids, jobs.pop()


def _attempts(folder: pathlib.Path, n: int = 3) -> dict[str, list[str]]:
    return {f"t{i}": (folder / f"t{i}.attempts").read_text().split()
            if (folder / f"t{i}.attempts").exists() else [] for i in range(n)}


def _interchanges(service_pid: int) -> dict[int, str]:
    """Parsl's interchanges the service started (its children): pid -> command line."""
    found = {}
    for proc in psutil.Process(service_pid).children():
        try:
            cmd = " ".join(proc.cmdline())
            if proc.status() == psutil.STATUS_ZOMBIE:
                continue
        except psutil.Error:
            continue
        # its process title; the embedded default's forkserver names modules that match
        if "HTEX interchange" in cmd or cmd.split()[-1:] == ["interchange.py"]:
            found[proc.pid] = cmd
    return found


def _worker_pools(cluster: SlurmCluster) -> list[int]:
    """Parsl's worker pools (managers and workers) left anywhere on the cluster."""
    pools = []
    for pid in cluster.processes():
        try:
            cmd = pathlib.Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if "process_worker_pool" in cmd:
            pools.append(pid)
    return pools


def test_killed_interchange_fails_the_tasks_with_the_reason_and_a_new_engine_serves_the_next(
        slurm_service, slurm_cluster: SlurmCluster, tmp_path):
    state, env, ep = slurm_service
    folder = tmp_path / "tasks"
    folder.mkdir()
    with svc.private_service(state, **env) as info:
        cc = svc.compute_client(info)
        fid = cc.register_function(held)
        task_ids, job = _in_flight(cc, ep, fid, folder)
        found = _interchanges(info.pid)
        assert len(found) == 1, found
        (interchange,) = found
        os.kill(interchange, signal.SIGKILL)
        (folder / "release").touch()

        docs = [_ended(cc, t, 60) for t in task_ids]
        for doc in docs:
            assert doc["status"] == "failed", doc
            assert "interchange" in doc["exception"] and "SIGKILL" in doc["exception"], (
                doc["exception"][-500:])
        assert all(len(a) <= 1 for a in _attempts(folder).values()), _attempts(folder)
        # the broken engine is torn down: its block job cancelled, its interchange reaped
        wait_until(slurm_cluster.squeue_job_ids, GONE_WAIT, f"block job {job} cancelled",
                   until=lambda ids: job not in ids)
        assert gone(interchange)

        # a new engine (new interchange, new block job) serves the next task
        nxt = cc.run(endpoint_id=ep.uuid, function_id=cc.register_function(where_am_i))
        doc = _ended(cc, nxt)
        assert doc["status"] == "success", doc.get("exception")
        new_job = cc.get_result(nxt)
        assert new_job and new_job != job
        assert set(_interchanges(info.pid)) - {interchange}


def test_service_killed_with_tasks_on_slurm_leaves_no_job_or_engine_and_its_restart_fails_them(
        slurm_service, slurm_cluster: SlurmCluster, tmp_path):
    state, env, ep = slurm_service
    folder = tmp_path / "tasks"
    folder.mkdir()
    with svc.private_service(state, **env) as info:
        cc = svc.compute_client(info)
        fid = cc.register_function(held)
        task_ids, job = _in_flight(cc, ep, fid, folder)
        interchanges = _interchanges(info.pid)
        managers = slurm_cluster.parsl_managers(job)
        assert interchanges and managers
        assert [_task(cc, t)["status"] for t in task_ids] == ["running"] * 3

        os.kill(info.pid, signal.SIGKILL)
        # the service's reaper: the block job cancelled, the interchange killed ...
        wait_until(slurm_cluster.squeue_job_ids, GONE_WAIT, "no Slurm job of the service left",
                   until=lambda ids: not ids)
        for pid in interchanges:
            wait_until(lambda pid=pid: gone(pid), GONE_WAIT, f"interchange {pid} ends")
        # ... and with the job, its worker pools
        wait_until(lambda: _worker_pools(slurm_cluster), GONE_WAIT,
                   "no Parsl worker pool left on the cluster", until=lambda left: not left)
        (folder / "release").touch()

    with svc.private_service(state, **env) as restarted:
        cc = svc.compute_client(restarted)
        for task_id in task_ids:
            doc = _ended(cc, task_id, 30)
            assert doc["status"] == "failed", doc
            assert "stopped while task" in doc["exception"], doc["exception"][-500:]
            assert "not run again" in doc["exception"], doc["exception"][-500:]
        # none ran twice: the held ones once (in the killed job), the queued one never
        attempts = _attempts(folder)
        assert sorted(len(a) for a in attempts.values()) == [0, 1, 1], attempts
        assert all(a == [job] for a in attempts.values() if a), attempts

        nxt = cc.run(endpoint_id=ep.uuid, function_id=cc.register_function(where_am_i))
        doc = _ended(cc, nxt)
        assert doc["status"] == "success", doc.get("exception")
        assert cc.get_result(nxt) not in (None, job)
