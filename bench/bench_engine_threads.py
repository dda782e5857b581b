"""What runs that wait cost the local service: its threads and CPU time while N runs wait.

Starts N runs on a private local service, each waiting either on a long Wait state
(``wait``) or on a Compute task that sleeps (``compute``; the pool runs a few of them, the
others wait pending), lets them settle, then reads the service's thread count
(``Threads`` of ``/proc/<pid>/status``) and its CPU time (utime + stime of
``/proc/<pid>/stat``) over SECONDS of waiting. Linux only.

    .venv/bin/python bench/bench_engine_threads.py [N] [SECONDS] [wait|compute|both]
    # defaults: 100 10 both

Point ``PYTHONPATH`` at another checkout to measure its code (the service inherits it).
"""

from __future__ import annotations

import os
import pathlib
import shutil
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.append(str(ROOT))  # after PYTHONPATH, which chooses the code measured

from tests.reliability import _service as svc  # noqa: E402

WAIT = {"StartAt": "Hold", "States": {"Hold": {"Type": "Wait", "Seconds": 3600, "End": True}}}


def sleeper(**data):
    import time

    time.sleep(data.get("sleep", 600))
    return "woke"


def threads_of(pid: int) -> int:
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    raise RuntimeError(f"no Threads line for pid {pid}")


def cpu_seconds(pid: int) -> float:
    stat = pathlib.Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) "
    utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of proc(5)
    return (utime + stime) / os.sysconf("SC_CLK_TCK")


def measure(kind: str, n: int, seconds: float) -> dict[str, float]:
    state_dir = pathlib.Path(tempfile.mkdtemp(prefix=f"bench-threads-{kind}-"))
    try:
        with svc.private_service(state_dir / "svc") as info:
            fc = svc.flows_client(info)
            pid = info.pid
            time.sleep(1.0)  # compute workers and warm-up threads settle
            idle_threads = threads_of(pid)
            if kind == "wait":
                flow_id = svc.deploy(fc, WAIT)
                body: dict = {}
            else:
                fid = svc.compute_client(info).register_function(sleeper)
                flow_id = svc.deploy(fc, {"StartAt": "Compute", "States": {
                    "Compute": svc.compute_state(fid, wait_time=3600)}})
                body = {"input": {"sleep": 600}}
            run_ids = [svc.start(fc, flow_id, body)["run_id"] for _ in range(n)]
            time.sleep(2.0)  # every run reaches its waiting state
            active = sum(fc.get_run(r)["status"] == "ACTIVE" for r in run_ids)
            threads_start = threads_of(pid)
            cpu_start = cpu_seconds(pid)
            peak = threads_start
            t0 = time.monotonic()
            while time.monotonic() - t0 < seconds:
                time.sleep(0.5)
                peak = max(peak, threads_of(pid))
            cpu = cpu_seconds(pid) - cpu_start
            for run_id in run_ids:
                fc.cancel_run(run_id)
    finally:
        shutil.rmtree(state_dir, ignore_errors=True)
    return {"idle_threads": idle_threads, "threads": threads_start, "peak_threads": peak,
            "cpu_s": cpu, "active": active}


def main(n: int, seconds: float, kinds: list[str]) -> None:
    print(f"{n} runs waiting, {seconds:g} s measured, service code from "
          f"{os.environ.get('PYTHONPATH') or ROOT}")
    for kind in kinds:
        r = measure(kind, n, seconds)
        what = "a Wait of 1 h" if kind == "wait" else "a Compute task sleeping 600 s"
        print(f"{kind:8s} ({what}): {r['active']}/{n} runs ACTIVE; service threads "
              f"{r['idle_threads']} before the runs, {r['threads']} with them waiting "
              f"(peak {r['peak_threads']}); CPU {r['cpu_s']:.2f} s over {seconds:g} s "
              f"({100 * r['cpu_s'] / seconds:.1f} % of a core)", flush=True)


if __name__ == "__main__":
    args = sys.argv[1:]
    count = int(args[0]) if args else 100
    secs = float(args[1]) if len(args) > 1 else 10.0
    which = args[2] if len(args) > 2 else "both"
    main(count, secs, ["wait", "compute"] if which == "both" else [which])
