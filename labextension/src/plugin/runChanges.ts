// "The flow changed since this run": a run tab asks the server for the definition the run is
// pinned to (GET runs/<id>/definition on the flows service) against its flow now, and when
// they differ shows the summary and, on demand, the diff drawn on the flow graph.
import { renderGraph, type GraphModel, type GraphView } from "../common/graph";
import { changeList, diffBanner, DIFF_CSS, type DefinitionChanges, type FieldChange } from "../widgets/preview";
import { requestAPI } from "./api";

interface ChangesReply {
  run_id: string;
  flow_id: string;
  known: boolean;
  changed: boolean;
  diff?: DefinitionChanges;
  graph?: GraphModel;
  message?: string;
}

const CSS = `
.gj-run-changes{margin:0 0 8px;font-size:13px}
.gj-run-changes button{font:inherit;margin-left:.6em;cursor:pointer}
.gj-run-changes .gj-run-changes-detail{margin-top:.3em}
.gj-run-changes .gj-run-changes-state{min-height:1.4em;margin:.3em 0}
${DIFF_CSS}`;

/** Fill `el` with the run's "flow changed since" banner (empty when the flow is the same). */
export async function showRunChanges(el: HTMLElement, runId: string, source: string): Promise<() => void> {
  let view: GraphView | null = null;
  const q = source ? `?source=${encodeURIComponent(source)}` : "";
  let reply: ChangesReply;
  try {
    reply = await requestAPI<ChangesReply>(`runs/${encodeURIComponent(runId)}/changes${q}`);
  } catch {
    el.dataset.changes = "unknown";
    return () => undefined;
  }
  el.dataset.changes = reply.changed ? "changed" : reply.known ? "same" : "unknown";
  if (!reply.changed || !reply.diff) return () => undefined;
  const style = document.createElement("style");
  style.textContent = CSS;
  const box = document.createElement("div");
  box.className = "gj-run-changes";
  const title = document.createElement("strong");
  title.className = "gj-run-changes-title";
  title.textContent = "The flow changed since this run. ";
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
  box.append(title, reply.diff.summary, toggle, detail);
  detail.append(diffBanner({ ...reply.diff, against: "the definition this run ran" }), graphBox, stateBox);
  el.append(style, box);
  const nodes = new Map((reply.graph?.nodes ?? []).map((n) => [n.id, n]));
  const select = (name: string): void => {
    view?.select(name);
    const node = nodes.get(name);
    const changes = (node?.diff_changes as FieldChange[] | undefined) ?? [];
    stateBox.replaceChildren();
    if (!node) return;
    const head = document.createElement("strong");
    head.textContent = `${name}: ${String(node.diff ?? "unchanged")}`;
    stateBox.append(head);
    if (changes.length) stateBox.append(changeList(changes));
  };
  toggle.onclick = () => {
    detail.hidden = !detail.hidden;
    toggle.textContent = detail.hidden ? "Show the diff" : "Hide the diff";
    if (!detail.hidden && !view && reply.graph?.nodes) {
      view = renderGraph(graphBox, reply.graph, { height: 320, onSelect: select });
    }
  };
  return () => view?.destroy();
}
