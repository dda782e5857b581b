"""What the magics cost in a kernel-like IPython shell, on the local service.

- ``%load_ext`` and the first ``%%gladier_tool`` in a fresh process, timed from inside the
  process: right after ``%load_ext`` (the cell waits for the rest of the background import of
  gladier + globus-compute-sdk) and 3 s after it (as a user typing the cell: target <= 150 ms);
- a warm ``%%gladier_tool`` (the seed's GatherMetadata cell: parse, run, serializability
  check, flow generation), ``%gladier_client`` with and without the FlowPreview widget;
- ``%gladier_run`` until the run is started, and until the seed's three-state flow has
  SUCCEEDED on the local service.

Run: .venv/bin/python bench/bench_magics.py
"""

from __future__ import annotations

import os
import pathlib
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from _util import median_ms, report, time_fresh_process, timed  # noqa: E402

DATA = ROOT / "tests" / "data" / "magics"
CELLS = [DATA / n for n in ("run_experiment.cell.py", "gather_metadata.cell.py", "publish_metadata.cell.yaml")]


def _shell():
    from IPython.testing.globalipapp import start_ipython

    shell = start_ipython()
    sys.modules["__main__"] = shell.user_module  # as in a kernel
    shell.run_line_magic("load_ext", "gladier_jupyter")
    return shell


def _ok(shell, cell: str) -> None:
    result = shell.run_cell(cell)
    if result.error_in_exec or result.error_before_exec:
        raise SystemExit(f"benchmark cell failed: {cell[:60]!r}: {result.error_in_exec}")


def main(repeat: int = 15, runs: int = 7) -> None:
    home = tempfile.mkdtemp(prefix="bench-magics-")
    os.environ["HOME"] = home
    os.environ["GLADIER_JUPYTER_STATE_DIR"] = str(pathlib.Path(home) / "local-service")

    fresh = (
        "import sys\n"
        "from IPython.testing.globalipapp import start_ipython\n"
        "sh = start_ipython(); sys.modules['__main__'] = sh.user_module\n"
        "_s = _t.perf_counter()\n"
        "assert sh.run_cell('%load_ext gladier_jupyter').success\n"
    )
    first_cell = (
        "_s = _t.perf_counter()\n"
        f"r = sh.run_cell(open({str(CELLS[0])!r}).read())\n"
        "assert r.success\n"
    )
    report("%load_ext gladier_jupyter (fresh process)", time_fresh_process(fresh, repeat=5, env=dict(os.environ)))
    cold = time_fresh_process(fresh + first_cell, repeat=5, env=dict(os.environ))
    report("first %%gladier_tool right after %load_ext (fresh process)", cold)
    typed = time_fresh_process(fresh + "_t.sleep(3)\n" + first_cell, repeat=5, env=dict(os.environ))
    report("first %%gladier_tool 3 s after %load_ext (fresh process)", typed, target_ms=150)

    from IPython.utils.capture import capture_output

    from gladier_jupyter import backend, local

    shell = _shell()
    for cell in CELLS:
        _ok(shell, cell.read_text())
    gather = CELLS[1].read_text()
    report("%%gladier_tool GatherMetadata (warm)", timed(lambda: _ok(shell, gather), repeat))
    definition = CELLS[2].read_text()
    report("%%gladier_tool PublishMetadata --definition (YAML, warm)", timed(lambda: _ok(shell, definition), repeat))
    client_line = "%gladier_client MyGladierClient RunExperiment GatherMetadata PublishMetadata"
    report("%gladier_client --no-preview", timed(lambda: _ok(shell, client_line + " --no-preview"), repeat))

    def with_preview() -> None:
        with capture_output():
            _ok(shell, client_line)

    report("%gladier_client with FlowPreview", timed(with_preview, repeat))

    info = backend.use_local()
    try:
        index = backend.search_client().create_index("bench", "magics benchmark")["id"]
        flows = backend.flows_client()
        started, finished = [], []
        for i in range(runs):
            shell.user_ns["flow_input"] = {
                "input": {
                    "experiment": f"{home}/file_{i}.txt",
                    "subject": f"https://example.com/bench/file_{i}.txt",
                    "compute_endpoint": "4b116d3c-1703-4f8f-9f6f-39921e5864df",
                    "search_index": index,
                }
            }
            t0 = time.perf_counter()
            with capture_output():
                _ok(shell, "%gladier_run MyGladierClient flow_input --no-monitor --out run")
            started.append(time.perf_counter() - t0)
            run_id = shell.user_ns["run"]["run_id"]
            while (status := flows.get_run(run_id)["status"]) == "ACTIVE":
                time.sleep(0.02)
            if status != "SUCCEEDED":
                raise SystemExit(f"run {run_id} ended {status}")
            finished.append(time.perf_counter() - t0)
        # the first run registers the functions and deploys the flow; report the steady state too
        report("%gladier_run until started (first run: registers + deploys)", started[:1])
        report("%gladier_run until started (later runs)", started[1:])
        report("%gladier_run to SUCCEEDED, seed flow (later runs)", finished[1:])
        print(f"ratio run-to-SUCCEEDED / run-start: {median_ms(finished[1:]) / median_ms(started[1:]):.1f}x")
    finally:
        local.stop(info.state_dir)


if __name__ == "__main__":
    main()
