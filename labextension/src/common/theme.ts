// Colours shared by every view. Each falls back to a light-theme value outside
// JupyterLab, and follows JupyterLab's theme variables inside it (dark theme included).
// Status colours come from gladier_jupyter/flowgraph/theme.json, the table the static
// HTML/SVG uses too: a fill with the text drawn on it (4.5:1 apart, WCAG AA, the same in
// every theme) and the status as text on the page, one colour per light/dark theme.
import theme from "../../../gladier_jupyter/flowgraph/theme.json";

interface StatusColours {
  fill: string;
  on: string;
  text_light: string;
  text_dark: string;
}

const STATUS: Record<string, StatusColours> = Object.fromEntries(
  Object.entries(theme.status).filter(([name]) => !name.startsWith("_")),
) as Record<string, StatusColours>;

const map = (pick: (name: string, c: StatusColours) => string): Record<string, string> =>
  Object.fromEntries(Object.entries(STATUS).map(([name, c]) => [name, pick(name, c)]));

/** A status as a fill: badges, chips, state boxes, timeline bars, dots. */
export const STATUS_COLOURS: Record<string, string> = map((_, c) => c.fill);
/** The text drawn on `STATUS_COLOURS[status]`. */
export const STATUS_ON: Record<string, string> = map((_, c) => c.on);
/** A status as text on the page (errors, warnings, marks), for the current light/dark theme. */
export const STATUS_TEXT: Record<string, string> = map((name, c) => `var(--gj-status-text-${name}, ${c.text_light})`);

// JupyterLab and Notebook 7 mark the theme on <body data-jp-theme-light="true|false">.
function installStatusText(): void {
  if (typeof document === "undefined" || document.getElementById("gj-status-text")) return;
  const style = document.createElement("style");
  style.id = "gj-status-text";
  const vars = (key: "text_light" | "text_dark"): string =>
    Object.entries(STATUS).map(([name, c]) => `--gj-status-text-${name}:${c[key]}`).join(";");
  style.textContent = `:root{${vars("text_light")}}body[data-jp-theme-light="false"]{${vars("text_dark")}}`;
  document.head.append(style);
}
installStatusText();

export const FONT = "var(--jp-ui-font-family, system-ui, sans-serif)";
export const TEXT = "var(--jp-ui-font-color1, #212121)";
export const MUTED = "var(--jp-ui-font-color2, #616161)";
export const BORDER = "var(--jp-border-color2, #e0e0e0)";
export const SURFACE = "var(--jp-layout-color1, #ffffff)";
