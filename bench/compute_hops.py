"""Where a warm in-process Compute task's time goes, hop by hop (a diagnostic, not a target).

``.venv/bin/python bench/compute_hops.py [WORKERS]``: one in-process ComputeService on the
embedded default, 400 no-op tasks one after the other; each hop is timed by wrapping the
service's store, the slot pool's ``_send``/``_arrived`` and the task packing/decoding, and
printed as the median time from the previous mark. The wrapping adds about 0.05 ms per task.
"""

from __future__ import annotations

import pathlib
import secrets
import statistics
import sys
import tempfile
import time
from collections import defaultdict

ORDER = ["added>", "added", "running>", "running", "send>", "packed>", "packed", "sent",
         "submitted", "arrived>", "decoded", "finish>", "finish", "woke"]


def noop(**data):
    return data.get("x")


def main(workers: int = 2, tasks: int = 400) -> None:
    from globus_compute_sdk.serialize import ComputeSerializer, DillCodeSource

    from gladier_jupyter.local._http import ServiceContext
    from gladier_jupyter.local.compute import ComputeService, slots
    from gladier_jupyter.local.compute.endpoints import DEFAULT_ENDPOINT_ID

    marks: dict[str, dict[str, int]] = defaultdict(dict)
    current: dict[str, str] = {}
    now = time.perf_counter_ns

    def wrap(obj, name, label, task_of):
        inner = getattr(obj, name)

        def timed(*args, **kwargs):
            task = task_of(args)
            marks[task][label + ">"] = now()
            out = inner(*args, **kwargs)
            marks[task][label] = now()
            return out

        setattr(obj, name, timed)

    state = pathlib.Path(tempfile.mkdtemp(prefix="compute-hops-"))
    service = ComputeService(ServiceContext(state_dir=state, secret=secrets.token_urlsafe(16)),
                             workers=workers)
    ser = ComputeSerializer(strategy_code=DillCodeSource())
    fid = service.register_function(
        {"function_name": "noop", "function_code": ser.pack_buffers([ser.serialize(noop)])})
    for _ in range(10):  # warm every worker
        service.wait(service.submit(DEFAULT_ENDPOINT_ID, fid, [], {"x": 1}), timeout=120)
    wrap(service.store, "add_tasks", "added", lambda a: a[0][0]["task_id"])
    wrap(service.store, "mark_running", "running", lambda a: a[0])
    wrap(service.store, "finish", "finish", lambda a: a[0])
    wrap(service.pool, "_send", "send", lambda a: a[0].job.task_id)
    wrap(service.pool, "_arrived", "arrived", lambda a: a[0].job.task_id)
    wrap(slots, "pack_task", "packed", lambda a: a[0].task_id)
    decode = slots.outcome_from_result

    def decoded(packed, *args):
        out = decode(packed, *args)
        marks[current.get("task", "")]["decoded"] = now()
        return out

    slots.outcome_from_result = decoded
    totals = []
    for i in range(tasks):
        t0 = now()
        task_id = service.submit(DEFAULT_ENDPOINT_ID, fid, [], {"x": i})
        t1 = now()
        current["task"] = task_id
        service.wait(task_id, timeout=60)
        t2 = now()
        marks[task_id].update({"t0": t0, "submitted": t1, "woke": t2})
        marks[task_id]["sent"] = marks[task_id].get("send", t1)
        totals.append((t2 - t0) / 1e6)
    service.close()
    print(f"warm task, median of {tasks}: {statistics.median(totals):.3f} ms")
    previous = "t0"
    for mark in ORDER:
        gaps = [(m[mark] - m[previous]) / 1e6 for m in marks.values()
                if mark in m and previous in m and "t0" in m]
        if gaps:
            print(f"{previous:>10} -> {mark:<10} {statistics.median(gaps):.3f} ms")
            previous = mark


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2)
