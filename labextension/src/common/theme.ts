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
};

export const FONT = "var(--jp-ui-font-family, system-ui, sans-serif)";
export const TEXT = "var(--jp-ui-font-color1, #212121)";
export const MUTED = "var(--jp-ui-font-color2, #616161)";
export const BORDER = "var(--jp-border-color2, #e0e0e0)";
export const SURFACE = "var(--jp-layout-color1, #ffffff)";
