// Keeps the saved fallback of RunMonitor outputs current. The kernel updates a monitor's
// display (update_display_data, by display id) with its final HTML/text snapshot when the
// run ends, but JupyterLab only applies such an update while the cell that made the
// display is still running. This plugin applies it to every output of the notebook that
// shows the same monitor (same widget model id), so a notebook saved after the run shows
// its last state to viewers without a kernel (nbconvert, GitHub). The live view stays: the
// widget-view entry is kept and re-renders the same model. FlowPreview outputs go the same
// way: the kernel updates them with the SVG the live view drew (image/svg+xml).
//
// A notebook reopened without live widget state (no kernel behind its widget models) would
// show "Error displaying widget: model not found" for these outputs: the widget-view
// renderer of each notebook is wrapped so that it shows the output's saved snapshot (the
// monitor's HTML, the preview's SVG) instead, and the live view again once it comes (the
// wrapper follows the widget manager's renderer factory when it replaces the placeholder).
import type { JupyterFrontEnd, JupyterFrontEndPlugin } from "@jupyterlab/application";
import type { ICodeCellModel } from "@jupyterlab/cells";
import { INotebookTracker, type NotebookPanel } from "@jupyterlab/notebook";
import type { IRenderMime } from "@jupyterlab/rendermime-interfaces";
import type { KernelMessage } from "@jupyterlab/services";
import { Panel, type Widget } from "@lumino/widgets";

const WIDGET_VIEW = "application/vnd.jupyter.widget-view+json";
/** The class of the monitor's static snapshot (gladier_jupyter.widgets.monitor). */
const SNAPSHOT_CLASS = "gj-monitor-static";
/** The class of a FlowPreview's saved drawing (the live view's own, see graphDrawing.ts graphSvg). */
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

/** How long "Loading widget..." may show before the saved snapshot stands in for it. */
const LOADING_MS = 3000;
const MISSING_TEXT = "Error displaying widget";

/** Which saved drawing of a gladier widget output to show: the monitor's HTML snapshot or
 * the preview's SVG (other widgets' outputs keep the widget manager's own message). */
export function savedSnapshotMime(data: IRenderMime.IMimeModel["data"]): string {
  const html = data["text/html"];
  const svg = data["image/svg+xml"];
  if (typeof html === "string" && html.includes(SNAPSHOT_CLASS)) return "text/html";
  if (typeof svg === "string" && svg.includes(FLOW_SVG_CLASS)) return "image/svg+xml";
  return "";
}

/** The widget-view renderer, which shows the saved snapshot while no live view can.
 *
 * The widget manager hands itself to the renderers already in the notebook when it starts
 * (after a page reload the outputs are drawn before it): it finds them as the output
 * area's own children, so it cannot see the one inside this wrapper, whose "Loading
 * widget..." would last for ever. When the manager's renderer factory replaces the one the
 * inner renderer came from, the wrapper makes a new inner renderer from it (see adopt). */
class SnapshotFallbackRenderer extends Panel implements IRenderMime.IRenderer {
  private fallback: Widget | null = null;
  private observer: MutationObserver;
  private model: IRenderMime.IMimeModel | null = null;
  private timer: number | undefined;
  private inner: IRenderMime.IRenderer;

  constructor(
    private source: IRenderMime.IRendererFactory,
    private options: IRenderMime.IRendererOptions,
    private rendermime: RenderMimeLike,
  ) {
    super();
    this.addClass("gj-widget-output");
    this.inner = source.createRenderer(options);
    this.addWidget(this.inner);
    this.observer = new MutationObserver(() => this.check());
    this.observer.observe(this.inner.node, { childList: true, characterData: true, subtree: true });
    renderersOf(rendermime).add(this);
  }

  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    this.model = model;
    window.clearTimeout(this.timer);
    if (savedSnapshotMime(model.data)) {
      this.timer = window.setTimeout(() => this.check(true), LOADING_MS);
    }
    const inner = this.inner;
    await inner.renderModel(model);
    if (inner === this.inner) this.check();
  }

  /** Draw again with a renderer of ``factory`` (the widget manager's, once it is there). */
  adopt(factory: IRenderMime.IRendererFactory): void {
    if (this.isDisposed || factory === this.source) return;
    this.source = factory;
    this.observer.disconnect();
    const old = this.inner;
    this.inner = factory.createRenderer(this.options);
    this.insertWidget(0, this.inner);
    old.dispose();
    if (this.fallback) this.inner.hide();
    this.observer.observe(this.inner.node, { childList: true, characterData: true, subtree: true });
    if (this.model) void this.renderModel(this.model);
  }

  private check(waited = false): void {
    if (!this.model || this.isDisposed) return;
    const node = this.inner.node;
    const text = node.textContent ?? "";
    const live = node.childElementCount > 0;
    if (live) {
      this.dropFallback();
    } else if (text.startsWith(MISSING_TEXT) || (waited && text.startsWith("Loading widget"))) {
      void this.showFallback();
    }
  }

  private async showFallback(): Promise<void> {
    const model = this.model;
    const mime = model ? savedSnapshotMime(model.data) : "";
    if (!model || !mime || this.fallback) return;
    const renderer = this.rendermime.createRenderer(mime);
    renderer.addClass("gj-saved-snapshot");
    renderer.node.dataset.mime = mime;
    renderer.node.title = "The saved picture of this output: its live view needs the kernel " +
      "that made it (run the cell again).";
    this.fallback = renderer;
    this.inner.hide();
    this.addWidget(renderer);
    await renderer.renderModel({
      data: { [mime]: model.data[mime] }, metadata: model.metadata, trusted: model.trusted,
      setData: () => undefined,
    });
  }

  private dropFallback(): void {
    if (!this.fallback) return;
    this.fallback.dispose();
    this.fallback = null;
    this.inner.show();
  }

  dispose(): void {
    if (this.isDisposed) return;
    window.clearTimeout(this.timer);
    this.observer.disconnect();
    renderersOf(this.rendermime).delete(this);
    super.dispose();
  }
}

interface RenderMimeLike {
  getFactory(mimeType: string): IRenderMime.IRendererFactory | undefined;
  getRank(mimeType: string): number | undefined;
  addFactory(factory: IRenderMime.IRendererFactory, rank?: number): void;
  createRenderer(mimeType: string): IRenderMime.IRenderer;
}

const WRAPPERS = new WeakSet<IRenderMime.IRendererFactory>();
const RENDERERS = new WeakMap<RenderMimeLike, Set<SnapshotFallbackRenderer>>();
const FOLLOWED = new WeakSet<RenderMimeLike>();

/** The wrapping renderers alive in a notebook (by its rendermime registry). */
function renderersOf(rendermime: RenderMimeLike): Set<SnapshotFallbackRenderer> {
  let set = RENDERERS.get(rendermime);
  if (!set) {
    set = new Set();
    RENDERERS.set(rendermime, set);
  }
  return set;
}

/** Wrap the notebook's widget-view renderer factory, if there is one and it is not wrapped;
 * the renderers made by an earlier factory draw again with the new one. */
function wrapWidgetRenderer(rendermime: RenderMimeLike): void {
  const factory = rendermime.getFactory(WIDGET_VIEW);
  if (!factory || WRAPPERS.has(factory)) return;
  const wrapper: IRenderMime.IRendererFactory = {
    safe: factory.safe,
    mimeTypes: factory.mimeTypes,
    defaultRank: factory.defaultRank,
    createRenderer: (options) => new SnapshotFallbackRenderer(factory, options, rendermime),
  };
  WRAPPERS.add(wrapper);
  rendermime.addFactory(wrapper, rendermime.getRank(WIDGET_VIEW));
  for (const renderer of [...renderersOf(rendermime)]) renderer.adopt(factory);
}

/** Wrap every widget-view factory the notebook's registry gets: the widget manager adds its
 * own when it starts for the notebook's kernel (replacing a placeholder that has none). */
function followWidgetRenderer(rendermime: RenderMimeLike): void {
  if (FOLLOWED.has(rendermime)) return;
  FOLLOWED.add(rendermime);
  const add = rendermime.addFactory.bind(rendermime);
  rendermime.addFactory = (factory, rank) => {
    add(factory, rank);
    if (!WRAPPERS.has(factory) && factory.mimeTypes.includes(WIDGET_VIEW)) wrapWidgetRenderer(rendermime);
  };
  wrapWidgetRenderer(rendermime);
}

function watch(panel: NotebookPanel): void {
  panel.sessionContext.iopubMessage.connect((_ctx, msg) => {
    applyMonitorUpdate(panel, msg);
  });
  followWidgetRenderer(panel.content.rendermime as unknown as RenderMimeLike);
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
