"""Small helpers shared by the benchmarks: medians of repeated measurements."""

from __future__ import annotations

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
