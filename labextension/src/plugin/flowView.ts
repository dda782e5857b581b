// A flow definition drawn as a graph, with its definition check underneath: the view of
// "Open With → Flow graph" for JSON/YAML files and of the application/vnd.gladier.flow+json
// mime renderer. The graph is the preview's renderer (common/graph.ts); the graph model and
// the check come from gladier_jupyter.flowgraph on the server (POST flowdef).
import { renderGraph, type GraphModel, type GraphProblem, type GraphView } from "../common/graph";
import { FONT, MUTED, STATUS_COLOURS, TEXT } from "../common/theme";
import { requestAPI, type FlowCheck } from "./api";

function h<K extends keyof HTMLElementTagNameMap>(tag: K, css = "", text = ""): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (css) el.style.cssText = css;
  if (text) el.textContent = text;
  return el;
}

/** Ask the server for the graph and check of a definition text (JSON or YAML). */
export function checkText(text: string, path: string): Promise<FlowCheck> {
  return requestAPI<FlowCheck>("flowdef", { method: "POST", body: JSON.stringify({ text, path }) });
}

/** Ask the server for the graph and check of a definition object. */
export function checkDefinition(definition: unknown, path = ""): Promise<FlowCheck> {
  return requestAPI<FlowCheck>("flowdef", { method: "POST", body: JSON.stringify({ definition, path }) });
}

/** Draws one FlowCheck into `el` (replacing what was there); returns a cleanup. */
export class FlowCheckView {
  readonly el: HTMLElement;
  private graph: GraphView | null = null;
  private graphBox: HTMLElement;
  private summary: HTMLElement;
  private problems: HTMLElement;
  private detail: HTMLElement;
  private current: FlowCheck | null = null;

  constructor(height = 480) {
    this.el = h("div", `font-family:${FONT};color:${TEXT};font-size:13px`);
    this.el.className = "gj-lab-flow";
    this.summary = h("div", "margin:0 0 6px 0;display:flex;gap:8px;align-items:center;flex-wrap:wrap");
    this.summary.className = "gj-lab-flow-summary";
    this.graphBox = h("div");
    this.graphBox.dataset.height = String(height);
    this.detail = h("pre", `display:none;margin:6px 0;padding:6px;max-height:16em;overflow:auto;` +
      "background:var(--jp-layout-color2, #f5f5f5);border-radius:4px;font-size:12px;white-space:pre-wrap");
    this.detail.className = "gj-lab-flow-state";
    this.problems = h("ul", "margin:6px 0;padding-left:1.4em");
    this.problems.className = "gj-lab-flow-problems";
    this.el.append(this.summary, this.graphBox, this.detail, this.problems);
  }

  showMessage(message: string, error = true): void {
    this.el.dataset.state = error ? "error" : "loading";
    this.summary.replaceChildren(h("span", `color:${error ? STATUS_COLOURS.failed : MUTED}`, message));
  }

  show(check: FlowCheck): void {
    this.current = check;
    const model = check.graph as GraphModel;
    const hasGraph = !!model && Array.isArray(model.nodes) && model.nodes.length > 0;
    this.el.dataset.state = check.is_flow ? "flow" : "not-flow";
    const errors = check.problems.filter((p) => p.severity === "error").length;
    const warnings = check.problems.length - errors;
    this.el.dataset.errors = String(errors);
    this.el.dataset.warnings = String(warnings);
    const states = hasGraph ? model.nodes.filter((n) => !["start", "end", "missing"].includes(n.kind)).length : 0;
    const verdict = h("strong", `color:${errors ? STATUS_COLOURS.failed : warnings ? STATUS_COLOURS.caught :
      STATUS_COLOURS.succeeded}`, errors ? `${errors} error${errors > 1 ? "s" : ""}` :
      warnings ? `${warnings} warning${warnings > 1 ? "s" : ""}` : "Definition OK");
    verdict.className = "gj-lab-flow-verdict";
    const parts: HTMLElement[] = [verdict, h("span", `color:${MUTED}`, `${states} state${states === 1 ? "" : "s"}`)];
    if (errors && warnings) parts.push(h("span", `color:${STATUS_COLOURS.caught}`, `${warnings} warning${warnings > 1 ? "s" : ""}`));
    if (check.message) parts.push(h("span", `color:${STATUS_COLOURS.failed}`, check.message));
    this.summary.replaceChildren(...parts);
    this.graph?.destroy();
    this.graph = null;
    this.graphBox.replaceChildren();
    this.detail.style.display = "none";
    if (hasGraph) {
      this.graph = renderGraph(this.graphBox, model, {
        height: Number(this.graphBox.dataset.height),
        onSelect: (name) => this.select(name),
      });
    }
    this.problems.replaceChildren();
    for (const p of check.problems) this.problems.append(this.problemItem(p));
  }

  private problemItem(p: GraphProblem): HTMLElement {
    const li = h("li", "margin:2px 0");
    li.className = "gj-lab-flow-problem";
    li.dataset.code = p.code;
    li.dataset.severity = p.severity;
    const tag = h("span", `color:${p.severity === "error" ? STATUS_COLOURS.failed : STATUS_COLOURS.caught};font-weight:600`,
      p.severity);
    const where = h("code", `color:${MUTED};margin:0 .4em`, p.path);
    li.append(tag, where, document.createTextNode(p.message));
    if (p.state) {
      li.style.cursor = "pointer";
      li.addEventListener("click", () => this.select(p.state as string));
    }
    return li;
  }

  private select(name: string): void {
    this.graph?.select(name);
    const definition = this.current?.definition as { States?: Record<string, unknown> } | null;
    const state = definition?.States?.[name];
    if (state === undefined) {
      this.detail.style.display = "none";
      return;
    }
    this.detail.style.display = "block";
    this.detail.dataset.state = name;
    this.detail.textContent = `${name}\n${JSON.stringify(state, null, 2)}`;
  }

  destroy(): void {
    this.graph?.destroy();
    this.graph = null;
    this.el.remove();
  }
}
