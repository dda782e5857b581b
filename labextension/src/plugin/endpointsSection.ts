// The runs panel's "Endpoints" section: the local Compute endpoints, the embedded default
// first, as a table: name, engine/provider and UUID (with a copy button); then state,
// workers busy/total, pending tasks and provider jobs (Slurm/PBS job ids, a pid for
// LocalProvider).
// The server reads the status from the local service (gladier_jupyter/server/endpoint_routes.py);
// the page never sees the service's address or secret.
import { BORDER, MUTED, STATUS_TEXT } from "../common/theme";
import { APIError, requestAPI } from "./api";
import { h } from "../common/dom";

/** One endpoint as GET endpoints lists it (gladier_jupyter.local.endpoints.EndpointStatus.summary). */
export interface EndpointRow {
  name: string;
  uuid: string;
  default: boolean;
  engine: string;
  provider: string;
  /** "running", "not started" (its engine starts with its first task) or "error". */
  state: string;
  message: string;
  busy_workers: number | null;
  total_workers: number | null;
  pending_tasks: number | null;
  job_ids: string[];
  /** Parsl block id -> provider job id. */
  blocks: Record<string, string>;
}

export interface EndpointsReply {
  endpoints: EndpointRow[];
}

/** The panel polls every second while a run is ACTIVE; endpoint status is read at most this often. */
const MIN_REFRESH_MS = 5000;
const BUTTON = `font:inherit;cursor:pointer;border:1px solid ${BORDER};border-radius:4px;` +
  "background:var(--jp-layout-color2, #f5f5f5);color:inherit;padding:0 6px;font-size:11px";
const CELL = `padding:3px 4px;border-bottom:1px solid ${BORDER};text-align:left;vertical-align:top`;
const STATE_COLOUR: Record<string, string> = {
  running: STATUS_TEXT.succeeded,
  error: STATUS_TEXT.failed,
};

function count(n: number | null): string {
  return n === null || n === undefined ? "–" : String(n);
}

export class EndpointsSection {
  readonly el: HTMLDetailsElement;
  private body: HTMLTableSectionElement;
  private message: HTMLElement;
  private countEl: HTMLElement;
  private loading = false;
  private last = 0;

  constructor() {
    this.el = h("details", `border-top:1px solid ${BORDER};padding:6px 10px;flex:none;max-height:45%;overflow:auto`);
    this.el.className = "gj-lab-endpoints";
    const summary = h("summary", "cursor:pointer;font-weight:600");
    summary.append("Endpoints ");
    this.countEl = h("span", `color:${MUTED};font-weight:normal`);
    this.countEl.className = "gj-lab-endpoints-count";
    summary.append(this.countEl);
    const help = h("div", `color:${MUTED};font-size:12px;margin:4px 0`,
      "Local Compute endpoints: put a UUID in the flow input's compute_endpoint.");
    const table = h("table", "border-collapse:collapse;width:100%;table-layout:fixed;font-size:12px");
    table.className = "gj-lab-endpoints-table";
    const caption = h("caption", "position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)",
      "Local Compute endpoints and their status");
    const head = h("thead");
    const headRow = h("tr");
    // Two columns: the sidebar is narrow, and a screen reader reads each status with its row.
    for (const [text, width] of [["Endpoint", "58%"], ["Status", "42%"]]) {
      const th = h("th", `${CELL};font-weight:600;color:${MUTED};width:${width}`, text);
      th.scope = "col";
      headRow.append(th);
    }
    head.append(headRow);
    this.body = h("tbody");
    this.body.className = "gj-lab-endpoints-list";
    table.append(caption, head, this.body);
    this.message = h("div", "font-size:12px;margin-top:4px;overflow-wrap:anywhere");
    this.message.className = "gj-lab-endpoints-message";
    this.message.setAttribute("role", "status");
    this.el.append(summary, help, table, this.message);
    this.el.addEventListener("toggle", () => {
      if (this.el.open) void this.refresh(true);
    });
  }

  /** Read the status again; unless `force`, only while the section is open and not too often. */
  async refresh(force = false): Promise<void> {
    if (this.loading || (!force && (!this.el.open || Date.now() - this.last < MIN_REFRESH_MS))) return;
    this.loading = true;
    this.last = Date.now();
    try {
      this.draw(await requestAPI<EndpointsReply>("endpoints"));
      this.setMessage("", MUTED);
    } catch (error) {
      const text = error instanceof APIError ? error.message : `Could not read the endpoints: ${String(error)}`;
      this.setMessage(text.split("\n")[0], STATUS_TEXT.failed);
    } finally {
      this.loading = false;
    }
  }

  private draw(reply: EndpointsReply): void {
    const rows = reply.endpoints;
    this.countEl.textContent = `(${rows.length})`;
    this.el.dataset.endpoints = String(rows.length);
    this.body.replaceChildren(...rows.map((row) => this.row(row)));
  }

  private row(row: EndpointRow): HTMLTableRowElement {
    const tr = h("tr");
    tr.className = "gj-lab-endpoint";
    tr.dataset.endpointId = row.uuid;
    tr.dataset.state = row.state;

    const who = h("th", CELL + ";font-weight:normal");
    who.scope = "row";
    const name = h("div", "font-weight:600", row.name + (row.default ? " (embedded)" : ""));
    name.className = "gj-lab-endpoint-name";
    const kind = h("div", `color:${MUTED}`, [row.engine, row.provider].filter(Boolean).join(" · ") || "–");
    kind.className = "gj-lab-endpoint-engine";
    const idLine = h("div", "display:flex;align-items:center;gap:4px;min-width:0;overflow:hidden");
    const id = h("code", "overflow:hidden;text-overflow:ellipsis;white-space:nowrap;min-width:0;font-size:11px", row.uuid);
    id.className = "gj-lab-endpoint-uuid";
    id.title = row.uuid;
    const copy = h("button", BUTTON, "Copy");
    copy.type = "button";
    copy.className = "gj-lab-endpoint-copy";
    copy.setAttribute("aria-label", `Copy the UUID of endpoint ${row.name}`);
    copy.addEventListener("click", () => void this.copy(row, copy));
    idLine.append(id, copy);
    who.append(name, kind, idLine);

    const status = h("td", CELL);
    const state = h("div", `color:${STATE_COLOUR[row.state] || MUTED};font-weight:600`, row.state);
    state.className = "gj-lab-endpoint-state";
    status.append(state);
    const figure = (cls: string, value: string, after: string, before = ""): void => {
      const line = h("div", "overflow-wrap:anywhere");
      const span = h("span", "", value);
      span.className = cls;
      line.append(before, span, after);
      status.append(line);
    };
    figure("gj-lab-endpoint-workers",
      row.total_workers === null ? "–" : `${count(row.busy_workers)}/${count(row.total_workers)}`, " workers busy");
    figure("gj-lab-endpoint-pending", count(row.pending_tasks), " pending");
    const blocks = Object.entries(row.blocks || {});
    const jobText = blocks.length
      ? blocks.map(([block, job]) => `${job} (block ${block})`).join(", ")
      : row.job_ids.join(", ") || "–";
    figure("gj-lab-endpoint-jobs", jobText, "", "jobs: ");
    tr.append(who, status);
    if (row.message) {
      // The reason reads under the row, not only in a tooltip.
      const why = h("div", `color:${STATUS_TEXT.failed};font-size:11px`, row.message);
      why.className = "gj-lab-endpoint-message";
      who.append(why);
    }
    return tr;
  }

  private async copy(row: EndpointRow, button: HTMLButtonElement): Promise<void> {
    try {
      await navigator.clipboard.writeText(row.uuid);
      button.textContent = "Copied";
      this.setMessage(`Copied the UUID of ${row.name}.`, MUTED);
      window.setTimeout(() => { button.textContent = "Copy"; }, 1500);
    } catch (error) {
      // No clipboard (plain http, permission refused): leave the UUID selected to copy by hand.
      const id = button.parentElement?.querySelector("code");
      if (id) window.getSelection()?.selectAllChildren(id);
      this.setMessage(`Could not copy: ${String(error)}; the UUID is selected, press Ctrl+C.`, STATUS_TEXT.failed);
    }
  }

  private setMessage(text: string, colour: string): void {
    this.message.textContent = text;
    this.message.style.color = colour;
    this.message.dataset.kind = colour === STATUS_TEXT.failed ? "error" : text ? "info" : "";
  }
}
