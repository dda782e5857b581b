// What the run monitor's views read: the TypeScript mirror of the synced traits of
// gladier_jupyter.widgets.monitor.RunMonitor (and of RunsList, the list of runs the same
// entry draws). A trait added in Python is added here, with the same name and shape.
import type { LogRow } from "./logTable";
import type { TimelineBar } from "./timeline";
import type { SimpleGraphModel } from "./monitorGraph";
import type { DebugTraits } from "./monitorDebug";
import type { DefinitionChanges } from "./diff";
import type { GraphModel } from "./graph";

export interface StateInfo {
  name: string;
  status: string;
  type: string;
  input: string;
  output: string;
  error: string;
  traceback: string;
  started: string;
  ended: string;
  attempts: number;
}

/** What a monitor and a row of the runs side panel both say of a run (same names). */
export interface RunSummary {
  run_id: string;
  label: string;
  flow_id: string;
  flow_title: string;
  status: string;
  display_status: string;
  start_time: string;
  completion_time: string;
}

/** Mirrors the synced traits of gladier_jupyter.widgets.monitor.RunMonitor. */
export interface MonitorModel extends DebugTraits, RunSummary {
  view: string;
  backend: string;
  web_url: string;
  connection: string;
  message: string;
  graph: SimpleGraphModel;
  states: Record<string, StateInfo>;
  timeline: TimelineBar[];
  /** The event-log rows added by the last update (each with its index i). */
  log_tail: LogRow[];
  /** How many entries the run's log has. */
  log_total: number;
  /** What the views colour: a run status in lower case, "warning" or "cancelled". */
  outcome?: string;
  /** "SUCCEEDED · 1 state failed", "CANCELLED", or the status. */
  headline?: string;
  /** The first failed state and the last line of its exception. */
  failure?: string;
  /** The states whose action failed, each with the last line of its exception. */
  failed_states?: Record<string, string>;
  progress: { done: number; total: number };
  inactive_reason: string;
  required_scopes: string[];
  error: string;
  output: string;
  action: string;
  login_widget: string | null;
  /** What the run waits on a person to choose (weboption options, web input options). */
  choices?: Choice[];
  /** The run's notification emails: "email to a@b: subject". */
  outbox?: string[];
  /** "clock +1 h" when the local service clock was moved. */
  clock?: string;
  /** The flow changed since this run: the note, the diff, the flow's graph now with it. */
  changes?: { line?: string; diff?: DefinitionChanges; graph?: GraphModel };
}

export interface Choice {
  kind: "weboption" | "web_input";
  state: string;
  key: string;
  label: string;
  description: string;
  title: string;
}

/** Mirrors the synced traits of gladier_jupyter.widgets.runs.RunsList. */
export interface RunsModel {
  view: string;
  runs: { run_id: string; label: string; status: string; flow_title: string; start_time: string;
    outcome?: string; headline?: string }[];
  selected: string;
  message: string;
}
