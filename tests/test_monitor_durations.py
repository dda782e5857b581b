"""Durations read the same in the live views (TypeScript) and the static snapshot (Python),
and a duration under a second shows in milliseconds, not "0.0 s"."""

from __future__ import annotations

import json
import pathlib
import shutil
import subprocess

import pytest

from gladier_jupyter import monitor
from gladier_jupyter.widgets.run_snapshot import _timeline_svg

ROOT = pathlib.Path(__file__).resolve().parent.parent
MONITOR_STATUS_TS = ROOT / "labextension" / "src" / "common" / "monitorStatus.ts"
ESBUILD = ROOT / "node_modules" / ".bin" / "esbuild"

CASES = {
    0: "0 ms",
    0.0002: "<1 ms",
    0.0004: "<1 ms",
    0.0005: "1 ms",
    0.012: "12 ms",
    0.34: "340 ms",
    0.9994: "999 ms",
    0.9996: "1.0 s",
    1: "1.0 s",
    1.25: "1.3 s",
    9.94: "9.9 s",
    9.96: "10 s",
    12.3: "12 s",
    59.4: "59 s",
    59.6: "1 min 00 s",
    185: "3 min 05 s",
    3725: "1 h 02 min",
    -1: "",
    float("nan"): "",
    float("inf"): "",
}


def test_python_durations_under_a_second_are_milliseconds():
    assert {s: monitor.format_duration(s) for s in CASES} == CASES


def test_the_static_timeline_tooltip_gives_a_short_state_in_ms():
    svg = _timeline_svg([
        {"state": "Quick", "start": "2026-01-01T00:00:00.000+00:00",
         "end": "2026-01-01T00:00:00.340+00:00", "status": "succeeded"},
        {"state": "Slow", "start": "2026-01-01T00:00:00.340+00:00",
         "end": "2026-01-01T00:00:03.340+00:00", "status": "succeeded"},
    ])
    assert "<title>340 ms</title>" in svg and "<title>3.0 s</title>" in svg


@pytest.mark.skipif(shutil.which("node") is None or not ESBUILD.exists(),
                    reason="needs node and the npm dev dependencies (npm ci)")
def test_typescript_format_duration_gives_the_same_text_as_python(tmp_path):
    bundle = tmp_path / "monitorStatus.mjs"
    subprocess.run([str(ESBUILD), str(MONITOR_STATUS_TS), "--bundle", "--format=esm",
                    "--log-level=error", f"--outfile={bundle}"], check=True, timeout=60)
    inputs = [s for s in CASES if s == s and abs(s) != float("inf")]  # JSON has no NaN/inf
    script = (f"import {{ formatDuration }} from {json.dumps(bundle.as_uri())};\n"
              f"const xs = {json.dumps(inputs)}.concat([NaN, Infinity]);\n"
              "console.log(JSON.stringify(xs.map(formatDuration)));\n")
    out = subprocess.run(["node", "--input-type=module", "-e", script], check=True,
                         capture_output=True, text=True, timeout=60).stdout
    got = json.loads(out)
    assert got[: len(inputs)] == [CASES[s] for s in inputs]
    assert got[len(inputs):] == ["", ""]
