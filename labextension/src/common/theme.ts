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

/** A status as a fill: badges, chips, state boxes, timeline bars, dots. CANCELLED has its
 * own hue, apart from FAILED, and a lighter one on dark themes (see THEME_CSS). */
export const STATUS_COLOURS: Record<string, string> = {
  ...map((_, c) => c.fill), cancelled: `var(--gj-cancelled, ${STATUS.cancelled.fill})`,
};
/** The text drawn on `STATUS_COLOURS[status]`. */
export const STATUS_ON: Record<string, string> = {
  ...map((_, c) => c.on), cancelled: `var(--gj-cancelled-ink, ${STATUS.cancelled.on})`,
};
/** A status as text on the page (errors, warnings, marks), for the current light/dark theme. */
export const STATUS_TEXT: Record<string, string> = map((name, c) => `var(--gj-status-text-${name}, ${c.text_light})`);

/**
 * Colours of a run's outcome pill (background, text): a run status, "warning" (SUCCEEDED
 * while states failed) or "cancelled". Each pair meets WCAG AA (4.5:1) in light and dark
 * themes: white on #6a1b9a is 9.4:1, #1a1a1a on #ce93d8 (dark themes) 7.3:1, black on
 * amber #ffb300 11.7:1.
 */
export const OUTCOME_COLOURS: Record<string, [string, string]> = {
  active: [STATUS_COLOURS.active, STATUS_ON.active],
  inactive: [STATUS_COLOURS.inactive, STATUS_ON.inactive],
  succeeded: [STATUS_COLOURS.succeeded, STATUS_ON.succeeded],
  failed: [STATUS_COLOURS.failed, STATUS_ON.failed],
  warning: ["var(--gj-warning, #ffb300)", "var(--gj-warning-ink, #000)"],
  cancelled: [STATUS_COLOURS.cancelled, STATUS_ON.cancelled],
  disconnected: ["var(--jp-layout-color3, #bdbdbd)", "var(--jp-ui-font-color1, #212121)"],
};

// Status text per theme: JupyterLab and Notebook 7 mark it on <body data-jp-theme-light>.
const statusText = (key: "text_light" | "text_dark"): string =>
  Object.entries(STATUS).map(([name, c]) => `--gj-status-text-${name}:${c[key]}`).join(";");

/** Theme-dependent values the views need beyond JupyterLab's own variables. */
const THEME_CSS = `
:root{--gj-cancelled:#6a1b9a;--gj-cancelled-ink:#fff;--gj-warning:#ffb300;--gj-warning-ink:#000;${statusText("text_light")}}
body[data-jp-theme-light="false"]{--gj-cancelled:#ce93d8;--gj-cancelled-ink:#1a1a1a;${statusText("text_dark")}}
`;

/** Add the views' theme stylesheet to the page once. */
export function ensureThemeStyle(): void {
  if (typeof document === "undefined" || document.getElementById("gj-theme-vars")) return;
  const style = document.createElement("style");
  style.id = "gj-theme-vars";
  style.textContent = THEME_CSS;
  document.head.append(style);
}
// Status text colours are read through these variables by every view: set them at once.
ensureThemeStyle();

export const FONT = "var(--jp-ui-font-family, system-ui, sans-serif)";
export const TEXT = "var(--jp-ui-font-color1, #212121)";
export const MUTED = "var(--jp-ui-font-color2, #616161)";
export const BORDER = "var(--jp-border-color2, #e0e0e0)";
export const SURFACE = "var(--jp-layout-color1, #ffffff)";
