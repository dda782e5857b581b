// A flow graph's drawing without interaction: the graph model (what
// gladier_jupyter/flowgraph/graph.py makes), its layered top-down layout (dagre), and its SVG
// markup, both the live view's (graph.ts adds zoom, pan, selection and status to it) and the
// stand-alone document a saved notebook shows. Every state's <g> carries data-name (and
// data-state, the same), data-kind, data-problems and data-severity.
import dagre from "@dagrejs/dagre";
import {
  GRAPH_BG, GRAPH_EDGE, GRAPH_ERROR, GRAPH_FONT, GRAPH_MUTED, GRAPH_TEXT, GRAPH_WARN,
  KIND_STYLES, MARK, NODE_H, NODE_W, STROKE, STROKE_PROBLEM, shapeMarkup,
} from "./graphTheme";

export interface GraphProblem {
  code: string;
  message: string;
  path: string;
  state: string | null;
  severity: "error" | "warning" | string;
}

export interface GraphNode {
  id: string;
  name?: string;
  kind: string;
  type?: string | null;
  label?: string;
  caption?: string;
  problems?: number[];
  missing?: boolean;
  [key: string]: unknown;
}

export interface GraphEdge {
  id: string;
  source: string;
  target: string;
  kind: string;
  label?: string;
  back?: boolean;
  field?: string;
}

export interface GraphModel {
  name?: string;
  start?: string | null;
  nodes: GraphNode[];
  edges: GraphEdge[];
  problems?: GraphProblem[];
}

export interface Placed {
  nodes: Map<string, { x: number; y: number; w: number; h: number }>;
  edges: Map<string, { points: { x: number; y: number }[]; lx?: number; ly?: number }>;
  width: number;
  height: number;
}

/** Marks of a definition diff drawn on the graph (flowgraph/changes.py sets node.diff). */
export const DIFF_COLOURS: Record<string, string> = {
  added: "#2e7d32", removed: "#9e9e9e", changed: "#ef8f00",
};
const DIFF_FILLS: Record<string, string> = {
  added: "#e3f4e4", removed: "#f5f5f5", changed: "#fff1d6",
};

const esc = (s: unknown): string =>
  String(s ?? "").replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const clip = (s: string, n: number): string => (s.length <= n ? s : s.slice(0, n - 1) + "…");
export const isMarker = (kind: string): boolean => kind === "start" || kind === "end";

/** Small graphs reserve room for edge labels in the layout; big ones place labels on the
 * edge's midpoint instead (dagre doubles the ranks to make that room, which costs). */
const LABEL_ROOM_LIMIT = 80;
const ORDER_SWEEP_LIMIT = 150;

/** Layered top-down coordinates for every node and edge (dagre). */
export function layoutGraph(model: GraphModel): Placed {
  const g = new dagre.graphlib.Graph({ multigraph: true });
  g.setGraph({ rankdir: "TB", nodesep: 28, ranksep: 44, edgesep: 14, marginx: 24, marginy: 24 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const n of model.nodes) {
    const size = isMarker(n.kind) ? MARK : undefined;
    g.setNode(n.id, { width: size ?? NODE_W, height: size ?? NODE_H });
  }
  const roomForLabels = model.nodes.length <= LABEL_ROOM_LIMIT;
  // Only the first Catch into a state takes part in the layering: many states catching
  // into one handler would otherwise stretch long edges (and dummy nodes) across the flow.
  const caught = new Set<string>();
  const deferred: GraphEdge[] = [];
  for (const e of model.edges) {
    if (e.kind === "catch") {
      if (caught.has(e.target)) {
        deferred.push(e);
        continue;
      }
      caught.add(e.target);
    }
    const label = e.label ? clip(e.label, 30) : "";
    g.setEdge(e.source, e.target, label && roomForLabels
      ? { width: label.length * 5.8 + 10, height: 14, labelpos: "c" }
      : {}, e.id);
  }
  // dagre's crossing-reduction sweeps dominate on big flows (most are long chains that
  // its initial depth-first order already draws without crossings): skip them there.
  dagre.layout(g, { disableOptimalOrderHeuristic: model.nodes.length > ORDER_SWEEP_LIMIT });
  const nodes = new Map<string, { x: number; y: number; w: number; h: number }>();
  for (const n of model.nodes) {
    const p = g.node(n.id);
    nodes.set(n.id, { x: p.x ?? 0, y: p.y ?? 0, w: p.width, h: p.height });
  }
  const edges = new Map<string, { points: { x: number; y: number }[]; lx?: number; ly?: number }>();
  for (const e of model.edges) {
    const p = g.edge({ v: e.source, w: e.target, name: e.id });
    if (!p) continue;
    const points = (p.points ?? []) as { x: number; y: number }[];
    let lx = p.x, ly = p.y;
    if (e.label && !roomForLabels && points.length) {
      const mid = points[Math.floor(points.length / 2)];
      lx = mid.x;
      ly = mid.y;
    }
    edges.set(e.id, { points, lx, ly });
  }
  let width = g.graph().width ?? 0;
  // Deferred catches run out of the source's right side and into the handler's.
  deferred.forEach((e, i) => {
    const a = nodes.get(e.source), b = nodes.get(e.target);
    if (!a || !b) return;
    const x = Math.max(a.x + a.w / 2, b.x + b.w / 2) + 24 + (i % 6) * 6;
    const points = [
      { x: a.x + a.w / 2, y: a.y }, { x, y: a.y }, { x, y: b.y + 6 }, { x: b.x + b.w / 2, y: b.y + 6 },
    ];
    edges.set(e.id, { points, lx: a.x + a.w / 2 + 14, ly: a.y - 8 });
    width = Math.max(width, x + 24);
  });
  return { nodes, edges, width, height: g.graph().height ?? 0 };
}

function problemsOf(model: GraphModel, node: GraphNode): GraphProblem[] {
  const all = model.problems ?? [];
  return (node.problems ?? []).map((i) => all[i]).filter((p): p is GraphProblem => !!p);
}

/** The SVG markup of a laid-out graph (no event handling). `standalone`: the saved drawing,
 * painted inline (no stylesheet, no focus or click affordances). */
export function graphMarkup(model: GraphModel, placed: Placed, markerId: string, standalone = false): string {
  const out: string[] = [];
  out.push(
    `<defs><marker id="${markerId}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" ` +
    `markerHeight="7" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" ` +
    `style="fill:${GRAPH_EDGE}"/></marker></defs>`,
  );
  out.push('<g class="gj-edges">');
  for (const e of model.edges) {
    const p = placed.edges.get(e.id);
    if (!p || !p.points.length) continue;
    const d = "M" + p.points.map((q) => `${q.x.toFixed(1)},${q.y.toFixed(1)}`).join(" L");
    const catchEdge = e.kind === "catch";
    const removed = (e as GraphEdge & { removed?: boolean }).removed === true;
    out.push(
      `<path class="gj-edge gj-edge-${esc(e.kind)}${e.back ? " gj-edge-back" : ""}${removed ? " gj-edge-removed" : ""}" ` +
      `data-source="${esc(e.source)}" data-target="${esc(e.target)}" d="${d}" ` +
      `style="fill:none;stroke:${catchEdge ? GRAPH_WARN : GRAPH_EDGE};stroke-width:1.4` +
      `${catchEdge || removed ? ";stroke-dasharray:6 4" : ""}${removed ? ";opacity:.45" : ""}" marker-end="url(#${markerId})"/>`,
    );
    if (e.label && p.lx !== undefined && p.ly !== undefined) {
      out.push(
        `<text class="gj-edge-label" x="${p.lx.toFixed(1)}" y="${(p.ly + 3).toFixed(1)}" ` +
        `text-anchor="middle" style="fill:${GRAPH_MUTED};font-size:10px;paint-order:stroke;` +
        `stroke:${GRAPH_BG};stroke-width:3px"><title>${esc(e.label)}</title>` +
        `${esc(clip(e.label, 30))}</text>`,
      );
    }
  }
  out.push("</g><g class=\"gj-nodes\">");
  for (const n of model.nodes) {
    const b = placed.nodes.get(n.id);
    if (!b) continue;
    const style = KIND_STYLES[n.kind] ?? KIND_STYLES.unknown;
    const problems = problemsOf(model, n);
    const severity = problems.some((p) => p.severity === "error")
      ? "error" : problems.length ? "warning" : "";
    const diff = typeof n.diff === "string" && n.diff !== "unchanged" ? n.diff : "";
    const fnChanged = Array.isArray(n.diff_functions) && n.diff_functions.length > 0;
    const stroke = severity === "error" ? GRAPH_ERROR : severity === "warning" ? GRAPH_WARN
      : diff ? DIFF_COLOURS[diff] ?? style.stroke : style.stroke;
    const fill = diff ? DIFF_FILLS[diff] ?? style.fill : style.fill;
    const label = isMarker(n.kind) ? n.kind : (n.label ?? n.id);
    const tip = [label, n.caption, diff ? `${diff} state` : "",
      fnChanged ? "compute function source changed" : "",
      ...problems.map((p) => `${p.severity}: ${p.message}`)]
      .filter(Boolean).join("\n");
    const head =
      `<g class="gj-node gj-kind-${esc(n.kind)}" data-name="${esc(n.id)}" data-state="${esc(n.id)}" data-kind="${esc(n.kind)}" ` +
      `data-problems="${problems.length}" data-severity="${severity}"` +
      (typeof n.diff === "string" ? ` data-diff="${esc(n.diff)}"` : "") +
      (fnChanged ? ' data-function-changed="true"' : "") +
      (diff === "removed" ? ' opacity="0.55"' : "");
    out.push(standalone
      ? `${head}><title>${esc(tip)}</title>`
      : `${head} ` +
        (isMarker(n.kind) ? 'aria-hidden="true"' : `tabindex="0" role="button" aria-label="${esc(
          `${label}, ${n.caption ?? n.kind}${problems.length ? `, ${problems.length} problem(s)` : ""}`)}"`) +
        ` style="--gj-stroke:${stroke};--gj-fill:${fill};cursor:${isMarker(n.kind) ? "default" : "pointer"}">` +
        `<title>${esc(tip)}</title>`);
    const paint = standalone && !isMarker(n.kind)
      ? `fill:${fill};stroke:${stroke};stroke-width:${severity || diff ? STROKE_PROBLEM : STROKE}` +
        (diff === "removed" ? ";stroke-dasharray:6 4" : "") : undefined;
    out.push(shapeMarkup(n.kind, b.x, b.y, b.w, b.h, paint));
    if (!isMarker(n.kind)) {
      out.push(
        `<text x="${b.x}" y="${b.y - 3}" text-anchor="middle" style="fill:${GRAPH_TEXT};` +
        `font-weight:600;font-size:12px">${esc(clip(label, 26))}</text>` +
        `<text x="${b.x}" y="${b.y + 12}" text-anchor="middle" style="fill:${GRAPH_MUTED};` +
        `font-size:10px">${esc(clip(n.caption ?? style.caption, 32))}</text>`,
      );
    }
    if (severity) {
      const bx = b.x + b.w / 2 - 2, by = b.y - b.h / 2 + 2;
      out.push(
        `<g class="gj-problem-badge"><circle cx="${bx}" cy="${by}" r="8" style="fill:${stroke}"/>` +
        `<text x="${bx}" y="${by + 4}" text-anchor="middle" style="fill:#fff;font-size:11px;` +
        `font-weight:700">${problems.length}</text></g>`,
      );
    }
    if (fnChanged) {
      const fx = b.x - b.w / 2 + 2, fy = b.y - b.h / 2 + 2;
      out.push(
        `<g class="gj-function-badge"><title>compute function source changed</title>` +
        `<circle cx="${fx}" cy="${fy}" r="8" style="fill:${DIFF_COLOURS.changed}"/>` +
        `<text x="${fx}" y="${fy + 4}" text-anchor="middle" style="fill:#fff;font-size:11px;` +
        `font-weight:700;font-style:italic">f</text></g>`,
      );
    }
    out.push("</g>");
  }
  out.push("</g>");
  return out.join("");
}

/** A laid-out graph as a stand-alone SVG document: the saved form of the live drawing. */
export function graphSvg(model: GraphModel, placed: Placed): string {
  // dagre gives an empty graph -Infinity for its size
  const finite = (v: number): number => (Number.isFinite(v) && v > 0 ? Math.round(v) : 0);
  const width = finite(placed.width), height = finite(placed.height);
  const states = model.nodes.filter((n) => !isMarker(n.kind)).length;
  return `<svg xmlns="http://www.w3.org/2000/svg" class="gj-flow-svg" width="${width}" height="${height}" ` +
    `viewBox="0 0 ${width} ${height}" role="img" aria-label="Flow ${esc(model.name ?? "")}: ${states} states" ` +
    `style="font-family:${esc(GRAPH_FONT)};font-size:12px"><title>Flow ${esc(model.name ?? "")}</title>` +
    // a backdrop, so the drawing stays legible where it lands on a dark page as an image
    `<rect class="gj-backdrop" width="100%" height="100%" style="fill:${GRAPH_BG}"/>` +
    graphMarkup(model, placed, "gj-arrow", true) + "</svg>";
}
