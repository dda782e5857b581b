// The run monitor's pane of the selected state: its status, visits and times, its error
// and remote traceback, its input and output, and (in a kernel-backed view) the debug
// loop's buttons. Redrawn only when the selected state's facts change, so a selection in
// the traceback or output (to copy it) survives the updates that keep arriving.
import type { ViewModel } from "./viewModel";
import { BORDER, MUTED, OUTCOME_COLOURS, STATUS_COLOURS, STATUS_ON, STATUS_TEXT } from "./theme";
import { shortDate } from "./monitorStatus";
import { stateButtons } from "./monitorDebug";
import { button, h, pre } from "./dom";
import type { MonitorModel, StateInfo } from "./monitorModel";

export class StateDetail {
  readonly el = h("div", `display:none;border:1px solid ${BORDER};border-radius:4px;padding:.4em .6em;margin:.3em 0`);
  /** Called when the pane's × is clicked, with the state it shows. */
  onClose: (state: string) => void = () => undefined;
  private key = "";

  /** `debug`: whether to offer the debug loop's buttons (a view with a kernel behind it). */
  constructor(private readonly model: ViewModel<MonitorModel>, private readonly debug: boolean) {
    this.el.className = "gj-state-detail";
  }

  /** Show state `selected` (`info`: its facts), or nothing. */
  draw(selected: string | null, info: StateInfo | undefined): void {
    const detail = this.el;
    const key = JSON.stringify([selected, info ?? null]);
    if (key === this.key) return;
    this.key = key;
    detail.replaceChildren();
    if (!selected || !info) {
      detail.style.display = "none";
      return;
    }
    detail.style.display = "block";
    detail.dataset.state = selected;
    const top = h("div", "display:flex;gap:.6em;align-items:center;flex-wrap:wrap");
    const name = h("strong", "", info.name);
    const ink = STATUS_ON[info.status] ?? OUTCOME_COLOURS[info.status]?.[1] ?? "#fff";
    const st = h("span", `color:${ink};border-radius:3px;padding:0 .4em;background:${STATUS_COLOURS[info.status] ?? MUTED}`, info.status);
    st.className = "gj-state-status";
    const meta = h("span", `color:${MUTED};font-size:.85em`,
      [info.type, info.attempts > 1 ? `${info.attempts} visits` : "", info.started ? `started ${shortDate(info.started)}` : "",
        info.ended ? `ended ${shortDate(info.ended)}` : ""].filter(Boolean).join(" · "));
    const close = button("×");
    close.addEventListener("click", () => this.onClose(selected));
    top.append(name, st, meta, close);
    detail.append(top);
    if (info.error) {
      const e = h("div", `color:${STATUS_TEXT.failed};font-weight:600;margin-top:.3em`, info.error);
      e.className = "gj-state-error";
      detail.append(e);
    }
    if (info.traceback) {
      const tb = pre(info.traceback, STATUS_TEXT.failed);
      tb.className = "gj-traceback";
      detail.append(h("div", "font-weight:600;margin-top:.3em", "Remote traceback"), tb);
    }
    for (const [label, text] of [["Input", info.input], ["Output", info.output]] as const) {
      if (!text) continue;
      const p = pre(text);
      p.className = `gj-state-${label.toLowerCase()}`;
      detail.append(h("div", "font-weight:600;margin-top:.3em", label), p);
    }
    const debugButtons = this.debug ? stateButtons(this.model, selected, info) : null;
    if (debugButtons) detail.append(debugButtons);
    if (!info.input && !info.output && !info.error) {
      detail.append(h("div", `color:${MUTED}`, info.status === "pending" ? "Not reached yet." :
        info.status === "skipped" ? "Not on the path this run took." : "No input or output logged yet."));
    }
  }
}
