// Small DOM helpers of the views and the side panels: an element with inline style (or a
// class) and text, the monitor's buttons, its scrolling text blocks.
import { BORDER, STATUS_COLOURS, STATUS_ON, SURFACE, TEXT } from "./theme";

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, css = "", text = ""): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (css) el.style.cssText = css;
  if (text) el.textContent = text;
  return el;
}

/** An element with a class name (styled by the stylesheet) and text. */
export function withClass<K extends keyof HTMLElementTagNameMap>(tag: K, cls = "", text = ""): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (cls) el.className = cls;
  if (text) el.textContent = text;
  return el;
}

export function button(text: string, primary = false): HTMLButtonElement {
  const b = h("button", `font:inherit;padding:.2em .8em;border-radius:4px;cursor:pointer;border:1px solid ${BORDER};` +
    (primary ? `background:${STATUS_COLOURS.active};color:${STATUS_ON.active}` : `background:${SURFACE};color:${TEXT}`), text);
  b.type = "button";
  return b;
}

export function pre(text: string, colour = ""): HTMLPreElement {
  const p = h("pre", `margin:.2em 0;padding:.4em;max-height:18em;overflow:auto;white-space:pre-wrap;` +
    `background:var(--jp-layout-color2, #f5f5f5);border-radius:4px;font-size:12px;${colour ? `color:${colour}` : ""}`, text);
  p.tabIndex = 0; // it scrolls: reachable from the keyboard
  return p;
}
