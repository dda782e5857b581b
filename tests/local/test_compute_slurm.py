"""Globus Compute's own engine runs tasks inside jobs of a real Slurm cluster.

A ``GlobusComputeEngine`` (Parsl's HighThroughputExecutor) with Parsl's ``SlurmProvider``
submits a block job to the session's single-node cluster (``slurm_cluster``) when the first
task arrives; Parsl's worker pool runs in that job and each task, packed as the web service
hands it to an endpoint, goes through ``execute_task`` there. A task reports the
``SLURM_JOB_ID`` it saw: it must be the block's job, one the controller allocated and
``squeue`` listed. An endpoint ``config.yaml`` written by ``write_endpoint_config`` builds,
through globus-compute-endpoint's own loader, an engine that does the same.
"""

from __future__ import annotations

import uuid

import pytest

from tests._fixtures.slurm import (
    SlurmCluster,
    packed_task,
    slurm_engine,
    unpack_result,
    write_endpoint_config,
)

pytestmark = [pytest.mark.slurm, pytest.mark.timeout(600)]


def where_am_i(tag):
    import os
    import socket

    return {"tag": tag, "job": os.environ.get("SLURM_JOB_ID"),
            "partition": os.environ.get("SLURM_JOB_PARTITION"),
            "host": socket.gethostname(), "pid": os.getpid(), "cwd": os.getcwd()}


def fails(message):
    raise ValueError(message)


def _submit(engine, fn, *args, **kwargs):
    from globus_compute_endpoint.engines.base import GCFuture

    task_id, packed = packed_task(fn, *args, **kwargs)
    future = GCFuture(task_id)
    engine.submit(future, packed, resource_specification={})
    return future


def _started(engine, run_dir):
    engine.start(endpoint_id=uuid.uuid4(), run_dir=str(run_dir))
    return engine


@pytest.fixture(scope="module")
def engine(slurm_cluster: SlurmCluster, tmp_path_factory):
    slurm_cluster.wait_idle()
    eng = _started(slurm_engine(slurm_cluster), tmp_path_factory.mktemp("slurm-endpoint"))
    try:
        yield eng
    finally:
        eng.shutdown()
        slurm_cluster.wait_idle(30)


def test_tasks_run_inside_the_block_job(engine, slurm_cluster: SlurmCluster):
    futures = [_submit(engine, where_am_i, i) for i in range(4)]
    results = [unpack_result(f.result(timeout=240)) for f in futures]
    running = slurm_cluster.squeue()  # the block is still up: it serves the next tasks

    jobs = {r["job"] for r in results}
    assert len(jobs) == 1 and None not in jobs, results
    (job,) = jobs
    assert running.get(job) == "R", (job, running)
    assert job in slurm_cluster.jobs_allocated()
    assert {r["partition"] for r in results} == {slurm_cluster.partition}
    assert {r["host"] for r in results} == {slurm_cluster.hostname}
    # Parsl's own record of the block agrees: its provider submitted that job
    assert job in set(engine.executor.blocks_to_job_id.values())
    # the engine's run directory is where execute_task runs the functions
    assert {r["cwd"] for r in results} == {str(engine.working_dir)}


def test_a_failing_task_comes_back_with_its_reason(engine):
    future = _submit(engine, fails, "bad input 42")
    with pytest.raises(RuntimeError, match=r"ValueError: bad input 42"):
        unpack_result(future.result(timeout=240))
    # and the engine serves the next task, in the same job
    assert unpack_result(_submit(engine, where_am_i, "after").result(timeout=240))["job"]


def test_endpoint_config_yaml_runs_tasks_in_slurm(slurm_cluster: SlurmCluster, tmp_path):
    """The config.yaml a real endpoint would read: globus-compute-endpoint's own loader
    builds the engine from it, and its tasks run in a Slurm job."""
    from globus_compute_endpoint.endpoint.config.utils import load_config_yaml

    path = write_endpoint_config(slurm_cluster, tmp_path / "slurm-ep")
    text = path.read_text()
    assert "type: GlobusComputeEngine" in text and "type: SlurmProvider" in text
    config = load_config_yaml(text)
    eng = config.engine
    assert type(eng.provider).__name__ == "SlurmProvider"
    assert eng.provider.partition == slurm_cluster.partition
    _started(eng, tmp_path / "run")
    try:
        result = unpack_result(_submit(eng, where_am_i, "yaml").result(timeout=240))
        assert result["job"] in slurm_cluster.jobs_allocated()
    finally:
        eng.shutdown()
    slurm_cluster.wait_idle(30)
