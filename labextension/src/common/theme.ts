// Colours shared by every view. Each falls back to a light-theme value outside
// JupyterLab, and follows JupyterLab's theme variables inside it (dark theme included).
export const STATUS_COLOURS: Record<string, string> = {
  pending: "var(--jp-layout-color3, #d0d0d0)",
  active: "var(--jp-brand-color1, #1976d2)",
  succeeded: "var(--jp-success-color1, #388e3c)",
  failed: "var(--jp-error-color1, #d32f2f)",
  caught: "var(--jp-warn-color1, #f57c00)",
  skipped: "var(--jp-layout-color2, #eeeeee)",
  inactive: "var(--jp-warn-color1, #f57c00)",
  // Its own hue, apart from FAILED; a lighter one on dark themes (see THEME_CSS).
  cancelled: "var(--gj-cancelled, #6a1b9a)",
};

/**
 * Colours of a run's outcome pill (background, text): a run status, "warning" (SUCCEEDED
 * while states failed) or "cancelled". Each pair meets WCAG AA (4.5:1) in light and dark
 * themes: white on #6a1b9a is 9.4:1, #1a1a1a on #ce93d8 (dark themes) 7.3:1, black on
 * amber #ffb300 11.7:1.
 */
export const OUTCOME_COLOURS: Record<string, [string, string]> = {
  active: [STATUS_COLOURS.active, "#fff"],
  inactive: [STATUS_COLOURS.inactive, "#fff"],
  succeeded: [STATUS_COLOURS.succeeded, "#fff"],
  failed: [STATUS_COLOURS.failed, "#fff"],
  warning: ["var(--gj-warning, #ffb300)", "var(--gj-warning-ink, #000)"],
  cancelled: [STATUS_COLOURS.cancelled, "var(--gj-cancelled-ink, #fff)"],
  disconnected: ["var(--jp-layout-color3, #bdbdbd)", "var(--jp-ui-font-color1, #212121)"],
};

/** Theme-dependent values the views need beyond JupyterLab's own variables. */
const THEME_CSS = `
:root{--gj-cancelled:#6a1b9a;--gj-cancelled-ink:#fff;--gj-warning:#ffb300;--gj-warning-ink:#000}
body[data-jp-theme-light="false"]{--gj-cancelled:#ce93d8;--gj-cancelled-ink:#1a1a1a}
`;

/** Add the views' theme stylesheet to the page once. */
export function ensureThemeStyle(): void {
  if (typeof document === "undefined" || document.getElementById("gj-theme-vars")) return;
  const style = document.createElement("style");
  style.id = "gj-theme-vars";
  style.textContent = THEME_CSS;
  document.head.append(style);
}

export const FONT = "var(--jp-ui-font-family, system-ui, sans-serif)";
export const TEXT = "var(--jp-ui-font-color1, #212121)";
export const MUTED = "var(--jp-ui-font-color2, #616161)";
export const BORDER = "var(--jp-border-color2, #e0e0e0)";
export const SURFACE = "var(--jp-layout-color1, #ffffff)";
