"""A runaway Pass <-> Choice loop over a 100 KB input on a private local service: how much the
flows database grows in N seconds, whether and when the run ends, what one run-monitor poll
(``LogReader.read_new``) returns and holds, and how long a normal run takes meanwhile.

    .venv/bin/python bench/bench_runaway_loop.py [SECONDS]      # default 15

Point ``PYTHONPATH`` at another checkout to measure its code (the service inherits it).
"""

from __future__ import annotations

import os
import pathlib
import shutil
import sys
import tempfile
import threading
import time
import tracemalloc

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.append(str(ROOT))  # after PYTHONPATH, which chooses the code measured

from tests.reliability import _service as svc  # noqa: E402

# The attack of tests/reliability/test_security_runs.py (kept here so that older checkouts,
# which lack that test, can be measured too).
ATTACK_INPUT = {"input": {"go": True, "blob": "x" * 100_000}}
LOOP = {"StartAt": "Spin", "States": {
    "Spin": {"Type": "Pass", "Next": "Again"},
    "Again": {"Type": "Choice", "Choices": [
        {"Variable": "$.input.go", "BooleanEquals": True, "Next": "Spin"}], "Default": "Done"},
    "Done": {"Type": "Pass", "End": True}}}
NORMAL = {"StartAt": "Before", "States": {
    "Before": {"Type": "Pass", "Next": "Hold"},
    "Hold": {"Type": "Wait", "Seconds": 0.2, "Next": "After"},
    "After": {"Type": "Pass", "End": True}}}


def _db_bytes(state_dir: pathlib.Path) -> int:
    return sum(p.stat().st_size for p in state_dir.glob("flows.sqlite3*"))


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far (Linux ``/proc``): the service's own
    work, which wall times on a shared machine do not show."""
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main(seconds: float) -> None:
    from gladier_jupyter.monitor import LogReader

    state_dir = pathlib.Path(tempfile.mkdtemp(prefix="bench-runaway-"))
    try:
        with svc.private_service(state_dir / "svc") as info:
            fc = svc.flows_client(info)
            loop_id, normal_id = svc.deploy(fc, LOOP), svc.deploy(fc, NORMAL)
            before = _db_bytes(state_dir / "svc")
            cpu0 = _cpu_seconds(info.pid)
            t0 = time.monotonic()
            run = svc.start(fc, loop_id, ATTACK_INPUT)
            reader, read = LogReader(run["run_id"]), {}

            def one_poll() -> None:
                start = time.monotonic()
                read["entries"] = len(reader.read_new(svc.flows_client(info)))
                read["seconds"] = time.monotonic() - start

            tracemalloc.start()
            threading.Thread(target=one_poll, daemon=True).start()
            time.sleep(1.0)
            normal_start = time.monotonic()
            normal = svc.wait_for_run(fc, svc.start(fc, normal_id, {"input": {}})["run_id"], 60)
            normal_s = time.monotonic() - normal_start
            ended = None
            while time.monotonic() - t0 < seconds:
                if fc.get_run(run["run_id"])["status"] != "ACTIVE":
                    ended = time.monotonic() - t0
                    break
                time.sleep(0.25)
            cpu = _cpu_seconds(info.pid) - cpu0
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            doc = fc.get_run(run["run_id"]).data
            print(f"runaway run: {doc['status']}" + (f" after {ended:.1f} s" if ended else f" after {seconds:.0f} s"))
            print(f"  reason: {(doc.get('details') or {}).get('description')}")
            print(f"  database grew {(_db_bytes(state_dir / 'svc') - before) / 1e6:.1f} MB, "
                  f"{svc.stored_counts(state_dir / 'svc')['log_entries']} log entries")
            entries = svc.stored_counts(state_dir / "svc")["log_entries"]
            print(f"  service CPU meanwhile: {cpu:.2f} s, {cpu / max(entries, 1) * 1e6:.0f} us per log entry")
            if read:
                print(f"  one monitor poll: {read['entries']} entries in {read['seconds']:.2f} s")
            else:
                print(f"  one monitor poll: still reading after {seconds:.0f} s")
            print(f"  kernel memory traced meanwhile: peak {peak / 1e6:.1f} MB")
            print(f"normal run meanwhile: {normal['status']} in {normal_s:.2f} s")
            if doc["status"] == "ACTIVE":
                fc.cancel_run(run["run_id"])
    finally:
        shutil.rmtree(state_dir, ignore_errors=True)


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 15.0)
