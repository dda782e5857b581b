// The flow icon of the runs panel, run tabs, flow files and their "Flow graph" tabs.
import { LabIcon } from "@jupyterlab/ui-components";

const FLOW_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 16 16">
<g class="jp-icon3" fill="#616161"><rect x="5" y="1" width="6" height="3.5" rx="1"/>
<rect x="1" y="11.5" width="6" height="3.5" rx="1"/><rect x="9" y="11.5" width="6" height="3.5" rx="1"/>
<path d="M7.5 4.5h1v3H12a1 1 0 0 1 1 1v3h-1v-2.9H4v2.9H3v-3a1 1 0 0 1 1-1h3.5z"/></g></svg>`;

export const flowIcon = new LabIcon({ name: "gladier-jupyter:flow", svgstr: FLOW_SVG });
