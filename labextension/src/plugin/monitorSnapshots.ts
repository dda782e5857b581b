// Keeps the saved fallback of RunMonitor outputs current. The kernel updates a monitor's
// display (update_display_data, by display id) with its final HTML/text snapshot when the
// run ends, but JupyterLab only applies such an update while the cell that made the
// display is still running. This plugin applies it to every output of the notebook that
// shows the same monitor (same widget model id), so a notebook saved after the run shows
// its last state to viewers without a kernel (nbconvert, GitHub). The live view stays: the
// widget-view entry is kept and re-renders the same model. FlowPreview outputs go the same
// way: the kernel updates them with the SVG the live view drew (image/svg+xml).
import type { JupyterFrontEnd, JupyterFrontEndPlugin } from "@jupyterlab/application";
import type { ICodeCellModel } from "@jupyterlab/cells";
import { INotebookTracker, type NotebookPanel } from "@jupyterlab/notebook";
import type { KernelMessage } from "@jupyterlab/services";

const WIDGET_VIEW = "application/vnd.jupyter.widget-view+json";
/** The class of the monitor's static snapshot (gladier_jupyter.widgets.monitor). */
const SNAPSHOT_CLASS = "gj-monitor-static";
/** The class of a FlowPreview's saved drawing (the live view's own, see graph.ts graphSvg). */
const FLOW_SVG_CLASS = "gj-flow-svg";

function modelId(data: unknown): string {
  const view = (data as Record<string, unknown> | undefined)?.[WIDGET_VIEW];
  const id = (view as { model_id?: unknown } | undefined)?.model_id;
  return typeof id === "string" ? id : "";
}

/** Apply a monitor's display update to the notebook's outputs; returns how many changed. */
export function applyMonitorUpdate(panel: NotebookPanel, msg: KernelMessage.IMessage): number {
  if (msg.header.msg_type !== "update_display_data") return 0;
  const content = (msg as KernelMessage.IUpdateDisplayDataMsg).content;
  const data = content.data ?? {};
  const id = modelId(data);
  const html = data["text/html"];
  const svg = data["image/svg+xml"];
  const key = typeof html === "string" && html.includes(SNAPSHOT_CLASS) ? "text/html"
    : typeof svg === "string" && svg.includes(FLOW_SVG_CLASS) ? "image/svg+xml" : "";
  if (!id || !key) return 0;
  let changed = 0;
  for (const cell of panel.content.widgets) {
    if (cell.model.type !== "code") continue;
    const outputs = (cell.model as ICodeCellModel).outputs;
    for (let i = 0; i < outputs.length; i++) {
      const output = outputs.get(i);
      if (output.type !== "display_data" || modelId(output.data) !== id) continue;
      if (output.data[key] === data[key]) continue; // already applied
      outputs.set(i, { output_type: "display_data", data, metadata: content.metadata ?? {} });
      changed++;
    }
  }
  return changed;
}

function watch(panel: NotebookPanel): void {
  panel.sessionContext.iopubMessage.connect((_ctx, msg) => {
    applyMonitorUpdate(panel, msg);
  });
}

export const monitorSnapshotsPlugin: JupyterFrontEndPlugin<void> = {
  id: "gladier-jupyter:monitor-snapshots",
  description: "Saves RunMonitor outputs with the run's last state.",
  autoStart: true,
  requires: [INotebookTracker],
  activate: (_app: JupyterFrontEnd, notebooks: INotebookTracker) => {
    notebooks.forEach(watch);
    notebooks.widgetAdded.connect((_tracker, panel) => watch(panel));
  },
};
