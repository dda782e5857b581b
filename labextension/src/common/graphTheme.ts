// Colours and shapes of flow-graph nodes, shared by the preview and the run monitor.
// The colours and sizes come from gladier_jupyter/flowgraph/theme.json, the one style
// table Python (the SVG drawn where no view ran) reads too.
import theme from "../../../gladier_jupyter/flowgraph/theme.json";

export interface KindStyle {
  stroke: string;
  fill: string;
  caption: string;
}

export const KIND_STYLES: Record<string, KindStyle> = theme.kinds;

export const GRAPH_TEXT = theme.colours.text;
export const GRAPH_MUTED = theme.colours.muted;
export const GRAPH_EDGE = theme.colours.edge;
export const GRAPH_BG = theme.colours.bg;
export const GRAPH_ERROR = theme.colours.error;
export const GRAPH_WARN = theme.colours.warn;
export const GRAPH_SELECT = theme.colours.select;
export const GRAPH_FONT = theme.font;

export const NODE_W = theme.sizes.node_w;
export const NODE_H = theme.sizes.node_h;
export const MARK = theme.sizes.mark;
export const STROKE = theme.sizes.stroke;
export const STROKE_PROBLEM = theme.sizes.stroke_problem;

/** SVG markup (no wrapper) of a node's shape centred at (x, y). `style` (the saved,
 * stand-alone drawing) paints the shape inline instead of through the view's stylesheet. */
export function shapeMarkup(kind: string, x: number, y: number, w: number, h: number, style?: string): string {
  const inline = style ? ` style="${style}"` : "";
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
      return `<polygon class="gj-shape" points="${pts([[l + d, t], [r - d, t], [r, y], [r - d, b], [l + d, b], [l, y]])}"${inline}/>`;
    }
    case "fail": {
      const d = 10;
      return `<polygon class="gj-shape" points="${pts([[l + d, t], [r - d, t], [r, t + d], [r, b - d], [r - d, b], [l + d, b], [l, b - d], [l, t + d]])}"${inline}/>`;
    }
    case "expression": {
      const d = 12;
      return `<polygon class="gj-shape" points="${pts([[l + d, t], [r, t], [r - d, b], [l, b]])}"${inline}/>`;
    }
    default: {
      const rx = kind === "wait" ? h / 2 : kind === "pass" ? 2 : kind === "missing" ? 4 : 10;
      const dash = kind === "missing" ? ' stroke-dasharray="5 3"' : "";
      return `<rect class="gj-shape" x="${l}" y="${t}" width="${w}" height="${h}" rx="${rx}"${dash}${inline}/>`;
    }
  }
}
