// Status pieces of the run monitor, reusable by the JupyterLab runs side panel:
// the run status badge, a live elapsed-time label and the progress bar.
import { BORDER, MUTED, OUTCOME_COLOURS, STATUS_COLOURS, STATUS_ON, ensureThemeStyle } from "./theme";

/** Colour of a run status (ACTIVE, INACTIVE, SUCCEEDED, FAILED, ENDED) or outcome. */
export function runStatusColour(status: string): string {
  const outcome = OUTCOME_COLOURS[status];
  if (outcome) return outcome[0];
  switch (status) {
    case "ACTIVE":
      return STATUS_COLOURS.active;
    case "INACTIVE":
      return STATUS_COLOURS.inactive;
    case "SUCCEEDED":
      return STATUS_COLOURS.succeeded;
    case "FAILED":
      return STATUS_COLOURS.failed;
    default:
      return STATUS_COLOURS.ended;
  }
}

/** The text drawn on `runStatusColour(status)` (4.5:1 or more). */
export function runStatusOn(status: string): string {
  const key = { ACTIVE: "active", INACTIVE: "inactive", SUCCEEDED: "succeeded", FAILED: "failed" }[status];
  return STATUS_ON[key ?? "ended"];
}

/**
 * What a run shows in its pill: its status, or "warning" when it SUCCEEDED while states
 * failed, "cancelled" when its user canceled it (the run status stays as Globus gives it).
 */
export function runOutcome(status: string, failedStates = 0, cancelled = false): string {
  if (cancelled) return "cancelled";
  if (status === "SUCCEEDED" && failedStates > 0) return "warning";
  return status.toLowerCase();
}

/** "SUCCEEDED · 2 states failed", "CANCELLED" or the status itself. */
export function runHeadline(status: string, failedStates = 0, cancelled = false): string {
  if (cancelled) return "CANCELLED";
  if (status === "SUCCEEDED" && failedStates > 0) {
    return `${status} · ${failedStates} state${failedStates === 1 ? "" : "s"} failed`;
  }
  return status;
}

/** A pill showing a run status; `set(status, text, outcome)` updates it. */
export class StatusBadge {
  readonly el: HTMLSpanElement;
  constructor() {
    ensureThemeStyle();
    this.el = document.createElement("span");
    this.el.className = "gj-status-badge";
    this.el.style.cssText =
      "display:inline-block;border-radius:1em;padding:0 .7em;color:#fff;font-weight:600;" +
      "font-size:.85em;line-height:1.6em";
  }
  set(status: string, text?: string, outcome?: string): void {
    const shown = outcome || status.toLowerCase();
    this.el.textContent = text || status;
    this.el.dataset.status = status;
    this.el.dataset.outcome = shown;
    const pair = OUTCOME_COLOURS[shown];
    this.el.style.background = pair ? pair[0] : runStatusColour(status);
    this.el.style.color = pair ? pair[1] : runStatusOn(status);
  }
}

/**
 * "340 ms", "1.2 s", "12 s", "3 min 05 s", "1 h 02 min"; "" for no duration. The same
 * arithmetic as gladier_jupyter.monitor.format_duration (rounding half up with
 * floor(x + 0.5)), so the live views and the static snapshot show the same text.
 */
export function formatDuration(seconds: number): string {
  if (typeof seconds !== "number" || !isFinite(seconds) || seconds < 0) return "";
  const ms = Math.floor(seconds * 1000 + 0.5);
  if (ms < 1000) return ms === 0 && seconds > 0 ? "<1 ms" : `${ms} ms`;
  const tenths = Math.floor(seconds * 10 + 0.5);
  if (tenths < 100) return `${Math.floor(tenths / 10)}.${tenths % 10} s`;
  const total = Math.floor(seconds + 0.5);
  if (total < 60) return `${total} s`;
  const m = Math.floor(total / 60);
  const s = total % 60;
  if (m < 60) return `${m} min ${String(s).padStart(2, "0")} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, "0")} min`;
}

export function parseTime(value: string): number | null {
  if (!value) return null;
  const ms = Date.parse(value);
  return isNaN(ms) ? null : ms;
}

/** Elapsed time since `start`, ticking every second until `end` is known. */
export class Elapsed {
  readonly el: HTMLSpanElement;
  private start: number | null = null;
  private end: number | null = null;
  private timer: number | undefined;
  constructor() {
    this.el = document.createElement("span");
    this.el.className = "gj-elapsed";
    this.el.style.color = MUTED;
  }
  set(start: string, end: string): void {
    this.start = parseTime(start);
    this.end = parseTime(end);
    this.draw();
    if (this.end === null && this.start !== null && this.timer === undefined) {
      this.timer = window.setInterval(() => this.draw(), 1000);
    } else if (this.end !== null && this.timer !== undefined) {
      window.clearInterval(this.timer);
      this.timer = undefined;
    }
  }
  private draw(): void {
    if (this.start === null) {
      this.el.textContent = "";
      return;
    }
    const to = this.end ?? Date.now();
    this.el.textContent = formatDuration((to - this.start) / 1000);
  }
  /** Stop ticking and keep the text shown (a view that lost its kernel). */
  stop(): void {
    if (this.timer !== undefined) window.clearInterval(this.timer);
    this.timer = undefined;
    this.el.dataset.stopped = "1";
  }
  destroy(): void {
    if (this.timer !== undefined) window.clearInterval(this.timer);
  }
}

/** A thin bar: states done on the taken path, out of those done and still ahead. */
export class ProgressBar {
  readonly el: HTMLDivElement;
  private fill: HTMLDivElement;
  private label: HTMLSpanElement;
  constructor() {
    this.el = document.createElement("div");
    this.el.className = "gj-progress";
    this.el.style.cssText = "display:flex;align-items:center;gap:.6em;margin:.4em 0";
    const track = document.createElement("div");
    track.style.cssText = `flex:1;height:6px;border-radius:3px;background:${BORDER};overflow:hidden`;
    this.fill = document.createElement("div");
    this.fill.style.cssText = "height:100%;width:0;transition:width .2s";
    track.append(this.fill);
    this.label = document.createElement("span");
    this.label.style.cssText = `font-size:.85em;color:${MUTED};white-space:nowrap`;
    this.el.append(track, this.label);
  }
  set(done: number, total: number, status: string, outcome?: string): void {
    const frac = total > 0 ? Math.min(1, done / total) : 0;
    this.fill.style.width = `${(frac * 100).toFixed(1)}%`;
    this.fill.style.background = runStatusColour(outcome || status);
    this.label.textContent = total > 0 ? `${done}/${total} states` : "";
    this.el.dataset.done = String(done);
    this.el.dataset.total = String(total);
  }
}

/** A local date and time, to the second ("2026-11-26 05:40:12"). */
export function shortDate(iso: string): string {
  const ms = parseTime(iso);
  if (ms === null) return iso;
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}
