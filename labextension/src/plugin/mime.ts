// Renders application/vnd.gladier.flow+json (which FlowPreview adds to its mime bundle) as
// the flow graph with its definition check, so a flow output shows as a graph in
// JupyterLab even when the notebook was saved without widget state.
import type { IRenderMime } from "@jupyterlab/rendermime-interfaces";
import { Widget } from "@lumino/widgets";
import type { PreviewModel } from "../widgets/preview";
import type { FlowCheck } from "./api";
import { FlowCheckView, checkDefinition } from "./flowView";

export const FLOW_MIME = "application/vnd.gladier.flow+json";

interface FlowPayload {
  definition?: unknown;
  graph?: FlowCheck["graph"] & { inputs?: PreviewModel["inputs"] };
  problems?: FlowCheck["problems"];
  name?: string;
  States?: unknown;
  StartAt?: unknown;
}

/** The graph is drawn from the payload when it carries one; otherwise the server draws it. */
export class FlowMimeRenderer extends Widget implements IRenderMime.IRenderer {
  private view = new FlowCheckView(420);

  constructor(private options: IRenderMime.IRendererOptions) {
    super();
    this.addClass("gj-lab-flow-output");
    this.node.append(this.view.el);
  }

  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    const payload = (model.data[this.options.mimeType] ?? {}) as FlowPayload;
    const definition = payload.definition ?? (payload.States ? payload : undefined);
    const graph = payload.graph;
    if (graph && Array.isArray(graph.nodes) && graph.nodes.length) {
      const problems = payload.problems ?? graph.problems ?? [];
      const isFlow = !!definition && typeof definition === "object" && "States" in (definition as object);
      this.view.show({
        definition: definition ?? null, graph, problems, inputs: graph.inputs ?? [],
        is_flow: isFlow || !definition, message: "",
      });
      return;
    }
    if (definition === undefined) {
      this.view.showMessage("This flow output holds neither a graph nor a definition.");
      return;
    }
    try {
      this.view.show(await checkDefinition(definition, payload.name ?? ""));
    } catch (error) {
      this.view.showMessage(`Could not draw the flow: ${(error as Error).message ?? error}`);
    }
  }

  dispose(): void {
    if (this.isDisposed) return;
    this.view.destroy();
    super.dispose();
  }
}

export const rendererFactory: IRenderMime.IRendererFactory = {
  safe: true,
  mimeTypes: [FLOW_MIME],
  createRenderer: (options) => new FlowMimeRenderer(options),
};

const extension: IRenderMime.IExtension = {
  id: "gladier-jupyter:flow-mime",
  description: "Renders Gladier flow definitions (application/vnd.gladier.flow+json) as graphs.",
  rendererFactory,
  // Ahead of the text/html fallback in the same bundle; a live widget view still wins.
  rank: 40,
  dataType: "json",
};

export default extension;
