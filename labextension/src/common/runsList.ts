// The list of runs the monitor's entry also draws (RunsList, view "runs"): one row per
// run with its status badge; a click on a row asks the kernel to open that run.
import type { ViewModel } from "./viewModel";
import { BORDER, FONT, MUTED, STATUS_TEXT, TEXT } from "./theme";
import { StatusBadge, shortDate } from "./monitorStatus";
import { button, h } from "./dom";
import type { RunsModel } from "./monitorModel";

/** Draw a list of runs into `el` from `model`; returns the cleanup. */
export function renderRuns(model: ViewModel<RunsModel>, el: HTMLElement): () => void {
  const root = h("div", `font-family:${FONT};color:${TEXT};max-width:980px`);
  root.className = "gj-runs";
  const bar = h("div", "display:flex;gap:.6em;align-items:center;margin-bottom:.3em");
  const heading = h("strong", "", "Runs");
  const refresh = button("Refresh");
  refresh.className = "gj-runs-refresh";
  const msg = h("span", `color:${STATUS_TEXT.failed};font-size:.9em`);
  bar.append(heading, refresh, msg);
  const table = h("table", "border-collapse:collapse;width:100%;font-size:13px");
  const body = table.createTBody();
  root.append(bar, table);
  el.append(root);
  refresh.addEventListener("click", () => model.send({ type: "refresh" }));

  const draw = (): void => {
    msg.textContent = model.get("message");
    body.replaceChildren();
    const runs = model.get("runs") ?? [];
    root.dataset.runs = String(runs.length);
    if (!runs.length) {
      body.append(h("tr", `color:${MUTED}`, "No runs yet."));
    }
    for (const run of runs) {
      const tr = h("tr", `cursor:pointer;border-bottom:1px solid ${BORDER}` +
        (run.run_id === model.get("selected") ? ";background:var(--jp-layout-color2, #f0f0f0)" : ""));
      tr.className = "gj-run-row";
      tr.dataset.runId = run.run_id;
      tr.dataset.status = run.status;
      const badge = new StatusBadge();
      badge.set(run.status, run.headline || run.status, run.outcome);
      const cells: (string | HTMLElement)[] = [badge.el, run.label || "(no label)", run.flow_title, shortDate(run.start_time), run.run_id];
      for (const c of cells) {
        const td = h("td", "padding:2px 6px");
        if (typeof c === "string") td.textContent = c;
        else td.append(c);
        tr.append(td);
      }
      (tr.lastChild as HTMLElement).style.cssText += `;font-family:monospace;font-size:11px;color:${MUTED}`;
      tr.addEventListener("click", () => model.send({ type: "open", run_id: run.run_id }));
      body.append(tr);
    }
  };
  model.on("change:runs", draw);
  model.on("change:selected", draw);
  model.on("change:message", draw);
  draw();
  return () => {
    model.off("change:runs", draw);
    model.off("change:selected", draw);
    model.off("change:message", draw);
  };
}
