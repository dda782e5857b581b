"""Compute: warm task overhead, throughput, and a cold tutorial run — this tree against another.

With a function that does nothing, on the embedded default (2 workers):
- in-process ``ComputeService.submit`` -> ``wait`` (what the flow engine's compute action
  pays), and the part inside the worker;
- HTTP: a real globus-compute-sdk ``Client.run`` + ``get_result``;
- 1,000 no-op tasks submitted at once, until the last ended: tasks/s;
- the same on a GlobusComputeEngine + LocalProvider endpoint (2 workers), where the tree
  has local endpoints; and its first task (interchange, block, manager start);
- the seed tutorial flow cold: service start + flow deploy + 2 functions + run to SUCCEEDED;
- a one-state compute flow run 20 times on the service process, one run at a time (the
  machine idle between tasks, as in a notebook): the action, and its task in the store.

Each measurement runs in a fresh process whose ``gladier_jupyter`` comes from the tree
given; ``--compare OLD`` runs OLD's the same way, alternating rounds, and prints both side
by side with the ratio new / old::

    git worktree add /work/wt/old-compute 0815767      # the hand-written worker pool
    .venv/bin/python bench/bench_compute.py --compare /work/wt/old-compute [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pathlib
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
ENDPOINT = "4b116d3c-1703-4f8f-9f6f-39921e5864df"


def noop(**data):
    return data.get("x")


def _serve(ctx, routes):
    import tornado.web

    ready = threading.Event()
    box = {}

    def run():
        async def main():
            app = tornado.web.Application(
                [(f"/api/compute/{p}", h, kw) for p, h, kw in routes(ctx)]
            )
            server = app.listen(0, address="127.0.0.1")
            box["port"] = next(iter(server._sockets.values())).getsockname()[1]
            ready.set()
            await asyncio.Event().wait()

        asyncio.run(main())

    threading.Thread(target=run, daemon=True).start()
    ready.wait(10)
    return f"http://127.0.0.1:{box['port']}/api/compute"


def _throughput(service, endpoint_id, fid, n):
    t0 = time.perf_counter()
    ids = [service.submit(endpoint_id, fid, [], {"x": i}) for i in range(n)]
    for i, tid in enumerate(ids):
        doc = service.wait(tid, timeout=600)
        assert doc["result"] == i, doc
    return n / (time.perf_counter() - t0)


def _engine_floor(tasks: int) -> float | None:
    """Median ms of a bare ProcessPoolExecutor round trip that runs ``execute_task`` on a
    packed no-op task in a forkserver worker: what any task on the engine pays at least."""
    try:
        from gladier_jupyter.local.compute import _worker
    except ImportError:  # a tree without the engines
        return None
    import uuid
    from concurrent.futures import ProcessPoolExecutor

    from globus_compute_common import messagepack
    from globus_compute_common.messagepack.message_types import Task
    from globus_compute_endpoint.engines.helper import execute_task
    from globus_compute_sdk.serialize import ComputeSerializer, DillCodeSource

    ser = ComputeSerializer(strategy_code=DillCodeSource())  # as measure_warm registers it
    buffer = ser.pack_buffers([ser.serialize(noop), ser.serialize(()), ser.serialize({"x": 1})])
    run_dir = tempfile.mkdtemp(prefix="bench-floor-")
    endpoint = uuid.UUID(ENDPOINT)
    times = []
    with ProcessPoolExecutor(1, mp_context=_worker.forkserver_context()) as pool:
        for i in range(tasks + 20):
            tid = uuid.uuid4()
            packed = messagepack.pack(Task(task_id=tid, task_buffer=buffer))
            t0 = time.perf_counter()
            packed_result = pool.submit(execute_task, task_id=tid, task_body=packed,
                                        endpoint_id=endpoint, run_dir=run_dir).result()
            if i >= 20:
                times.append(time.perf_counter() - t0)
            result = messagepack.unpack(packed_result)
            assert not result.is_error, result.data  # the no-op really ran
    return statistics.median(times) * 1000


def measure_warm(tasks: int, bulk: int) -> dict:
    """Run in the child: the warm figures of the tree on sys.path."""
    from globus_compute_sdk.serialize import ComputeSerializer, DillCodeSource

    from gladier_jupyter.local._http import ServiceContext
    from gladier_jupyter.local.compute import ComputeService, compute_client, routes

    state = pathlib.Path(tempfile.mkdtemp(prefix="bench-compute-"))
    htex = None
    try:
        from gladier_jupyter.local.compute import endpoints

        htex = endpoints.add(state, "htex", max_workers_per_node=2)
    except ImportError:  # a tree without local endpoints
        pass
    ctx = ServiceContext(state_dir=state, secret=secrets.token_urlsafe(16))
    service = ComputeService(ctx, workers=2)
    ctx.services["compute"] = service
    ser = ComputeSerializer(strategy_code=DillCodeSource())
    fid = service.register_function(
        {"function_name": "noop", "function_code": ser.pack_buffers([ser.serialize(noop)])}
    )
    for _ in range(10):  # warm both workers and load the function in each
        service.wait(service.submit(ENDPOINT, fid, [], {"x": 1}), timeout=120)

    in_process = []
    for i in range(tasks):
        t0 = time.perf_counter()
        doc = service.wait(service.submit(ENDPOINT, fid, [], {"x": i}), timeout=60)
        in_process.append(time.perf_counter() - t0)
        assert doc["result"] == i, doc
    in_worker = []
    for i in range(min(tasks, 100)):
        tid = service.submit(ENDPOINT, fid, [], {"x": i})
        service.wait(tid, timeout=60)
        tr = service.get_task(tid)["details"]["task_transitions"]
        start, end = (tr.get(k) for k in ("execution-start", "execution-end"))
        if start is None:  # execute_task's own names
            start, end = tr.get("exec-start"), tr.get("exec-end")
        in_worker.append(end - start)

    base_url = _serve(ctx, routes)
    gcc = compute_client(base_url, ctx.secret, code_serialization_strategy=DillCodeSource())
    http_fid = gcc.register_function(noop)
    http = []
    for i in range(min(tasks, 100)):
        t0 = time.perf_counter()
        tid = gcc.run(endpoint_id=ENDPOINT, function_id=http_fid, x=i)
        service.wait(tid, timeout=60)
        assert gcc.get_result(tid) == i
        http.append(time.perf_counter() - t0)

    floor = _engine_floor(tasks)
    out = {
        **({"engine_floor_ms": floor} if floor is not None else {}),
        "in_process_ms": statistics.median(in_process) * 1000,
        "in_worker_ms": statistics.median(in_worker) * 1000,
        "http_ms": statistics.median(http) * 1000,
        "default_tasks_per_s": _throughput(service, ENDPOINT, fid, bulk),
    }
    if htex is not None:
        t0 = time.perf_counter()
        service.wait(service.submit(htex.uuid, fid, [], {"x": 0}), timeout=600)
        out["htex_first_task_s"] = time.perf_counter() - t0
        out["htex_tasks_per_s"] = _throughput(service, htex.uuid, fid, bulk)
    service.close()
    return out


def measure_cold() -> dict:
    """Run in the child: one cold tutorial run (fresh state folder, the service started)."""
    home = pathlib.Path(tempfile.mkdtemp(prefix="bench-compute-cold-"))
    os.environ["HOME"] = str(home)  # gladier's ~/.gladier config stays out of the real home
    from gladier_jupyter import backend, local
    from tests.local.test_tutorial_flow import MyGladierClient, tutorial_input

    tmp = home / "experiments"
    tmp.mkdir()
    state = home / "state"
    start = time.perf_counter()
    backend.use_local(state)
    fc = backend.flows_client()
    index = backend.search_client().post(
        "/v1/index", data={"display_name": "bench", "description": "bench"}).data["id"]
    client = MyGladierClient(**backend.gladier_client_kwargs())
    run = client.run_flow(flow_input=tutorial_input(tmp, index))
    while (done := fc.get_run(run["run_id"]).data)["status"] not in ("SUCCEEDED", "FAILED"):
        time.sleep(0.001)
    took = time.perf_counter() - start
    local.stop(state)
    assert done["status"] == "SUCCEEDED", done["details"]
    return {"cold_tutorial_s": took}


def measure_flow(runs: int = 20) -> dict:
    """Run in the child: a one-state compute flow run again and again on the service
    process, as a notebook's flow runs (one task at a time, the machine idle in between):
    ActionStarted -> ActionCompleted, and the task's own created -> completed in the store."""
    import glob
    import sqlite3
    import uuid

    from _util import action_seconds, compute_state_flow

    home = pathlib.Path(tempfile.mkdtemp(prefix="bench-compute-flow-"))
    os.environ["HOME"] = str(home)
    from globus_compute_sdk.serialize import DillCodeSource
    from globus_sdk import SpecificFlowClient

    from gladier_jupyter import backend, local

    state = home / "state"
    backend.use_local(state)
    fc = backend.flows_client()
    fid = backend.compute_client(code_serialization_strategy=DillCodeSource()).register_function(
        noop)
    flow = fc.create_flow("bench", compute_state_flow(str(uuid.uuid4()), fid, {"x": 1}), {}).data
    sfc = SpecificFlowClient(flow["id"], authorizer=fc.authorizer)
    action = []
    for i in range(runs + 1):
        run_id = sfc.run_flow({}).data["run_id"]
        while fc.get_run(run_id).data["status"] not in ("SUCCEEDED", "FAILED"):
            time.sleep(0.02)
        if i == 0:  # the first warms the worker
            continue
        action.append(action_seconds(fc.get_run_logs(run_id, limit=100)["entries"]))
    local.stop(state)
    db = sqlite3.connect(glob.glob(str(state / "**" / "compute*.sqlite3"), recursive=True)[0])
    rows = db.execute("SELECT completion_t - created FROM tasks ORDER BY seq DESC LIMIT ?",
                      (runs,)).fetchall()
    return {"flow_action_ms": statistics.median(action) * 1000,
            "flow_task_ms": statistics.median(r[0] for r in rows) * 1000}


def _child(root: pathlib.Path, what: str, tasks: int, bulk: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(root)}
    code = (
        f"import sys, json; sys.path[:0] = [{str(root)!r}, {str(ROOT / 'bench')!r}]\n"
        "import bench_compute as b\n"
        f"print('RESULT ' + json.dumps(b.measure_{what}({f'{tasks}, {bulk}' if what == 'warm' else ''})))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=1800, cwd=str(root))
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")]
    if done.returncode or not lines:
        raise RuntimeError(f"{what} on {root} failed:\n{done.stderr[-3000:]}")
    return json.loads(lines[-1][len("RESULT "):])


_LABELS = {
    "in_process_ms": "warm task, in-process submit -> wait (ms)",
    "in_worker_ms": "  of which inside the worker (ms)",
    "engine_floor_ms": "  floor: bare ProcessPoolExecutor round trip of execute_task (ms)",
    "http_ms": "warm task, HTTP Client.run -> get_result (ms)",
    "default_tasks_per_s": "1,000 no-op tasks, embedded default (tasks/s)",
    "htex_first_task_s": "GlobusComputeEngine+LocalProvider, first task, cold (s)",
    "htex_tasks_per_s": "1,000 no-op tasks, GlobusComputeEngine+LocalProvider (tasks/s)",
    "cold_tutorial_s": "tutorial flow cold: service start .. SUCCEEDED (s)",
    "flow_action_ms": "compute state of a flow, one at a time: ActionStarted -> ActionCompleted (ms)",
    "flow_task_ms": "  its task, created -> completed in the store (ms)",
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=300, help="warm tasks timed one by one")
    parser.add_argument("--bulk", type=int, default=1000, help="tasks submitted at once")
    parser.add_argument("--rounds", type=int, default=3, help="fresh processes per figure")
    parser.add_argument("--compare", type=pathlib.Path, help="another tree (e.g. the old pool)")
    args = parser.parse_args()
    trees = {"new": ROOT, **({"old": args.compare.resolve()} if args.compare else {})}
    results: dict[str, dict[str, list[float]]] = {name: {} for name in trees}
    for _ in range(args.rounds):
        for what in ("warm", "cold", "flow"):
            for name, root in trees.items():  # alternate, so load drifts hit both alike
                for key, value in _child(root, what, args.tasks, args.bulk).items():
                    results[name].setdefault(key, []).append(value)
    print(f"medians of {args.rounds} fresh processes each (load average "
          f"{os.getloadavg()[0]:.1f}); ratio = new / old")
    for key, label in _LABELS.items():
        new = results["new"].get(key)
        old = results.get("old", {}).get(key)
        cells = [f"{statistics.median(v):.2f}" if v else "—" for v in (new, old)]
        ratio = (f"{statistics.median(new) / statistics.median(old):.2f}x"
                 if new and old else "")
        print(f"| {label} | {cells[0]} | {cells[1] if args.compare else ''} | {ratio} |")


if __name__ == "__main__":
    main()
