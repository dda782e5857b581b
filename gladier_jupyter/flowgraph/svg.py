"""The graph as a static SVG (saved notebooks, nbconvert HTML, GitHub), themed like JupyterLab."""

from __future__ import annotations

import html
import re
import typing as t

from gladier_jupyter.flowgraph.labels import _clip
from gladier_jupyter.flowgraph.theme import THEME

__all__: list[str] = []

# Colours follow JupyterLab's theme variables, with light-theme fallbacks for places with
# no JupyterLab (GitHub, nbconvert HTML): one table, theme.json, shared with the live view.
_KIND_STYLE = {kind: (style["fill"], style["stroke"]) for kind, style in THEME["kinds"].items()}
_TEXT = THEME["colours"]["text"]
_MUTED = THEME["colours"]["muted"]
_EDGE = THEME["colours"]["edge"]
_ERROR = THEME["colours"]["error"]
_WARN = THEME["colours"]["warn"]
_BG = THEME["colours"]["bg"]
_FONT = THEME["font"]
_STROKE = THEME["sizes"]["stroke"]
_STROKE_PROBLEM = THEME["sizes"]["stroke_problem"]


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
        width_px = _STROKE_PROBLEM if worst else _STROKE
        stroke = _ERROR if worst == "error" else _WARN if worst == "warning" else stroke
        style = f"fill:{fill};stroke:{stroke};stroke-width:{width_px}"
        title = node["id"] if kind not in ("start", "end") else kind
        tip = "\n".join(p["message"] for p in node_problems)  # one per line, no ".;"
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




# -- the view's own drawing, sent back from the page ---------------------------------------
#: Largest drawing a view may send back (characters); a 1,000-state flow draws in ~0.6 MB.
MAX_VIEW_SVG_CHARS = 4_000_000
_SVG_NS = "http://www.w3.org/2000/svg"
_MAX_DEPTH = 12  # the view nests svg > g > g > text > title

_NUM = re.compile(r"-?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?%?")
_NUMS = re.compile(r"[-\d.,e\s]*")
_PATH = re.compile(r"[MLHVZmlhvz\d.,e\s-]*")
_WORDS = re.compile(r"[\w\s-]*")
_ID = re.compile(r"[A-Za-z][\w-]*")
_MARKER_REF = re.compile(r"url\(#[A-Za-z][\w-]*\)")
# Inline styles: property lists of colours, lengths, var(--jp-…, fallback) and font names.
# No url(), no escapes, no at-rules, no comments: nothing in a style can load or run anything.
_STYLE = re.compile(r"[\w\s#%().,:;'\"+!-]*")
_STYLE_BANNED = re.compile(r"url\s*\(|expression|javascript|@|/\*|\\|image|binding|behavior",
                           re.IGNORECASE)


def _style_ok(value: str) -> bool:
    return bool(_STYLE.fullmatch(value)) and not _STYLE_BANNED.search(value)


def _free(value: str) -> bool:  # any text (escaped when written back)
    return True


_Check = t.Callable[[str], t.Any]
_COMMON: dict[str, _Check] = {"class": _WORDS.fullmatch, "style": _style_ok}
_GEOM: dict[str, _Check] = dict.fromkeys(("x", "y", "width", "height", "rx", "cx", "cy", "r"), _NUM.fullmatch)
#: The elements the view draws and, for each, the attributes it writes with their checks.
_ALLOWED: dict[str, dict[str, _Check]] = {
    "svg": {**_COMMON, "width": _NUM.fullmatch, "height": _NUM.fullmatch,
            "viewBox": _NUMS.fullmatch, "role": _WORDS.fullmatch, "aria-label": _free},
    "title": {},
    "defs": {},
    "marker": {"id": _ID.fullmatch, "viewBox": _NUMS.fullmatch, "refX": _NUM.fullmatch,
               "refY": _NUM.fullmatch, "markerWidth": _NUM.fullmatch,
               "markerHeight": _NUM.fullmatch, "orient": _WORDS.fullmatch},
    "g": {**_COMMON, "data-name": _free, "data-state": _free, "data-kind": _WORDS.fullmatch,
          "data-problems": _NUM.fullmatch, "data-severity": _WORDS.fullmatch,
          # a definition diff drawn on the graph (flowgraph/changes.py)
          "data-diff": _WORDS.fullmatch, "data-function-changed": _WORDS.fullmatch,
          "opacity": _NUM.fullmatch},
    "path": {**_COMMON, "d": _PATH.fullmatch, "data-source": _free, "data-target": _free,
             "marker-end": _MARKER_REF.fullmatch},
    "rect": {**_COMMON, **_GEOM, "stroke-dasharray": _NUMS.fullmatch},
    "circle": {**_COMMON, **_GEOM},
    "polygon": {**_COMMON, "points": _NUMS.fullmatch},
    "text": {**_COMMON, "x": _NUM.fullmatch, "y": _NUM.fullmatch,
             "text-anchor": _WORDS.fullmatch},
}
_TEXT_IN = {"title", "text"}  # the only elements whose text is kept


class UnsafeSVG(ValueError):
    """A drawing from a page that is not a flow graph the view could have drawn."""


def sanitize_svg(text: t.Any, *, max_chars: int = MAX_VIEW_SVG_CHARS) -> str:
    """The SVG a view sent back, rebuilt from only what the view itself draws.

    Elements other than the view's (``script``, ``foreignObject``, ``image``, ``use``, ``a``,
    ``style``…) are dropped with everything inside; attributes other than the view's
    (``on*``, ``href``, ``xlink:href``, ``src``…) are dropped, and so are values that fail
    their check (a ``style`` with ``url(``, a ``marker-end`` not pointing into the drawing).
    Raises :class:`UnsafeSVG` (one line) for what is not an SVG drawing at all: too long,
    not XML, a DOCTYPE/entity/processing instruction, nested too deep, a root other than
    ``<svg>``.
    """
    return _sanitize(text, max_chars=max_chars)[0]


def _sanitize(text: t.Any, *, max_chars: int = MAX_VIEW_SVG_CHARS) -> tuple[str, list[str]]:
    """(the sanitized SVG, what was removed as ``element`` / ``element@attribute``)."""
    import xml.etree.ElementTree as ET

    if not isinstance(text, str):
        raise UnsafeSVG(f"The view's drawing is a {type(text).__name__}, not SVG text; "
                        "nothing was saved.")
    if len(text) > max_chars:
        raise UnsafeSVG(f"The view's drawing has {len(text):,} characters, over the "
                        f"{max_chars:,} kept; the drawing from Python is saved instead.")
    if "<!" in text or "<?" in text:
        # No DOCTYPE, entity, CDATA, comment or processing instruction: the view writes
        # none, and refusing them before parsing leaves no entity expansion to abuse.
        raise UnsafeSVG("The view's drawing holds '<!' or '<?' (a DOCTYPE, entity, comment "
                        "or processing instruction), which the view never writes; nothing "
                        "was saved.")
    try:
        root = ET.fromstring(text)
    except ET.ParseError as err:
        raise UnsafeSVG(f"The view's drawing is not well-formed SVG ({err}); nothing was "
                        "saved.") from None
    if root.tag != f"{{{_SVG_NS}}}svg":
        raise UnsafeSVG(f"The view's drawing starts with {_clip(str(root.tag), 40)!r}, not "
                        "an SVG <svg> element; nothing was saved.")
    removed: list[str] = []
    out: list[str] = []
    _write(root, out, removed, 0)
    return "".join(out), removed


def _local_name(tag: t.Any) -> str | None:
    tag = str(tag)
    if tag.startswith(f"{{{_SVG_NS}}}"):
        return tag[len(_SVG_NS) + 2:]
    return None  # another namespace (xhtml, xlink…) or a comment/PI node


def _write(el: t.Any, out: list[str], removed: list[str], depth: int) -> None:
    name = _local_name(el.tag)
    allowed = _ALLOWED.get(name or "")
    if allowed is None or depth > _MAX_DEPTH:
        removed.append(str(name or el.tag))
        return
    attrs = []
    for key, value in el.attrib.items():
        check = allowed.get(key)
        if check is None or not check(value):
            removed.append(f"{name}@{key}")
            continue
        attrs.append(f' {key}="{_esc(value)}"')
    if name == "svg":
        attrs.insert(0, f' xmlns="{_SVG_NS}"')
    out.append(f"<{name}{''.join(attrs)}>")
    if name in _TEXT_IN and el.text:
        out.append(_esc(el.text))
    for child in el:
        _write(child, out, removed, depth + 1)
        if name in _TEXT_IN and child.tail:
            out.append(_esc(child.tail))
    out.append(f"</{name}>")
