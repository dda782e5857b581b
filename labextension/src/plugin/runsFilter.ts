// Find runs: the runs panel's filters beyond flow and status (label substring, tag, start
// time range), kept across the panel's refreshes and page reloads, and "Open N in tabs" for
// what they match. Tags are filtered here: the Flows API's list_runs cannot filter by tag.
import { BORDER, MUTED } from "../common/theme";
import { parseTime } from "../common/monitorStatus";
import type { RunRow } from "./api";
import { withClass } from "../common/dom";

/** Most runs "Open N in tabs" opens at once (the newest that match). */
export const MAX_OPEN_TABS = 10;
const STORAGE_KEY = "gladier-jupyter:runs-filter";
/** Tags a re-run carries to link its parent: shown as the "re-run of" line, not as tags. */
const LINK_TAGS = ["rerun-of:", "rerun-from:"];

export interface FilterState {
  label: string;
  tag: string;
  /** datetime-local values ("2026-12-01T10:30", local time) or "" */
  from: string;
  to: string;
  flow: string;
  status: string;
}
const EMPTY: FilterState = { label: "", tag: "", from: "", to: "", flow: "", status: "" };

function load(): FilterState {
  try {
    const saved = JSON.parse(window.localStorage.getItem(STORAGE_KEY) ?? "{}") as Partial<FilterState>;
    const out = { ...EMPTY };
    for (const k of Object.keys(EMPTY) as (keyof FilterState)[]) {
      if (typeof saved[k] === "string") out[k] = (saved[k] as string).slice(0, 200);
    }
    return out;
  } catch {
    return { ...EMPTY };
  }
}

export function userTags(run: RunRow): string[] {
  return (run.tags ?? []).filter((t) => !LINK_TAGS.some((p) => t.startsWith(p)));
}

/**
 * The filter inputs (`el`, under the panel's flow and status selects) and the open bar
 * (`bar`: a one-line notice and the "Open N in tabs" button, above the list).
 */
export class RunsFilter {
  readonly el: HTMLElement;
  readonly bar: HTMLElement;
  private state: FilterState = load();
  private label: HTMLInputElement;
  private tag: HTMLSelectElement;
  private from: HTMLInputElement;
  private to: HTMLInputElement;
  private notice: HTMLElement;
  private openButton: HTMLButtonElement;
  private clearButton: HTMLButtonElement;
  private toOpen: RunRow[] = [];

  constructor(private changed: () => void, open: (runs: RunRow[]) => void) {
    const field = "font:inherit;min-width:0";
    this.el = withClass("div", "gj-lab-runs-find");
    this.el.style.cssText = "display:flex;flex-direction:column;gap:6px";
    const texts = withClass("div");
    texts.style.cssText = "display:flex;gap:6px";
    this.label = withClass("input", "gj-lab-runs-label-filter");
    this.label.type = "search";
    this.label.placeholder = "Label contains…";
    this.label.setAttribute("aria-label", "Filter by label (contains)");
    this.label.style.cssText = `${field};flex:1`;
    this.tag = withClass("select", "gj-lab-runs-tag");
    this.tag.setAttribute("aria-label", "Filter by tag");
    this.tag.style.cssText = `${field};max-width:45%`;
    texts.append(this.label, this.tag);
    const times = withClass("div");
    times.style.cssText = `display:grid;grid-template-columns:auto 1fr;gap:4px 6px;align-items:center;` +
      `color:${MUTED};font-size:12px`;
    this.from = withClass("input", "gj-lab-runs-from");
    this.to = withClass("input", "gj-lab-runs-to");
    for (const [input, name] of [[this.from, "Started from"], [this.to, "Started until"]] as const) {
      input.type = "datetime-local";
      input.setAttribute("aria-label", name);
      input.style.cssText = `${field};width:100%;box-sizing:border-box;font-size:12px`;
    }
    times.append(withClass("span", "", "started from"), this.from, withClass("span", "", "until"), this.to);
    this.el.append(texts, times);

    this.bar = withClass("div", "gj-lab-runs-open-bar");
    this.bar.style.cssText = `padding:4px 10px;border-bottom:1px solid ${BORDER};display:none;` +
      "flex-direction:column;gap:4px;font-size:12px";
    this.notice = withClass("div", "gj-lab-runs-open-notice");
    this.notice.style.cssText = `color:${MUTED};white-space:nowrap;overflow:hidden;text-overflow:ellipsis`;
    this.notice.setAttribute("role", "status");
    const buttons = withClass("div");
    buttons.style.cssText = "display:flex;gap:6px";
    this.openButton = withClass("button", "gj-lab-runs-open-all");
    this.clearButton = withClass("button", "gj-lab-runs-clear-filters", "Clear filters");
    for (const b of [this.openButton, this.clearButton]) {
      b.type = "button";
      b.style.cssText = `font:inherit;cursor:pointer;border:1px solid ${BORDER};border-radius:4px;` +
        "background:var(--jp-layout-color2, #f5f5f5);color:inherit;padding:1px 8px";
    }
    buttons.append(this.openButton, this.clearButton);
    this.bar.append(this.notice, buttons);

    this.label.value = this.state.label;
    this.from.value = this.state.from;
    this.to.value = this.state.to;
    this.label.addEventListener("input", () => this.set({ label: this.label.value }));
    this.tag.addEventListener("change", () => this.set({ tag: this.tag.value }));
    for (const ev of ["input", "change"]) {
      this.from.addEventListener(ev, () => { if (this.from.value !== this.state.from) this.set({ from: this.from.value }); });
      this.to.addEventListener(ev, () => { if (this.to.value !== this.state.to) this.set({ to: this.to.value }); });
    }
    this.openButton.addEventListener("click", () => open(this.toOpen));
    this.clearButton.addEventListener("click", () => {
      this.label.value = this.from.value = this.to.value = "";
      this.set({ ...EMPTY });
    });
  }

  /** The flow and status the panel's selects should show (kept here, saved with the rest). */
  get flow(): string { return this.state.flow; }
  get status(): string { return this.state.status; }

  /** The panel's flow and status selects changed. */
  setSelects(flow: string, status: string): void {
    if (flow !== this.state.flow || status !== this.state.status) this.set({ flow, status });
  }

  private set(part: Partial<FilterState>): void {
    this.state = { ...this.state, ...part };
    try {
      window.localStorage.setItem(STORAGE_KEY, JSON.stringify(this.state));
    } catch { /* storage full or disabled: the filters still work for this page */ }
    this.changed();
  }

  /** Whether any filter narrows the list. */
  get active(): boolean {
    return Object.values(this.state).some(Boolean);
  }

  /** Label (substring, any case), tag and start-time range; flow and status are the panel's. */
  matches(run: RunRow): boolean {
    const s = this.state;
    if (s.label && !run.label.toLowerCase().includes(s.label.toLowerCase())) return false;
    if (s.tag && !(run.tags ?? []).includes(s.tag)) return false;
    if (s.from || s.to) {
      const start = parseTime(run.start_time);
      if (start === null) return false;
      const from = s.from ? new Date(s.from).getTime() : NaN;
      // "until 10:30" includes runs started during that minute
      const to = s.to ? new Date(s.to).getTime() + 59_999 : NaN;
      if (!isNaN(from) && start < from) return false;
      if (!isNaN(to) && start > to) return false;
    }
    return true;
  }

  /** After the panel drew `shown` of `all`: the tag choices and the open bar. */
  update(all: RunRow[], shown: RunRow[]): void {
    const tags = new Set<string>();
    for (const r of all) for (const t of userTags(r)) tags.add(t);
    if (this.state.tag) tags.add(this.state.tag); // kept while no listed run has it
    this.tag.replaceChildren(new Option("All tags", ""));
    for (const t of [...tags].sort()) this.tag.append(new Option(t, t));
    this.tag.value = this.state.tag;
    this.tag.disabled = tags.size === 0;
    this.toOpen = shown.slice(0, MAX_OPEN_TABS);
    const on = this.active && shown.length > 0;
    this.bar.style.display = on || this.active ? "flex" : "none";
    this.openButton.style.display = on ? "" : "none";
    const n = this.toOpen.length;
    this.openButton.textContent = `Open ${n} in tabs`;
    this.openButton.setAttribute("aria-label", `Open the ${n} newest matching run${n === 1 ? "" : "s"} in tabs`);
    this.bar.dataset.matches = String(shown.length);
    this.notice.textContent = !shown.length ? "" : shown.length > MAX_OPEN_TABS ?
      `${shown.length} runs match; the newest ${MAX_OPEN_TABS} open.` :
      `${shown.length} run${shown.length === 1 ? "" : "s"} match${shown.length === 1 ? "es" : ""}.`;
    this.notice.title = this.notice.textContent;
    this.notice.style.display = this.notice.textContent ? "" : "none";
  }
}
