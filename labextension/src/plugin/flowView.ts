// A flow definition as the FlowPreview widget shows it (graph, state details, definition
// check, required input), with no kernel: the view of "Open With → Flow graph" for JSON/YAML
// files and of the application/vnd.gladier.flow+json mime renderer. The preview's own view
// (widgets/preview.ts) draws it; the graph model and the check come from
// gladier_jupyter.flowgraph, through the server extension (POST flowdef) or the mime bundle.
import { renderPreview, type PreviewModel } from "../widgets/preview";
import { FONT, MUTED, STATUS_TEXT, TEXT } from "../common/theme";
import { requestAPI, type FlowCheck } from "./api";
import { LocalModel } from "./model";

/** Ask the server for the graph and check of a definition text (JSON or YAML). */
export function checkText(text: string, path: string): Promise<FlowCheck> {
  return requestAPI<FlowCheck>("flowdef", { method: "POST", body: JSON.stringify({ text, path }) });
}

/** Ask the server for the graph and check of a definition object. */
export function checkDefinition(definition: unknown, path = ""): Promise<FlowCheck> {
  return requestAPI<FlowCheck>("flowdef", { method: "POST", body: JSON.stringify({ definition, path }) });
}

export class FlowCheckView {
  readonly el: HTMLElement;
  private note: HTMLElement;
  private mount: HTMLElement;
  private model: LocalModel<PreviewModel>;
  private cleanup: (() => void) | null = null;

  constructor(height = 460) {
    this.el = document.createElement("div");
    this.el.className = "gj-lab-flow";
    this.el.style.cssText = `font-family:${FONT};color:${TEXT};font-size:13px`;
    this.note = document.createElement("div");
    this.note.className = "gj-lab-flow-note";
    this.note.style.cssText = "margin:0 0 6px 0";
    this.mount = document.createElement("div");
    this.el.append(this.note, this.mount);
    this.model = new LocalModel<PreviewModel>({ graph: {}, problems: [], inputs: [], selected: "", height });
  }

  showMessage(message: string, error = true): void {
    this.el.dataset.state = error ? "error" : "loading";
    this.note.textContent = message;
    this.note.style.color = error ? STATUS_TEXT.failed : MUTED;
  }

  show(check: FlowCheck): void {
    const graph = check.graph;
    const hasGraph = Array.isArray(graph?.nodes) && graph.nodes.length > 0;
    const problems = check.problems ?? [];
    this.el.dataset.state = check.is_flow ? "flow" : "not-flow";
    this.el.dataset.errors = String(problems.filter((p) => p.severity === "error").length);
    this.el.dataset.warnings = String(problems.filter((p) => p.severity !== "error").length);
    this.note.textContent = check.message;
    this.note.style.color = STATUS_TEXT.failed;
    this.note.style.display = check.message ? "" : "none";
    if (!hasGraph) return;
    const selected = String(this.model.get("selected") || "");
    const ids = new Set((graph.nodes ?? []).map((n) => n.id));
    this.model.update({
      graph,
      problems,
      inputs: check.inputs ?? [],
      selected: ids.has(selected) ? selected : "",
    });
    if (!this.cleanup) {
      this.cleanup = renderPreview(this.model, this.mount);
    }
  }

  destroy(): void {
    this.cleanup?.();
    this.cleanup = null;
    this.model.dispose();
    this.el.remove();
  }
}
