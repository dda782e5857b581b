"""Load and soak drivers shared by ``test_load.py`` (bounded sizes) and
``bench/bench_reliability.py`` (full sizes): each returns its figures as a dict."""

from __future__ import annotations

import concurrent.futures
import os
import pathlib
import threading
import time
import typing as t
import uuid

import globus_sdk

from tests._fixtures.data import load_json
from tests._fixtures.waiting import wait_until
from tests.reliability import _service as svc


def proc_figures(pid: int) -> dict[str, int]:
    """RSS (bytes), threads and open files of a process, from /proc."""
    status = pathlib.Path(f"/proc/{pid}/status").read_text()
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    return {
        "rss": int(fields["VmRSS"].split()[0]) * 1024,
        "threads": int(fields["Threads"]),
        "fds": len(os.listdir(f"/proc/{pid}/fd")),
    }


def tree_rss(pid: int) -> int:
    """RSS of a process and its descendants (the compute workers: children of the
    forkserver the service started)."""
    parents: dict[int, list[int]] = {}
    for entry in pathlib.Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        parents.setdefault(ppid, []).append(int(entry.name))
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            total += proc_figures(current)["rss"]
        except (OSError, ValueError, KeyError):
            continue
        todo.extend(parents.get(current, []))
    return total


class PeakSampler:
    """Samples the service's RSS (alone and with its workers) in a thread."""

    def __init__(self, pid: int, every: float = 0.05) -> None:
        self.pid, self.every = pid, every
        self.peak_service = self.peak_tree = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: t.Any) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak_service = max(self.peak_service, proc_figures(self.pid)["rss"])
                self.peak_tree = max(self.peak_tree, tree_rss(self.pid))
            except (OSError, KeyError):
                pass
            self._stop.wait(self.every)


def tutorial_load(info: t.Any, tmp: pathlib.Path, n_runs: int, n_monitors: int) -> dict[str, t.Any]:
    """``n_runs`` runs of the tutorial flow started at once (8 threads), ``n_monitors`` live
    RunMonitors on them in this process; waits for all and checks nothing was lost."""
    from gladier_jupyter import backend
    from gladier_jupyter.widgets.monitor import RunMonitor
    from tests.local.test_tutorial_flow import MyGladierClient, tutorial_input

    with svc.as_backend(info):
        sc = svc.search_client(info)
        index_id = sc.post("/beta/index", data={"display_name": "load", "description": "load"}).data["id"]
        first = MyGladierClient(**backend.gladier_client_kwargs()).run_flow(
            flow_input=tutorial_input(tmp, index_id), label="load 0")
        fc = svc.flows_client(info)
        svc.wait_for_run(fc, first["run_id"])
        base_input = fc.get_run(first["run_id"]).data["details"]["output"]["input"]
        specific = globus_sdk.SpecificFlowClient(first["flow_id"], authorizer=svc.authorizer(info),
                                                 transport=svc.transport(info))

        def start_one(i: int) -> dict:
            name = f"load_{uuid.uuid4().hex[:8]}_{i}.txt"
            body = {"input": {**base_input, "experiment": str(tmp / name),
                              "subject": f"https://example.com/load/{name}"}}
            return specific.run_flow(body, label=f"load {i + 1}").data

        with PeakSampler(info.pid) as sampler:
            started_at = time.monotonic()
            with concurrent.futures.ThreadPoolExecutor(8) as pool:
                runs = list(pool.map(start_one, range(n_runs)))
            monitors = [RunMonitor(r["run_id"], client=svc.flows_client(info)) for r in runs[:n_monitors]]
            ends = [svc.wait_for_run(fc, r["run_id"], timeout=600) for r in runs]
            finished_at = time.monotonic()
            monitor_status = [m.wait(120) for m in monitors]
        monitor_logs_match = all(
            [e["code"] for e in m.entries] == [e["code"] for e in svc.run_log(fc, r["run_id"])]
            for m, r in zip(monitors, runs, strict=False))
        for m in monitors:
            m.close()
        subjects = set()
        for page in range(0, n_runs + 1, 100):
            found = sc.post(f"/v1/index/{index_id}/search",
                            data={"q": "load", "limit": 100, "offset": page}).data
            subjects.update(g["subject"] for g in found["gmeta"])
    return {
        "runs": n_runs,
        "monitors": n_monitors,
        "succeeded": sum(e["status"] == "SUCCEEDED" for e in ends),
        "statuses": sorted({e["status"] for e in ends}),
        "monitor_statuses": sorted(set(monitor_status)),
        "monitor_logs_match": monitor_logs_match,
        "search_documents": len({s for s in subjects if "/load/" in s}),
        "seconds": finished_at - started_at,
        "runs_per_second": n_runs / (finished_at - started_at),
        "peak_service_rss_mb": sampler.peak_service / 2**20,
        "peak_service_with_workers_rss_mb": sampler.peak_tree / 2**20,
    }


SHORT_FLOW = load_json("flows/reliability.json", "soak_short_run")


def soak(info: t.Any, n_runs: int, warmup: int) -> dict[str, t.Any]:
    """``n_runs`` short runs one after another; the service's RSS, threads and open files
    after ``warmup`` runs and at the end."""
    fc = svc.flows_client(info)
    flow_id = svc.deploy(fc, SHORT_FLOW, "soak")
    # The service warms its Compute engines up in the background after it starts (imports
    # of parsl and globus-compute-endpoint, the default's workers): that growth is the
    # start, not a leak, so the marks are taken once every worker of the default is up.
    cc = svc.compute_client(info)
    wait_until(lambda: cc.get_endpoint_status(str(uuid.uuid4()))["details"], 120,
               "the embedded Compute default's workers to be up",
               until=lambda d: d.get("total_workers", 0) >= d.get("managers", 1))
    statuses: dict[str, int] = {}
    marks: dict[str, dict[str, int]] = {}
    started = time.monotonic()
    for i in range(n_runs):
        run = svc.wait_for_run(fc, svc.start(fc, flow_id, {"n": i})["run_id"])
        statuses[run["status"]] = statuses.get(run["status"], 0) + 1
        if i + 1 == warmup:
            time.sleep(0.2)  # let finished run threads exit
            marks["warm"] = proc_figures(info.pid)
    elapsed = time.monotonic() - started
    time.sleep(0.2)
    marks["end"] = proc_figures(info.pid)
    return {
        "runs": n_runs,
        "statuses": statuses,
        "runs_per_second": n_runs / elapsed,
        "warm": marks["warm"],
        "end": marks["end"],
        "rss_growth_mb": (marks["end"]["rss"] - marks["warm"]["rss"]) / 2**20,
        "thread_growth": marks["end"]["threads"] - marks["warm"]["threads"],
        "fd_growth": marks["end"]["fds"] - marks["warm"]["fds"],
    }
