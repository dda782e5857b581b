// The flow graph inside the run monitor, with a colour per state status. Draws with the
// preview's renderer when the model is the preview's graph model, and as a row of state
// boxes otherwise. Every state element carries data-state, data-status and
// data-status-history (the statuses it has shown, "active>succeeded"), which is how
// tests see live updates without racing them.
import { BORDER, STATUS_COLOURS, STATUS_ON, TEXT } from "./theme";
import { renderGraph, type GraphModel } from "./graph";

export interface StatusGraph {
  el: HTMLElement;
  setStatus(state: string, status: string): void;
  /** How many times the state ran (shown when more than once: loop states). */
  setVisits(state: string, visits: number): void;
  select(state: string | null): void;
  /** A new graph model of the same run; false when this drawing cannot take it. */
  update(model: SimpleGraphModel): boolean;
  destroy(): void;
}

/** The preview's height (FlowPreview's default), so a flow looks the same in both. */
export const MONITOR_GRAPH_HEIGHT = 460;

function isFullModel(model: SimpleGraphModel): boolean {
  const full = model as Partial<GraphModel>;
  return Array.isArray(full.nodes) && full.nodes.length > 0 && Array.isArray(full.edges) &&
    full.nodes.every((n) => typeof n.kind === "string");
}

export interface SimpleGraphModel {
  start?: string;
  nodes?: { id: string; name?: string; type?: string | null; kind?: string }[];
}

/** The preview's drawing when the model is a flowgraph model, else a row of boxes. */
export function statusGraph(
  model: SimpleGraphModel,
  stateNames: string[],
  onSelect: (state: string) => void,
): StatusGraph {
  if (isFullModel(model)) {
    const el = document.createElement("div");
    el.className = "gj-monitor-graph";
    // The preview's renderer at the preview's height: it fits the flow when its text stays
    // readable and shows the start at a readable zoom otherwise, once laid out, and again
    // whenever the flow's shape changes (update).
    const view = renderGraph(el, model as GraphModel, { onSelect, height: MONITOR_GRAPH_HEIGHT });
    return {
      el,
      setStatus: (state, status) => view.setStatus(state, status),
      setVisits: (state, visits) => view.setVisits(state, visits),
      select: (state) => view.select(state),
      update: (next) => {
        if (!isFullModel(next)) return false;
        view.update(next as GraphModel);
        return true;
      },
      destroy: () => {
        view.destroy();
        el.remove();
      },
    };
  }
  return boxGraph(model, stateNames, onSelect);
}

function boxGraph(
  model: SimpleGraphModel,
  stateNames: string[],
  onSelect: (state: string) => void,
): StatusGraph {
  const el = document.createElement("div");
  el.className = "gj-monitor-graph";
  el.style.cssText = "display:flex;flex-wrap:wrap;gap:6px;align-items:center;margin:.4em 0";
  const boxes = new Map<string, HTMLElement>();
  const names = (model.nodes ?? []).map((n) => n.id);
  for (const s of stateNames) if (!names.includes(s)) names.push(s);
  const types = new Map((model.nodes ?? []).map((n) => [n.id, n.type ?? ""]));
  names.forEach((name, i) => {
    if (i > 0) {
      const arrow = document.createElement("span");
      arrow.textContent = "→";
      arrow.setAttribute("aria-hidden", "true");
      el.append(arrow);
    }
    const box = document.createElement("button");
    box.type = "button";
    box.className = "gj-state";
    box.dataset.state = name;
    box.dataset.status = "";
    box.dataset.statusHistory = "";
    box.title = `${name}${types.get(name) ? ` (${types.get(name)})` : ""}`;
    box.textContent = name;
    box.style.cssText =
      `border:2px solid ${BORDER};border-radius:6px;padding:.3em .7em;cursor:pointer;` +
      `font:inherit;color:${TEXT}`;
    box.addEventListener("click", () => onSelect(name));
    boxes.set(name, box);
    el.append(box);
  });
  return {
    el,
    setStatus(state: string, status: string): void {
      const box = boxes.get(state);
      if (!box) return;
      if (box.dataset.status === status) return;
      box.dataset.status = status;
      const h = box.dataset.statusHistory;
      box.dataset.statusHistory = h ? `${h}>${status}` : status;
      const colour = STATUS_COLOURS[status] ?? STATUS_COLOURS.pending;
      box.style.background = colour;
      box.style.color = STATUS_ON[status] ?? STATUS_ON.pending;
      box.style.opacity = status === "skipped" ? "0.6" : "1";
    },
    setVisits(state: string, visits: number): void {
      const box = boxes.get(state);
      if (!box) return;
      box.dataset.visits = String(visits);
      box.textContent = visits > 1 ? `${state} ×${visits}` : state;
    },
    update: () => false,
    select(state: string | null): void {
      for (const [name, box] of boxes) {
        box.style.outline = name === state ? "3px solid var(--jp-brand-color2, #64b5f6)" : "";
        box.setAttribute("aria-pressed", String(name === state));
      }
    },
    destroy(): void {
      el.remove();
    },
  };
}
