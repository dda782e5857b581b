// The debug loop in the run monitor: "Replay in kernel" and "Re-run from here" on the
// selected state, the re-run form (the state's start data as JSON, editable), the output
// text a replay prints into (its prints, result or traceback, as the kernel captured them:
// an ipywidgets Output cannot be drawn inside an anywidget view, host.getWidget resolves
// anywidgets only), the monitor of a re-run started here, and the parent link of a re-run.
// Every click is a message to the kernel (RunMonitor._on_debug_msg).
import type { Host } from "@anywidget/types";
import type { ViewModel } from "../common/viewModel";
import { BORDER, MUTED, STATUS_TEXT, SURFACE, TEXT } from "../common/theme";

export interface RerunForm { state?: string; input?: string; error?: string; notice?: string }
export interface DebugTraits {
  run_id: string;
  status: string;
  parent?: { run_id?: string; label?: string; state_name?: string };
  rerun_form?: RerunForm;
  debug_text?: string;
  debug_output?: string | null;
}

const TERMINAL = ["SUCCEEDED", "FAILED", "ENDED"];

function el<K extends keyof HTMLElementTagNameMap>(tag: K, css = "", text = ""): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (css) e.style.cssText = css;
  if (text) e.textContent = text;
  return e;
}

function btn(text: string, cls: string): HTMLButtonElement {
  const b = el("button", `font:inherit;padding:.15em .7em;border-radius:4px;cursor:pointer;border:1px solid ${BORDER};` +
    `background:${SURFACE};color:${TEXT}`, text);
  b.type = "button";
  b.className = cls;
  return b;
}

/** The buttons of the selected state's pane (only in a kernel-backed view). */
export function stateButtons(model: ViewModel<DebugTraits>, state: string, info: { type: string; status: string }): HTMLElement | null {
  if (["pending", "skipped"].includes(info.status)) return null;
  const row = el("div", "display:flex;gap:.5em;margin-top:.4em;flex-wrap:wrap");
  row.className = "gj-debug-buttons";
  if (info.type === "Action") {
    const replay = btn("Replay in kernel", "gj-replay");
    replay.title = "Call this state's function in the kernel with the arguments the run passed (prints, breakpoints and %debug work)";
    replay.addEventListener("click", () => model.send({ type: "replay", state }));
    row.append(replay);
  }
  if (TERMINAL.includes(model.get("status"))) {
    const rerun = btn("Re-run from here…", "gj-rerun");
    rerun.title = "Start a new run of this flow at this state, with the run data it started with (editable first)";
    rerun.addEventListener("click", () => model.send({ type: "rerun_prepare", state }));
    row.append(rerun);
  }
  return row.childElementCount ? row : null;
}

/** The parent line, the re-run form and the replay output; returns [element, redraw, cleanup]. */
export function debugArea(model: ViewModel<DebugTraits>, host: Host | null): [HTMLElement, () => void, () => void] {
  const box = el("div", "margin:.3em 0");
  box.className = "gj-debug";
  const parent = el("div", `display:none;color:${MUTED};font-size:.9em`);
  parent.className = "gj-parent";
  const form = el("div", `display:none;border:1px solid ${BORDER};border-radius:4px;padding:.4em .6em;margin:.3em 0`);
  form.className = "gj-rerun-form";
  const textBox = el("pre", `display:none;margin:.2em 0;padding:.4em;max-height:24em;overflow:auto;white-space:pre-wrap;` +
    `background:var(--jp-layout-color2, #f5f5f5);border-radius:4px;font-size:12px`);
  textBox.className = "gj-debug-text";
  const outBox = el("div", "");
  outBox.className = "gj-debug-output";
  box.append(parent, form, textBox, outBox);
  let formKey = "";
  let outRef: string | null = null;
  let outAbort: AbortController | null = null;

  function draw(): void {
    const p = model.get("parent") ?? {};
    parent.style.display = p.run_id ? "block" : "none";
    parent.textContent = p.run_id ? `re-run of ${p.label || p.run_id.slice(0, 8)} from ${p.state_name || "?"}` : "";
    const f = model.get("rerun_form") ?? {};
    const key = JSON.stringify(f);
    if (key !== formKey) {
      formKey = key;
      form.replaceChildren();
      form.style.display = f.state ? "block" : "none";
      if (f.state) {
        form.dataset.state = f.state;
        form.append(el("div", "font-weight:600", `Re-run from ${f.state}: the run data it starts with (JSON)`));
        if (f.notice) form.append(el("div", `color:${STATUS_TEXT.inactive};font-size:.9em`, f.notice));
        const text = el("textarea", "width:100%;min-height:10em;font-family:var(--jp-code-font-family,monospace);font-size:12px");
        text.className = "gj-rerun-input";
        text.setAttribute("aria-label", `Run data to re-run from ${f.state} with (JSON)`);
        text.value = f.input ?? "{}";
        const err = el("div", `color:${STATUS_TEXT.failed};font-size:.9em`, f.error ?? "");
        err.className = "gj-rerun-error";
        const row = el("div", "display:flex;gap:.5em;margin-top:.3em");
        const go = btn("Start re-run", "gj-rerun-start");
        go.addEventListener("click", () => {
          try {
            JSON.parse(text.value);
          } catch (e) {
            err.textContent = `The run data is not valid JSON: ${(e as Error).message}`;
            return;
          }
          model.send({ type: "rerun", state: f.state, input: text.value });
        });
        const cancel = btn("Cancel", "gj-rerun-cancel");
        cancel.addEventListener("click", () => model.send({ type: "rerun_cancel" }));
        row.append(go, cancel);
        form.append(text, err, row);
      }
    }
    const text = model.get("debug_text") ?? "";
    textBox.style.display = text ? "block" : "none";
    textBox.textContent = text;
    textBox.dataset.kind = /^Traceback \(most recent call last\)/m.test(text) ? "error" : "";
    textBox.style.color = textBox.dataset.kind ? STATUS_TEXT.failed : "";
    const ref = model.get("debug_output") || null;
    if (ref !== outRef && host) {
      outRef = ref;
      outAbort?.abort();
      outBox.replaceChildren();
      if (ref) {
        outAbort = new AbortController();
        host.getWidget(ref).then((w) => w.render({ el: outBox, signal: outAbort!.signal }))
          .catch((e) => { outBox.textContent = `The re-run's monitor could not be shown: ${e}`; });
      }
    }
  }
  const names = ["parent", "rerun_form", "debug_text", "debug_output"] as const;
  for (const n of names) model.on(`change:${n}`, draw);
  draw();
  return [box, draw, () => {
    for (const n of names) model.off(`change:${n}`, draw);
    outAbort?.abort();
  }];
}
