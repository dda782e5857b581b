// The runs panel's "Collections" section: Globus collection ids mapped to local folders
// (the registry gladier_jupyter.local.map_collection writes), a form to map one, and remove.
// The folder is resolved and checked by the server (gladier_jupyter/server/collection_routes.py);
// its one-line refusal is shown under the form.
import { BORDER, MUTED, STATUS_TEXT } from "../common/theme";
import { APIError, requestAPI } from "./api";
import { h } from "../common/dom";

/** One mapping as GET collections lists it. */
export interface CollectionRow {
  id: string;
  /** The folder's absolute path on the server. */
  folder: string;
  /** The folder relative to the Jupyter root, or "~/..." in the user's home. */
  shown: string;
}

export interface CollectionsReply {
  collections: CollectionRow[];
  /** After POST: a caution about the folder (others can write it), else "". */
  warning?: string;
}

const BUTTON = `font:inherit;cursor:pointer;border:1px solid ${BORDER};border-radius:4px;` +
  "background:var(--jp-layout-color2, #f5f5f5);color:inherit;padding:1px 8px";
const INPUT = `font:inherit;min-width:0;border:1px solid ${BORDER};border-radius:3px;padding:2px 4px;` +
  "background:var(--jp-layout-color1, #fff);color:inherit";

export class CollectionsSection {
  readonly el: HTMLDetailsElement;
  private list: HTMLElement;
  private idInput: HTMLInputElement;
  private folderInput: HTMLInputElement;
  private message: HTMLElement;
  private count: HTMLElement;
  private busy = false;

  constructor() {
    this.el = h("details", `border-top:1px solid ${BORDER};padding:6px 10px;flex:none;max-height:45%;overflow:auto`);
    this.el.className = "gj-lab-collections";
    const summary = h("summary", "cursor:pointer;font-weight:600");
    summary.append("Collections ");
    this.count = h("span", `color:${MUTED};font-weight:normal`);
    this.count.className = "gj-lab-collections-count";
    summary.append(this.count);
    const help = h("div", `color:${MUTED};font-size:12px;margin:4px 0`,
      "Local transfers use these folders for these Globus collection ids.");
    this.list = h("div", "display:flex;flex-direction:column;gap:2px");
    this.list.className = "gj-lab-collections-list";
    this.list.setAttribute("role", "list");

    const form = h("form", "display:flex;flex-direction:column;gap:4px;margin-top:6px");
    form.className = "gj-lab-collections-form";
    this.idInput = h("input", INPUT);
    this.idInput.className = "gj-lab-collections-id";
    this.idInput.placeholder = "Collection id (UUID)";
    this.idInput.setAttribute("aria-label", "Globus collection id");
    this.idInput.required = true;
    this.folderInput = h("input", INPUT);
    this.folderInput.className = "gj-lab-collections-folder";
    this.folderInput.placeholder = "Folder: data/scans or ~/scans";
    this.folderInput.title = "A folder under the Jupyter root (relative path) or in your home (~/...)";
    this.folderInput.setAttribute("aria-label", "Folder");
    this.folderInput.required = true;
    const add = h("button", BUTTON + ";align-self:flex-start", "Map");
    add.type = "submit";
    add.className = "gj-lab-collections-add";
    form.append(this.idInput, this.folderInput, add);
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      void this.add();
    });
    this.message = h("div", "font-size:12px;margin-top:4px;overflow-wrap:anywhere");
    this.message.className = "gj-lab-collections-message";
    this.message.setAttribute("role", "status");
    this.el.append(summary, help, this.list, form, this.message);
    this.el.addEventListener("toggle", () => {
      if (this.el.open) void this.refresh();
    });
  }

  async refresh(): Promise<void> {
    try {
      this.draw(await requestAPI<CollectionsReply>("collections"));
    } catch (error) {
      this.say(error, "Could not list collections");
    }
  }

  private async add(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const reply = await requestAPI<CollectionsReply>("collections", {
        method: "POST",
        body: JSON.stringify({ id: this.idInput.value.trim(), folder: this.folderInput.value.trim() }),
      });
      this.draw(reply);
      this.idInput.value = "";
      this.folderInput.value = "";
      this.setMessage(reply.warning || "", reply.warning ? STATUS_TEXT.caught : MUTED);
    } catch (error) {
      this.say(error, "Could not map the collection");
    } finally {
      this.busy = false;
    }
  }

  private async remove(row: CollectionRow): Promise<void> {
    try {
      this.draw(await requestAPI<CollectionsReply>(`collections/${encodeURIComponent(row.id)}`, { method: "DELETE" }));
      this.setMessage("", MUTED);
    } catch (error) {
      this.say(error, `Could not remove ${row.id}`);
      void this.refresh();
    }
  }

  private draw(reply: CollectionsReply): void {
    const rows = reply.collections;
    this.count.textContent = `(${rows.length})`;
    this.el.dataset.collections = String(rows.length);
    this.list.replaceChildren();
    if (!rows.length) {
      const empty = h("div", `color:${MUTED};font-size:12px`, "No collection is mapped to a folder yet.");
      empty.className = "gj-lab-collections-empty";
      this.list.append(empty);
    }
    for (const row of rows) this.list.append(this.row(row));
  }

  private row(row: CollectionRow): HTMLElement {
    const el = h("div", `display:flex;align-items:center;gap:6px;font-size:12px;padding:3px 0;border-bottom:1px solid ${BORDER}`);
    el.className = "gj-lab-collection";
    el.setAttribute("role", "listitem");
    el.dataset.collectionId = row.id;
    el.title = `${row.id} → ${row.folder}`;
    const text = h("div", "display:flex;flex-direction:column;flex:1;min-width:0");
    const line = "overflow:hidden;text-overflow:ellipsis;white-space:nowrap";
    const id = h("code", line, row.id);
    id.className = "gj-lab-collection-id";
    const folder = h("span", `${line};color:${MUTED}`, `→ ${row.shown}`);
    folder.className = "gj-lab-collection-folder";
    text.append(id, folder);
    const remove = h("button", BUTTON, "Remove");
    remove.type = "button";
    remove.className = "gj-lab-collection-remove";
    remove.setAttribute("aria-label", `Remove the folder of ${row.id}`);
    remove.addEventListener("click", () => void this.remove(row));
    el.append(text, remove);
    return el;
  }

  private say(error: unknown, what: string): void {
    const text = error instanceof APIError ? error.message : `${what}: ${String(error)}`;
    // One line, as the server words it.
    this.setMessage(text.split("\n")[0], STATUS_TEXT.failed);
  }

  private setMessage(text: string, colour: string): void {
    this.message.textContent = text;
    this.message.style.color = colour;
    this.message.dataset.kind = colour === STATUS_TEXT.failed ? "error" : text ? "warning" : "";
  }
}
