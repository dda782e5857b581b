"""Where each node and edge goes: a layered (Sugiyama) layout by grandalf, in pixels."""

from __future__ import annotations

import typing as t

from gladier_jupyter.flowgraph.labels import START, _clip
from gladier_jupyter.flowgraph.theme import THEME

__all__: list[str] = []

_NODE_W = THEME["sizes"]["node_w"]
_NODE_H = THEME["sizes"]["node_h"]
_MARK = THEME["sizes"]["mark"]  # start/end marker diameter


def _size(node: dict) -> tuple[float, float]:
    if node["kind"] in ("start", "end"):
        return _MARK, _MARK
    return _NODE_W, _NODE_H


_LABEL_ROOM_LIMIT = 80  # as in labextension/src/common/graph.ts


def _layout(model: dict) -> dict[str, t.Any]:
    """Layered coordinates with grandalf's Sugiyama layout.

    On small flows each labelled edge runs through a label-sized vertex, so the layering
    gives labels room of their own (as dagre does in the browser); big flows put labels on
    the edge's midpoint.
    """
    from grandalf.graphs import Edge, Graph, Vertex
    from grandalf.layouts import SugiyamaLayout

    class _View:
        def __init__(self, w: float, h: float) -> None:
            self.w, self.h = w, h
            self.xy = (0.0, 0.0)

    class _EdgeView:
        def __init__(self) -> None:
            self.points: list[tuple[float, float]] = []

        def setpath(self, pts: list) -> None:
            self.points = [tuple(p) for p in pts]

    vertices: dict[str, t.Any] = {}
    for node in model["nodes"]:
        v = Vertex(node["id"])
        v.view = _View(*_size(node))
        vertices[node["id"]] = v
    room = len(model["nodes"]) <= _LABEL_ROOM_LIMIT
    # per model edge: the chain of grandalf edges it is drawn along, and its label vertex
    chains: dict[str, list[t.Any]] = {}
    label_vertex: dict[str, t.Any] = {}
    grandalf_edges: list[t.Any] = []
    inverted: list[t.Any] = []
    seen_pairs: dict[tuple[str, str], t.Any] = {}

    def link(a: t.Any, b: t.Any, back: bool) -> t.Any:
        ge = Edge(a, b)
        ge.view = _EdgeView()
        grandalf_edges.append(ge)
        if back:
            inverted.append(ge)
        return ge

    # Only the first Catch into a state takes part in the layering (as in the browser): many
    # states catching into one handler would otherwise stretch long edges across the flow.
    caught: set[str] = set()
    deferred: set[str] = set()
    for e in model["edges"]:
        if e["source"] == e["target"]:
            continue
        if e["kind"] == "catch":
            if e["target"] in caught:
                deferred.add(e["id"])
                continue
            caught.add(e["target"])
        a, b = vertices[e["source"]], vertices[e["target"]]
        if room and e.get("label"):
            text = _clip(e["label"], 30)
            lv = Vertex(("label", e["id"]))
            lv.view = _View(len(text) * 5.8 + 10, 16)
            label_vertex[e["id"]] = lv
            chains[e["id"]] = [link(a, lv, bool(e.get("back"))), link(lv, b, bool(e.get("back")))]
        else:
            pair = (e["source"], e["target"])
            if pair not in seen_pairs:
                seen_pairs[pair] = link(a, b, bool(e.get("back")))
            chains[e["id"]] = [seen_pairs[pair]]
    all_vertices = list(vertices.values()) + list(label_vertex.values())
    graph = Graph(all_vertices, grandalf_edges)
    x_offset = 0.0
    for component in graph.C:
        sug = SugiyamaLayout(component)
        sug.xspace, sug.yspace = 30, 36 if room else 56
        roots = [v for v in component.sV if v.data == START] or [
            v for v in component.sV if not v.e_in()] or [component.sV[0]]
        # loops are drawn by inverting the edges that close them (found from the start)
        component_inverted = [ge for ge in inverted if ge in component.sE]
        sug.init_all(roots=roots, inverted_edges=component_inverted or None)
        sug.draw(3)
        xs = [v.view.xy[0] - v.view.w / 2 for v in component.sV]
        shift = x_offset - min(xs)
        for v in component.sV:
            v.view.xy = (v.view.xy[0] + shift, v.view.xy[1])
        for ge in component.sE:
            ge.view.points = [(x + shift, y) for x, y in ge.view.points]
        x_offset = max(v.view.xy[0] + v.view.w / 2 for v in component.sV) + 60
    pad = 24

    def box(v: t.Any) -> dict[str, float]:
        x, y = v.view.xy
        return {"x": x + pad, "y": y + pad, "w": v.view.w, "h": v.view.h}

    nodes_out = {nid: box(v) for nid, v in vertices.items()}

    def along(ge: t.Any, start: t.Any) -> list[tuple[float, float]]:
        raw = [(px + pad, py + pad) for px, py in ge.view.points]
        a = box(start)
        if not raw:
            return []
        if _dist(raw[0], (a["x"], a["y"])) > _dist(raw[-1], (a["x"], a["y"])):
            raw = raw[::-1]
        return raw

    edges_out: dict[str, dict[str, t.Any]] = {}
    side = max((n["x"] + n["w"] / 2 for n in nodes_out.values()), default=0) + 24
    for e in model["edges"]:
        a, b = nodes_out[e["source"]], nodes_out[e["target"]]
        label_at = None
        if e["id"] in deferred:  # out of the source's right side, along the edge, into the handler
            x = side + (len(edges_out) % 6) * 6
            pts = [(a["x"] + a["w"] / 2, a["y"]), (x, a["y"]), (x, b["y"] + 6),
                   (b["x"] + b["w"] / 2, b["y"] + 6)]
            label_at = (a["x"] + a["w"] / 2 + 40, a["y"] - 8)
        elif e["source"] == e["target"]:  # self loop: a small arc on the right
            x, y, w = a["x"], a["y"], a["w"]
            pts = [(x + w / 2, y - 8), (x + w / 2 + 30, y - 8), (x + w / 2 + 30, y + 8),
                   (x + w / 2, y + 8)]
            label_at = (x + w / 2 + 34, y)
        else:
            chain = chains[e["id"]]
            if e["id"] in label_vertex:
                lv = label_vertex[e["id"]]
                lb = box(lv)
                first = along(chain[0], vertices[e["source"]])
                second = along(chain[1], lv)
                pts = ([(a["x"], a["y"])] + first[1:-1] + [(lb["x"], lb["y"])] + second[1:-1]
                       + [(b["x"], b["y"])])
                label_at = (lb["x"], lb["y"])
            else:
                raw = along(chain[0], vertices[e["source"]])
                pts = [(a["x"], a["y"])] + raw[1:-1] + [(b["x"], b["y"])]
            pts[0] = _clip_to_box(pts[0], pts[1], a)
            pts[-1] = _clip_to_box(pts[-1], pts[-2], b)
        out: dict[str, t.Any] = {"points": [(round(x, 1), round(y, 1)) for x, y in pts]}
        if label_at is not None:
            out["label_at"] = (round(label_at[0], 1), round(label_at[1], 1))
        edges_out[e["id"]] = out
    boxes = list(nodes_out.values()) + [box(v) for v in label_vertex.values()]
    width = max((n["x"] + n["w"] / 2 for n in boxes), default=0) + pad + 40
    if deferred:
        width = max(width, side + 36 + pad)
    height = max((n["y"] + n["h"] / 2 for n in boxes), default=0) + pad
    return {"nodes": nodes_out, "edges": edges_out, "width": width, "height": height}


def _dist(p: tuple[float, float], q: tuple[float, float]) -> float:
    return abs(p[0] - q[0]) + abs(p[1] - q[1])


def _clip_to_box(center: tuple[float, float], toward: tuple[float, float], box: dict
                 ) -> tuple[float, float]:
    """Where the segment from a box's centre toward a point leaves the box."""
    cx, cy = center
    dx, dy = toward[0] - cx, toward[1] - cy
    if dx == 0 and dy == 0:
        return center
    hw, hh = box["w"] / 2, box["h"] / 2
    scale = min(hw / abs(dx) if dx else float("inf"), hh / abs(dy) if dy else float("inf"))
    return cx + dx * scale, cy + dy * scale


