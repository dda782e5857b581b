// "The flow changed since this run": a one-line note, a "Show the diff" toggle, and under it
// the diff drawn on the flow's graph now (removed states ghosted; clicking a state lists its
// field-level changes). The run tab and the notebook's monitor share it.
import { renderGraph, type GraphModel, type GraphView } from "./graph";
import { changeList, diffBanner, DIFF_CSS, type DefinitionChanges, type FieldChange } from "./diff";

export const FLOW_CHANGES_CSS = `
.gj-run-changes{margin:0 0 8px;font-size:13px}
.gj-run-changes button{font:inherit;margin-left:.6em;cursor:pointer}
.gj-run-changes .gj-run-changes-detail{margin-top:.3em}
.gj-run-changes .gj-run-changes-state{min-height:1.4em;margin:.3em 0}
${DIFF_CSS}`;

export interface FlowChangesBox {
  el: HTMLElement;
  destroy(): void;
}

/**
 * The note and its toggle: `title` in bold, then `text`; the diff (with `graph`, the flow's
 * graph now carrying diff marks, drawn on first opening) hidden until the toggle is pressed.
 */
export function flowChangesBox(title: string, text: string, diff: DefinitionChanges,
  graph: GraphModel | undefined): FlowChangesBox {
  let view: GraphView | null = null;
  const box = document.createElement("div");
  box.className = "gj-run-changes";
  const style = document.createElement("style");
  style.textContent = FLOW_CHANGES_CSS;
  const head = document.createElement("strong");
  head.className = "gj-run-changes-title";
  head.textContent = title;
  const toggle = document.createElement("button");
  toggle.type = "button";
  toggle.className = "gj-run-changes-toggle";
  toggle.textContent = "Show the diff";
  const detail = document.createElement("div");
  detail.className = "gj-run-changes-detail";
  detail.hidden = true;
  const stateBox = document.createElement("div");
  stateBox.className = "gj-run-changes-state";
  const graphBox = document.createElement("div");
  box.append(style, head, text, toggle, detail);
  detail.append(diffBanner({ ...diff, against: "the definition this run ran" }), graphBox, stateBox);
  const drawable = Array.isArray(graph?.nodes) && graph.nodes.length > 0;
  if (!drawable) {
    // No graph to draw on: list every changed state's field-level changes instead.
    for (const [name, state] of Object.entries(diff.states ?? {})) {
      if (state.status === "unchanged") continue;
      const row = document.createElement("div");
      row.dataset.state = name;
      const label = document.createElement("strong");
      label.textContent = `${name}: ${state.status}`;
      row.append(label);
      if (state.changes.length) row.append(changeList(state.changes));
      stateBox.append(row);
    }
  }
  const nodes = new Map((graph?.nodes ?? []).map((n) => [n.id, n]));
  const select = (name: string): void => {
    view?.select(name);
    const node = nodes.get(name);
    const changes = (node?.diff_changes as FieldChange[] | undefined) ?? [];
    stateBox.replaceChildren();
    if (!node) return;
    const label = document.createElement("strong");
    label.textContent = `${name}: ${String(node.diff ?? "unchanged")}`;
    stateBox.append(label);
    if (changes.length) stateBox.append(changeList(changes));
  };
  toggle.onclick = () => {
    detail.hidden = !detail.hidden;
    toggle.textContent = detail.hidden ? "Show the diff" : "Hide the diff";
    if (!detail.hidden && !view && drawable && graph) {
      view = renderGraph(graphBox, graph, { height: 320, onSelect: select });
    }
  };
  return { el: box, destroy: () => { view?.destroy(); view = null; } };
}
