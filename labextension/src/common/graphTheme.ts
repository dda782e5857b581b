// Colours and shapes of flow-graph nodes, shared by the preview and the run monitor.
// Fills are translucent tints of a mid-tone so the theme's own text colour stays legible
// on them in light and dark JupyterLab themes alike. Keep in step with
// gladier_jupyter/flowgraph/svg.py (_KIND_STYLE), which draws the static SVG.

export interface KindStyle {
  stroke: string;
  fill: string;
  caption: string;
}

const tint = (r: number, g: number, b: number, a = 0.18): string => `rgba(${r},${g},${b},${a})`;

export const KIND_STYLES: Record<string, KindStyle> = {
  compute: { stroke: "#1e88e5", fill: tint(30, 136, 229), caption: "Compute" },
  search: { stroke: "#7e57c2", fill: tint(126, 87, 194), caption: "Search" },
  transfer: { stroke: "#00897b", fill: tint(0, 137, 123), caption: "Transfer" },
  action: { stroke: "#607d8b", fill: tint(96, 125, 139), caption: "Action" },
  pass: { stroke: "#9e9e9e", fill: tint(158, 158, 158, 0.14), caption: "Pass" },
  choice: { stroke: "#f9a825", fill: tint(249, 168, 37, 0.2), caption: "Choice" },
  wait: { stroke: "#fb8c00", fill: tint(251, 140, 0), caption: "Wait" },
  fail: { stroke: "#e53935", fill: tint(229, 57, 53), caption: "Fail" },
  expression: { stroke: "#ab47bc", fill: tint(171, 71, 188), caption: "ExpressionEval" },
  unknown: { stroke: "#757575", fill: tint(117, 117, 117, 0.12), caption: "?" },
  missing: { stroke: "var(--jp-error-color1, #d32f2f)", fill: "none", caption: "not defined" },
};

export const GRAPH_TEXT = "var(--jp-ui-font-color1, #212121)";
export const GRAPH_MUTED = "var(--jp-ui-font-color2, #616161)";
export const GRAPH_EDGE = "var(--jp-ui-font-color2, #757575)";
export const GRAPH_BG = "var(--jp-layout-color0, #ffffff)";
export const GRAPH_ERROR = "var(--jp-error-color1, #d32f2f)";
export const GRAPH_WARN = "var(--jp-warn-color1, #f57c00)";
export const GRAPH_SELECT = "var(--jp-brand-color1, #1976d2)";

export const NODE_W = 184;
export const NODE_H = 48;
export const MARK = 22;

/** SVG markup (no wrapper) of a node's shape centred at (x, y). */
export function shapeMarkup(kind: string, x: number, y: number, w: number, h: number): string {
  const l = x - w / 2, t = y - h / 2, r = x + w / 2, b = y + h / 2;
  const pts = (p: [number, number][]): string => p.map(([px, py]) => `${px},${py}`).join(" ");
  switch (kind) {
    case "start":
      return `<circle class="gj-shape" cx="${x}" cy="${y}" r="${w / 2}" style="fill:${GRAPH_TEXT};stroke:none"/>`;
    case "end":
      return `<circle class="gj-shape" cx="${x}" cy="${y}" r="${w / 2}" style="fill:none;stroke:${GRAPH_TEXT};stroke-width:2"/>` +
        `<circle cx="${x}" cy="${y}" r="${w / 2 - 5}" style="fill:${GRAPH_TEXT}"/>`;
    case "choice": {
      const d = 14;
      return `<polygon class="gj-shape" points="${pts([[l + d, t], [r - d, t], [r, y], [r - d, b], [l + d, b], [l, y]])}"/>`;
    }
    case "fail": {
      const d = 10;
      return `<polygon class="gj-shape" points="${pts([[l + d, t], [r - d, t], [r, t + d], [r, b - d], [r - d, b], [l + d, b], [l, b - d], [l, t + d]])}"/>`;
    }
    case "expression": {
      const d = 12;
      return `<polygon class="gj-shape" points="${pts([[l + d, t], [r, t], [r - d, b], [l, b]])}"/>`;
    }
    default: {
      const rx = kind === "wait" ? h / 2 : kind === "pass" ? 2 : kind === "missing" ? 4 : 10;
      const dash = kind === "missing" ? ' stroke-dasharray="5 3"' : "";
      return `<rect class="gj-shape" x="${l}" y="${t}" width="${w}" height="${h}" rx="${rx}"${dash}/>`;
    }
  }
}
