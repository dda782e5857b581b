"""Run monitor: state change -> widget update latency on the local service; requests per
minute per run with Globus polling against a slow run and a busy one; cell execution time
with 20 monitors watching vs none; the cost of one update (one new log entry) as the log of
a 500-state flow grows to 1k, 5k and 10k entries.

Run: .venv/bin/python bench/bench_monitor.py   (about 2 minutes; --quick: 20 s, no req/min;
--update-cost: only the update cost, no service, a few seconds)
"""

from __future__ import annotations

import datetime as dt
import os
import pathlib
import statistics
import sys
import tempfile
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

_HOME = pathlib.Path(tempfile.mkdtemp(prefix="gladier-jupyter-bench-"))
os.environ["HOME"] = str(_HOME)
os.environ["GLADIER_JUPYTER_STATE_DIR"] = str(_HOME / "local-service")

from _util import report  # noqa: E402

QUICK = "--quick" in sys.argv
DEBUG = "--debug" in sys.argv


def deploy(fc, definition: dict, title: str):
    import globus_sdk

    from gladier_jupyter import backend

    flow = fc.create_flow(title=title, definition=definition, input_schema={})
    return globus_sdk.SpecificFlowClient(
        flow["id"], authorizer=backend.authorizer_for(flow["globus_auth_scope"]))


def waits(n: int, seconds: float) -> dict:
    return {"StartAt": "W0", "States": {
        f"W{i}": {"Type": "Wait", "Seconds": seconds,
                  **({"Next": f"W{i + 1}"} if i < n - 1 else {"End": True})}
        for i in range(n)}}


def ts(iso: str) -> float:
    return dt.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def bench_latency(fc) -> None:
    """Service log time of each state change -> the widget trait showing it."""
    from gladier_jupyter.widgets.monitor import RunMonitor

    sfc = deploy(fc, waits(12, 0.35), "bench latency")
    samples: list[float] = []
    for _ in range(2 if QUICK else 4):
        run = sfc.run_flow({}, label="latency").data
        seen: dict[tuple[str, str], float] = {}
        created = time.time()
        monitor = RunMonitor(run, client=fc)

        def on_states(change, seen=seen):
            now = time.time()
            for name, info in change["new"].items():
                seen.setdefault((name, info["status"]), now)

        monitor.observe(on_states, "states")
        monitor.wait(120)
        for entry in monitor.entries:
            name = (entry.get("details") or {}).get("state_name")
            status = {"WaitStarted": "active", "WaitCompleted": "succeeded"}.get(entry["code"])
            if name and status and (name, status) in seen and ts(entry["time"]) > created:
                # A state that started and completed between two polls shows only its end.
                samples.append(seen[(name, status)] - ts(entry["time"]))
        monitor.close()
    samples.sort()
    report("state change -> widget trait update, local service", samples, target_ms=300)
    print(f"  p95 {samples[int(len(samples) * 0.95) - 1] * 1000:.1f} ms, "
          f"max {samples[-1] * 1000:.1f} ms over {len(samples)} state changes", flush=True)


def bench_page_latency() -> None:
    """Service log time of each state change -> the monitor in JupyterLab (Chromium) drawing it."""
    import json
    import secrets
    import shutil
    import socket
    import subprocess
    import urllib.request

    import nbformat
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        print("page latency: skipped (no Chromium)", flush=True)
        return
    base = pathlib.Path(tempfile.mkdtemp(prefix="gladier-jupyter-bench-lab-"))
    root = base / "root"
    root.mkdir()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    token = secrets.token_hex(16)
    lab = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         "--ServerApp.port_retries=0", "--allow-root", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={root}", "--LabApp.expose_app_in_browser=True"],
        env=dict(os.environ, TMPDIR=str(base)), stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2).read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        definition = waits(12, 0.35)
        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                     "language": "python"}
        nb.cells = [nbformat.v4.new_code_cell(
            "import globus_sdk, gladier_jupyter\n"
            "from gladier_jupyter import backend\n"
            "gladier_jupyter.use_local()\n"
            "fc = backend.flows_client()\n"
            f"flow = fc.create_flow(title='page latency', definition={definition!r}, "
            "input_schema={})\n"
            "sfc = globus_sdk.SpecificFlowClient(flow['id'], "
            "authorizer=backend.authorizer_for(flow['globus_auth_scope']))\n"
            "gladier_jupyter.RunMonitor(sfc.run_flow({}), client=fc)")]
        nbformat.write(nb, root / "latency.ipynb")
        samples: list[float] = []
        from gladier_jupyter import backend

        fc = backend.flows_client()
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, args=[
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"])
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            for _ in range(2 if QUICK else 3):
                print("  page: open", flush=True) if DEBUG else None
                page.goto(f"{url}/lab/tree/latency.ipynb?token={token}")
                page.wait_for_function(
                    "() => window.jupyterapp?.shell?.currentWidget?.sessionContext?.session"
                    "?.kernel?.status === 'idle'", timeout=60_000, polling=200)
                page.evaluate("() => window.jupyterapp.commands.execute("
                              "'notebook:run-all-cells')")
                print("  page: running", flush=True) if DEBUG else None
                try:
                    page.wait_for_selector('.gj-monitor[data-status="SUCCEEDED"]',
                                           timeout=20_000 if DEBUG else 60_000)
                except Exception:
                    if DEBUG:
                        page.screenshot(path="/tmp/bench_page.png")
                    raise
                root_el = page.locator(".gj-monitor")
                shown = json.loads(root_el.get_attribute("data-state-times"))
                run_id = root_el.get_attribute("data-run-id")
                # Changes before the view existed measure the first render, not an update.
                rendered = int(root_el.get_attribute("data-rendered-at")) / 1000.0
                for entry in fc.paginated.get_run_logs(run_id).items():
                    name = (entry.get("details") or {}).get("state_name")
                    status = {"WaitStarted": "active",
                              "WaitCompleted": "succeeded"}.get(entry["code"])
                    key = f"{name}:{status}"
                    if name and status and key in shown and ts(entry["time"]) > rendered:
                        samples.append(shown[key] / 1000.0 - ts(entry["time"]))
                page.goto("about:blank")
            browser.close()
        samples.sort()
        report("state change -> drawn in the JupyterLab page, local service", samples,
               target_ms=300)
        print(f"  p95 {samples[int(len(samples) * 0.95) - 1] * 1000:.1f} ms, "
              f"max {samples[-1] * 1000:.1f} ms over {len(samples)} state changes", flush=True)
    finally:
        lab.terminate()
        lab.wait(timeout=15)
        shutil.rmtree(base, ignore_errors=True)


def bench_update_cost() -> None:
    """One new log entry -> the monitor's update (derive + traits + what goes to the page),
    as the log of a 500-state flow (a loop over all of it) grows. Flat when an update costs
    the new entry, not the whole log."""
    import json

    import globus_sdk

    from gladier_jupyter.widgets.monitor import RunMonitor

    n_states = 500
    names = [f"S{i}" for i in range(n_states)]
    definition = {"StartAt": "S0", "States": {
        n: {"Type": "Pass", "Next": names[i + 1] if i + 1 < n_states else "Again"}
        for i, n in enumerate(names)}}
    definition["States"]["Again"] = {"Type": "Choice", "Choices": [
        {"Variable": "$.again", "BooleanEquals": True, "Next": "S0"}], "Default": "Done"}
    definition["States"]["Done"] = {"Type": "Pass", "End": True}

    def entry(k: int) -> dict:
        name = names[(k // 2) % n_states]
        code = "PassStarted" if k % 2 == 0 else "PassCompleted"
        return {"time": f"2026-01-01T00:{k // 6000 % 60:02d}:{k // 100 % 60:02d}.{k % 100:02d}+00:00",
                "code": code, "description": f"{code} {name}",
                "details": {"state_name": name, "state_type": "Pass",
                            "input" if code == "PassStarted" else "output": {"k": k, "x": "y" * 40}}}

    fc = globus_sdk.FlowsClient(base_url="http://127.0.0.1:9/flows-bench-unused")
    doc = {"run_id": "bench-run", "flow_id": "bench-flow", "status": "ACTIVE", "label": "bench"}
    monitor = RunMonitor(doc, client=fc, start=False)
    model = monitor.watcher.model
    model.definition = definition
    sent: list[int] = []
    comm = getattr(monitor, "comm", None)
    if comm is not None:
        send = comm.send

        def counting_send(data=None, metadata=None, buffers=None, **kw):
            sent.append(len(json.dumps(data, default=str)))
            return send(data=data, metadata=metadata, buffers=buffers, **kw)

        comm.send = counting_send
    rows = []
    for size in (1000, 5000, 10000):
        have = len(model.entries)
        model.add_entries(entry(k) for k in range(have, size - 21))
        monitor._apply(model)  # catch up, not timed
        times, sizes = [], []
        for _ in range(20):
            model.add_entries([entry(len(model.entries))])
            sent.clear()
            start = time.perf_counter()
            with monitor.hold_sync():
                monitor._apply(model)
            times.append(time.perf_counter() - start)
            sizes.append(sum(sent))
        times.sort()
        med = times[len(times) // 2] * 1000
        rows.append((size, med, statistics.median(sizes)))
        print(f"update cost, one new entry, log of {size} entries, {n_states}-state flow: "
              f"median {med:.2f} ms, {statistics.median(sizes) / 1024:.1f} KiB to the page",
              flush=True)
    print(f"  10k/1k ratio: time {rows[-1][1] / rows[0][1]:.2f}x, "
          f"bytes {rows[-1][2] / max(rows[0][2], 1):.2f}x", flush=True)
    monitor.close()


def bench_requests_per_minute(fc) -> None:
    """Globus polling policy against a slow run (one long Wait) and a busy one."""
    from gladier_jupyter import monitor

    slow_run = deploy(fc, waits(1, 75), "bench slow").run_flow({}).data
    busy_run = deploy(fc, waits(300, 0.2), "bench busy").run_flow({}).data
    local_run = deploy(fc, waits(1, 75), "bench slow local").run_flow({}).data
    watchers = {
        "Globus policy, slow run (nothing changes)": monitor.RunWatcher(
            fc, slow_run["run_id"], policy=monitor.GLOBUS_POLICY),
        "Globus policy, busy run (a state change every 0.2 s)": monitor.RunWatcher(
            fc, busy_run["run_id"], policy=monitor.GLOBUS_POLICY),
        "local policy, slow run": monitor.RunWatcher(fc, local_run["run_id"]),
    }
    for w in watchers.values():
        w.start()
    time.sleep(60.0)
    for name, w in watchers.items():
        w.stop()
        print(f"requests per minute per run, {name}: {w.request_count} "
              f"({w.polls} polls)", flush=True)
    for run in (slow_run, busy_run, local_run):
        fc.cancel_run(run["run_id"])


def bench_cell_latency(fc) -> None:
    """A small cell's execution time in IPython with 20 monitors watching vs none."""
    from IPython.core.interactiveshell import InteractiveShell

    from gladier_jupyter.widgets.monitor import RunMonitor

    shell = InteractiveShell.instance()
    cell = "total = sum(i * i for i in range(20000))"

    def run_cells(n: int) -> list[float]:
        out = []
        for _ in range(n):
            start = time.perf_counter()
            shell.run_cell(cell, store_history=False, silent=True)
            out.append(time.perf_counter() - start)
            time.sleep(0.01)
        return out

    n = 100 if QUICK else 300
    run_cells(20)
    idle = run_cells(n)
    sfc = deploy(fc, waits(1, 300), "bench many monitors")
    runs = [sfc.run_flow({}).data for _ in range(20)]
    monitors = [RunMonitor(r, client=fc) for r in runs]
    time.sleep(1.0)
    busy = run_cells(n)
    polls = sum(m.watcher.polls for m in monitors)
    report("cell execution, no monitors", idle)
    report("cell execution, 20 monitors watching", busy)
    print(f"  ratio {statistics.median(busy) / statistics.median(idle):.2f}x; "
          f"threads: {threading.active_count()}; {polls} polls made", flush=True)
    for m, r in zip(monitors, runs, strict=True):
        m.close()
        fc.cancel_run(r["run_id"])



if __name__ == "__main__":
    if "--update-cost" in sys.argv:
        bench_update_cost()
        sys.exit(0)
    from gladier_jupyter import backend, local

    info = backend.use_local()
    try:
        fc = backend.flows_client()
        bench_update_cost()
        bench_latency(fc)
        bench_page_latency()
        bench_cell_latency(fc)
        if not QUICK:
            bench_requests_per_minute(fc)
    finally:
        local.stop(info.state_dir)
