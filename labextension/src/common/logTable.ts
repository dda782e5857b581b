// The run's event log as a table (time, code, state, description). Rows are appended,
// never redrawn, so a log of thousands of entries stays cheap; the newest row stays in
// view unless the reader has scrolled up. Reusable by the runs side panel.
import { BORDER, MUTED, STATUS_TEXT, SURFACE } from "./theme";

export interface LogRow {
  i: number;
  time: string;
  code: string;
  state: string;
  description: string;
}

function codeColour(code: string): string {
  if (/Failed|Errored|Timeout|TimedOut|Canceled|Cancelled/.test(code)) return STATUS_TEXT.failed;
  if (/Succeeded|Completed/.test(code)) return STATUS_TEXT.succeeded;
  if (/Started/.test(code)) return STATUS_TEXT.active;
  return "inherit";
}

export function shortTime(iso: string): string {
  const ms = Date.parse(iso);
  if (isNaN(ms)) return iso;
  const d = new Date(ms);
  const pad = (n: number, w = 2) => String(n).padStart(w, "0");
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

export class LogTable {
  readonly el: HTMLDivElement;
  private body: HTMLTableSectionElement;
  private count = 0;
  onSelectState: ((state: string) => void) | null = null;

  constructor(maxHeight = "14em") {
    this.el = document.createElement("div");
    this.el.className = "gj-log";
    this.el.style.cssText = `max-height:${maxHeight};overflow:auto;border:1px solid ${BORDER};border-radius:4px`;
    // It scrolls: reachable from the keyboard, and named for screen readers.
    this.el.tabIndex = 0;
    this.el.setAttribute("role", "region");
    this.el.setAttribute("aria-label", "Event log");
    const table = document.createElement("table");
    table.style.cssText = "border-collapse:collapse;width:100%;font-size:12px";
    const head = table.createTHead().insertRow();
    for (const h of ["time", "code", "state", "description"]) {
      const th = document.createElement("th");
      th.textContent = h;
      th.style.cssText = `position:sticky;top:0;background:${SURFACE};text-align:left;padding:2px 6px;color:${MUTED};border-bottom:1px solid ${BORDER}`;
      head.append(th);
    }
    this.body = table.createTBody();
    this.el.append(table);
  }

  /** Show `rows` (the whole log so far): appends those not shown yet. */
  update(rows: LogRow[]): void {
    if (rows.length < this.count) {
      this.body.replaceChildren();
      this.count = 0;
    }
    if (rows.length === this.count) return;
    const atBottom = this.el.scrollTop + this.el.clientHeight >= this.el.scrollHeight - 4;
    const frag = document.createDocumentFragment();
    for (const row of rows.slice(this.count)) {
      const tr = document.createElement("tr");
      tr.dataset.index = String(row.i);
      tr.dataset.code = row.code;
      if (row.state) tr.dataset.state = row.state;
      const cells = [shortTime(row.time), row.code, row.state, row.description];
      cells.forEach((text, k) => {
        const td = document.createElement("td");
        td.textContent = text;
        td.style.cssText = `padding:1px 6px;border-bottom:1px solid ${BORDER};vertical-align:top`;
        if (k === 0) td.title = row.time;
        if (k === 1) td.style.color = codeColour(row.code);
        if (k === 2 && row.state) {
          td.style.cursor = "pointer";
          td.style.textDecoration = "underline dotted";
          td.addEventListener("click", () => this.onSelectState?.(row.state));
        }
        tr.append(td);
      });
      frag.append(tr);
    }
    this.body.append(frag);
    this.count = rows.length;
    this.el.dataset.rows = String(this.count);
    if (atBottom) this.el.scrollTop = this.el.scrollHeight;
  }
}
