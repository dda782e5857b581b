"""The seed tutorial's flow runs its compute states inside jobs of a real Slurm cluster.

A local endpoint is added with the product's own CLI (``python -m gladier_jupyter.local
endpoint add NAME --config config.yaml``): a ``GlobusComputeEngine`` whose Parsl
``SlurmProvider`` submits to the session's single-node cluster (``slurm_cluster``). A
private local service, started with the cluster's environment (``SLURM_CONF``, the venv
first on ``PATH``), runs the tutorial's unmodified gladier client with ``compute_endpoint``
set to that endpoint's UUID. The run must end SUCCEEDED, and each compute task's document
(``GET /v2/tasks/{id}``) must name the Slurm job it ran in: a job the controller allocated
and ``squeue`` listed, the one the endpoint's status reports as its provider's block. When
the service stops, its engine stops with it and no Slurm job is left.
"""

from __future__ import annotations

import os
import pathlib
import random
import subprocess
import sys

import psutil
import pytest

from gladier_jupyter.local import endpoints
from tests._fixtures.processes import gone
from tests._fixtures.runs import wait_for_run
from tests._fixtures.slurm import VENV_BIN, SlurmCluster, write_endpoint_config
from tests._fixtures.waiting import wait_until
from tests.data.magics.seed_decorator_tools import MyGladierClient
from tests.reliability import _service as svc

# a cold block on a loaded 2-core machine: ~30 s (sbatch, the job, Parsl's manager connecting)
pytestmark = [pytest.mark.slurm, pytest.mark.timeout(300)]

ROOT = pathlib.Path(__file__).resolve().parents[2]
RUN_WAIT = 240


def _add_endpoint(state: pathlib.Path, config: pathlib.Path) -> tuple[str, str]:
    """``endpoint add slurm --config config.yaml`` through the product's CLI: (name, uuid)."""
    done = subprocess.run(
        [sys.executable, "-m", "gladier_jupyter.local", "endpoint", "add", "slurm",
         "--config", str(config), "--state-dir", str(state)],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stderr
    name, endpoint_id = done.stdout.split()
    return name, endpoint_id


def _interchanges(service_pid: int) -> list[int]:
    found = []
    for proc in psutil.Process(service_pid).children(recursive=True):
        try:
            cmd = " ".join(proc.cmdline())
        except psutil.Error:
            continue
        if "interchange" in cmd:
            found.append(proc.pid)
    return found


def test_seed_tutorial_compute_states_run_inside_slurm_jobs(slurm_cluster: SlurmCluster, tmp_path):
    slurm_cluster.wait_idle()
    state = tmp_path / "state"
    config = write_endpoint_config(slurm_cluster, tmp_path / "slurm-endpoint")
    name, endpoint_id = _add_endpoint(state, config)
    added = endpoints.show(name, state_dir=state)
    assert added.uuid == endpoint_id
    assert added.describe()["provider"] == "SlurmProvider"
    before = set(slurm_cluster.jobs_allocated())

    cluster_env = {**slurm_cluster.env,
                   "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    with svc.private_service(state, **cluster_env) as info:
        service_pid = info.pid
        with svc.as_backend(info):
            from gladier_jupyter import backend

            search = svc.search_client(info)
            index = search.post("/beta/index", data={
                "display_name": "gladier-tutorial-slurm",
                "description": "A trial index for running my search tutorial"}).data["id"]
            experiment = tmp_path / f"file_{random.randint(1, 1000000)}.txt"
            flow_input = {"input": {
                "experiment": str(experiment),
                "subject": f"https://example.com/my-gladier-experiment/{experiment.name}",
                "compute_endpoint": endpoint_id,
                "search_index": index,
            }}
            client = MyGladierClient(**backend.gladier_client_kwargs())
            flow = client.run_flow(flow_input=flow_input, label=f"Slurm {experiment.name}")
            run = wait_for_run(svc.flows_client(info), flow["run_id"], timeout=RUN_WAIT)

        assert run["status"] == "SUCCEEDED", run["details"]
        output = run["details"]["output"]
        assert output["RunExperiment"]["details"]["result"] == [str(experiment)]
        assert output["PublishMetadata"]["status"] == "SUCCEEDED"
        assert not experiment.exists(), "gather_metadata (in the Slurm job) removed the file"

        # each compute task's document names the Slurm job (and Parsl block) it ran in
        tasks = svc.compute_client(info)._compute_web_client.v2
        placed = {}
        for state_name in ("RunExperiment", "GatherMetadata"):
            (task_id,) = output[state_name]["details"]["task_ids"]
            doc = tasks.get_task(task_id).data
            assert doc["status"] == "success", doc
            assert doc["details"]["endpoint_id"] == endpoint_id
            placed[state_name] = (doc["details"]["job_id"], doc["details"]["block_id"])
        jobs = {job for job, _block in placed.values()}
        new_jobs = set(slurm_cluster.jobs_allocated()) - before
        assert len(jobs) == 1 and jobs <= new_jobs, (placed, new_jobs)
        (job,) = jobs
        assert slurm_cluster.squeue().get(job) == "R"  # the block stays up for the next tasks

        # the endpoint's status, from Python: its provider's block job and the workers in it
        status = endpoints.status(name, state_dir=state)
        assert status.name == name and status.state == "running"
        assert status.blocks == {placed["RunExperiment"][1]: job}
        assert placed["GatherMetadata"][1] == placed["RunExperiment"][1]
        assert status.job_ids == [job]
        assert status.total_workers and status.total_workers >= 1
        details = status.details
        assert details["provider_type"] == "SlurmProvider"
        assert details["queue"] == slurm_cluster.partition
        assert job in details["node_info"], details  # Parsl's manager connected from that job
        interchanges = _interchanges(service_pid)
        assert interchanges

    # the service stopped its engine: the interchange is gone, the block job cancelled
    for pid in interchanges:
        wait_until(lambda pid=pid: gone(pid), 30, f"the engine's interchange {pid} ends")
    slurm_cluster.wait_idle(60)
    assert job not in slurm_cluster.squeue_job_ids()
