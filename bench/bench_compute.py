"""Compute task overhead on a warm local worker (median of many trivial tasks).

Measures, with a function that does nothing, the time from ``ComputeService.submit`` to
``wait`` returning its result: serialization of the arguments, the SQLite writes, the hand-
off to a worker subprocess over its pipe, deserialization there and the answer coming back.
Also the same through HTTP with a real globus-compute-sdk Client (run + get_result).

    .venv/bin/python bench/bench_compute.py [--tasks 300]
"""

from __future__ import annotations

import argparse
import asyncio
import pathlib
import secrets
import statistics
import sys
import tempfile
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=300)
    args = parser.parse_args()

    from globus_compute_sdk.serialize import ComputeSerializer, DillCodeSource

    from gladier_jupyter.local._http import ServiceContext
    from gladier_jupyter.local.compute import ComputeService, compute_client, routes

    state = pathlib.Path(tempfile.mkdtemp(prefix="bench-compute-"))
    ctx = ServiceContext(state_dir=state, secret=secrets.token_urlsafe(16))
    service = ComputeService(ctx, workers=2)
    ctx.services["compute"] = service
    ser = ComputeSerializer(strategy_code=DillCodeSource())
    fid = service.register_function(
        {"function_name": "noop", "function_code": ser.pack_buffers([ser.serialize(noop)])}
    )
    # warm both workers and load the function in each
    for _ in range(10):
        service.wait(service.submit(ENDPOINT, fid, [], {"x": 1}), timeout=60)

    in_process = []
    for i in range(args.tasks):
        t0 = time.perf_counter()
        doc = service.wait(service.submit(ENDPOINT, fid, [], {"x": i}), timeout=60)
        in_process.append(time.perf_counter() - t0)
        assert doc["result"] == i, doc

    in_worker = []
    for i in range(min(args.tasks, 100)):
        tid = service.submit(ENDPOINT, fid, [], {"x": i})
        service.wait(tid, timeout=60)
        tr = service.get_task(tid)["details"]["task_transitions"]
        in_worker.append(tr["execution-end"] - tr["execution-start"])

    base_url = _serve(ctx, routes)
    gcc = compute_client(base_url, ctx.secret, code_serialization_strategy=DillCodeSource())
    http_fid = gcc.register_function(noop)
    http = []
    for i in range(min(args.tasks, 100)):
        t0 = time.perf_counter()
        tid = gcc.run(endpoint_id=ENDPOINT, function_id=http_fid, x=i)
        service.wait(tid, timeout=60)
        assert gcc.get_result(tid) == i
        http.append(time.perf_counter() - t0)
    service.close()

    def ms(values):
        return f"median {statistics.median(values) * 1000:.2f} ms, p90 {sorted(values)[int(len(values) * 0.9)] * 1000:.2f} ms (n={len(values)})"

    print(f"in-process submit -> wait, warm worker: {ms(in_process)}")
    print(f"  of which inside the worker (deserialize args, call, serialize): {ms(in_worker)}")
    print(f"HTTP Client.run -> get_result, warm worker: {ms(http)}")
    target = statistics.median(in_process) * 1000
    print(f"target <= 5 ms per task (in-process): {'met' if target <= 5 else 'NOT met'}")


if __name__ == "__main__":
    main()
