// A run in a main-area tab: the run-monitor widget's own view (graph with colours, log,
// timeline, cancel), fed by the server extension instead of a kernel. So it keeps working
// after the kernel that started the run is gone, and for runs started anywhere else.
import { Widget } from "@lumino/widgets";
import { renderRun } from "../widgets/monitor";
import type { MonitorModel } from "../common/monitorModel";
import { APIError, requestAPI } from "./api";
import { LocalModel } from "./model";
import { showRunChanges } from "./runChanges";

const TERMINAL = ["SUCCEEDED", "FAILED", "ENDED"];

/**
 * The monitor view's model, holding the same keys as the RunMonitor traits, filled from
 * GET runs/<id> and runs/<id>/log of the server extension.
 */
export class ServerRunModel extends LocalModel<MonitorModel> {
  private timer: number | undefined;
  private disposed = false;
  private polling = false;
  /** Log rows read so far (the server's log is read from this offset on). */
  private rowsRead = 0;
  source: string;

  constructor(readonly runId: string, source = "") {
    super({
      view: "run", run_id: runId, label: "", flow_id: "", flow_title: "", status: "",
      display_status: "", start_time: "", completion_time: "", backend: source, web_url: "",
      connection: "live", message: "", graph: {}, states: {}, timeline: [], log_tail: [], log_total: 0,
      progress: { done: 0, total: 0 }, inactive_reason: "", required_scopes: [], error: "",
      output: "", action: "", login_widget: null, choices: [], outbox: [], clock: "",
    });
    this.source = source;
    // Cancel and resume go through the server; logging in needs a notebook.
    this.onMessage = (msg) => {
      if (msg.type === "cancel") void this.act("cancel", "cancelling", "cancel requested");
      else if (msg.type === "resume") void this.act("resume", "resuming", "resumed");
      else if (msg.type === "choose") void this.choose(String(msg.key ?? ""));
      else if (msg.type === "login") {
        this.update({ action: "Log in from a notebook with %gladier_login; this tab picks the login up." });
      }
    };
  }

  /** Poll until the run ends: fast for the local service, gently for Globus. */
  start(): void {
    void this.poll();
  }

  private schedule(): void {
    if (this.disposed) return;
    if (TERMINAL.includes(String(this.get("status"))) && this.get("connection") === "done") return;
    const delay = this.source === "globus" ? 2000 : 300;
    this.timer = window.setTimeout(() => void this.poll(), delay);
  }

  async poll(): Promise<void> {
    if (this.disposed || this.polling) return;
    this.polling = true;
    try {
      const q = this.source ? `?source=${encodeURIComponent(this.source)}` : "";
      const snap = await requestAPI<Record<string, unknown>>(`runs/${encodeURIComponent(this.runId)}${q}`);
      this.source = String(snap.source ?? this.source);
      const total = Number(snap.log_total ?? 0);
      // Only the rows not read yet travel: the view appends them (log_tail).
      let tail: MonitorModel["log_tail"] = [];
      if (total > this.rowsRead) {
        const reply = await requestAPI<{ entries: MonitorModel["log_tail"] }>(
          `runs/${encodeURIComponent(this.runId)}/log?offset=${this.rowsRead}&source=${encodeURIComponent(this.source)}`);
        tail = reply.entries;
        this.rowsRead += tail.length;
      }
      const { log_total: _t, source: _s, ...rest } = snap;
      const changes: Partial<MonitorModel> = { ...(rest as Partial<MonitorModel>), backend: this.source,
        log_total: this.rowsRead, message: "" };
      if (tail.length) changes.log_tail = tail;
      this.update(changes);
    } catch (error) {
      const message = error instanceof APIError ? error.message : String(error);
      this.update({ connection: "reconnecting", message });
      if (error instanceof APIError && error.status === 404) {
        this.update({ error: message, connection: "stopped" });
        this.polling = false;
        return;
      }
    }
    this.polling = false;
    this.schedule();
  }

  /** POST runs/<id>/<verb> ("cancel" or "resume"), then poll at once. */
  async act(verb: string, doing: string, done: string): Promise<void> {
    this.update({ action: doing });
    try {
      await requestAPI(`runs/${encodeURIComponent(this.runId)}/${verb}?source=${encodeURIComponent(this.source)}`,
        { method: "POST" });
      this.update({ action: done });
    } catch (error) {
      const what = verb === "cancel" ? "Cancel" : "Resume";
      this.update({ action: `${what} failed: ${error instanceof Error ? error.message : String(error)}` });
    }
    // Read the outcome now (a poll already under way schedules the next one itself).
    window.clearTimeout(this.timer);
    if (!this.polling) void this.poll();
  }

  /** POST runs/<id>/choose {key}: answer what the run waits on, then poll at once. */
  async choose(key: string): Promise<void> {
    const label = (this.get("choices") ?? []).find((c) => c.key === key)?.label ?? key;
    this.update({ action: `choosing '${label}'` });
    try {
      await requestAPI(`runs/${encodeURIComponent(this.runId)}/choose?source=${encodeURIComponent(this.source)}`,
        { method: "POST", body: JSON.stringify({ key }) });
      this.update({ action: `chose '${label}'`, choices: [] });
    } catch (error) {
      this.update({ action: `Answer failed: ${error instanceof Error ? error.message : String(error)}` });
    }
    window.clearTimeout(this.timer);
    if (!this.polling) void this.poll();
  }

  dispose(): void {
    this.disposed = true;
    window.clearTimeout(this.timer);
    super.dispose();
  }
}

/** The content of a run tab: the monitor view on a ServerRunModel. */
export class RunView extends Widget {
  readonly model: ServerRunModel;
  private cleanup: (() => void) | undefined;

  constructor(runId: string, source = "") {
    super();
    this.addClass("gj-lab-run-view");
    this.id = `gladier-run-${runId}`;
    this.node.dataset.runId = runId;
    this.node.style.overflow = "auto";
    this.node.style.padding = "8px 12px";
    this.model = new ServerRunModel(runId, source);
    const changes = document.createElement("div");
    changes.className = "gj-run-changes-box";
    const mount = document.createElement("div");
    this.node.append(changes, mount);
    // No login widget in a tab: logging in needs a notebook (the view says so).
    this.cleanup = renderRun(this.model, mount, null, false);
    this.model.start();
    void showRunChanges(changes, runId, source).then((stop) => {
      if (this.isDisposed) stop();
      else this.stopChanges = stop;
    });
  }

  private stopChanges: (() => void) | undefined;

  dispose(): void {
    if (this.isDisposed) return;
    this.model.dispose();
    this.stopChanges?.();
    this.cleanup?.();
    super.dispose();
  }
}
