// The JupyterLab plugin of gladier-jupyter: the "Gladier" runs side panel with run tabs,
// "Open With → Flow graph" for flow definition files (*.flow.json by default), and saved
// RunMonitor outputs that follow the run to its last state.
import {
  ILayoutRestorer,
  type JupyterFrontEnd,
  type JupyterFrontEndPlugin,
} from "@jupyterlab/application";
import { ICommandPalette, MainAreaWidget, WidgetTracker } from "@jupyterlab/apputils";
import type { IDocumentWidget } from "@jupyterlab/docregistry";
import type { Widget } from "@lumino/widgets";
import type { RunRow } from "./api";
import { FLOW_FACTORY, FLOW_FILE_TYPE, FlowFileFactory } from "./flowDocument";
import { flowIcon } from "./icons";
import { monitorSnapshotsPlugin } from "./monitorSnapshots";

import { RunView } from "./runView";
import { OPEN_RUN_EVENT, type OpenRunDetail } from "../widgets/monitor";
import { RunsPanel } from "./runsPanel";
import { attachRunSelection, CompareView, DurationsView } from "./runsHistory";


export namespace CommandIDs {
  export const openRun = "gladier:open-run";
  export const showRuns = "gladier:show-runs";
  export const compareRuns = "gladier:compare-runs";
  export const flowDurations = "gladier:flow-durations";
}

const runsPlugin: JupyterFrontEndPlugin<void> = {
  id: "gladier-jupyter:runs",
  description: "The Gladier runs side panel: flow runs of the local service and Globus.",
  autoStart: true,
  optional: [ILayoutRestorer, ICommandPalette],
  activate: (app: JupyterFrontEnd, restorer: ILayoutRestorer | null, palette: ICommandPalette | null) => {
    const tracker = new WidgetTracker<MainAreaWidget<RunView>>({ namespace: "gladier-run" });

    app.commands.addCommand(CommandIDs.openRun, {
      label: (args) => `Gladier run ${String(args.label || args.run_id || "")}`,
      describedBy: {
        args: {
          type: "object",
          properties: {
            run_id: { type: "string" },
            source: { type: "string" },
            label: { type: "string" },
          },
          required: ["run_id"],
        },
      },
      execute: (args) => {
        const runId = String(args.run_id ?? "");
        if (!runId) return;
        const existing = tracker.find((w) => w.content.model.runId === runId);
        if (existing) {
          app.shell.activateById(existing.id);
          return existing;
        }
        const content = new RunView(runId, String(args.source ?? ""));
        const widget = new MainAreaWidget({ content });
        widget.id = `gladier-run-tab-${runId}`;
        widget.title.label = String(args.label || `Run ${runId.slice(0, 8)}`);
        widget.title.caption = `Flow run ${runId}`;
        widget.title.icon = flowIcon;
        widget.title.closable = true;
        void tracker.add(widget);
        app.shell.add(widget, "main");
        app.shell.activateById(widget.id);
        return widget;
      },
    });

    const openTab = (content: Widget, id: string, label: string): MainAreaWidget => {
      const existing = [...app.shell.widgets("main")].find((w) => w.id === id);
      if (existing) {
        app.shell.activateById(id);
        return existing as MainAreaWidget;
      }
      const widget = new MainAreaWidget({ content });
      widget.id = id;
      widget.title.label = label;
      widget.title.icon = flowIcon;
      widget.title.closable = true;
      app.shell.add(widget, "main");
      app.shell.activateById(id);
      return widget;
    };
    app.commands.addCommand(CommandIDs.compareRuns, {
      label: "Compare two Gladier runs",
      describedBy: { args: { type: "object", properties: { a: { type: "string" }, b: { type: "string" } }, required: ["a", "b"] } },
      execute: (args) => {
        const a = String(args.a ?? ""), b = String(args.b ?? "");
        if (!a || !b) return;
        return openTab(new CompareView(a, b), `gladier-compare-tab-${a}-${b}`, `Compare ${a.slice(0, 8)} · ${b.slice(0, 8)}`);
      },
    });
    app.commands.addCommand(CommandIDs.flowDurations, {
      label: "Gladier flow durations",
      describedBy: { args: { type: "object", properties: { flow_id: { type: "string" }, last: { type: "number" } }, required: ["flow_id"] } },
      execute: (args) => {
        const flowId = String(args.flow_id ?? "");
        if (!flowId) return;
        const last = Number(args.last ?? 20) || 20;
        return openTab(new DurationsView(flowId, last), `gladier-durations-tab-${flowId}`, `Durations ${flowId.slice(0, 8)}`);
      },
    });

    // A notebook's monitor whose kernel is gone offers to follow its run in a tab.
    document.addEventListener(OPEN_RUN_EVENT, (event) => {
      const detail = (event as CustomEvent<OpenRunDetail>).detail;
      if (!detail?.run_id) return;
      detail.handled = true;
      void app.commands.execute(CommandIDs.openRun, {
        run_id: detail.run_id, source: detail.source, label: detail.label || detail.run_id.slice(0, 8),
      });
    });

    const panel = new RunsPanel((run: RunRow) => {
      void app.commands.execute(CommandIDs.openRun, {
        run_id: run.run_id, source: run.source, label: run.label || run.run_id.slice(0, 8),
      });
    });
    attachRunSelection(panel.node, {
      compare: (a, b) => void app.commands.execute(CommandIDs.compareRuns, { a, b }),
      durations: (flowId) => void app.commands.execute(CommandIDs.flowDurations, { flow_id: flowId }),
    });
    panel.title.icon = flowIcon;
    panel.title.caption = "Gladier runs";
    app.shell.add(panel, "left", { rank: 650 });

    app.commands.addCommand(CommandIDs.showRuns, {
      label: "Show Gladier runs",
      execute: () => {
        app.shell.activateById(panel.id);
        void panel.refresh();
      },
    });
    palette?.addItem({ command: CommandIDs.showRuns, category: "Gladier" });

    if (restorer) {
      restorer.add(panel, "gladier-runs-panel");
      void restorer.restore(tracker, {
        command: CommandIDs.openRun,
        args: (w) => ({ run_id: w.content.model.runId, source: w.content.model.source, label: w.title.label }),
        name: (w) => w.content.model.runId,
      });
    }
  },
};

const flowFilesPlugin: JupyterFrontEndPlugin<void> = {
  id: "gladier-jupyter:flow-files",
  description: "Open flow definition files (JSON/YAML, *.flow.json by default) as a graph.",
  autoStart: true,
  optional: [ILayoutRestorer],
  activate: (app: JupyterFrontEnd, restorer: ILayoutRestorer | null) => {
    app.docRegistry.addFileType({
      name: FLOW_FILE_TYPE,
      displayName: "Flow definition",
      extensions: [".flow.json"],
      pattern: "^.*\\.flow\\.json$",
      mimeTypes: ["application/json"],
      contentType: "file",
      fileFormat: "text",
      icon: flowIcon,
    });
    const fileTypes = [FLOW_FILE_TYPE, "json", "yaml"].filter((ft) => !!app.docRegistry.getFileType(ft));
    const factory = new FlowFileFactory({
      name: FLOW_FACTORY,
      label: "Flow graph",
      fileTypes,
      defaultFor: [FLOW_FILE_TYPE],
      readOnly: true,
    });
    app.docRegistry.addWidgetFactory(factory);

    // "Flow graph" tabs come back after a reload, as notebooks and run tabs do: the tracker
    // remembers each tab's path, and the restorer reopens it with this factory.
    const tracker = new WidgetTracker<IDocumentWidget>({ namespace: "gladier-flow-graph" });
    factory.widgetCreated.connect((_, widget) => {
      widget.context.pathChanged.connect(() => void tracker.save(widget));
      void tracker.add(widget);
    });
    if (restorer) {
      void restorer.restore(tracker, {
        command: "docmanager:open",
        args: (w) => ({ path: w.context.path, factory: FLOW_FACTORY }),
        name: (w) => w.context.path,
      });
    }
  },
};

export default [runsPlugin, flowFilesPlugin, monitorSnapshotsPlugin];
