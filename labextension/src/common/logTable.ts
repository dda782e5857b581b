// The run's event log as a table (time, code, state, description). Rows are appended,
// never redrawn, so a log of thousands of entries stays cheap; the newest row stays in
// view unless the reader has scrolled up. Two filters (state, code) hide the rows that do
// not match. Reusable by the runs side panel.
import { BORDER, MUTED, STATUS_TEXT, SURFACE } from "./theme";

export interface LogRow {
  i: number;
  time: string;
  code: string;
  state: string;
  description: string;
}

function codeColour(code: string): string {
  if (/Canceled|Cancelled/.test(code)) return STATUS_TEXT.cancelled;
  if (/Failed|Errored|Timeout|TimedOut/.test(code)) return STATUS_TEXT.failed;
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

const FIELD = `font:inherit;font-size:12px;border:1px solid ${BORDER};border-radius:3px;` +
  `background:${SURFACE};color:inherit;padding:1px 4px`;

export class LogTable {
  readonly el: HTMLDivElement;
  private scroller: HTMLDivElement;
  private body: HTMLTableSectionElement;
  private stateFilter: HTMLSelectElement;
  private codeFilter: HTMLInputElement;
  private shownCount: HTMLSpanElement;
  private states = new Set<string>();
  private count = 0;
  private matching = 0;
  onSelectState: ((state: string) => void) | null = null;

  constructor(maxHeight = "14em") {
    this.el = document.createElement("div");
    this.el.className = "gj-log";
    const bar = document.createElement("div");
    bar.className = "gj-log-filters";
    bar.style.cssText = "display:flex;gap:.5em;align-items:center;margin:.2em 0;font-size:12px";
    this.stateFilter = document.createElement("select");
    this.stateFilter.className = "gj-log-state-filter";
    this.stateFilter.setAttribute("aria-label", "Show the entries of one state");
    this.stateFilter.style.cssText = FIELD;
    this.stateFilter.append(new Option("All states", ""));
    this.codeFilter = document.createElement("input");
    this.codeFilter.className = "gj-log-code-filter";
    this.codeFilter.type = "search";
    this.codeFilter.placeholder = "Filter codes (e.g. Failed)";
    this.codeFilter.setAttribute("aria-label", "Show the entries whose code contains");
    this.codeFilter.style.cssText = FIELD;
    this.shownCount = document.createElement("span");
    this.shownCount.style.color = MUTED;
    bar.append(this.stateFilter, this.codeFilter, this.shownCount);
    this.stateFilter.addEventListener("change", () => this.refilter());
    this.codeFilter.addEventListener("input", () => this.refilter());

    this.scroller = document.createElement("div");
    this.scroller.className = "gj-log-rows";
    this.scroller.style.cssText = `max-height:${maxHeight};overflow:auto;border:1px solid ${BORDER};border-radius:4px`;
    // It scrolls: reachable from the keyboard, and named for screen readers.
    this.scroller.tabIndex = 0;
    this.scroller.setAttribute("role", "region");
    this.scroller.setAttribute("aria-label", "Event log");
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
    this.scroller.append(table);
    this.el.append(bar, this.scroller);
  }

  /** How many rows the table holds (the log entries 0 .. count-1). */
  get length(): number {
    return this.count;
  }

  /** Show `rows` (the whole log so far): appends those not shown yet. */
  update(rows: LogRow[]): void {
    if (rows.length < this.count) this.clear();
    if (rows.length > this.count) this.append(rows.slice(this.count));
  }

  clear(): void {
    this.body.replaceChildren();
    this.count = 0;
    this.matching = 0;
    this.drawCount();
  }

  /** Append the rows that continue the log (row.i === length); others are ignored. */
  append(rows: LogRow[]): void {
    const fresh = rows.filter((r) => r.i >= this.count);
    if (!fresh.length || fresh[0].i !== this.count) return;
    const atBottom = this.scroller.scrollTop + this.scroller.clientHeight >= this.scroller.scrollHeight - 4;
    const frag = document.createDocumentFragment();
    const wantState = this.stateFilter.value;
    const wantCode = this.codeFilter.value.trim().toLowerCase();
    for (const row of fresh) {
      if (row.i !== this.count) break;
      const tr = document.createElement("tr");
      tr.dataset.index = String(row.i);
      tr.dataset.code = row.code;
      if (row.state) {
        tr.dataset.state = row.state;
        if (!this.states.has(row.state)) {
          this.states.add(row.state);
          this.stateFilter.append(new Option(row.state, row.state));
        }
      }
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
      const shown = this.matches(tr, wantState, wantCode);
      if (!shown) tr.style.display = "none";
      else this.matching++;
      frag.append(tr);
      this.count++;
    }
    this.body.append(frag);
    this.el.dataset.rows = String(this.count);
    this.drawCount();
    if (atBottom) this.scroller.scrollTop = this.scroller.scrollHeight;
  }

  /** Filter by state name ("" for all) and by a piece of the code (case-insensitive). */
  setFilter(state: string, code: string): void {
    this.stateFilter.value = state;
    this.codeFilter.value = code;
    this.refilter();
  }

  private matches(tr: HTMLElement, state: string, code: string): boolean {
    return (!state || tr.dataset.state === state) &&
      (!code || (tr.dataset.code ?? "").toLowerCase().includes(code));
  }

  private refilter(): void {
    const state = this.stateFilter.value;
    const code = this.codeFilter.value.trim().toLowerCase();
    let n = 0;
    for (const tr of Array.from(this.body.rows)) {
      const shown = this.matches(tr, state, code);
      tr.style.display = shown ? "" : "none";
      if (shown) n++;
    }
    this.matching = n;
    this.el.dataset.filterState = state;
    this.el.dataset.filterCode = code;
    this.drawCount();
  }

  private drawCount(): void {
    const filtered = this.stateFilter.value || this.codeFilter.value.trim();
    this.shownCount.textContent = filtered ? `${this.matching} of ${this.count} entries` : `${this.count} entries`;
    this.el.dataset.shown = String(this.matching);
  }
}
