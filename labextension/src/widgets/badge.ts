import type { RenderProps } from "@anywidget/types";
import { BORDER, FONT, MUTED, TEXT } from "../common/theme";

/** Mirrors the synced traits of gladier_jupyter.widgets.badge.BackendBadge. */
interface BadgeModel {
  backend: string;
  detail: string;
}

function render({ model, el }: RenderProps<BadgeModel>): () => void {
  const root = document.createElement("div");
  root.className = "gj-badge";
  root.style.cssText = `display:inline-flex;gap:.5em;align-items:center;font-family:${FONT};` +
    `border:1px solid ${BORDER};border-radius:1em;padding:.15em .8em;color:${TEXT}`;
  const name = document.createElement("strong");
  const detail = document.createElement("span");
  detail.style.color = MUTED;
  root.append(name, detail);
  el.append(root);

  const draw = (): void => {
    const backend = model.get("backend");
    root.dataset.backend = backend;
    name.textContent = backend === "globus" ? "Globus" : "Local service";
    detail.textContent = model.get("detail");
  };
  draw();
  model.on("change:backend", draw);
  model.on("change:detail", draw);
  return () => {
    model.off("change:backend", draw);
    model.off("change:detail", draw);
  };
}

export default { render };
