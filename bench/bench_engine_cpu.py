"""CPU per log entry of the flow engine itself on bench_runaway_loop.py's Pass <-> Choice loop
over a 100 KB input (until the 25,000-entry limit stops it): the run's steps are driven in
this thread (no pool, no HTTP, no other runs), so CPU time measures the engine, the store and
the log shrinking only.

    .venv/bin/python bench/bench_engine_cpu.py [RUNS] [loop|count]   # default 3 loop

``count``: the loop's first state is an ExpressionEval adding 1 to a counter, so the run
data changes at every visit. Point ``PYTHONPATH`` at another checkout to measure its code;
alternate checkouts and compare medians (the CPU time of the same work varies on a shared
machine).
"""

from __future__ import annotations

import pathlib
import shutil
import statistics
import sys
import tempfile
import time

INPUT = {"input": {"go": True, "blob": "x" * 100_000}}
LOOP = {"StartAt": "Spin", "States": {
    "Spin": {"Type": "Pass", "Next": "Again"},
    "Again": {"Type": "Choice", "Choices": [
        {"Variable": "$.input.go", "BooleanEquals": True, "Next": "Spin"}], "Default": "Done"},
    "Done": {"Type": "Pass", "End": True}}}
COUNT = {"Type": "ExpressionEval", "Parameters": {"n.=": "n + 1", "input.$": "$.input"},
         "ResultPath": "$", "Next": "Again"}


def one_run(definition: dict, flow_input: dict) -> float:
    """Microseconds of CPU per log entry of one run."""
    from gladier_jupyter.local._http import ServiceContext
    from gladier_jupyter.local.flows.control import RunControl
    from gladier_jupyter.local.flows.service import FlowsService

    state_dir = pathlib.Path(tempfile.mkdtemp(prefix="bench-engine-cpu-"))
    try:
        ctx = ServiceContext(state_dir=state_dir, secret="bench")
        service = FlowsService(ctx)
        ctx.services["flows"] = service
        service.engine.launch = lambda run_id: None  # this thread moves the run instead
        flow = service.create_flow({"title": "runaway loop", "definition": definition})
        run_id = service.run_flow(flow["id"], {"body": flow_input})["run_id"]
        steps = service.engine._execute(run_id, RunControl(run_id, None))  # type: ignore[arg-type]
        start = time.process_time()
        for _pause in steps:  # a pure loop only ever hands its worker on
            pass
        cpu = time.process_time() - start
        return cpu * 1e6 / service.store.log_count(run_id)
    finally:
        shutil.rmtree(state_dir, ignore_errors=True)


def main(runs: int, kind: str) -> None:
    definition = {**LOOP, "States": {**LOOP["States"]}}
    flow_input: dict = INPUT
    if kind == "count":
        definition["States"]["Spin"] = COUNT
        flow_input = {**INPUT, "n": 0}
    figures = [one_run(definition, flow_input) for _ in range(runs)]
    print(f"{kind}: CPU per log entry {' '.join(f'{f:.0f}' for f in figures)} us, "
          f"median {statistics.median(figures):.0f} us")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3, sys.argv[2] if len(sys.argv) > 2 else "loop")
