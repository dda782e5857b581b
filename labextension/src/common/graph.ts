// The flow graph: a layered top-down drawing (dagre) of a graph model made by
// gladier_jupyter/flowgraph/graph.py, with zoom, pan, fit-to-view, keyboard selection, problem
// marks, and per-state run status (the run monitor reuses it through setStatus).
//
//   const view = renderGraph(container, model, { onSelect: (name) => ... });
//   view.setStatus("RunExperiment", "active"); view.select("RunExperiment"); view.destroy();
//
// Every state's <g> carries data-name (and data-state, the same), data-kind, data-problems, data-severity, and once a
// status is set, data-status and data-status-history ("active>succeeded") so tests can
// see live updates without racing them.
//
// The model, its layout and its markup are graphDrawing.ts's; this module is the live view.
import { STATUS_COLOURS } from "./theme";
import { GRAPH_BG, GRAPH_SELECT, GRAPH_TEXT } from "./graphTheme";
import { graphMarkup, graphSvg, isMarker, layoutGraph, type GraphModel, type Placed } from "./graphDrawing";

export type { GraphEdge, GraphModel, GraphNode, GraphProblem } from "./graphDrawing";

export interface GraphOptions {
  /** Called with the state's name when a state is clicked or chosen with Enter/Space. */
  onSelect?: (name: string) => void;
  /** Height of the viewport in pixels (default 460). */
  height?: number;
}

export interface GraphTimings {
  layoutMs: number;
  drawMs: number;
}

export interface GraphView {
  el: HTMLElement;
  setStatus(state: string, status: string): void;
  /** Show how many times a state ran ("×3" on the node), for states visited more than once. */
  setVisits(state: string, visits: number): void;
  select(name: string | null): void;
  fit(): void;
  zoomBy(factor: number): void;
  update(model: GraphModel): void;
  /** The drawing as a stand-alone SVG document (inline styles, no interaction): what a
   * saved notebook shows in place of the live view. */
  svgText(): string;
  destroy(): void;
  timings: GraphTimings;
}

let instances = 0;

const GRAPH_CSS = `
.gj-graph{position:relative;overflow:hidden;border:1px solid var(--jp-border-color2,#e0e0e0);
  border-radius:4px;background:${GRAPH_BG};touch-action:none;user-select:none}
.gj-graph svg{display:block;width:100%;height:100%;cursor:grab;font-family:var(--jp-ui-font-family,system-ui,sans-serif)}
.gj-graph svg.gj-panning{cursor:grabbing}
.gj-graph .gj-shape{fill:var(--gj-fill);stroke:var(--gj-stroke);stroke-width:1.4}
.gj-graph .gj-node[data-diff="added"] .gj-shape,.gj-graph .gj-node[data-diff="changed"] .gj-shape{stroke-width:2.5}
.gj-graph .gj-node[data-diff="removed"] .gj-shape{stroke-dasharray:6 4;stroke-width:2}
.gj-graph .gj-node[data-severity="error"] .gj-shape,.gj-graph .gj-node[data-severity="warning"] .gj-shape{stroke-width:2.5}
.gj-graph .gj-node[data-status] .gj-shape{stroke:var(--gj-status);stroke-width:3;
  fill:color-mix(in srgb,var(--gj-status) 24%,transparent)}
.gj-graph .gj-node.gj-selected .gj-shape{stroke-width:3.5;filter:drop-shadow(0 0 4px ${GRAPH_SELECT})}
.gj-graph .gj-node.gj-selected:not([data-status]):not([data-severity="error"]):not([data-severity="warning"]) .gj-shape{stroke:${GRAPH_SELECT}}
.gj-graph .gj-node:focus{outline:none}
.gj-graph .gj-node:focus-visible .gj-shape{stroke:${GRAPH_SELECT};stroke-width:3;stroke-dasharray:4 2}
.gj-graph .gj-node:hover .gj-shape{filter:brightness(1.08)}
.gj-graph-tools{position:absolute;right:6px;top:6px;display:flex;gap:4px}
.gj-graph-tools button{font:inherit;font-size:13px;min-width:26px;height:24px;padding:0 6px;cursor:pointer;
  color:${GRAPH_TEXT};background:var(--jp-layout-color1,#fff);border:1px solid var(--jp-border-color1,#bdbdbd);border-radius:3px}
.gj-graph-tools button:focus-visible{outline:2px solid ${GRAPH_SELECT}}
`;

/** Draw a graph model into container; returns handles to colour, select, fit and remove it. */
export function renderGraph(container: HTMLElement, model: GraphModel, options: GraphOptions = {}): GraphView {
  const id = ++instances;
  const markerId = `gj-arrow-${id}-${Math.random().toString(36).slice(2, 8)}`;
  const el = document.createElement("div");
  el.className = "gj-graph";
  el.style.height = `${options.height ?? 460}px`;
  const style = document.createElement("style");
  style.textContent = GRAPH_CSS;
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("role", "group");
  const viewport = document.createElementNS("http://www.w3.org/2000/svg", "g");
  viewport.setAttribute("class", "gj-viewport");
  svg.append(viewport);
  const tools = document.createElement("div");
  tools.className = "gj-graph-tools";
  const button = (text: string, title: string, fn: () => void): HTMLButtonElement => {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = text;
    b.title = title;
    b.setAttribute("aria-label", title);
    b.addEventListener("click", fn);
    tools.append(b);
    return b;
  };
  el.append(style, svg, tools);
  container.append(el);

  let current = model;
  let placed: Placed = { nodes: new Map(), edges: new Map(), width: 0, height: 0 };
  let k = 1, tx = 0, ty = 0;
  let selected: string | null = null;
  const statuses = new Map<string, string>();
  const visits = new Map<string, number>();
  const timings: GraphTimings = { layoutMs: 0, drawMs: 0 };

  const apply = (): void => {
    viewport.setAttribute("transform", `translate(${tx.toFixed(1)},${ty.toFixed(1)}) scale(${k.toFixed(4)})`);
    el.dataset.zoom = k.toFixed(3);
  };
  const size = (): { w: number; h: number } => ({
    w: el.clientWidth || container.clientWidth || 800,
    h: el.clientHeight || options.height || 460,
  });
  const fit = (): void => {
    const { w, h } = size();
    if (!placed.width || !placed.height) return;
    k = Math.min(w / placed.width, h / placed.height, 1.25);
    tx = (w - placed.width * k) / 2;
    ty = (h - placed.height * k) / 2;
    apply();
  };
  /** Fit when that keeps text readable; otherwise show the start at a readable zoom. */
  const initialView = (): void => {
    const { w, h } = size();
    const fitK = Math.min(w / placed.width, h / placed.height, 1.25);
    if (fitK >= 0.55) {
      fit();
      return;
    }
    k = Math.max(Math.min(w / placed.width, 0.85), 0.55);
    const start = current.nodes.find((n) => n.kind === "start") ?? current.nodes[0];
    const b = start ? placed.nodes.get(start.id) : undefined;
    tx = b ? w / 2 - b.x * k : 0;
    ty = b ? 16 - (b.y - b.h / 2) * k : 0;
    apply();
  };
  const zoomAt = (factor: number, cx: number, cy: number): void => {
    const nk = Math.min(Math.max(k * factor, 0.02), 4);
    tx = cx - ((cx - tx) * nk) / k;
    ty = cy - ((cy - ty) * nk) / k;
    k = nk;
    apply();
  };
  const zoomBy = (factor: number): void => {
    const { w, h } = size();
    zoomAt(factor, w / 2, h / 2);
  };
  const reveal = (name: string): void => {
    const b = placed.nodes.get(name);
    if (!b) return;
    const { w, h } = size();
    const sx = b.x * k + tx, sy = b.y * k + ty;
    if (sx < 40 || sx > w - 40 || sy < 30 || sy > h - 30) {
      tx = w / 2 - b.x * k;
      ty = h / 2 - b.y * k;
      apply();
    }
  };
  const nodeEl = (name: string): SVGGElement | null =>
    viewport.querySelector(`g.gj-node[data-name="${CSS_escape(name)}"]`);
  const paintStatus = (name: string): void => {
    const g = nodeEl(name);
    const status = statuses.get(name);
    if (!g || !status) return;
    g.dataset.status = status;
    g.style.setProperty("--gj-status", STATUS_COLOURS[status] ?? GRAPH_SELECT);
  };

  const paintVisits = (name: string): void => {
    const g = nodeEl(name);
    const n = visits.get(name) ?? 0;
    if (!g) return;
    g.querySelector(".gj-visits")?.remove();
    if (n > 1) g.dataset.visits = String(n);
    else delete g.dataset.visits;
    const b = placed.nodes.get(name);
    if (n <= 1 || !b) return;
    const t = document.createElementNS("http://www.w3.org/2000/svg", "text");
    t.setAttribute("class", "gj-visits");
    t.setAttribute("x", String(b.x + b.w / 2 - 4));
    t.setAttribute("y", String(b.y - b.h / 2 + 12));
    t.setAttribute("text-anchor", "end");
    t.setAttribute("style", `font-size:11px;font-weight:700;fill:${GRAPH_TEXT}`);
    t.textContent = `×${n}`;
    const title = document.createElementNS("http://www.w3.org/2000/svg", "title");
    title.textContent = `${name} ran ${n} times`;
    t.append(title);
    g.append(t);
  };

  const shapeOf = (m: GraphModel): string =>
    JSON.stringify([m.nodes.map((n) => [n.id, n.kind]), m.edges.map((e) => [e.source, e.target, e.label ?? ""])]);
  let laidOut = "";
  const draw = (): void => {
    const t0 = performance.now();
    // Only a change of states or transitions needs a new layout; problems and captions don't.
    const shape = shapeOf(current);
    if (shape !== laidOut) {
      placed = layoutGraph(current);
      laidOut = shape;
    }
    const t1 = performance.now();
    viewport.innerHTML = graphMarkup(current, placed, markerId);
    for (const name of statuses.keys()) paintStatus(name);
    for (const name of visits.keys()) paintVisits(name);
    if (selected) nodeEl(selected)?.classList.add("gj-selected");
    const t2 = performance.now();
    timings.layoutMs = t1 - t0;
    timings.drawMs = t2 - t1;
    el.dataset.layoutMs = timings.layoutMs.toFixed(1);
    el.dataset.drawMs = timings.drawMs.toFixed(1);
    el.dataset.states = String(current.nodes.filter((n) => !isMarker(n.kind)).length);
    svg.setAttribute("aria-label", `Flow ${current.name ?? ""}: ${el.dataset.states} states`);
  };

  // -- interaction -----------------------------------------------------------------------
  const onClick = (ev: MouseEvent): void => {
    if (moved) return;
    const g = (ev.target as Element).closest?.("g.gj-node") as SVGGElement | null;
    if (g && g.dataset.kind && !isMarker(g.dataset.kind)) options.onSelect?.(g.dataset.name ?? "");
  };
  const onKey = (ev: KeyboardEvent): void => {
    const g = (ev.target as Element).closest?.("g.gj-node") as SVGGElement | null;
    if (g && (ev.key === "Enter" || ev.key === " ")) {
      ev.preventDefault();
      options.onSelect?.(g.dataset.name ?? "");
      return;
    }
    if (g && (ev.key === "ArrowDown" || ev.key === "ArrowUp")) {
      // follow a transition: down to the next state, up to one that leads here
      const name = g.dataset.name ?? "";
      const down = ev.key === "ArrowDown";
      const kinds = new Map(current.nodes.map((n) => [n.id, n.kind]));
      const hop = current.edges
        .filter((e) => (down ? e.source === name : e.target === name))
        .map((e) => (down ? e.target : e.source))
        .find((id) => !isMarker(kinds.get(id) ?? "start"));
      if (hop) nodeEl(hop)?.focus();
      ev.preventDefault();
      return;
    }
    if (ev.key === "+" || ev.key === "=") zoomBy(1.25);
    else if (ev.key === "-") zoomBy(0.8);
    else if (ev.key === "0") fit();
    else return;
    ev.preventDefault();
  };
  const onFocus = (ev: FocusEvent): void => {
    const g = (ev.target as Element).closest?.("g.gj-node") as SVGGElement | null;
    if (g?.dataset.name) reveal(g.dataset.name);
  };
  const onWheel = (ev: WheelEvent): void => {
    // Plain wheel scrolls the notebook; Ctrl/Cmd + wheel (and pinch) zooms the graph.
    if (!ev.ctrlKey && !ev.metaKey) return;
    ev.preventDefault();
    const r = svg.getBoundingClientRect();
    zoomAt(Math.exp(-ev.deltaY * 0.0015), ev.clientX - r.left, ev.clientY - r.top);
  };
  let dragging = false, moved = false, lastX = 0, lastY = 0;
  const onDown = (ev: PointerEvent): void => {
    if (ev.button !== 0) return;
    dragging = true;
    moved = false;
    lastX = ev.clientX;
    lastY = ev.clientY;
  };
  const onMove = (ev: PointerEvent): void => {
    if (!dragging) return;
    const dx = ev.clientX - lastX, dy = ev.clientY - lastY;
    if (!moved && Math.abs(dx) + Math.abs(dy) < 4) return;
    if (!moved) {
      moved = true;
      svg.classList.add("gj-panning");
      svg.setPointerCapture?.(ev.pointerId);
    }
    tx += dx;
    ty += dy;
    lastX = ev.clientX;
    lastY = ev.clientY;
    apply();
  };
  const onUp = (ev: PointerEvent): void => {
    dragging = false;
    svg.classList.remove("gj-panning");
    if (svg.hasPointerCapture?.(ev.pointerId)) svg.releasePointerCapture(ev.pointerId);
    // a drag must not also count as a click on the node it ended over
    setTimeout(() => { moved = false; }, 0);
  };
  svg.addEventListener("click", onClick);
  svg.addEventListener("keydown", onKey);
  svg.addEventListener("focusin", onFocus);
  svg.addEventListener("wheel", onWheel, { passive: false });
  svg.addEventListener("pointerdown", onDown);
  svg.addEventListener("pointermove", onMove);
  svg.addEventListener("pointerup", onUp);
  button("−", "Zoom out", () => zoomBy(0.8));
  button("+", "Zoom in", () => zoomBy(1.25));
  button("Fit", "Fit the whole flow in view", fit);

  /** Small flows get a viewport just tall enough for them; big ones the full height. */
  const fitHeight = (): void => {
    const full = options.height ?? 460;
    el.style.height = `${Math.max(Math.min(full, Math.ceil(placed.height) + 8), 160)}px`;
  };
  draw();
  fitHeight();
  initialView();
  // The widget may be attached before it has a size (e.g. output areas); fit once it has one.
  let sized = el.clientWidth > 0;
  const observer = typeof ResizeObserver !== "undefined"
    ? new ResizeObserver(() => {
      if (!sized && el.clientWidth > 0) {
        sized = true;
        initialView();
      }
    })
    : null;
  observer?.observe(el);

  return {
    el,
    timings,
    setStatus(state: string, status: string): void {
      if (statuses.get(state) === status) return;
      statuses.set(state, status);
      const g = nodeEl(state);
      if (g) {
        const history = g.dataset.statusHistory ? g.dataset.statusHistory.split(">") : [];
        if (history[history.length - 1] !== status) history.push(status);
        g.dataset.statusHistory = history.join(">");
      }
      paintStatus(state);
    },
    setVisits(state: string, n: number): void {
      if ((visits.get(state) ?? 0) === n) return;
      visits.set(state, n);
      paintVisits(state);
    },
    select(name: string | null): void {
      if (selected) nodeEl(selected)?.classList.remove("gj-selected");
      selected = name;
      if (!name) return;
      nodeEl(name)?.classList.add("gj-selected");
      reveal(name);
    },
    fit,
    zoomBy,
    svgText(): string {
      return graphSvg(current, placed);
    },
    update(next: GraphModel): void {
      const relayout = shapeOf(next) !== laidOut;
      current = next;
      draw();
      if (relayout) {
        fitHeight();
        initialView();
      }
    },
    destroy(): void {
      observer?.disconnect();
      svg.removeEventListener("click", onClick);
      svg.removeEventListener("keydown", onKey);
      svg.removeEventListener("focusin", onFocus);
      svg.removeEventListener("wheel", onWheel);
      svg.removeEventListener("pointerdown", onDown);
      svg.removeEventListener("pointermove", onMove);
      svg.removeEventListener("pointerup", onUp);
      el.remove();
    },
  };
}

function CSS_escape(s: string): string {
  const css = (globalThis as { CSS?: { escape?: (x: string) => string } }).CSS;
  return css?.escape ? css.escape(s) : s.replace(/["\\]/g, "\\$&");
}
