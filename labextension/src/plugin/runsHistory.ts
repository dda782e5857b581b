// Runs compared and runs over time, in main-area tabs fed by the server extension:
//   gladier:compare-runs {a, b}     GET compare?a=&b=         per state status, duration, outputs
//   gladier:flow-durations {flow_id} GET flows/<id>/durations  min/median/max and a Gantt
// and the runs panel's selection: Ctrl/Cmd-click or Space on a focused row selects runs,
// a bar under the list then offers "Compare" (two runs) and "Durations" (their flow).
import { Widget } from "@lumino/widgets";
import { BORDER, FONT, MUTED, STATUS_COLOURS, STATUS_TEXT, TEXT } from "../common/theme";
import { formatDuration } from "../common/monitorStatus";
import { APIError, requestAPI } from "./api";
import { diffBanner, DIFF_CSS, type DefinitionChanges, type FieldChange } from "../widgets/preview";
import { withClass } from "../common/dom";

interface RunSummary { run_id: string; label: string; status: string; flow_id: string; duration: number | null }
interface CompareReply {
  runs: RunSummary[];
  states: { name: string; status: string[]; duration: (number | null)[]; output_changes: FieldChange[] }[];
  definition_diff: DefinitionChanges | null;
}
interface DurationsReply {
  flow_id: string;
  source: string;
  runs: RunSummary[];
  stats: Record<string, { runs: number; min: number | null; median: number | null; max: number | null }>;
  gantt: { state: string; status: string; offset: number | null; duration: number | null; median: number | null }[];
}

const VIEW_CSS = `
.gj-history-view{font-family:${FONT};color:${TEXT};font-size:13px;padding:8px 12px;overflow:auto;height:100%;box-sizing:border-box}
.gj-history-view table{border-collapse:collapse;margin:.4em 0}
.gj-history-view th,.gj-history-view td{border-bottom:1px solid ${BORDER};padding:.25em .9em .25em 0;text-align:left;vertical-align:top}
.gj-history-view td.gj-num{text-align:right;font-variant-numeric:tabular-nums}
.gj-history-view tr.gj-differs{background:rgba(239,143,0,.12)}
.gj-history-view code{font-family:var(--jp-code-font-family,monospace);font-size:12px}
.gj-history-view .gj-muted{color:${MUTED}}
.gj-history-view ul{margin:0;padding-left:1.1em}
${DIFF_CSS}`;

const dur = (v: number | null | undefined): string => (typeof v === "number" ? formatDuration(v) || "0 ms" : "—");
const short = (v: unknown): string => {
  const t = JSON.stringify(v) ?? "undefined";
  return t.length <= 60 ? t : t.slice(0, 59) + "…";
};
function status(s: string): HTMLElement {
  const span = withClass("span", "gj-history-status", s);
  span.style.color = STATUS_TEXT[s.toLowerCase()] ?? MUTED;
  span.style.fontWeight = "600";
  return span;
}

abstract class HistoryView extends Widget {
  constructor(id: string) {
    super();
    this.id = id;
    this.addClass("gj-history-view");
    this.node.append(withClass("style", "", VIEW_CSS));
    this.node.append(withClass("p", "gj-muted gj-history-loading", "Loading…"));
  }

  protected async load<T>(path: string, draw: (reply: T) => void): Promise<void> {
    try {
      const reply = await requestAPI<T>(path);
      this.node.querySelector(".gj-history-loading")?.remove();
      draw(reply);
      this.node.dataset.loaded = "true";
    } catch (error) {
      const message = error instanceof APIError ? error.message : String(error);
      this.node.querySelector(".gj-history-loading")?.remove();
      this.node.append(withClass("p", "gj-history-error", message));
      this.node.dataset.loaded = "error";
    }
  }
}

/** Two runs side by side. */
export class CompareView extends HistoryView {
  constructor(readonly a: string, readonly b: string) {
    super(`gladier-compare-${a}-${b}`);
    this.addClass("gj-compare-view");
    void this.load<CompareReply>(`compare?a=${encodeURIComponent(a)}&b=${encodeURIComponent(b)}`, (r) => this.draw(r));
  }

  private draw(reply: CompareReply): void {
    this.node.append(withClass("h3", "", "Run comparison"));
    if (reply.definition_diff) {
      this.node.dataset.definitions = "different";
      this.node.append(withClass("p", "gj-def-diff", "The runs ran different definitions."),
        diffBanner({ ...reply.definition_diff, against: `run A (${reply.runs[0].label || reply.runs[0].run_id})` }));
    } else {
      this.node.dataset.definitions = "same";
      this.node.append(withClass("p", "gj-muted gj-def-same", "Both runs ran the same definition."));
    }
    const table = withClass("table", "gj-compare-table");
    const head = withClass("tr");
    head.append(withClass("th", "", "state"));
    reply.runs.forEach((r, i) => {
      const th = withClass("th");
      th.append(`${"AB"[i]}: ${r.label || r.run_id}`, withClass("br"),
        withClass("span", "gj-muted", `${r.status} · ${dur(r.duration)}`));
      head.append(th);
    });
    head.append(withClass("th", "", "output differences (A → B)"));
    table.append(head);
    for (const row of reply.states) {
      const tr = withClass("tr");
      tr.dataset.state = row.name;
      if (row.status[0] !== row.status[1] || row.output_changes.length) tr.classList.add("gj-differs");
      tr.append(withClass("td", "", row.name));
      for (let i = 0; i < 2; i++) {
        const td = withClass("td", `gj-side-${"ab"[i]}`);
        td.append(status(row.status[i]), " ", withClass("span", "gj-muted", dur(row.duration[i])));
        tr.append(td);
      }
      const out = withClass("td", "gj-output-diff");
      if (row.output_changes.length) {
        const ul = withClass("ul");
        for (const c of row.output_changes.slice(0, 8)) {
          const li = withClass("li");
          li.append(withClass("code", "", c.path), c.op === "changed" ? `: ${short(c.old)} → ${short(c.new)}` : ` ${c.op}`);
          ul.append(li);
        }
        out.append(ul);
      } else out.append(withClass("span", "gj-muted", "same output"));
      tr.append(out);
      table.append(tr);
    }
    this.node.append(table);
  }
}

/** A flow's per-state durations over its last runs, and the latest run's Gantt. */
export class DurationsView extends HistoryView {
  constructor(readonly flowId: string, readonly last = 20) {
    super(`gladier-durations-${flowId}`);
    this.addClass("gj-durations-view");
    void this.load<DurationsReply>(`flows/${encodeURIComponent(flowId)}/durations?last=${last}`, (r) => this.draw(r));
  }

  private draw(reply: DurationsReply): void {
    this.node.append(withClass("h3", "", `Flow ${reply.flow_id}: ${reply.runs.length} ended run${reply.runs.length === 1 ? "" : "s"}`));
    const table = withClass("table", "gj-durations-table");
    const head = withClass("tr");
    for (const t of ["state", "runs", "min", "median", "max"]) head.append(withClass("th", "", t));
    table.append(head);
    for (const [name, s] of Object.entries(reply.stats)) {
      const tr = withClass("tr");
      tr.dataset.state = name;
      tr.append(withClass("td", "", name), withClass("td", "gj-num", String(s.runs)), withClass("td", "gj-num", dur(s.min)),
        withClass("td", "gj-num", dur(s.median)), withClass("td", "gj-num", dur(s.max)));
      table.append(tr);
    }
    this.node.append(table);
    if (!reply.gantt.length) return;
    const latest = reply.runs[reply.runs.length - 1];
    this.node.append(withClass("h4", "", `Latest run ${latest.label || latest.run_id} against the median (dashed)`));
    const total = Math.max(1e-3, ...reply.gantt.map((b) => (b.offset ?? 0) + Math.max(b.duration ?? 0, b.median ?? 0)));
    const left = 150, width = 420, rowH = 22;
    const scale = width / total;
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("class", "gj-gantt");
    svg.setAttribute("width", String(left + width + 90));
    svg.setAttribute("height", String(rowH * reply.gantt.length + 24));
    const add = (tag: string, attrs: Record<string, string | number>, text = ""): SVGElement => {
      const e = document.createElementNS(ns, tag);
      for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
      if (text) e.textContent = text;
      svg.append(e);
      return e;
    };
    reply.gantt.forEach((b, i) => {
      const y = 4 + i * rowH, x = left + (b.offset ?? 0) * scale;
      add("text", { x: left - 6, y: y + 14, "text-anchor": "end", "font-size": 12, fill: TEXT }, b.state);
      if (b.median !== null) {
        add("rect", { class: "gj-gantt-median", x, y: y + 1, width: Math.max(1, b.median * scale), height: rowH - 4,
          fill: "none", stroke: MUTED, "stroke-dasharray": "4 3" });
      }
      if (b.duration !== null) {
        const bar = add("rect", { class: "gj-gantt-bar", "data-state": b.state, x, y: y + 4,
          width: Math.max(1, b.duration * scale), height: rowH - 10, fill: STATUS_COLOURS[b.status.toLowerCase()] ?? MUTED });
        const title = document.createElementNS(ns, "title");
        title.textContent = `${b.state}: ${dur(b.duration)} (median ${dur(b.median)})`;
        bar.append(title);
        add("text", { x: x + Math.max(b.duration, b.median ?? 0) * scale + 4, y: y + 14, "font-size": 11, fill: MUTED }, dur(b.duration));
      }
    });
    this.node.append(svg);
  }
}

/**
 * The runs panel's selection, kept out of the panel's own code: Ctrl/Cmd-click or Space on a
 * focused row selects it (a plain click or Enter opens it); a bar under the list compares two selected runs or
 * shows the durations of their flow.
 */
export function attachRunSelection(panel: HTMLElement, open: {
  compare: (a: string, b: string) => void; durations: (flowId: string) => void;
}): () => void {
  const selected: string[] = [];
  const bar = withClass("div", "gj-lab-runs-selection");
  bar.style.cssText = `padding:6px 10px;border-top:1px solid ${BORDER};display:none;gap:6px;align-items:center;flex-wrap:wrap`;
  const text = withClass("span", "gj-muted gj-lab-runs-selected");
  text.setAttribute("role", "status"); // screen readers hear "2 selected" as it changes
  const compare = withClass("button", "gj-lab-runs-compare", "Compare");
  const durations = withClass("button", "gj-lab-runs-durations", "Durations");
  const clear = withClass("button", "gj-lab-runs-clear", "Clear");
  for (const b of [compare, durations, clear]) (b as HTMLButtonElement).type = "button";
  bar.append(text, compare, durations, clear);
  const list = panel.querySelector(".gj-lab-runs-list");
  if (list?.parentElement) list.parentElement.insertBefore(bar, list.nextSibling);
  else panel.append(bar);
  const rowOf = (id: string): HTMLElement | null =>
    panel.querySelector(`.gj-lab-run[data-run-id="${CSS.escape(id)}"]`);
  const draw = (): void => {
    panel.querySelectorAll<HTMLElement>(".gj-lab-run").forEach((r) => {
      const on = selected.includes(r.dataset.runId ?? "");
      r.dataset.selected = String(on);
      r.style.outline = on ? "2px solid var(--jp-brand-color1, #1976d2)" : "";
    });
    bar.style.display = selected.length ? "flex" : "none";
    text.textContent = `${selected.length} selected`;
    (compare as HTMLButtonElement).disabled = selected.length !== 2;
    const n = selected.length;
    compare.setAttribute("aria-label", n === 2 ? "Compare the 2 selected runs" :
      `Compare: select exactly 2 runs (${n} selected)`);
    durations.setAttribute("aria-label",
      `Durations of the flow of the ${n} selected run${n === 1 ? "" : "s"}`);
    clear.setAttribute("aria-label", `Clear the selection of ${n} run${n === 1 ? "" : "s"}`);
    panel.dataset.selected = selected.join(",");
  };
  const toggle = (id: string): void => {
    const at = selected.indexOf(id);
    if (at >= 0) selected.splice(at, 1);
    else {
      selected.push(id);
      if (selected.length > 2) selected.shift();
    }
    draw();
  };
  // capture phase: before the row's own handlers, which open the run
  const onClick = (event: MouseEvent): void => {
    if (!(event.ctrlKey || event.metaKey)) return; // a plain click opens the run
    const row = (event.target as HTMLElement | null)?.closest<HTMLElement>(".gj-lab-run");
    const id = row?.dataset.runId;
    if (!id) return;
    event.preventDefault();
    event.stopPropagation();
    toggle(id);
  };
  // Space on a focused row selects it (Enter still opens it)
  const onKey = (event: KeyboardEvent): void => {
    if (event.key !== " " || event.repeat) return;
    const row = event.target as HTMLElement | null;
    if (!row?.classList?.contains("gj-lab-run") || !row.dataset.runId) return;
    event.preventDefault();
    event.stopPropagation();
    toggle(row.dataset.runId);
  };
  panel.addEventListener("click", onClick, true);
  panel.addEventListener("keydown", onKey, true);
  // the panel redraws its rows as runs change: keep the marks on the new rows
  const observer = new MutationObserver(() => {
    for (const id of [...selected]) if (!rowOf(id)) selected.splice(selected.indexOf(id), 1);
    const marked = [...panel.querySelectorAll<HTMLElement>(".gj-lab-run")].every(
      (r) => (r.dataset.selected === "true") === selected.includes(r.dataset.runId ?? ""));
    if (!marked) draw();
  });
  if (list) observer.observe(list, { childList: true });
  compare.addEventListener("click", () => { if (selected.length === 2) open.compare(selected[0], selected[1]); });
  durations.addEventListener("click", () => {
    const flowId = selected.map((id) => rowOf(id)?.dataset.flowId).find(Boolean);
    if (flowId) open.durations(flowId);
  });
  clear.addEventListener("click", () => { selected.splice(0); draw(); });
  return () => {
    panel.removeEventListener("click", onClick, true);
    panel.removeEventListener("keydown", onKey, true);
    observer.disconnect();
    bar.remove();
  };
}
