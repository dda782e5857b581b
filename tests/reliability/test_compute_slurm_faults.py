"""Faults of Globus Compute's engine on a real Slurm cluster, with tasks pending.

Each test starts a ``GlobusComputeEngine`` with Parsl's ``SlurmProvider`` on the session's
single-node cluster, gets a block job running, puts tasks in flight and then breaks a part:
SIGKILL of Parsl's worker pool (the manager) inside the job, SIGKILL of the interchange,
``scancel`` of the block job. Every task must end (bounded by the test's timeout): with its
result after the engine's retry (``max_retries_on_system_failure``) or with an error naming
the reason; where the engine survives it serves the next task. At shutdown no Slurm job and
no process of the engine (interchange, worker pool, slurmstepd) is left.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import signal
import uuid

import pytest

from tests._fixtures.processes import gone
from tests._fixtures.slurm import (
    SlurmCluster,
    packed_task,
    slurm_engine,
    stop_engine,
    unpack_result,
)
from tests._fixtures.waiting import wait_until

pytestmark = [pytest.mark.slurm, pytest.mark.timeout(600)]

RESULT_WAIT = 240  # a cold block start: ~10 s on an idle 2-core machine, 70 s at load 11


def where_am_i():
    import os

    return os.environ.get("SLURM_JOB_ID")


def held_first_time(tag, folder):
    """On its first attempt, wait (at most 120 s) until the test writes ``folder/release``;
    each attempt leaves a line with its job id in ``folder/<tag>.attempts``."""
    import os
    import pathlib
    import time

    folder = pathlib.Path(folder)
    log = folder / f"{tag}.attempts"
    with log.open("a") as f:
        f.write(f"{os.environ.get('SLURM_JOB_ID')}\n")
    attempts = log.read_text().split()
    deadline = time.monotonic() + 120
    while len(attempts) == 1 and not (folder / "release").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    return {"tag": tag, "job": os.environ.get("SLURM_JOB_ID"), "attempts": attempts}


def _submit(engine, fn, *args):
    from globus_compute_endpoint.engines.base import GCFuture

    task_id, packed = packed_task(fn, *args)
    future = GCFuture(task_id)
    engine.submit(future, packed, resource_specification={})
    return future


def _outcome(future, timeout=RESULT_WAIT):
    """("ok", value) or ("error", the error's text): every task ends one way or the other."""
    try:
        return "ok", unpack_result(future.result(timeout=timeout))
    except RuntimeError as error:
        return "error", str(error)


def _engine_processes(cluster: SlurmCluster, engine) -> set[int]:
    """What is left of an engine: processes of the cluster but its daemons, and the
    interchange (a child of this process)."""
    daemons = set()
    for path in cluster.pid_files.values():
        with contextlib.suppress(OSError, ValueError):
            daemons.add(int(path.read_text()))
    left = {pid for pid in cluster.processes() if pid not in daemons and _comm(pid) != "slurmscriptd"}
    proc = engine.executor.interchange_proc
    if proc is not None and not gone(proc.pid):
        left.add(proc.pid)
    return left


def _comm(pid: int) -> str:
    try:
        return pathlib.Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


@pytest.fixture
def start_engine(slurm_cluster: SlurmCluster, tmp_path):
    """``start_engine(**options)``: a started engine on the cluster with a warm block;
    shut down at the end, and the cluster left with no job and no process of it."""
    engines = []

    def start(**options):
        eng = slurm_engine(slurm_cluster, **options)
        eng.start(endpoint_id=uuid.uuid4(), run_dir=str(tmp_path / f"ep{len(engines)}"))
        engines.append(eng)
        job = unpack_result(_submit(eng, where_am_i).result(timeout=RESULT_WAIT))
        assert slurm_cluster.squeue().get(job) == "R"
        return eng, job

    slurm_cluster.wait_idle()
    yield start
    for eng in engines:
        stop_engine(eng)
    try:
        for eng in engines:
            wait_until(lambda e=eng: _engine_processes(slurm_cluster, e), 30,
                       "no job process or interchange left after shutdown",
                       until=lambda left: not left)
        slurm_cluster.wait_idle(30)
    finally:  # whatever a failed test left: the next test starts on an idle cluster
        slurm_cluster.cancel_all()
        for eng in engines:
            for pid in _engine_processes(slurm_cluster, eng):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)


def _in_flight(engine, n, folder: pathlib.Path):
    futures = [_submit(engine, held_first_time, f"t{i}", str(folder)) for i in range(n)]
    wait_until(lambda: sum(1 for i in range(n) if (folder / f"t{i}.attempts").exists()), 60,
               "the first tasks running in the block", until=lambda k: k >= 1)
    return futures


def test_sigkill_of_the_worker_pool_retries_its_tasks_in_a_new_block(
        start_engine, slurm_cluster: SlurmCluster, tmp_path):
    engine, job = start_engine(max_retries_on_system_failure=1)
    futures = _in_flight(engine, 3, tmp_path)  # 2 workers busy, 1 waiting in the interchange
    (manager,) = slurm_cluster.parsl_managers(job)
    os.kill(manager, signal.SIGKILL)
    (tmp_path / "release").touch()  # a retry or a task not started yet returns at once

    outcomes = [_outcome(f) for f in futures]
    assert all(kind == "ok" for kind, _ in outcomes), outcomes
    retried = [v for _, v in outcomes if len(v["attempts"]) == 2]
    assert retried, outcomes  # the tasks that were running ran again ...
    assert all(v["attempts"][0] == job and v["job"] != job for v in retried)  # ... elsewhere
    assert all(v["job"] in slurm_cluster.jobs_allocated() for _, v in outcomes)
    # the log of each attempt says where it ran: no task ran twice unseen
    assert unpack_result(_submit(engine, where_am_i).result(timeout=RESULT_WAIT)) != job


def test_scancel_of_the_block_fails_its_running_tasks_with_the_reason(
        start_engine, slurm_cluster: SlurmCluster, tmp_path):
    engine, job = start_engine(max_retries_on_system_failure=0)
    futures = _in_flight(engine, 2, tmp_path)
    wait_until(lambda: sum(1 for i in range(2) if (tmp_path / f"t{i}.attempts").exists()), 60,
               "both tasks running", until=lambda k: k == 2)
    slurm_cluster.run("scancel", job)
    (tmp_path / "release").touch()

    outcomes = [_outcome(f) for f in futures]
    assert all(kind == "error" for kind, _ in outcomes), outcomes
    for _, text in outcomes:
        assert "ManagerLost" in text or "lost" in text.lower(), text[-500:]
    # a new block serves the next task
    assert unpack_result(_submit(engine, where_am_i).result(timeout=RESULT_WAIT)) != job


def test_sigkill_of_the_interchange_leaves_tasks_pending_until_the_engine_is_released(
        start_engine, slurm_cluster: SlurmCluster, tmp_path):
    """Parsl's own behaviour, and what the service does about it (``enginewatch``): the
    executor never notices its interchange is gone, so its tasks never end and shutdown()
    blocks; released, every task fails naming the interchange, the next one fails at once,
    and shutdown returns."""
    from gladier_jupyter.local.compute import enginewatch

    engine, job = start_engine(max_retries_on_system_failure=1)
    futures = _in_flight(engine, 3, tmp_path)
    assert enginewatch.lost_reason(engine) is None
    os.kill(engine.executor.interchange_proc.pid, signal.SIGKILL)
    (tmp_path / "release").touch()

    why = wait_until(lambda: enginewatch.lost_reason(engine), 10, "the interchange's exit seen")
    assert "SIGKILL" in why, why
    # Parsl alone: the block's workers are alive, the executor is not "bad", nothing ends
    # (the heartbeat threshold, 6 s, passes twice)
    with pytest.raises(TimeoutError):
        futures[0].result(timeout=12)
    assert not any(f.done() for f in futures) and not engine.executor.bad_state_is_set

    enginewatch.release(engine, why)
    outcomes = [_outcome(f, timeout=10) for f in futures]
    assert all(kind == "error" for kind, _ in outcomes), outcomes
    for _, text in outcomes:
        assert "interchange" in text and "SIGKILL" in text, text[-500:]
    # no attempt ran twice: the retry (max_retries_on_system_failure=1) failed at once
    attempts = [tmp_path / f"t{i}.attempts" for i in range(3)]
    assert all(len(a.read_text().split()) == 1 for a in attempts if a.exists())
    # the engine says so for the next task too, at once: no hang
    kind, text = _outcome(_submit(engine, where_am_i), timeout=10)
    assert kind == "error" and "interchange" in text, text[-500:]
    # and shutdown returns (the fixture then finds no job and no process of the engine)
    engine.executor.provider.cancel(list(engine.executor.blocks_to_job_id.values()))
    assert stop_engine(engine), "shutdown() of a released engine did not return within 30 s"


def test_shutdown_cancels_the_block_and_leaves_no_process(start_engine, slurm_cluster):
    engine, job = start_engine()
    interchange = engine.executor.interchange_proc.pid
    assert slurm_cluster.parsl_managers(job)
    assert stop_engine(engine), "shutdown() did not return within 30 s"
    wait_until(slurm_cluster.squeue_job_ids, 30, "the block job cancelled at shutdown",
               until=lambda ids: job not in ids)
    wait_until(lambda: _engine_processes(slurm_cluster, engine), 30,
               "no slurmstepd, worker pool or interchange left", until=lambda left: not left)
    assert gone(interchange)
