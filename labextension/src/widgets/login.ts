import type { RenderProps } from "@anywidget/types";
import { BORDER, FONT, MUTED, STATUS_COLOURS, STATUS_TEXT, SURFACE, TEXT } from "../common/theme";

interface ScopeRow {
  label: string;
  scopes: string[];
  missing: string[];
  held: boolean;
  source: string;
  expires_at: string;
  expired: boolean;
}

/** Mirrors the synced traits of gladier_jupyter.widgets.login.Login (no token is ever one). */
interface LoginModel {
  mode: string;
  status: string;
  identity: string;
  sources: string[];
  scopes: ScopeRow[];
  expires_at: string;
  problems: string[];
  login_pending: boolean;
  authorize_url: string;
  message: string;
  error: string;
  needed: string[];
}

const TRAITS: (keyof LoginModel)[] = [
  "mode", "status", "identity", "sources", "scopes", "expires_at", "problems",
  "login_pending", "authorize_url", "message", "error",
];

const STATUS_TITLE: Record<string, string> = {
  logged_in: "Logged in to Globus",
  partial: "Partly logged in to Globus",
  logged_out: "Not logged in to Globus",
  expired: "Globus login expired",
  local: "Local service",
};

const STATUS_COLOUR: Record<string, string> = {
  logged_in: STATUS_COLOURS.succeeded,
  partial: STATUS_COLOURS.caught,
  logged_out: STATUS_COLOURS.pending,
  expired: STATUS_COLOURS.failed,
  local: STATUS_COLOURS.active,
};

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K, cls: string, css = "", text = "",
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  node.className = cls;
  if (css) node.style.cssText = css;
  if (text) node.textContent = text;
  return node;
}

function button(cls: string, text: string, onClick: () => void): HTMLButtonElement {
  const b = el("button", `gj-login-btn ${cls}`,
    `font:inherit;padding:.25em .8em;border:1px solid ${BORDER};border-radius:4px;` +
    `background:${SURFACE};color:${TEXT};cursor:pointer`, text);
  b.type = "button";
  b.addEventListener("click", onClick);
  return b;
}

function render({ model, el: host }: RenderProps<LoginModel>): () => void {
  const send = (content: Record<string, string>): void => {
    model.send(content);
  };
  const root = el("div", "gj-login",
    `font-family:${FONT};color:${TEXT};border:1px solid ${BORDER};border-radius:6px;` +
    `padding:.6em .8em;max-width:56em;background:${SURFACE}`);
  const head = el("div", "gj-login-head", "display:flex;gap:.6em;align-items:center;flex-wrap:wrap");
  const dot = el("span", "gj-login-dot", "width:.7em;height:.7em;border-radius:50%;display:inline-block");
  const title = el("strong", "gj-login-title");
  const who = el("span", "gj-login-identity");
  const via = el("span", "gj-login-sources", `color:${MUTED}`);
  const expiry = el("span", "gj-login-expiry", `color:${MUTED}`);
  head.append(dot, title, who, via, expiry);

  const table = el("table", "gj-login-scopes",
    "border-collapse:collapse;margin:.5em 0;font-size:.92em;width:100%");
  const problems = el("ul", "gj-login-problems", `color:${MUTED};margin:.3em 0;padding-left:1.2em`);

  const pending = el("div", "gj-login-pending",
    `border-top:1px solid ${BORDER};padding-top:.5em;margin-top:.3em;display:none`);
  const step1 = el("div", "", "margin-bottom:.4em", "1. Open this link and log in with Globus: ");
  const link = el("a", "gj-login-link", "word-break:break-all");
  link.target = "_blank";
  link.rel = "noopener noreferrer";
  link.textContent = "authorize";
  step1.append(link);
  const step2 = el("div", "", "display:flex;gap:.4em;align-items:center;flex-wrap:wrap",
    "2. Paste the code Globus shows: ");
  const code = el("input", "gj-login-code",
    `font:inherit;padding:.2em .4em;border:1px solid ${BORDER};border-radius:4px;min-width:18em`);
  code.type = "password"; // a one-time code: keep it off screenshots and shoulder views
  code.autocomplete = "off";
  code.placeholder = "code";
  const submit = (): void => {
    const value = code.value.trim();
    code.value = "";
    if (value) send({ action: "submit_code", code: value });
  };
  code.addEventListener("keydown", (ev) => { if (ev.key === "Enter") submit(); });
  step2.append(code, button("gj-login-submit", "Submit code", submit),
    button("gj-login-cancel", "Cancel", () => send({ action: "cancel" })));
  pending.append(step1, step2);

  const actions = el("div", "gj-login-actions", "display:flex;gap:.4em;margin-top:.5em;flex-wrap:wrap");
  const loginBtn = button("gj-login-login", "Log in", () => send({ action: "login" }));
  const logoutBtn = button("gj-login-logout", "Log out", () => send({ action: "logout" }));
  const switchBtn = button("gj-login-switch", "Switch to local", () => {
    send({ action: model.get("mode") === "local" ? "use_globus" : "use_local" });
  });
  const reloadBtn = button("gj-login-reload", "Reload", () => send({ action: "reload" }));
  actions.append(loginBtn, logoutBtn, switchBtn, reloadBtn);

  const message = el("div", "gj-login-message", `color:${MUTED};margin-top:.4em`);
  const error = el("div", "gj-login-error", `color:${STATUS_TEXT.failed};margin-top:.4em`);
  root.append(head, table, problems, pending, actions, message, error);
  host.append(root);

  const draw = (): void => {
    const status = model.get("status");
    const mode = model.get("mode");
    root.dataset.status = status;
    root.dataset.mode = mode;
    dot.style.background = STATUS_COLOUR[status] ?? STATUS_COLOURS.pending;
    title.textContent = STATUS_TITLE[status] ?? status;
    const identity = model.get("identity");
    who.textContent = identity ? `as ${identity}` : "";
    const sources = model.get("sources");
    // In local mode the title already names the source: the user has one name, the identity.
    via.textContent = sources.length && mode !== "local" ? `via ${sources.join(", ")}` : "";
    const exp = model.get("expires_at");
    expiry.textContent = exp ? `expires ${exp}` : "";

    table.replaceChildren();
    const header = el("tr", "");
    for (const h of ["Scope", "Held", "From", "Expires"]) {
      header.append(el("th", "", `text-align:left;border-bottom:1px solid ${BORDER};padding:.15em .4em`, h));
    }
    table.append(header);
    for (const row of model.get("scopes")) {
      const tr = el("tr", "gj-login-scope");
      tr.dataset.held = String(row.held);
      tr.title = row.scopes.join("\n");
      const cell = (text: string, css = ""): HTMLTableCellElement =>
        el("td", "", `padding:.15em .4em;${css}`, text);
      const mark = row.held ? "✓" : row.expired ? "expired" : "✗";
      const colour = row.held ? STATUS_TEXT.succeeded : STATUS_TEXT.failed;
      tr.append(cell(row.label), cell(mark, `color:${colour}`), cell(row.source, `color:${MUTED}`),
        cell(row.expires_at, `color:${MUTED}`));
      table.append(tr);
    }

    problems.replaceChildren(...model.get("problems").map((p) => el("li", "", "", p)));
    const url = model.get("authorize_url");
    pending.style.display = model.get("login_pending") && url && mode !== "local" ? "block" : "none";
    link.href = url || "#";
    link.textContent = url ? url.split("?")[0] : "";
    loginBtn.style.display = mode === "local" ? "none" : "";
    // Log out removes a stored login; hub tokens stay with the hub, so with none stored
    // there is nobody to log out.
    logoutBtn.style.display = mode !== "local" && sources.includes("stored login") ? "" : "none";
    switchBtn.textContent = mode === "local" ? "Switch to Globus" : "Switch to local";
    message.textContent = model.get("message");
    error.textContent = model.get("error");
  };
  draw();
  for (const name of TRAITS) model.on(`change:${name}`, draw);
  return () => {
    for (const name of TRAITS) model.off(`change:${name}`, draw);
  };
}

export default { render };
