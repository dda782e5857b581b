import type { RenderProps } from "@anywidget/types";
import type { ViewModel } from "../common/viewModel";
import { BORDER, FONT, MUTED, SURFACE, TEXT } from "../common/theme";
import { renderGraph, type GraphModel, type GraphNode, type GraphProblem, type GraphView } from "../common/graph";
import { DIFF_COLOURS } from "../common/graphDrawing";
import { GRAPH_ERROR, GRAPH_WARN, KIND_STYLES } from "../common/graphTheme";
import { changeList, diffBanner, DIFF_CSS, type DefinitionChanges, type FieldChange } from "../common/diff";

export { changeList, diffBanner, DIFF_CSS, type DefinitionChanges, type FieldChange };

interface FunctionInfo {
  name: string;
  tool: string | null;
  doc: string | null;
  source: string | null;
  input_key?: string;
}

interface PreviewNode extends GraphNode {
  tool?: string | null;
  comment?: string | null;
  state?: unknown;
  reads?: string[];
  input_keys?: string[];
  result_path?: string | null;
  functions?: FunctionInfo[];
  action_url?: string | null;
  diff?: string;
  ghost?: boolean;
  diff_changes?: FieldChange[];
  diff_functions?: string[];
}

interface InputRow {
  key: string;
  states: string[];
  provided: boolean;
  provided_by: string | null;
  required_by_tools: string[];
  via_functions?: string[];
}

/** Mirrors the synced traits of gladier_jupyter.widgets.preview.FlowPreview. */
type PreviewGraph = GraphModel & { nodes: PreviewNode[]; input_checked?: boolean; comment?: string | null };

/** A graph to draw (the model holds `{}` until there is one). */
function isGraph(graph: Partial<PreviewGraph> | undefined): graph is PreviewGraph {
  return Array.isArray(graph?.nodes);
}

export interface PreviewModel {
  /** The flowgraph model; `{}` until there is one. */
  graph: Partial<PreviewGraph>;
  problems: GraphProblem[];
  inputs: InputRow[];
  selected: string;
  height: number;
  /** Bumped by the kernel with each new graph; sent back with the drawing of it. */
  revision?: number;
  /** The definition diff drawn on the graph; `{}` when the preview shows the flow alone. */
  changes?: Partial<DefinitionChanges>;
  /** The last state test's answer (FlowPreview.test_state); only kernel-backed previews have it. */
  test_result?: TestResult;
  /** Run data offered in the state-test form (JSON text). */
  test_input?: string;
}

export interface TestStep { step: string; [field: string]: unknown }
export interface TestResult {
  state_name?: string;
  state_type?: string;
  status?: string;
  steps?: TestStep[];
  output?: unknown;
  next_state?: string | null;
  error?: { Error: string; Cause: string } | null;
  error_message?: string;
}

/** The "Test this state" section of the pane: the run data, the button, each step. */
function testSection(model: ViewModel<PreviewModel>, state: string): Node[] {
  const text = h("textarea", { className: "gj-test-input", value: model.get("test_input") ?? "{}" });
  text.setAttribute("aria-label", `Run data to test ${state} with (JSON)`);
  text.style.cssText = "width:100%;min-height:6em;font-family:var(--jp-code-font-family,monospace);font-size:11.5px";
  const run = h("button", { className: "gj-test-state", type: "button", textContent: "Test this state" });
  run.style.cssText = "border:1px solid #999;border-radius:4px;padding:.1em .6em;margin:.3em 0;cursor:pointer";
  const result = h("div", { className: "gj-test-result" });
  const r = model.get("test_result") ?? {};
  if (r.state_name === state) {
    if (r.error_message) {
      result.append(h("div", { className: "gj-test-error", textContent: r.error_message }));
    } else {
      const list = h("ol", { className: "gj-test-steps" });
      for (const s of r.steps ?? []) {
        const { step, ...rest } = s;
        list.append(h("li", { className: `gj-test-step gj-test-step-${step}` }, h("strong", { textContent: step }),
          h("pre", { textContent: JSON.stringify(rest, null, 2) })));
      }
      result.append(list);
      if (r.error) result.append(h("div", { className: "gj-test-error", textContent: `${r.error.Error}: ${r.error.Cause}` }));
      result.append(h("div", { className: "gj-test-outcome",
        textContent: `${r.status} · next state: ${r.next_state ?? "(end)"}` }));
      if (r.output !== null && r.output !== undefined) {
        result.append(h("h4", { textContent: "Output data" }), h("pre", { className: "gj-test-output", textContent: JSON.stringify(r.output, null, 2) }));
      }
    }
  }
  run.addEventListener("click", () => {
    try {
      JSON.parse(text.value);
    } catch (e) {
      result.replaceChildren(h("div", { className: "gj-test-error", textContent: `The run data is not valid JSON: ${(e as Error).message}` }));
      return;
    }
    result.replaceChildren(h("div", { className: "gj-placeholder", textContent: "Testing on the local service…" }));
    model.send({ event: "test_state", state, input: text.value });
  });
  return [h("h4", { textContent: "Test this state (local service)" }), text, run, result];
}

const CSS = `
.gj-preview{font-family:${FONT};color:${TEXT};font-size:13px;max-width:100%}
.gj-preview-head{display:flex;gap:.8em;align-items:baseline;flex-wrap:wrap;margin:.2em 0 .4em}
.gj-preview-head .gj-count-error{color:${GRAPH_ERROR};font-weight:600}
.gj-preview-head .gj-count-warning{color:${GRAPH_WARN};font-weight:600}
.gj-preview-head .gj-muted{color:${MUTED}}
.gj-preview-body{display:flex;gap:8px;align-items:stretch}
.gj-preview-graph{flex:1 1 auto;min-width:0}
.gj-pane{flex:0 0 340px;max-width:45%;overflow:auto;border:1px solid ${BORDER};border-radius:4px;
  padding:.5em .7em;background:${SURFACE};box-sizing:border-box}
.gj-pane h3{margin:.1em 0 .3em;font-size:14px}
.gj-pane h4{margin:.8em 0 .2em;font-size:12px;color:${MUTED};text-transform:uppercase;letter-spacing:.04em}
.gj-pane pre{margin:0;padding:.4em .5em;font-size:11.5px;line-height:1.35;overflow:auto;max-height:260px;
  background:var(--jp-layout-color2,#f5f5f5);border-radius:3px;font-family:var(--jp-code-font-family,monospace);
  color:${TEXT};white-space:pre}
.gj-pane code{font-family:var(--jp-code-font-family,monospace);font-size:12px}
.gj-pane ul{margin:.1em 0;padding-left:1.2em}
.gj-pane .gj-doc{white-space:pre-wrap;margin:.2em 0}
.gj-pane .gj-placeholder{color:${MUTED}}
.gj-kind-chip{display:inline-block;border-radius:3px;padding:0 .4em;font-size:11px;border:1px solid}
.gj-problems,.gj-inputs{margin-top:.5em}
.gj-problems summary,.gj-inputs summary{cursor:pointer;font-weight:600}
.gj-problems ul{margin:.2em 0;padding-left:1.2em}
.gj-problems li{margin:.15em 0}
.gj-pane button,.gj-problems button,.gj-inputs button{font:inherit;color:inherit;background:none;border:none;padding:0;
  cursor:pointer;text-decoration:underline dotted}
.gj-sev-error{color:${GRAPH_ERROR};font-weight:600}
.gj-sev-warning{color:${GRAPH_WARN};font-weight:600}
.gj-inputs table{border-collapse:collapse;margin-top:.3em}
.gj-inputs th,.gj-inputs td{border-bottom:1px solid ${BORDER};padding:.2em .7em .2em 0;text-align:left;vertical-align:top}
.gj-inputs td.gj-missing{color:${GRAPH_ERROR};font-weight:600}
.gj-inputs td.gj-needed{color:${GRAPH_WARN}}
.gj-inputs td.gj-provided{color:var(--jp-success-color1,#388e3c)}
`;

function h<K extends keyof HTMLElementTagNameMap>(
  tag: K, props: Partial<HTMLElementTagNameMap[K]> & { className?: string } = {},
  ...children: (Node | string | null | undefined)[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  Object.assign(el, props);
  for (const c of children) if (c !== null && c !== undefined) el.append(c);
  return el;
}

/** Draw the flow preview into `el` from `model`; returns the cleanup. */
export function renderPreview(model: ViewModel<PreviewModel>, el: HTMLElement): () => void {
  const root = h("div", { className: "gj-preview" });
  const style = h("style", { textContent: CSS + DIFF_CSS });
  const head = h("div", { className: "gj-preview-head" });
  const banner = h("div", { className: "gj-diff-box" });
  const body = h("div", { className: "gj-preview-body" });
  const graphBox = h("div", { className: "gj-preview-graph" });
  const pane = h("aside", { className: "gj-pane" });
  pane.setAttribute("aria-live", "polite");
  pane.setAttribute("aria-label", "Selected state");
  const problemsBox = h("details", { className: "gj-problems", open: true });
  const inputsBox = h("details", { className: "gj-inputs", open: true });
  body.append(graphBox, pane);
  root.append(style, head, banner, body, problemsBox, inputsBox);
  el.append(root);

  let view: GraphView | null = null;
  let lastDrawn = "";
  const select = (name: string): void => {
    model.set("selected", name);
    model.save_changes();
  };
  const nodeById = (id: string): PreviewNode | undefined =>
    (model.get("graph")?.nodes ?? []).find((n) => n.id === id);

  const drawHead = (): void => {
    const graph = model.get("graph");
    const problems = model.get("problems") ?? [];
    const states = (graph?.nodes ?? []).filter((n) => n.kind !== "start" && n.kind !== "end" && !n.missing && !n.ghost);
    const errors = problems.filter((p) => p.severity === "error").length;
    const warnings = problems.length - errors;
    head.replaceChildren(
      h("strong", { textContent: graph?.name ?? "flow" }),
      h("span", { className: "gj-muted", textContent: `${states.length} state${states.length === 1 ? "" : "s"}` }),
      h("span", { className: errors ? "gj-count-error" : "gj-muted", textContent: `${errors} error${errors === 1 ? "" : "s"}` }),
      h("span", { className: warnings ? "gj-count-warning" : "gj-muted", textContent: `${warnings} warning${warnings === 1 ? "" : "s"}` }),
      h("span", { className: "gj-muted", textContent: "Click a state for details · Ctrl+wheel zooms · drag pans" }),
    );
    const changes = model.get("changes");
    root.dataset.diff = changes && typeof changes.summary === "string" ? "true" : "false";
    banner.replaceChildren(...(changes && typeof changes.summary === "string"
      ? [diffBanner(changes as DefinitionChanges)] : []));
    root.dataset.errors = String(errors);
    root.dataset.warnings = String(warnings);
  };

  const drawPane = (): void => {
    const name = model.get("selected");
    const node = name ? nodeById(name) : undefined;
    root.dataset.selected = node ? node.id : "";
    if (!node) {
      pane.replaceChildren(
        h("p", { className: "gj-placeholder", textContent: "Click a state (or Tab to it and press Enter) to see its definition, what it reads and where its result goes." }),
      );
      return;
    }
    const kind = KIND_STYLES[node.kind] ?? KIND_STYLES.unknown;
    const chip = h("span", { className: "gj-kind-chip", textContent: node.caption ?? node.type ?? node.kind });
    chip.style.borderColor = kind.stroke;
    chip.style.background = kind.fill;
    const parts: (Node | null)[] = [h("h3", { textContent: node.id }), chip];
    if (node.tool) parts.push(h("div", { className: "gj-muted", textContent: `from tool ${node.tool}` }));
    if (node.diff && node.diff !== "unchanged") {
      const status = h("div", { className: "gj-pane-diff" });
      status.dataset.status = node.diff;
      const word = h("span", { className: "gj-diff-status", textContent: node.diff === "added" ? "Added"
        : node.diff === "removed" ? "Removed (shown as it was)" : "Changed" });
      word.style.color = DIFF_COLOURS[node.diff] ?? TEXT;
      status.append(word);
      const against = model.get("changes")?.against;
      if (against) status.append(` since ${against}`);
      if ((node.diff_changes ?? []).length) status.append(changeList(node.diff_changes ?? []));
      for (const key of node.diff_functions ?? []) {
        const info = model.get("changes")?.functions?.[key];
        status.append(h("div", { className: "gj-pane-function-changed",
          textContent: `Compute function ${key.replace(/_function_id$/, "")}() source changed` +
            (info ? ` (checksum ${String(info.old).slice(0, 10)}… → ${String(info.new).slice(0, 10)}…)` : "") }));
      }
      parts.push(status);
    }
    if (node.comment) parts.push(h("p", { className: "gj-doc", textContent: node.comment }));
    const all = model.get("problems") ?? [];
    const mine = (node.problems ?? []).map((i) => all[i]).filter(Boolean);
    if (mine.length) {
      parts.push(h("h4", { textContent: "Problems" }), h("ul", {}, ...mine.map((p) =>
        h("li", {}, h("span", { className: `gj-sev-${p.severity}`, textContent: `${p.severity}: ` }), p.message))));
    }
    if (node.missing) {
      parts.push(h("p", { textContent: "This state is named by a transition but not defined in States." }));
    }
    for (const fn of node.functions ?? []) {
      parts.push(h("h4", { textContent: `Compute function ${fn.name}()` }));
      if (fn.tool) parts.push(h("div", { className: "gj-muted", textContent: `defined on tool ${fn.tool}` }));
      // gladier makes a function's docstring its state's Comment: shown once, above
      if (fn.doc && fn.doc.trim() !== (node.comment ?? "").trim()) {
        parts.push(h("p", { className: "gj-doc", textContent: fn.doc }));
      }
      // Scrollable blocks take the keyboard focus (tabIndex 0), so they scroll without a mouse.
      if (fn.source) {
        parts.push(h("pre", { className: "gj-pane-source", textContent: fn.source, tabIndex: 0,
          ariaLabel: `Source of ${fn.name}()` }));
      }
      else parts.push(h("p", { className: "gj-muted", textContent: `Source not known here (the function id comes from $.input.${fn.input_key ?? fn.name + "_function_id"}).` }));
    }
    if (node.action_url && node.kind !== "compute") {
      parts.push(h("h4", { textContent: "Calls" }), h("code", { textContent: String(node.action_url) }));
    }
    const reads = node.reads ?? [];
    parts.push(h("h4", { textContent: "Reads" }));
    if (reads.length) {
      parts.push(h("ul", { className: "gj-pane-reads" }, ...reads.map((r) => h("li", {}, h("code", { textContent: r })))));
      if ((node.input_keys ?? []).length) {
        parts.push(h("div", {}, "Input keys: ", ...(node.input_keys ?? []).flatMap((k, i) =>
          [i ? ", " : "", h("code", { textContent: k })])));
      }
    } else {
      parts.push(h("div", { className: "gj-muted", textContent: node.kind === "start" ? "" : "the whole flow state (no InputPath/Parameters paths)" }));
    }
    const out = (model.get("graph")?.edges ?? []).filter((e) => e.source === node.id && e.kind !== "end");
    const ends = (model.get("graph")?.edges ?? []).some((e) => e.source === node.id && e.kind === "end");
    if (out.length || ends) {
      const kindText: Record<string, string> = { next: "Next", choice: "If", default: "Otherwise", catch: "On error" };
      parts.push(h("h4", { textContent: "Goes to" }), h("ul", { className: "gj-pane-next" },
        ...out.map((e) => h("li", {},
          `${kindText[e.kind] ?? e.kind}${e.label && e.kind !== "default" ? ` ${e.label}` : ""}: `,
          h("button", { type: "button", textContent: e.target, onclick: () => select(e.target) }))),
        ...(ends ? [h("li", { textContent: node.kind === "fail" ? "the flow fails here" : "the flow ends here" })] : [])));
    }
    if (!node.missing) {
      parts.push(h("h4", { textContent: "Result goes to" }),
        h("code", { className: "gj-pane-result", textContent: node.result_path ? String(node.result_path) : "(not stored: no ResultPath)" }));
      parts.push(h("h4", { textContent: "State JSON" }),
        h("pre", { className: "gj-pane-json", textContent: JSON.stringify(node.state ?? {}, null, 2), tabIndex: 0,
          ariaLabel: `State JSON of ${node.id}` }));
    }
    if (!node.missing && model.get("test_input") !== undefined && node.state) parts.push(...testSection(model, node.id));
    pane.replaceChildren(...parts.filter((p): p is Node => p !== null));
  };

  const drawProblems = (): void => {
    const problems = model.get("problems") ?? [];
    problemsBox.hidden = problems.length === 0;
    problemsBox.replaceChildren(
      h("summary", { textContent: `Problems (${problems.length})` }),
      h("ul", {}, ...problems.map((p) => {
        const li = h("li", { className: "gj-problem" });
        li.dataset.code = p.code;
        li.dataset.state = p.state ?? "";
        li.append(h("span", { className: `gj-sev-${p.severity}`, textContent: `${p.severity} ` }));
        if (p.state) {
          li.append(h("button", { type: "button", textContent: p.state, onclick: () => select(p.state ?? "") }), ": ");
        }
        li.append(p.message);
        return li;
      })),
    );
  };

  const drawInputs = (): void => {
    const rows = model.get("inputs") ?? [];
    const checked = !!model.get("graph")?.input_checked;
    inputsBox.hidden = rows.length === 0;
    const table = h("table", {},
      h("thead", {}, h("tr", {}, h("th", { textContent: "$.input key" }), h("th", { textContent: "read by" }),
        h("th", { textContent: checked ? "provided by (checked input)" : "provided by" }))),
      h("tbody", {}, ...rows.map((r) => {
        const tr = h("tr");
        tr.dataset.key = r.key;
        tr.dataset.provided = String(r.provided);
        tr.append(
          h("td", {}, h("code", { textContent: r.key })),
          h("td", {}, ...r.states.flatMap((s, i) => [i ? ", " : "", h("button", { type: "button", textContent: s, onclick: () => select(s) })]),
            (r.via_functions ?? []).length ? ` (in ${(r.via_functions ?? []).join(", ")})` : "",
            r.required_by_tools.length ? ` (required by ${r.required_by_tools.join(", ")})` : ""),
          h("td", {
            className: r.provided ? "gj-provided" : checked ? "gj-missing" : "gj-needed",
            textContent: r.provided ? (r.provided_by ?? "yes") : checked ? "missing" : "needs run input",
          }),
        );
        return tr;
      })),
    );
    // What the user must give: not what a default (a function id, a tool's flow_input) or
    // an IsPresent test already covers.
    const toGive = rows.filter((r) => !r.provided || r.provided_by === "input").length;
    const covered = rows.length - toGive;
    const summary = h("summary", { textContent: `Required input (${toGive})` },
      covered ? h("span", { className: "gj-muted", textContent: ` · ${covered} more with defaults` }) : null);
    summary.dataset.required = String(toGive);
    inputsBox.replaceChildren(summary, table);
  };

  const drawGraph = (): void => {
    const graph = model.get("graph");
    const height = model.get("height") || 460;
    pane.style.maxHeight = `${height}px`;
    if (!isGraph(graph)) return;
    if (view) view.update(graph);
    else view = renderGraph(graphBox, graph, { height, onSelect: select });
    view.select(model.get("selected") || null);
    root.dataset.rendered = String(Number(root.dataset.rendered ?? "0") + 1);
    root.dataset.layoutMs = view.timings.layoutMs.toFixed(1);
    root.dataset.drawMs = view.timings.drawMs.toFixed(1);
    model.send({ event: "rendered", layout_ms: view.timings.layoutMs, draw_ms: view.timings.drawMs });
    sendDrawn();
  };

  // The kernel keeps the drawing as the widget's saved image (image/svg+xml), so a saved
  // notebook shows what the live view drew; it counts for the graph revision it was drawn for.
  const sendDrawn = (): void => {
    if (!view) return;
    const drawn = view.svgText();
    const revision = model.get("revision") ?? 0;
    const key = `${revision}\n${drawn}`;
    if (key === lastDrawn) return;
    lastDrawn = key;
    (root as HTMLElement & { gjDrawnSvg?: string }).gjDrawnSvg = drawn;
    model.send({ event: "drawn", svg: drawn, revision });
    root.dataset.drawn = String(Number(root.dataset.drawn ?? "0") + 1);
  };

  const onGraph = (): void => {
    drawHead();
    drawGraph();
    drawPane();
  };
  const onSelected = (): void => {
    view?.select(model.get("selected") || null);
    drawPane();
  };
  const onProblems = (): void => {
    drawHead();
    drawProblems();
    drawPane();
  };
  onGraph();
  drawProblems();
  drawInputs();
  model.on("change:graph", onGraph);
  model.on("change:selected", onSelected);
  model.on("change:problems", onProblems);
  model.on("change:inputs", drawInputs);
  model.on("change:test_result", drawPane);
  model.on("change:revision", sendDrawn);
  model.on("change:changes", drawHead);
  return () => {
    model.off("change:changes", drawHead);
    model.off("change:revision", sendDrawn);
    model.off("change:graph", onGraph);
    model.off("change:selected", onSelected);
    model.off("change:problems", onProblems);
    model.off("change:inputs", drawInputs);
    model.off("change:test_result", drawPane);
    view?.destroy();
  };
}

function render({ model, el }: RenderProps<PreviewModel>): () => void {
  return renderPreview(model, el);
}

export default { render };
