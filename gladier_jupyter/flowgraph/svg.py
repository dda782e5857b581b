"""The graph as a static SVG (saved notebooks, nbconvert HTML, GitHub), themed like JupyterLab."""

from __future__ import annotations

import html
import typing as t

from gladier_jupyter.flowgraph.labels import _clip

__all__: list[str] = []

# Colours follow JupyterLab's theme variables, with light-theme fallbacks for places with
# no JupyterLab (GitHub, nbconvert HTML). Keep in step with labextension/src/common/theme.ts.
_KIND_STYLE = {  # (fill, stroke): translucent tints keep theme text legible, light or dark
    "compute": ("rgba(30,136,229,0.18)", "#1e88e5"),
    "search": ("rgba(126,87,194,0.18)", "#7e57c2"),
    "transfer": ("rgba(0,137,123,0.18)", "#00897b"),
    "action": ("rgba(96,125,139,0.18)", "#607d8b"),
    "pass": ("rgba(158,158,158,0.14)", "#9e9e9e"),
    "choice": ("rgba(249,168,37,0.2)", "#f9a825"),
    "wait": ("rgba(251,140,0,0.18)", "#fb8c00"),
    "fail": ("rgba(229,57,53,0.18)", "#e53935"),
    "expression": ("rgba(171,71,188,0.18)", "#ab47bc"),
    "unknown": ("rgba(117,117,117,0.12)", "#757575"),
    "missing": ("none", "var(--jp-error-color1, #d32f2f)"),
}
_TEXT = "var(--jp-ui-font-color1, #212121)"
_MUTED = "var(--jp-ui-font-color2, #616161)"
_EDGE = "var(--jp-ui-font-color2, #757575)"
_ERROR = "var(--jp-error-color1, #d32f2f)"
_WARN = "var(--jp-warn-color1, #f57c00)"
_BG = "var(--jp-layout-color0, #ffffff)"
_FONT = "var(--jp-ui-font-family, system-ui, -apple-system, 'Segoe UI', sans-serif)"


def _shape(kind: str, x: float, y: float, w: float, h: float, style: str) -> str:
    left, top, right, bottom = x - w / 2, y - h / 2, x + w / 2, y + h / 2
    if kind == "start":
        return f'<circle cx="{x}" cy="{y}" r="{w / 2}" style="fill:{_TEXT}"/>'
    if kind == "end":
        return (f'<circle cx="{x}" cy="{y}" r="{w / 2}" style="fill:none;stroke:{_TEXT};'
                f'stroke-width:2"/><circle cx="{x}" cy="{y}" r="{w / 2 - 5}" style="fill:{_TEXT}"/>')
    if kind == "choice":
        d = 14
        pts = [(left + d, top), (right - d, top), (right, y), (right - d, bottom),
               (left + d, bottom), (left, y)]
        return f'<polygon points="{_pts(pts)}" style="{style}"/>'
    if kind == "fail":
        d = 10
        pts = [(left + d, top), (right - d, top), (right, top + d), (right, bottom - d),
               (right - d, bottom), (left + d, bottom), (left, bottom - d), (left, top + d)]
        return f'<polygon points="{_pts(pts)}" style="{style}"/>'
    if kind == "expression":
        d = 12
        pts = [(left + d, top), (right, top), (right - d, bottom), (left, bottom)]
        return f'<polygon points="{_pts(pts)}" style="{style}"/>'
    rx = {"wait": h / 2, "pass": 2, "missing": 4}.get(kind, 10)
    dash = ";stroke-dasharray:5 3" if kind == "missing" else ""
    return (f'<rect x="{left}" y="{top}" width="{w}" height="{h}" rx="{rx}" '
            f'style="{style}{dash}"/>')


def _along(points: list, fraction: float) -> tuple[float, float]:
    """The point a fraction of the way along a polyline."""
    lengths = [abs(b[0] - a[0]) + abs(b[1] - a[1]) for a, b in zip(points, points[1:], strict=False)]
    goal = sum(lengths) * fraction
    for (a, b), length in zip(zip(points, points[1:], strict=False), lengths, strict=False):
        if goal <= length and length:
            f = goal / length
            return a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f
        goal -= length
    return points[-1]


def _pts(points: list[tuple[float, float]]) -> str:
    return " ".join(f"{round(px, 1)},{round(py, 1)}" for px, py in points)


def _esc(text: t.Any) -> str:
    return html.escape(str(text), quote=True)


def _svg(model: dict, layout: dict) -> str:
    width, height = round(layout["width"]), round(layout["height"])
    problems = model.get("problems", [])
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="gj-flow-svg" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="Flow {_esc(model.get("name"))}: {sum(1 for n in model["nodes"] if n["kind"] not in ("start", "end"))} states" '
        f'style="font-family:{_FONT};font-size:12px">',
        f"<title>Flow {_esc(model.get('name'))}</title>",
        # a backdrop, so the drawing stays legible where it lands on a dark page as an image
        f'<rect class="gj-backdrop" width="100%" height="100%" style="fill:{_BG}"/>',
        '<defs><marker id="gj-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        f'markerHeight="7" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" '
        f'style="fill:{_EDGE}"/></marker></defs>',
    ]
    for edge in model["edges"]:
        pts = layout["edges"][edge["id"]]["points"]
        dash = ";stroke-dasharray:6 4" if edge["kind"] == "catch" else ""
        colour = _WARN if edge["kind"] == "catch" else _EDGE
        path = "M" + " L".join(f"{x},{y}" for x, y in pts)
        out.append(f'<path class="gj-edge gj-edge-{edge["kind"]}" data-source="{_esc(edge["source"])}" '
                   f'data-target="{_esc(edge["target"])}" d="{path}" style="fill:none;stroke:{colour};'
                   f'stroke-width:1.4{dash}" marker-end="url(#gj-arrow)"/>')
        if edge.get("label"):
            mid = layout["edges"][edge["id"]].get("label_at") or _along(pts, 0.55)
            out.append(f'<text x="{round(mid[0], 1)}" y="{round(mid[1] + 3, 1)}" '
                       f'text-anchor="middle" style="fill:{_MUTED};font-size:10px;'
                       f'paint-order:stroke;stroke:{_BG};stroke-width:3px">'
                       f'<title>{_esc(edge["label"])}</title>{_esc(_clip(edge["label"], 30))}</text>')
    for node in model["nodes"]:
        box = layout["nodes"][node["id"]]
        x, y, w, h = box["x"], box["y"], box["w"], box["h"]
        kind = node["kind"]
        fill, stroke = _KIND_STYLE.get(kind, _KIND_STYLE["unknown"])
        node_problems = [problems[i] for i in node.get("problems", []) if i < len(problems)]
        worst = "error" if any(p["severity"] == "error" for p in node_problems) else (
            "warning" if node_problems else None)
        width_px = 2.5 if worst else 1.4
        stroke = _ERROR if worst == "error" else _WARN if worst == "warning" else stroke
        style = f"fill:{fill};stroke:{stroke};stroke-width:{width_px}"
        title = node["id"] if kind not in ("start", "end") else kind
        tip = "; ".join(p["message"] for p in node_problems)
        out.append(f'<g class="gj-node gj-kind-{kind}" data-name="{_esc(node["id"])}">'
                   f"<title>{_esc(title + (': ' + tip if tip else ''))}</title>")
        out.append(_shape(kind, round(x, 1), round(y, 1), w, h, style))
        if kind not in ("start", "end"):
            out.append(f'<text x="{round(x, 1)}" y="{round(y - 3, 1)}" text-anchor="middle" '
                       f'style="fill:{_TEXT};font-weight:600">{_esc(_clip(node["label"], 26))}</text>')
            caption = node.get("caption") or ("not defined" if kind == "missing" else "")
            out.append(f'<text x="{round(x, 1)}" y="{round(y + 12, 1)}" text-anchor="middle" '
                       f'style="fill:{_MUTED};font-size:10px">{_esc(_clip(caption, 32))}</text>')
        if worst:
            bx, by = x + w / 2 - 2, y - h / 2 + 2
            out.append(f'<circle cx="{round(bx, 1)}" cy="{round(by, 1)}" r="8" style="fill:'
                       f'{_ERROR if worst == "error" else _WARN}"/><text x="{round(bx, 1)}" '
                       f'y="{round(by + 4, 1)}" text-anchor="middle" style="fill:#fff;'
                       f'font-size:11px;font-weight:700">{len(node_problems)}</text>')
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out)


