"""``.=`` expression cost: per evaluation (in-process fast path vs the bounded worker), and a
50-state ExpressionEval flow run end to end through a local service.

Run: .venv/bin/python bench/bench_expressions.py  (PYTHONPATH picks the checkout measured)
"""

from __future__ import annotations

import os
import pathlib
import statistics
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

_HOME = pathlib.Path(tempfile.mkdtemp(prefix="gladier-jupyter-bench-"))
os.environ["HOME"] = str(_HOME)

SMALL = {"input": {"name": "scan", "n": 7, "files": [f"f{i}.h5" for i in range(10)]}}
LARGE = {"input": {"name": "scan", "n": 7, "files": [f"/data/run/f{i:05d}.h5" for i in range(1000)]}}

CASES = [
    ("read + concat (cheap)", "input.name + '-' + str(input.n)", SMALL),
    ("len of 1000-item list (cheap)", "len(input.files) > 0", LARGE),
    ("multiply (worker)", "input.n * 2", SMALL),
    ("comprehension, 10 items (worker)", "[f for f in input.files if f.endswith('.h5')]", SMALL),
    ("comprehension, 1000 items (worker)", "[f for f in input.files if f.endswith('.h5')]", LARGE),
]


def per_evaluation(repeat: int = 2000) -> None:
    from gladier_jupyter.local.expressions import evaluate

    for name, expression, names in CASES:
        evaluate(expression, names)  # warm: parse caches, worker started
        samples = []
        for _ in range(repeat):
            start = time.perf_counter()
            evaluate(expression, names)
            samples.append(time.perf_counter() - start)
        print(f"evaluate {name}: median {statistics.median(samples) * 1e6:.1f} us over {repeat}",
              flush=True)


def flow_run(states: int = 50, repeat: int = 10) -> None:
    import globus_sdk

    from gladier_jupyter import local

    state_dir = _HOME / "service"
    info = local.ensure_running(state_dir)
    try:
        fc = globus_sdk.FlowsClient(base_url=info.service_url("flows"),
                                    authorizer=globus_sdk.AccessTokenAuthorizer(info.secret))
        for label, expression in (("cheap", "input.name + '-' + str(input.n)"),
                                  ("worker", "[f for f in input.files if f.endswith('.h5')]")):
            definition = {"StartAt": "S0", "States": {
                f"S{i}": {"Type": "ExpressionEval", "Parameters": {"v.=": expression},
                          "ResultPath": "$.v",
                          **({"Next": f"S{i + 1}"} if i < states - 1 else {"End": True})}
                for i in range(states)}}
            flow_id = fc.create_flow("bench", definition, {}).data["id"]
            samples = []
            for _ in range(repeat):
                start = time.perf_counter()
                run_id = fc.post(f"/flows/{flow_id}/run", data={"body": SMALL}).data["run_id"]
                while fc.get_run(run_id).data["status"] == "ACTIVE":
                    time.sleep(0.001)
                samples.append(time.perf_counter() - start)
            print(f"run of {states} ExpressionEval states ({label}): median "
                  f"{statistics.median(samples) * 1000:.1f} ms over {repeat}", flush=True)
    finally:
        local.stop(state_dir)


if __name__ == "__main__":
    per_evaluation()
    flow_run()
