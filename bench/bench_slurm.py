"""A 100-task fan-out through Globus Compute's engine on a real single-node Slurm cluster.

A ``GlobusComputeEngine`` (Parsl's HighThroughputExecutor) with Parsl's ``SlurmProvider``
(one block of one node, started on demand: no block before the first task) on the tests'
cluster (tests/_fixtures/slurm.py). Each repetition starts a new engine and measures, from
the first submit to the last result of ``--tasks`` no-op tasks packed as the web service
hands them to an endpoint:

- cold: the block job is submitted, scheduled, Parsl's worker pool starts in it;
- warm: the same again on the running block.

Prints the medians over the repetitions. Needs root and Debian's slurm-wlm + munge
(``make slurm``); otherwise it says why and exits 0.

    .venv/bin/python bench/bench_slurm.py [--tasks 100] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import pathlib
import statistics
import sys
import tempfile
import time
import uuid

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def noop(i):
    return i


def fan_out(engine, n: int) -> float:
    from globus_compute_endpoint.engines.base import GCFuture

    from tests._fixtures.slurm import packed_task, unpack_result

    tasks = [packed_task(noop, i) for i in range(n)]  # packing is the client's part
    start = time.perf_counter()
    futures = []
    for task_id, packed in tasks:
        future = GCFuture(task_id)
        engine.submit(future, packed, resource_specification={})
        futures.append(future)
    results = [unpack_result(f.result(timeout=600)) for f in futures]
    elapsed = time.perf_counter() - start
    assert results == list(range(n)), "a task's result is wrong"
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from tests._fixtures.slurm import VENV_BIN, slurm_engine, slurm_unavailable, start_cluster

    reason = slurm_unavailable()
    if reason:
        print(f"bench_slurm: skipped: {reason}")
        return
    t0 = time.perf_counter()
    with start_cluster() as cluster, tempfile.TemporaryDirectory(prefix="bench-slurm-") as runs:
        started = time.perf_counter() - t0
        os.environ.update(cluster.env)
        os.environ["PATH"] = f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"
        cold, warm, jobs = [], [], []
        for rep in range(args.repeat):
            cluster.wait_idle(60)
            engine = slurm_engine(cluster)
            engine.start(endpoint_id=uuid.uuid4(), run_dir=f"{runs}/{rep}")
            try:
                cold.append(fan_out(engine, args.tasks))
                warm.append(fan_out(engine, args.tasks))
                jobs.append(",".join(sorted(set(engine.executor.blocks_to_job_id.values()))))
            finally:
                engine.shutdown()
        load = os.getloadavg()[0]

    n = args.tasks
    print(f"Slurm cluster start (munged, slurmctld, slurmd; node idle): {started:.2f} s")
    print(f"{n}-task fan-out, GlobusComputeEngine + SlurmProvider, {cluster.cpus} workers on "
          f"one node, median of {args.repeat} (block jobs {' | '.join(jobs)}; load {load:.1f}):")
    print(f"{'':28} {'wall s':>8} {'tasks/s':>9}   runs (s)")
    for name, samples in (("cold (incl. block start)", cold), ("warm (block running)", warm)):
        med = statistics.median(samples)
        runs = ", ".join(f"{s:.2f}" for s in samples)
        print(f"{name:28} {med:8.2f} {n / med:9.1f}   {runs}")


if __name__ == "__main__":
    main()
