"""The local Globus service: the tutorial flow (warm and cold), a 100-Pass chain against
moto's Step Functions interpreter, compute action overhead, 100 concurrent runs.

Run: .venv/bin/python bench/bench_local.py
"""

from __future__ import annotations

import datetime as dt
import json
import os
import pathlib
import statistics
import sys
import tempfile
import time
import uuid

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

_HOME = pathlib.Path(tempfile.mkdtemp(prefix="gladier-jupyter-bench-"))
os.environ["HOME"] = str(_HOME)  # gladier's ~/.gladier config stays out of the real home

from _util import action_seconds, compute_state_flow, median_ms, report  # noqa: E402

TERMINAL = ("SUCCEEDED", "FAILED", "ENDED")


def wait(fc, run_id: str, timeout: float = 120.0) -> dict:
    # A fixed 1 ms poll (the same for moto below) so the figure is the run, not the poll.
    deadline = time.monotonic() + timeout
    while True:
        run = fc.get_run(run_id).data
        if run["status"] in TERMINAL:
            return run
        if time.monotonic() > deadline:
            raise RuntimeError(f"run {run_id} still {run['status']}")
        time.sleep(0.001)


def chain(n: int) -> dict:
    return {
        "StartAt": "S0",
        "States": {
            f"S{i}": {"Type": "Pass", **({"Next": f"S{i + 1}"} if i < n - 1 else {"End": True})}
            for i in range(n)
        },
    }


def bench_tutorial(repeat: int = 10, cold_repeat: int = 3) -> None:
    from gladier_jupyter import backend, local
    from tests.local.test_tutorial_flow import MyGladierClient, tutorial_input

    tmp = _HOME / "experiments"
    tmp.mkdir()

    # Cold: a fresh state folder each time (new service, flow deployed, functions registered).
    colds = []
    state = _HOME / "tutorial-state-0"
    for i in range(cold_repeat):
        if i:
            local.stop(state)
        state = _HOME / f"tutorial-state-{i}"
        start = time.perf_counter()
        backend.use_local(state)
        fc = backend.flows_client()
        index = backend.search_client().post("/v1/index", data={"display_name": "bench", "description": "bench"}).data["id"]
        client = MyGladierClient(**backend.gladier_client_kwargs())
        run = client.run_flow(flow_input=tutorial_input(tmp, index))
        done = wait(fc, run["run_id"])
        colds.append(time.perf_counter() - start)
        assert done["status"] == "SUCCEEDED", done["details"]
    report("tutorial flow, cold (service start + deploy + register + run to SUCCEEDED)", colds, target_ms=2000)

    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        run = client.run_flow(flow_input=tutorial_input(tmp, index))
        done = wait(fc, run["run_id"])
        samples.append(time.perf_counter() - t0)
        assert done["status"] == "SUCCEEDED", done["details"]
    report("tutorial flow, warm (run_flow to SUCCEEDED)", samples, target_ms=500)

    # Server-side: FlowStarted -> FlowSucceeded from the run log timestamps.
    server = []
    for _ in range(repeat):
        run = client.run_flow(flow_input=tutorial_input(tmp, index))
        wait(fc, run["run_id"])
        entries = fc.get_run_logs(run["run_id"], limit=100)["entries"]
        first = dt.datetime.fromisoformat(entries[0]["time"])
        last = dt.datetime.fromisoformat(entries[-1]["time"])
        server.append((last - first).total_seconds())
    report("tutorial flow, warm, inside the engine (FlowStarted -> FlowSucceeded)", server)
    local.stop(state)


def bench_compute_overhead(repeat: int = 20) -> None:
    from globus_compute_sdk.serialize import DillCodeSource
    from globus_sdk import SpecificFlowClient

    from gladier_jupyter import backend, local

    state = _HOME / "compute-state"
    backend.use_local(state)
    fc = backend.flows_client()
    cc = backend.compute_client(code_serialization_strategy=DillCodeSource())
    fid = cc.register_function(_noop)
    definition = compute_state_flow(str(uuid.uuid4()), fid, {})
    flow = fc.create_flow("compute overhead", definition, {}).data
    sfc = SpecificFlowClient(flow["id"], authorizer=fc.authorizer)
    wait(fc, sfc.run_flow({}).data["run_id"])  # warm the worker
    samples = []
    for _ in range(repeat):
        run = sfc.run_flow({}).data
        wait(fc, run["run_id"])
        samples.append(action_seconds(fc.get_run_logs(run["run_id"], limit=100)["entries"]))
    report("compute action on a warm worker (ActionStarted -> ActionCompleted)", samples, target_ms=5)
    local.stop(state)


def _noop(**data):
    return None


def bench_pass_chain_vs_moto(repeat: int = 9, n: int = 100) -> None:
    from globus_sdk import SpecificFlowClient

    from gladier_jupyter import backend, local

    state = _HOME / "chain-state"
    backend.use_local(state)
    fc = backend.flows_client()
    flow = fc.create_flow("chain", chain(n), {}).data
    sfc = SpecificFlowClient(flow["id"], authorizer=fc.authorizer)
    wait(fc, sfc.run_flow({"x": 1}).data["run_id"])
    ours = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        done = wait(fc, sfc.run_flow({"x": 1}).data["run_id"])
        ours.append(time.perf_counter() - t0)
        assert done["status"] == "SUCCEEDED"
    local.stop(state)

    import boto3
    from moto import mock_aws

    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    theirs = []
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        sfn = boto3.client("stepfunctions", region_name="us-east-1")
        arn = sfn.create_state_machine(
            name="chain", definition=json.dumps(chain(n)),
            roleArn="arn:aws:iam::123456789012:role/sf",
        )["stateMachineArn"]
        for i in range(repeat + 1):
            t0 = time.perf_counter()
            ex = sfn.start_execution(stateMachineArn=arn, name=f"e{i}", input=json.dumps({"x": 1}))["executionArn"]
            while (status := sfn.describe_execution(executionArn=ex)["status"]) == "RUNNING":
                time.sleep(0.001)
            assert status == "SUCCEEDED", status
            if i:
                theirs.append(time.perf_counter() - t0)
    report(f"{n}-Pass chain, local service (start -> SUCCEEDED over HTTP)", ours)
    report(f"{n}-Pass chain, moto Step Functions interpreter (start -> SUCCEEDED)", theirs)
    ratio = median_ms(theirs) / median_ms(ours)
    print(f"ratio moto / local service: {ratio:.2f}x (target >= 2x: {'met' if ratio >= 2 else 'MISSED'})", flush=True)


def bench_concurrent(n: int = 100) -> None:
    from globus_sdk import SpecificFlowClient

    from gladier_jupyter import backend, local

    state = _HOME / "concurrent-state"
    backend.use_local(state)
    fc = backend.flows_client()
    definition = chain(5)
    definition["States"]["S4"] = {
        "Type": "Action", "ActionUrl": "https://actions.globus.org/hello_world",
        "Parameters": {"echo_string.$": "$.i"}, "ResultPath": "$.hello", "End": True,
    }
    flow = fc.create_flow("concurrent", definition, {}).data
    sfc = SpecificFlowClient(flow["id"], authorizer=fc.authorizer)
    t0 = time.perf_counter()
    ids = [sfc.run_flow({"i": str(i)}).data["run_id"] for i in range(n)]
    statuses = [wait(fc, rid)["status"] for rid in ids]
    elapsed = time.perf_counter() - t0
    ok = statuses.count("SUCCEEDED")
    print(f"{n} concurrent runs (5 states each, one action): {ok}/{n} SUCCEEDED in {elapsed * 1000:.0f} ms "
          f"-> {n / elapsed:.0f} runs/s", flush=True)
    local.stop(state)


def bench_service_start(repeat: int = 5) -> None:
    from gladier_jupyter import local

    samples = []
    for i in range(repeat):
        state = _HOME / f"start-{i}"
        t0 = time.perf_counter()
        local.ensure_running(state)
        samples.append(time.perf_counter() - t0)
        local.stop(state)
    report("service start (ensure_running, fresh state folder, until it answers)", samples, target_ms=1000)


if __name__ == "__main__":
    bench_service_start()
    bench_tutorial()
    bench_compute_overhead()
    bench_pass_chain_vs_moto()
    bench_concurrent()
    print(f"(medians; {statistics.__name__} over the samples shown)")
