// "The flow changed since this run": a run tab asks the server for the definition the run is
// pinned to (GET runs/<id>/definition on the flows service) against its flow now, and when
// they differ shows the summary and, on demand, the diff drawn on the flow graph.
import type { GraphModel } from "../common/graph";
import type { DefinitionChanges } from "../common/diff";
import { flowChangesBox } from "../common/flowChanges";
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

/** Fill `el` with the run's "flow changed since" banner (empty when the flow is the same). */
export async function showRunChanges(el: HTMLElement, runId: string, source: string): Promise<() => void> {
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
  const box = flowChangesBox("The flow changed since this run. ", reply.diff.summary, reply.diff, reply.graph);
  el.append(box.el);
  return box.destroy;
}
