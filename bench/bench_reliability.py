"""Reliability figures at full size (the tests run bounded sizes): 100 concurrent tutorial
runs with 20 live RunMonitors (throughput, peak RSS of the service), a soak of 1,000
sequential short runs (growth of open files, threads, RSS), and the whole reliability suite
at full size (faults, kills, bad inputs, property examples, leak scan) with its counts.

    .venv/bin/python bench/bench_reliability.py            # everything
    .venv/bin/python bench/bench_reliability.py --load     # load + soak only
    .venv/bin/python bench/bench_reliability.py --suite    # the full-size test suite only

Each part runs with its own HOME and service state folder in a temporary directory.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _isolated_env(tmp: pathlib.Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(HOME=str(tmp), GLADIER_JUPYTER_STATE_DIR=str(tmp / "local-service"),
               RELIABILITY_FULL="1", PYTHONPATH=str(ROOT))
    return env


_LOAD_SCRIPT = """
import json, pathlib, sys, tempfile
from tests.reliability import _load, _service as svc
tmp = pathlib.Path(tempfile.mkdtemp(prefix="bench-load-"))
with svc.private_service(tmp / "load") as info:
    load = _load.tutorial_load(info, tmp, 100, 20)
with svc.private_service(tmp / "soak") as info:
    soak = _load.soak(info, 1000, warmup=100)
print("FIGURES " + json.dumps({"load": load, "soak": soak}))
"""


def run_load() -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-rel-") as tmp:
        out = subprocess.run([sys.executable, "-c", _LOAD_SCRIPT], cwd=ROOT, env=_isolated_env(pathlib.Path(tmp)),
                             capture_output=True, text=True, timeout=3600)
    line = next((x for x in out.stdout.splitlines() if x.startswith("FIGURES ")), None)
    if line is None:
        sys.exit(f"load benchmark failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
    figures = json.loads(line[len("FIGURES "):])
    load, soak = figures["load"], figures["soak"]
    print(f"load: {load['succeeded']}/{load['runs']} tutorial runs SUCCEEDED with {load['monitors']} live monitors "
          f"(monitor logs match: {load['monitor_logs_match']}), {load['search_documents']} search documents; "
          f"{load['runs_per_second']:.1f} runs/s; peak RSS service {load['peak_service_rss_mb']:.0f} MB, "
          f"with compute workers {load['peak_service_with_workers_rss_mb']:.0f} MB")
    print(f"soak: {soak['runs']} short runs {soak['statuses']}, {soak['runs_per_second']:.1f} runs/s; growth after "
          f"warm-up: open files {soak['fd_growth']:+d}, threads {soak['thread_growth']:+d}, "
          f"RSS {soak['rss_growth_mb']:+.1f} MB (warm {soak['warm']}, end {soak['end']})")
    return figures


def run_suite() -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-rel-suite-") as tmp:
        out = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/reliability", "-rA"],
            cwd=ROOT, env=_isolated_env(pathlib.Path(tmp)), capture_output=True, text=True, timeout=3600)
    tail = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else out.stderr[-500:]
    counts = {k: int(v) for v, k in re.findall(r"(\d+) (passed|failed|error|skipped)", tail)}
    print(f"suite (full size): {tail}")
    return counts


if __name__ == "__main__":
    parts = set(sys.argv[1:]) or {"--load", "--suite"}
    result = {}
    if "--load" in parts:
        result["load"] = run_load()
    if "--suite" in parts:
        result["suite"] = run_suite()
        if result["suite"].get("failed") or result["suite"].get("error"):
            sys.exit(1)
