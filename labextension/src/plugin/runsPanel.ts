// The "Gladier" left-sidebar panel: runs from the local service and (when this server
// holds a Globus login) from Globus Flows, newest first, filterable by flow and status,
// refreshed every second while a run is ACTIVE. Clicking a run opens it in a tab. The label,
// tag and time filters and "Open N in tabs" are runsFilter.ts's. Below the list, the
// "Collections" section maps Globus collection ids to local folders, and the "Endpoints"
// section shows the local Compute endpoints' status.
import { Widget } from "@lumino/widgets";
import { BORDER, FONT, MUTED, STATUS_TEXT, TEXT } from "../common/theme";
import { StatusBadge, formatDuration, parseTime, shortDate } from "../common/monitorStatus";
import { APIError, requestAPI, type RunRow, type RunsReply } from "./api";
import { CollectionsSection } from "./collectionsSection";
import { EndpointsSection } from "./endpointsSection";
import { RunsFilter } from "./runsFilter";
import { h } from "../common/dom";

const STATUSES = ["ACTIVE", "INACTIVE", "SUCCEEDED", "FAILED", "ENDED"];
/** While a run is ACTIVE the list follows it closely; otherwise it checks now and then. */
const ACTIVE_POLL_MS = 1000;
const IDLE_POLL_MS = 10000;

export class RunsPanel extends Widget {
  private list: HTMLElement;
  private flowSelect: HTMLSelectElement;
  private statusSelect: HTMLSelectElement;
  private note: HTMLElement;
  private collections = new CollectionsSection();
  private endpoints = new EndpointsSection();
  private filter: RunsFilter;
  private runs: RunRow[] = [];
  private timer: number | undefined;
  private ticker: number | undefined;
  private loading = false;
  /** Statuses each run has shown here, e.g. "ACTIVE>SUCCEEDED" (data-status-history). */
  private history = new Map<string, string>();

  constructor(private openRun: (run: RunRow) => void) {
    super();
    this.id = "gladier-runs-panel";
    this.addClass("gj-lab-runs");
    this.title.caption = "Gladier flow runs";
    const root = this.node;
    root.style.cssText = `font-family:${FONT};color:${TEXT};font-size:13px;display:flex;flex-direction:column;` +
      "height:100%;overflow:hidden;background:var(--jp-layout-color1, #fff)";
    const head = h("div", `padding:8px 10px;border-bottom:1px solid ${BORDER};display:flex;flex-direction:column;gap:6px`);
    const titleRow = h("div", "display:flex;align-items:center;gap:8px");
    titleRow.append(h("strong", "font-size:14px;flex:1", "Gladier runs"));
    const refresh = h("button", `font:inherit;cursor:pointer;border:1px solid ${BORDER};border-radius:4px;` +
      "background:var(--jp-layout-color2, #f5f5f5);color:inherit;padding:1px 8px", "Refresh");
    refresh.className = "gj-lab-runs-refresh";
    refresh.type = "button";
    refresh.addEventListener("click", () => {
      void this.refresh();
      void this.endpoints.refresh(this.endpoints.el.open);
    });
    titleRow.append(refresh);
    const filters = h("div", "display:flex;gap:6px");
    this.flowSelect = h("select", "flex:1;min-width:0;font:inherit");
    this.flowSelect.className = "gj-lab-runs-flow";
    this.flowSelect.setAttribute("aria-label", "Filter by flow");
    this.statusSelect = h("select", "font:inherit");
    this.statusSelect.className = "gj-lab-runs-status";
    this.statusSelect.setAttribute("aria-label", "Filter by status");
    this.statusSelect.append(new Option("All statuses", ""));
    for (const s of STATUSES) this.statusSelect.append(new Option(s, s));
    this.filter = new RunsFilter(() => this.draw(), (runs) => { for (const r of runs) this.openRun(r); });
    this.statusSelect.value = this.filter.status;
    const chosen = () => this.filter.setSelects(this.flowSelect.value, this.statusSelect.value);
    this.flowSelect.addEventListener("change", chosen);
    this.statusSelect.addEventListener("change", chosen);
    filters.append(this.flowSelect, this.statusSelect);
    this.note = h("div", `color:${MUTED};font-size:12px`);
    this.note.className = "gj-lab-runs-note";
    head.append(titleRow, filters, this.filter.el, this.note);
    this.list = h("div", "overflow:auto;flex:1");
    this.list.className = "gj-lab-runs-list";
    this.list.setAttribute("role", "list");
    root.append(head, this.filter.bar, this.list, this.collections.el, this.endpoints.el);
  }

  protected onAfterShow(): void {
    void this.refresh();
  }

  protected onAfterAttach(): void {
    void this.refresh();
    void this.collections.refresh();
    // Durations of ACTIVE runs tick between list reads.
    this.ticker = window.setInterval(() => this.tickDurations(), 1000);
  }

  protected onBeforeDetach(): void {
    window.clearTimeout(this.timer);
    window.clearInterval(this.ticker);
  }

  async refresh(): Promise<void> {
    if (this.loading) return;
    this.loading = true;
    window.clearTimeout(this.timer);
    let active = false;
    try {
      const reply = await requestAPI<RunsReply>("runs");
      this.runs = reply.runs;
      active = reply.active;
      const notes = Object.entries(reply.sources)
        .filter(([, s]) => !s.available && s.message)
        .map(([, s]) => s.message);
      this.note.textContent = notes.join(" ");
      this.note.style.color = MUTED;
      this.node.dataset.sources = Object.entries(reply.sources)
        .filter(([, s]) => s.available).map(([n]) => n).join(",");
    } catch (error) {
      this.note.textContent = error instanceof APIError ? `Could not list runs: ${error.message}` : String(error);
      this.note.style.color = STATUS_TEXT.failed;
    } finally {
      this.loading = false;
    }
    this.draw();
    // Open, it follows the panel (at most every few seconds).
    void this.endpoints.refresh();
    if (this.isAttached) {
      const delay = active ? ACTIVE_POLL_MS : IDLE_POLL_MS;
      // Hidden panels check rarely; showing the panel refreshes at once (onAfterShow).
      this.timer = window.setTimeout(() => void this.refresh(), this.isVisible ? delay : Math.max(delay, 30000));
    }
  }

  private draw(): void {
    const flows = new Map<string, string>();
    for (const r of this.runs) if (r.flow_id) flows.set(r.flow_id, r.flow_title || r.flow_id);
    // the filter keeps the chosen flow even while no listed run is of it
    const chosenFlow = this.filter.flow;
    if (chosenFlow && !flows.has(chosenFlow)) flows.set(chosenFlow, `${chosenFlow.slice(0, 8)}… (no run listed)`);
    this.flowSelect.replaceChildren(new Option("All flows", ""));
    for (const [id, title] of [...flows].sort((a, b) => a[1].localeCompare(b[1]))) {
      this.flowSelect.append(new Option(title, id));
    }
    this.flowSelect.value = chosenFlow;
    const status = this.filter.status;
    this.statusSelect.value = status;
    const shown = this.runs.filter((r) => (!chosenFlow || r.flow_id === chosenFlow) &&
      (!status || r.status === status) && this.filter.matches(r));
    this.filter.update(this.runs, shown);
    for (const r of this.runs) {
      const hist = this.history.get(r.run_id);
      const last = hist?.split(">").pop();
      if (last !== r.status) this.history.set(r.run_id, hist ? `${hist}>${r.status}` : r.status);
    }
    this.node.dataset.runs = String(shown.length);
    // A redraw replaces the rows: the row that had the keyboard focus gets it back, so
    // the panel's own refreshes never throw a keyboard user out of the list.
    const active = document.activeElement;
    const focused = active instanceof HTMLElement && this.list.contains(active) ?
      active.closest<HTMLElement>(".gj-lab-run")?.dataset.runId : undefined;
    this.list.replaceChildren();
    if (!shown.length) {
      const empty = h("div", `padding:12px 10px;color:${MUTED}`, this.runs.length ?
        "No run matches these filters." : "No runs yet. Start one from a notebook with %gladier_run.");
      empty.className = "gj-lab-runs-empty";
      this.list.append(empty);
      return;
    }
    for (const run of shown) this.list.append(this.row(run));
    if (focused) {
      for (const row of this.list.querySelectorAll<HTMLElement>(".gj-lab-run")) {
        if (row.dataset.runId === focused) row.focus({ preventScroll: true });
      }
    }
  }

  private row(run: RunRow): HTMLElement {
    const row = h("div", `padding:6px 10px;border-bottom:1px solid ${BORDER};cursor:pointer;display:flex;` +
      "flex-direction:column;gap:2px");
    row.className = "gj-lab-run";
    row.setAttribute("role", "listitem");
    row.tabIndex = 0;
    row.dataset.runId = run.run_id;
    row.dataset.status = run.status;
    row.dataset.source = run.source;
    row.dataset.flowId = run.flow_id;
    row.dataset.statusHistory = this.history.get(run.run_id) ?? run.status;
    // The tooltip names the run as the user did (the label); the id follows for reference.
    row.title = `${run.label || "(no label)"} · ${run.status} · ${run.source === "globus" ? "Globus Flows" : "local service"}` +
      ` · ${run.run_id}`;
    const top = h("div", "display:flex;align-items:center;gap:6px");
    const badge = new StatusBadge();
    badge.set(run.status, run.headline || run.display_status || run.status, run.outcome);
    row.dataset.outcome = run.outcome ?? run.status.toLowerCase();
    if (run.failure) badge.el.title = run.failure;
    const label = h("span", "font-weight:600;flex:1;overflow:hidden;text-overflow:ellipsis;white-space:nowrap",
      run.label || "(no label)");
    label.className = "gj-lab-run-label";
    top.append(badge.el, label);
    const meta = h("div", `color:${MUTED};font-size:12px;display:flex;gap:6px;flex-wrap:wrap`);
    const flow = h("span", "", run.flow_title || run.flow_id);
    flow.className = "gj-lab-run-flow";
    const started = h("span", "", shortDate(run.start_time));
    const duration = h("span", "");
    duration.className = "gj-lab-run-duration";
    duration.dataset.start = run.start_time;
    duration.dataset.end = run.completion_time;
    duration.textContent = this.duration(run.start_time, run.completion_time);
    const source = h("span", "", run.source === "globus" ? "Globus" : "local");
    meta.append(flow, started, duration, source);
    row.append(top, meta);
    if (run.rerun_of) {
      const parent = this.runs.find((r) => r.run_id === run.rerun_of);
      const link = h("div", `color:${MUTED};font-size:12px`,
        `re-run of ${parent?.label || run.rerun_of.slice(0, 8)} from ${run.rerun_from || "?"}`);
      link.className = "gj-lab-run-parent";
      link.dataset.parent = run.rerun_of;
      row.append(link);
    }
    const open = () => this.openRun(run);
    row.addEventListener("click", open);
    row.addEventListener("keydown", (e) => {
      if (e.key === "Enter" || e.key === " ") {
        e.preventDefault();
        open();
      }
    });
    return row;
  }

  private duration(start: string, end: string): string {
    const s = parseTime(start);
    if (s === null) return "";
    const e = parseTime(end) ?? Date.now();
    return formatDuration((e - s) / 1000);
  }

  private tickDurations(): void {
    for (const el of this.list.querySelectorAll<HTMLElement>(".gj-lab-run-duration")) {
      if (!el.dataset.end) el.textContent = this.duration(el.dataset.start ?? "", "");
    }
  }

  dispose(): void {
    window.clearTimeout(this.timer);
    window.clearInterval(this.ticker);
    super.dispose();
  }
}
