"""Small helpers shared by the benchmarks: medians of repeated measurements, a one-state
compute flow and its action's time."""

from __future__ import annotations

import datetime as dt
import statistics
import subprocess
import sys
import time
import typing as t


def median_ms(samples: t.Sequence[float]) -> float:
    return statistics.median(samples) * 1000.0


def time_fresh_process(code: str, repeat: int = 15, env: dict[str, str] | None = None) -> list[float]:
    """Seconds spent inside ``code`` in a fresh interpreter, once per run.

    The interpreter's own start-up is excluded: the snippet is timed from inside.
    """
    wrapper = (
        "import time as _t\n_s = _t.perf_counter()\n"
        + code
        + "\nprint(_t.perf_counter() - _s)\n"
    )
    out = []
    for _ in range(repeat):
        res = subprocess.run(
            [sys.executable, "-c", wrapper], capture_output=True, text=True, check=True, env=env
        )
        out.append(float(res.stdout.strip().splitlines()[-1]))
    return out


def timed(fn: t.Callable[[], object], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def report(name: str, samples: t.Sequence[float], target_ms: float | None = None) -> str:
    med = median_ms(samples)
    line = f"{name}: median {med:.1f} ms over {len(samples)} runs"
    if target_ms is not None:
        line += f" (target <= {target_ms:g} ms: {'met' if med <= target_ms else 'MISSED'})"
    print(line, file=sys.stdout, flush=True)
    return line


def compute_state_flow(endpoint: str, function_id: str, payload: dict) -> dict:
    """A flow definition of one compute action state: ``function_id(**payload)`` on
    ``endpoint``."""
    return {"StartAt": "C", "States": {"C": {
        "Type": "Action", "ActionUrl": "https://compute.actions.globus.org",
        "Parameters": {"tasks": [{"endpoint": endpoint, "function": function_id,
                                  "payload": payload}]},
        "ResultPath": "$.r", "End": True}}}


def action_seconds(entries: t.Sequence[dict]) -> float:
    """ActionStarted -> ActionCompleted in a run's log entries, in seconds."""
    when = {e["code"]: dt.datetime.fromisoformat(e["time"]) for e in entries}
    return (when["ActionCompleted"] - when["ActionStarted"]).total_seconds()
