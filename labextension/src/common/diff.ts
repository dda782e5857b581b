// A definition diff as the views show it: the field-level list, the banner with its legend,
// their CSS (flowdef/diff.py DefinitionDiff.to_dict()). The preview, the run tab and the
// monitor share it.
import { BORDER, SURFACE } from "./theme";
import { DIFF_COLOURS } from "./graphDrawing";

/** One field that differs (flowdef/diff.py FieldChange.to_dict()). */
export interface FieldChange {
  path: string;
  op: "added" | "removed" | "changed" | string;
  old?: unknown;
  new?: unknown;
}

/** A definition diff (flowdef/diff.py DefinitionDiff.to_dict()) and what it compares with. */
export interface DefinitionChanges {
  changed: boolean;
  summary: string;
  states: Record<string, { name: string; status: string; changes: FieldChange[]; functions: string[] }>;
  top: FieldChange[];
  functions: Record<string, { old: unknown; new: unknown; states: string[] }>;
  against?: string;
}

const short = (v: unknown, n = 80): string => {
  const text = JSON.stringify(v);
  return text === undefined ? "undefined" : text.length <= n ? text : text.slice(0, n - 1) + "…";
};

/** The field-level changes as a list: path, then old → new. */
export function changeList(changes: FieldChange[]): HTMLElement {
  const ul = document.createElement("ul");
  ul.className = "gj-diff-fields";
  for (const c of changes) {
    const li = document.createElement("li");
    li.dataset.op = c.op;
    li.dataset.path = c.path;
    const code = document.createElement("code");
    code.textContent = c.path;
    const text = c.op === "added" ? ` added: ${short(c.new)}` : c.op === "removed" ? ` removed (was ${short(c.old)})`
      : `: ${short(c.old)} → ${short(c.new)}`;
    li.append(code, text);
    ul.append(li);
  }
  return ul;
}

/** The banner over a graph showing a diff: what it compares with, the summary, the legend. */
export function diffBanner(changes: DefinitionChanges): HTMLElement {
  const box = document.createElement("div");
  box.className = "gj-diff-banner";
  box.dataset.changed = String(changes.changed);
  const title = document.createElement("strong");
  title.textContent = `Changes against ${changes.against ?? "the compared flow"}: `;
  box.append(title, changes.summary);
  const legend = document.createElement("span");
  legend.className = "gj-diff-legend";
  for (const [status, text] of [["added", "added"], ["changed", "changed"], ["removed", "removed (dashed)"]]) {
    const chip = document.createElement("span");
    chip.className = `gj-diff-chip gj-diff-${status}`;
    chip.style.borderColor = DIFF_COLOURS[status];
    chip.textContent = text;
    legend.append(chip);
  }
  const fn = document.createElement("span");
  fn.className = "gj-diff-chip";
  fn.textContent = "f = function source changed";
  legend.append(fn);
  box.append(legend);
  if (changes.top.length) box.append(changeList(changes.top));
  return box;
}

export const DIFF_CSS = `
.gj-diff-banner{border:1px solid ${BORDER};border-left:4px solid ${DIFF_COLOURS.changed};border-radius:4px;
  padding:.3em .6em;margin:.2em 0 .4em;background:${SURFACE}}
.gj-diff-banner[data-changed="false"]{border-left-color:${DIFF_COLOURS.added}}
.gj-diff-legend{display:inline-flex;gap:.4em;margin-left:.8em;flex-wrap:wrap}
.gj-diff-chip{border:2px solid ${BORDER};border-radius:3px;padding:0 .35em;font-size:11px}
.gj-diff-chip.gj-diff-removed{border-style:dashed}
.gj-diff-fields{margin:.2em 0;padding-left:1.2em}
.gj-diff-fields li{margin:.1em 0;word-break:break-word}
.gj-diff-fields li[data-op="added"]{color:${DIFF_COLOURS.added}}
.gj-diff-fields li[data-op="removed"]{color:#757575}
.gj-diff-status{font-weight:600}
`;

