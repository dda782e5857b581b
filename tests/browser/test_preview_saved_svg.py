"""A FlowPreview's saved image is the live view's own drawing: the page sends the SVG it drew
back to the kernel, which sanitizes it and puts it in the output (image/svg+xml) that a saved
notebook, nbconvert and GitHub show, in place of the SVG Python would lay out on its own."""

from __future__ import annotations

import json
import pathlib
import xml.etree.ElementTree as ET

import pytest

from gladier_jupyter.flowgraph.svg import _sanitize
from tests._fixtures.browser import run_notebook, screenshot
from tests._fixtures.waiting import wait_until

DATA = pathlib.Path(__file__).resolve().parents[1] / "data" / "definitions"
FLOWS = {"choice_loop": DATA / "valid" / "choice_loop.json",
         "many_problems": DATA / "broken" / "many_problems.json"}
SVG_NS = "{http://www.w3.org/2000/svg}"


def _definition(path: pathlib.Path) -> dict:
    data = json.loads(path.read_text())
    return data.get("definition", data)  # broken/ files hold {"definition", "problems"}


CELLS = ["%load_ext gladier_jupyter\nfrom gladier_jupyter.widgets import FlowPreview"] + [
    f"FlowPreview({_definition(path)!r})" for path in FLOWS.values()]

_SAVED_SVGS = """() => {
  const w = window.jupyterapp.shell.currentWidget;
  return w.content.widgets.slice(1).map((c) => {
    const out = c.model.outputs.toJSON().find((o) => o.output_type === 'display_data') || {};
    const svg = (out.data || {})['image/svg+xml'];
    return Array.isArray(svg) ? svg.join('') : (svg || '');
  });
}"""

# What the live view shows: every state's shape and every edge's path, by name.
_LIVE_GEOMETRY = """(root) => {
  const shapes = [...root.querySelectorAll('.gj-viewport g.gj-node')].map((g) => {
    const s = g.querySelector('.gj-shape, circle');
    return [g.dataset.name, s.tagName, ['x', 'y', 'cx', 'cy', 'points'].map((a) => s.getAttribute(a))];
  });
  const edges = [...root.querySelectorAll('.gj-viewport path.gj-edge')].map((p) =>
    [p.dataset.source, p.dataset.target, p.getAttribute('d')]);
  return { shapes, edges };
}"""


def _saved_geometry(svg: str) -> dict:
    root = ET.fromstring(svg)
    shapes = []
    for g in root.iter(f"{SVG_NS}g"):
        if "gj-node" not in (g.get("class") or "").split():
            continue
        shape = next(el for el in g if el.tag in {f"{SVG_NS}{n}" for n in ("rect", "circle", "polygon")})
        shapes.append([g.get("data-name"), shape.tag[len(SVG_NS):],
                       [shape.get(a) for a in ("x", "y", "cx", "cy", "points")]])
    edges = [[p.get("data-source"), p.get("data-target"), p.get("d")]
             for p in root.iter(f"{SVG_NS}path") if "gj-edge" in (p.get("class") or "")]
    return {"shapes": shapes, "edges": edges}


@pytest.mark.browser
def test_saved_preview_image_is_the_drawing_the_view_made(lab, page):
    run_notebook(lab, page, "preview_saved_svg", CELLS, wait_for=".gj-preview svg")
    roots = page.locator(".gj-preview")
    assert roots.count() == len(FLOWS)
    page.wait_for_function(
        "() => [...document.querySelectorAll('.gj-preview')].every((r) => r.dataset.drawn)",
        timeout=30_000, polling=200)
    drawn = [roots.nth(i).evaluate("(r) => r.gjDrawnSvg") for i in range(len(FLOWS))]
    expected = []
    for svg in drawn:
        clean, removed = _sanitize(svg)
        assert removed == [], f"the view drew what the sanitizer drops: {removed} in {svg[:200]}"
        expected.append(clean)
    # The kernel took the drawings and updated the outputs with them.
    def _diff(now: list[str]) -> str:
        for a, b in zip(now, expected, strict=True):
            if a != b:
                at = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
                return f"at {at}: {a[at - 80:at + 80]!r} vs {b[at - 80:at + 80]!r}"
        return ""

    wait_until(lambda: page.evaluate(_SAVED_SVGS), 30, "the outputs hold the views' drawings",
               until=lambda now: now == expected, context=lambda: _diff(page.evaluate(_SAVED_SVGS)))
    for i, svg in enumerate(expected):
        live = roots.nth(i).evaluate(_LIVE_GEOMETRY)
        assert live["shapes"] and live["edges"]
        assert _saved_geometry(svg) == live, list(FLOWS)[i]
    # The live views stayed (one per output) after their outputs were updated.
    assert page.locator(".gj-preview").count() == len(FLOWS)
    screenshot(page, "preview_saved_svg_live")

    page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    page.wait_for_function(
        "() => !window.jupyterapp.shell.currentWidget.context.model.dirty", timeout=30_000)
    nb = json.loads((lab.root_dir / "preview_saved_svg.ipynb").read_text(encoding="utf-8"))
    saved = []
    for cell in nb["cells"][1:]:
        [out] = [o for o in cell["outputs"] if o["output_type"] == "display_data"]
        svg = out["data"]["image/svg+xml"]
        saved.append("".join(svg) if isinstance(svg, list) else svg)
    assert saved == expected
    # What a viewer with no kernel sees: the saved drawings, side by side with nothing else.
    page.set_content("<html><body style='margin:8px'>" + "".join(saved) + "</body></html>")
    screenshot(page, "preview_saved_svg_file", full_page=True)
