"""FlowPreview: layout + draw of a 200-state flow, measured in Chromium with performance.now().

The built view (gladier_jupyter/static/preview.js, the same module JupyterLab loads) renders
the graph model FlowGraph makes from tests/data/definitions/valid/large_200_states.json into
a fresh element each run; the time covers dagre's layout, building the SVG and the
browser's style/layout pass (forced by reading the element's size). The Python side's
static SVG (grandalf layout, no browser) is timed too.

    .venv/bin/python bench/bench_preview.py [--runs 20]
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import shutil
import statistics
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gladier_jupyter.flowgraph import FlowGraph  # noqa: E402

DEFINITION = ROOT / "tests" / "data" / "definitions" / "valid" / "large_200_states.json"
BUNDLE = ROOT / "gladier_jupyter" / "static" / "preview.js"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage"]

PAGE_SCRIPT = """async ([src, state, runs]) => {
  const url = URL.createObjectURL(new Blob([src], {type: 'text/javascript'}));
  const widget = (await import(url)).default;
  const out = [];
  for (let i = 0; i < runs; i++) {
    const data = JSON.parse(JSON.stringify(state));
    const model = {get: (k) => data[k], set: (k, v) => { data[k] = v; }, save_changes() {},
                   on() {}, off() {}, send() {}};
    const el = document.createElement('div');
    el.style.width = '1200px';
    document.body.append(el);
    const t0 = performance.now();
    const cleanup = widget.render({model, el});
    el.getBoundingClientRect();  // force style + layout of what was drawn
    const total = performance.now() - t0;
    const root = el.querySelector('.gj-preview');
    out.push({total, layout: Number(root.dataset.layoutMs), draw: Number(root.dataset.drawMs),
              nodes: el.querySelectorAll('g.gj-node').length});
    cleanup();
    el.remove();
  }
  return out;
}"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    if not BUNDLE.is_file():
        sys.exit(f"{BUNDLE} is missing: run 'npm run build' first")

    definition = json.loads(DEFINITION.read_text())
    graph = FlowGraph.build(definition)
    states = sum(1 for n in graph.nodes if n["kind"] not in ("start", "end"))
    state = {"graph": graph.model, "problems": graph.model["problems"],
             "inputs": graph.inputs, "selected": "", "height": 600}

    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=shutil.which("chromium"), args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_content("<!doctype html><html><body></body></html>")
        warm = page.evaluate(PAGE_SCRIPT, [BUNDLE.read_text(), state, 3])
        runs = page.evaluate(PAGE_SCRIPT, [BUNDLE.read_text(), state, args.runs])
        browser.close()
    assert all(r["nodes"] == len(graph.nodes) for r in warm + runs), "not every node drawn"

    def med(key: str) -> float:
        return statistics.median(r[key] for r in runs)

    total = med("total")
    load = os.getloadavg()[0]
    print(f"preview of a {states}-state flow in Chromium ({args.runs} runs after 3 warm-up; "
          f"1-min load average {load:.1f} on {os.cpu_count()} cores):")
    print(f"  layout + draw: median {total:.1f} ms (target <= 300 ms: "
          f"{'met' if total <= 300 else 'MISSED'})")
    print(f"    dagre layout {med('layout'):.1f} ms, SVG build {med('draw'):.1f} ms")

    samples = []
    for _ in range(5):
        start = time.perf_counter()
        g = FlowGraph.build(definition)
        g.to_svg()
        samples.append((time.perf_counter() - start) * 1000)
    print(f"  static SVG in Python (graph model + grandalf layout + SVG): median "
          f"{statistics.median(samples):.1f} ms over 5 runs")


if __name__ == "__main__":
    main()
