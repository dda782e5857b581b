// A Gantt chart of state durations: one bar per state visit (loops give several bars).
// Reusable by the runs side panel.
import { BORDER, MUTED, STATUS_COLOURS } from "./theme";
import { formatDuration, parseTime } from "./monitorStatus";

export interface TimelineBar {
  state: string;
  start: string;
  end: string;
  status: string;
}

const SVG = "http://www.w3.org/2000/svg";

export class Timeline {
  readonly el: HTMLDivElement;
  onSelectState: ((state: string) => void) | null = null;

  constructor() {
    this.el = document.createElement("div");
    this.el.className = "gj-timeline";
    this.el.style.cssText = `overflow:auto;max-height:16em;border:1px solid ${BORDER};border-radius:4px`;
  }

  private key = "";

  /** Draw `bars`; unchanged input is skipped unless `force` (to grow running bars). */
  update(bars: TimelineBar[], runEnd: string, force = false): void {
    const key = JSON.stringify([bars, runEnd]);
    if (key === this.key && !force) return;
    this.key = key;
    const rows = bars
      .map((b) => ({ b, s: parseTime(b.start), e: parseTime(b.end) }))
      .filter((r): r is { b: TimelineBar; s: number; e: number | null } => r.s !== null);
    this.el.replaceChildren();
    this.el.dataset.bars = String(rows.length);
    if (!rows.length) {
      this.el.textContent = "No state has started yet.";
      this.el.style.color = MUTED;
      return;
    }
    const now = parseTime(runEnd) ?? Date.now();
    const t0 = Math.min(...rows.map((r) => r.s));
    const t1 = Math.max(t0 + 1, ...rows.map((r) => r.e ?? now));
    const width = 640, labelW = 150, rowH = 18, plotW = width - labelW - 60;
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("width", String(width));
    svg.setAttribute("height", String(rows.length * rowH + 6));
    svg.style.font = "11px var(--jp-ui-font-family, sans-serif)";
    rows.forEach(({ b, s, e }, i) => {
      const y = i * rowH + 3;
      const end = e ?? now;
      const x = labelW + ((s - t0) / (t1 - t0)) * plotW;
      const w = Math.max(2, ((end - s) / (t1 - t0)) * plotW);
      const g = document.createElementNS(SVG, "g");
      g.setAttribute("data-state", b.state);
      g.setAttribute("data-status", b.status);
      g.style.cursor = "pointer";
      g.addEventListener("click", () => this.onSelectState?.(b.state));
      const label = document.createElementNS(SVG, "text");
      label.setAttribute("x", "4");
      label.setAttribute("y", String(y + 12));
      label.setAttribute("fill", "currentColor");
      label.textContent = b.state.length > 22 ? b.state.slice(0, 21) + "…" : b.state;
      const rect = document.createElementNS(SVG, "rect");
      rect.setAttribute("x", x.toFixed(1));
      rect.setAttribute("y", String(y));
      rect.setAttribute("width", w.toFixed(1));
      rect.setAttribute("height", String(rowH - 5));
      rect.setAttribute("rx", "2");
      rect.setAttribute("fill", STATUS_COLOURS[b.status] ?? STATUS_COLOURS.pending);
      const title = document.createElementNS(SVG, "title");
      title.textContent = `${b.state}: ${formatDuration((end - s) / 1000)}${e === null ? " (running)" : ""}`;
      rect.append(title);
      const dur = document.createElementNS(SVG, "text");
      dur.setAttribute("x", (x + w + 4).toFixed(1));
      dur.setAttribute("y", String(y + 12));
      dur.setAttribute("fill", "currentColor");
      dur.textContent = formatDuration((end - s) / 1000);
      g.append(label, rect, dur);
      svg.append(g);
    });
    this.el.style.color = "";
    this.el.append(svg);
  }
}
