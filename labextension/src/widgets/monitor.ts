// The run monitor's view (one run: header, graph, actions, state pane, event log, timeline,
// output) and the widget entry that also draws RunsList. Its parts live in common/: the
// traits it reads (monitorModel), the state pane (stateDetail), what the run waits on a
// person for (monitorHuman), the kernel behind the view (kernelLink), the debug loop
// (monitorDebug), the log table, the timeline and the status widgets. What stays here is
// one idea: laying the parts out and drawing them from the model, once per update.
import type { Host, RenderProps } from "@anywidget/types";
import type { ViewModel } from "../common/viewModel";
import { BORDER, FONT, MUTED, STATUS_COLOURS, STATUS_ON, STATUS_TEXT, TEXT, ensureThemeStyle } from "../common/theme";
import { Elapsed, ProgressBar, StatusBadge } from "../common/monitorStatus";
import { LogTable, type LogRow } from "../common/logTable";
import { Timeline } from "../common/timeline";
import { statusGraph, type StatusGraph } from "../common/monitorGraph";
import { debugArea } from "../common/monitorDebug";
import { flowChangesBox, type FlowChangesBox } from "../common/flowChanges";
import { button, h, pre } from "../common/dom";
import { KernelLink } from "../common/kernelLink";
import { ChoiceBox, OutboxBox } from "../common/monitorHuman";
import { StateDetail } from "../common/stateDetail";
import type { MonitorModel, RunsModel } from "../common/monitorModel";
import { renderRuns } from "../common/runsList";

const TERMINAL = ["SUCCEEDED", "FAILED", "ENDED"];

// What views of a run have shown so far, kept per run id: when the run ends the kernel
// refreshes the monitor's output (its saved snapshot), which makes JupyterLab draw a new
// view of the same model; it carries on these records (data-*-history, data-state-times).
interface ShownMemo {
  statusHistory: string;
  stateHistory: Record<string, string>;
  stateTimes: Record<string, number>;
  nodeHistory: Record<string, string>;
  /** Sections the user opened or closed (the new view opens them as they were). */
  sectionsOpen: Record<string, boolean>;
  /** The run's log rows 0..n-1 as far as they reached this page. */
  rows: LogRow[];
}
const SHOWN = new Map<string, ShownMemo>();

function shownMemo(runId: string): ShownMemo {
  let memo = SHOWN.get(runId);
  if (!memo) {
    memo = { statusHistory: "", stateHistory: {}, stateTimes: {}, nodeHistory: {}, sectionsOpen: {}, rows: [] };
    if (runId) SHOWN.set(runId, memo);
  }
  return memo;
}

function joinHistory(before: string, now: string): string {
  const items = now ? now.split(">") : [];
  if (items[0] === before.split(">").pop()) items.shift();
  return items.length ? `${before}>${items.join(">")}` : before;
}

/** The event a monitor view sends (bubbling) to open its run in a JupyterLab tab; the lab
 * extension answers it (detail.handled = true) with the "gladier:open-run" command. */
export const OPEN_RUN_EVENT = "gladier:open-run";

export interface OpenRunDetail {
  run_id: string;
  label: string;
  source: string;
  handled: boolean;
}

function section(title: string, open: boolean, memo?: ShownMemo): [HTMLDetailsElement, HTMLElement] {
  const d = h("details", "margin:.4em 0");
  d.open = memo?.sectionsOpen[title] ?? open;
  if (memo) d.addEventListener("toggle", () => { memo.sectionsOpen[title] = d.open; });
  const s = h("summary", "cursor:pointer;font-weight:600", title);
  d.append(s);
  return [d, s];
}


/**
 * Draw a run (graph, log, timeline, actions) into `el` from `model`; returns the cleanup.
 * `host` shows the embedded login widget; without one (a JupyterLab tab) there is none.
 */
export function renderRun(model: ViewModel<MonitorModel>, el: HTMLElement, host: Host | null,
  kernelBacked = true): () => void {
  ensureThemeStyle();
  const root = h("div", `font-family:${FONT};color:${TEXT};border:1px solid ${BORDER};border-radius:6px;padding:.6em .8em;max-width:980px`);
  root.className = "gj-monitor";
  root.dataset.renderedAt = String(Date.now());
  const memo = shownMemo(model.get("run_id"));
  root.dataset.statusHistory = memo.statusHistory;
  el.append(root);

  // Header
  const header = h("div", "display:flex;flex-wrap:wrap;gap:.6em;align-items:center");
  const title = h("strong", "font-size:1.05em");
  const badge = new StatusBadge();
  const elapsed = new Elapsed();
  const runId = h("code", `font-size:.8em;color:${MUTED}`);
  const flowTitle = h("span", `color:${MUTED}`);
  const link = h("a", "font-size:.9em", "Open in the Globus web app") as HTMLAnchorElement;
  link.target = "_blank";
  link.rel = "noopener";
  const conn = h("span", "font-size:.85em");
  conn.className = "gj-connection";
  const openTab = button("Open in a tab", true);
  openTab.className = "gj-open-tab";
  openTab.style.display = "none";
  openTab.title = "Follow this run in a JupyterLab tab, fed by the Jupyter server instead of a kernel.";
  const clockBadge = h("span", `display:none;font-size:.8em;border-radius:3px;padding:0 .4em;` +
    `border:1px solid ${STATUS_COLOURS.inactive};color:${STATUS_TEXT.inactive}`);
  clockBadge.className = "gj-clock";
  clockBadge.title = "The local service's clock was moved ahead of real time during this run.";
  header.append(title, badge.el, elapsed.el, clockBadge, flowTitle, runId, link, conn, openTab);
  // The first failure, in the header: one click opens its traceback.
  const failureLine = h("button", `display:none;font:inherit;font-family:var(--jp-code-font-family, monospace);` +
    `font-size:.85em;text-align:left;cursor:pointer;border:none;border-left:4px solid ${STATUS_COLOURS.failed};` +
    `background:transparent;color:${TEXT};padding:.1em .5em;margin:.2em 0;max-width:100%;overflow:hidden;` +
    "text-overflow:ellipsis;white-space:nowrap");
  failureLine.className = "gj-failure";
  failureLine.type = "button";

  const progress = new ProgressBar();
  let graph: StatusGraph | null = null;
  const graphBox = h("div");

  // Actions
  const actions = h("div", "display:flex;flex-wrap:wrap;gap:.5em;align-items:center;margin:.3em 0");
  const cancel = button("Cancel run");
  cancel.className = "gj-cancel";
  const confirmBox = h("span", "display:none;gap:.4em;align-items:center");
  confirmBox.className = "gj-cancel-confirm";
  const confirmText = h("span", "", "Cancel this run?");
  const yes = button("Yes, cancel it", true);
  yes.className = "gj-cancel-yes";
  yes.style.background = STATUS_COLOURS.failed;
  yes.style.color = STATUS_ON.failed;
  const no = button("Keep running");
  no.className = "gj-cancel-no";
  confirmBox.append(confirmText, yes, no);
  const login = button("Log in again", true);
  login.className = "gj-login";
  const actionMsg = h("span", `font-size:.9em;color:${MUTED}`);
  actionMsg.className = "gj-action";
  actions.append(cancel, confirmBox, login, actionMsg);

  const inactive = h("div", `display:none;border-left:4px solid ${STATUS_COLOURS.inactive};padding:.3em .6em;margin:.3em 0`);
  inactive.className = "gj-inactive";
  const inactiveText = h("div");
  const resume = button("Grant consent and resume", true);
  resume.className = "gj-resume";
  inactive.append(inactiveText, resume);

  // What the run waits on a person to choose (one button per option), and its emails.
  const choices = new ChoiceBox(model);
  const outbox = new OutboxBox(model);

  // The Login widget, while a consent or a new login is pending.
  const loginBox = h("div", "margin:.3em 0");
  loginBox.className = "gj-monitor-login";
  let loginRef: string | null = null;
  let loginAbort: AbortController | null = null;
  function drawLogin(): void {
    const ref = model.get("login_widget") || null;
    if (ref === loginRef) return;
    loginRef = ref;
    loginAbort?.abort();
    loginBox.replaceChildren();
    if (!ref || !host) return;
    loginAbort = new AbortController();
    host.getWidget(ref).then((w) => w.render({ el: loginBox, signal: loginAbort!.signal }))
      .catch((err) => { loginBox.textContent = `The login could not be shown: ${err}`; });
  }

  const errorBox = h("div", `display:none;color:${STATUS_TEXT.failed};margin:.3em 0`);
  errorBox.className = "gj-error";

  // Selected state details
  const detail = new StateDetail(model, host !== null);
  let selected: string | null = null;

  const [logSec] = section("Event log", true, memo);
  const logTable = new LogTable();
  logSec.append(logTable.el);
  const [timeSec] = section("Timeline", false, memo);
  const timeline = new Timeline();
  timeSec.append(timeline.el);
  const [outSec] = section("Output", false);
  outSec.className = "gj-output";
  outSec.style.display = "none";
  const outPre = pre("");
  outSec.append(outPre);

  const [debugBox, , debugCleanup] = host ? debugArea(model, host) : [null, null, () => undefined];
  // "The flow changed since this run" (drawn when the kernel says so; never while polling)
  const changesBox = h("div");
  changesBox.className = "gj-monitor-changes";
  let changesView: FlowChangesBox | null = null;
  const drawChanges = (): void => {
    const found = model.get("changes") ?? {};
    changesView?.destroy();
    changesView = null;
    changesBox.replaceChildren();
    changesBox.dataset.changes = found.line && found.diff ? "changed" : "same";
    if (!found.line || !found.diff) return;
    changesView = flowChangesBox(found.line, "", found.diff, found.graph);
    changesBox.append(changesView.el);
  };
  root.append(header, failureLine, changesBox, ...(debugBox ? [debugBox] : []), progress.el, graphBox, actions, choices.el, inactive, loginBox, outbox.el, errorBox, detail.el, logSec, timeSec, outSec);

  const select = (state: string | null): void => {
    selected = selected === state ? null : state;
    graph?.select(selected);
    drawDetail();
  };
  logTable.onSelectState = (s) => select(s);
  failureLine.addEventListener("click", () => {
    const name = Object.keys(model.get("failed_states") ?? {})[0];
    if (!name) return;
    if (selected !== name) select(name);
    detail.el.scrollIntoView({ block: "nearest" });
    detail.el.querySelector<HTMLElement>(".gj-traceback")?.focus?.();
  });

  // The log: rows arrive as the tail of each update (log_tail); a view that lacks earlier
  // rows (it (re)connected, or was drawn again) asks the kernel for them ("log_sync").
  const rows = memo.rows;
  logTable.append(rows);
  let syncAsked = -1;
  function takeRows(tail: LogRow[]): void {
    const fresh = tail.filter((r) => r.i >= rows.length);
    if (fresh.length && fresh[0].i === rows.length) {
      for (const r of fresh) if (r.i === rows.length) rows.push(r);
    }
    if (logTable.length < rows.length) logTable.append(rows.slice(logTable.length));
    const total = model.get("log_total") ?? 0;
    if (total > rows.length && syncAsked !== rows.length && kernelBacked) {
      syncAsked = rows.length;
      model.send({ type: "log_sync", from: rows.length });
    }
    root.dataset.logRows = String(rows.length);
  }
  // The kernel behind the view: when it restarts or goes away, the view stops showing a
  // live run and offers a tab that keeps following it.
  const kernel = new KernelLink(model, kernelBacked, () => queueDraw());
  const onCustom = (msg: Record<string, unknown>): void => {
    kernel.heard();
    if (msg.type === "log_rows" && Array.isArray(msg.rows)) {
      takeRows(msg.rows as LogRow[]);
    }
  };
  model.on("msg:custom", onCustom);
  timeline.onSelectState = (s) => select(s);

  detail.onClose = (s) => select(s);
  function drawDetail(): void {
    detail.draw(selected, selected ? model.get("states")[selected] : undefined);
  }

  const stateHistory = memo.stateHistory;
  // When (ms since the epoch) each state first showed each status: for latency figures.
  const stateTimes = memo.stateTimes;
  function nodeEls(): HTMLElement[] {
    return graph ? Array.from(graph.el.querySelectorAll<HTMLElement>("[data-status-history]")) : [];
  }
  const nodeKey = (n: HTMLElement): string => `${n.className}:${n.dataset.name ?? n.dataset.state ?? ""}`;
  function drawGraph(): void {
    const states = model.get("states");
    const names = Object.keys(states);
    let fresh = false;
    if (!graph) {
      graph = statusGraph(model.get("graph") ?? {}, names, (s) => select(s));
      graphBox.replaceChildren(graph.el);
      fresh = true;
    }
    for (const n of names) {
      const status = states[n].status;
      graph.setStatus(n, status);
      graph.setVisits(n, states[n].attempts ?? 0);
      const hist = stateHistory[n];
      const last = hist ? hist.split(">").pop() : undefined;
      if (last !== status) {
        stateHistory[n] = hist ? `${hist}>${status}` : status;
        stateTimes[`${n}:${status}`] ??= Date.now();
      }
    }
    for (const n of nodeEls()) {
      const key = nodeKey(n);
      const before = memo.nodeHistory[key];
      if (fresh && before) n.dataset.statusHistory = joinHistory(before, n.dataset.statusHistory ?? "");
      memo.nodeHistory[key] = n.dataset.statusHistory ?? "";
    }
    root.dataset.stateHistory = JSON.stringify(stateHistory);
    root.dataset.stateTimes = JSON.stringify(stateTimes);
  }
  function resetGraph(): void {
    // The same drawing takes a new model of the flow (it refits when the shape changed).
    if (graph && graph.update(model.get("graph") ?? {})) {
      drawGraph();
      return;
    }
    graph?.destroy();
    graph = null;
    drawGraph();
  }

  openTab.addEventListener("click", () => {
    const detail: OpenRunDetail = { run_id: model.get("run_id"), label: model.get("label"),
      source: model.get("backend") === "globus" ? "globus" : "local", handled: false };
    root.dispatchEvent(new CustomEvent<OpenRunDetail>(OPEN_RUN_EVENT, { bubbles: true, detail }));
    if (!detail.handled) {
      actionMsg.textContent = "Open the run from JupyterLab's Gladier runs panel, or run " +
        `RunMonitor.attach("${model.get("run_id")}") in a notebook.`;
    }
  });

  let confirming = false;
  function draw(): void {
    const status = model.get("status");
    const terminal = TERMINAL.includes(status);
    root.dataset.status = status;
    root.dataset.runId = model.get("run_id");
    const hist = root.dataset.statusHistory ?? "";
    if (hist.split(">").pop() !== status) root.dataset.statusHistory = hist ? `${hist}>${status}` : status;
    memo.statusHistory = root.dataset.statusHistory ?? "";
    title.textContent = model.get("label") || "Flow run";
    const outcome = model.get("outcome") || status.toLowerCase();
    const headline = model.get("headline") || model.get("display_status") || status;
    root.dataset.outcome = outcome;
    if (kernel.disconnected && !terminal) {
      badge.set(status, `${status} · disconnected`, "disconnected");
      elapsed.stop();
    } else {
      badge.set(status, headline, outcome);
      elapsed.set(model.get("start_time"), model.get("completion_time"));
    }
    const failure = model.get("failure") ?? "";
    failureLine.style.display = failure ? "" : "none";
    failureLine.textContent = failure ? `✖ ${failure}` : "";
    failureLine.title = failure ? "Show the traceback" : "";
    runId.textContent = model.get("run_id");
    flowTitle.textContent = model.get("flow_title");
    const url = model.get("web_url");
    link.style.display = url ? "" : "none";
    if (url) link.href = url;
    const connection = kernel.disconnected ? "disconnected" : model.get("connection");
    root.dataset.connection = connection;
    conn.textContent = connection === "reconnecting" ? "⟳ reconnecting…" :
      connection === "login-expired" ? "login expired" : connection === "stopped" ? "not watching" :
      connection === "disconnected" ? "disconnected: the kernel that watched this run is gone" : "";
    conn.style.color = connection === "live" || connection === "done" ? MUTED : TEXT;
    conn.title = kernel.disconnected ? kernel.reason : model.get("message");
    openTab.style.display = kernel.disconnected ? "" : "none";
    login.style.display = connection === "login-expired" ? "" : "none";
    const p = model.get("progress") ?? { done: 0, total: 0 };
    progress.set(p.done, p.total, status, outcome);
    drawGraph();
    cancel.style.display = terminal || confirming || kernel.disconnected ? "none" : "";
    confirmBox.style.display = confirming && !terminal ? "inline-flex" : "none";
    actionMsg.textContent = model.get("action");
    const reason = model.get("inactive_reason");
    // A run awaiting a web input is INACTIVE, but needs an answer, not a consent.
    const awaiting = (model.get("choices") ?? []).some((c) => c.kind === "web_input");
    inactive.style.display = status === "INACTIVE" && !awaiting ? "block" : "none";
    choices.draw();
    outbox.draw();
    const clock = model.get("clock") ?? "";
    clockBadge.style.display = clock ? "" : "none";
    clockBadge.textContent = clock;
    inactiveText.textContent = reason || "The run is waiting (INACTIVE).";
    const err = model.get("error");
    errorBox.style.display = err ? "block" : "none";
    errorBox.textContent = err;
    const out = model.get("output");
    outSec.style.display = out ? "" : "none";
    outPre.textContent = out;
    if (out && status === "SUCCEEDED" && !outSec.dataset.shown) {
      outSec.dataset.shown = "1";
      outSec.open = true;
    }
    takeRows(model.get("log_tail") ?? []);
    timeline.update(model.get("timeline") ?? [], model.get("completion_time"));
    drawDetail();
  }

  cancel.addEventListener("click", () => {
    confirming = true;
    draw();
  });
  no.addEventListener("click", () => {
    confirming = false;
    draw();
  });
  yes.addEventListener("click", () => {
    confirming = false;
    model.send({ type: "cancel" });
    draw();
  });
  resume.addEventListener("click", () => model.send({ type: "resume" }));
  login.addEventListener("click", () => model.send({ type: "login" }));

  const events: (keyof MonitorModel)[] = ["status", "display_status", "label", "flow_title", "start_time",
    "completion_time", "connection", "message", "states", "timeline", "log_tail", "log_total", "progress",
    "inactive_reason", "error", "output", "action", "web_url", "choices", "outbox", "clock", "outcome",
    "headline", "failure", "failed_states"];
  // One update from Python changes many traits at once: draw once for all of them.
  let drawQueued = false;
  const queueDraw = (): void => {
    if (drawQueued) return;
    drawQueued = true;
    queueMicrotask(() => {
      drawQueued = false;
      draw();
    });
  };
  for (const e of events) model.on(`change:${e}`, queueDraw);
  model.on("change:graph", resetGraph);
  model.on("change:login_widget", drawLogin);
  model.on("change:changes", drawChanges);
  // Bars of running states grow between updates (Globus polls as seldom as every 10 s).
  const tick = window.setInterval(() => {
    if (timeSec.open && !kernel.disconnected && !TERMINAL.includes(model.get("status"))) {
      timeline.update(model.get("timeline") ?? [], model.get("completion_time"), true);
    }
  }, 1000);
  draw();
  drawLogin();
  drawChanges();
  return () => {
    model.off("change:changes", drawChanges);
    changesView?.destroy();
    window.clearInterval(tick);
    kernel.destroy();
    model.off("msg:custom", onCustom);
    for (const e of events) model.off(`change:${e}`, queueDraw);
    model.off("change:graph", resetGraph);
    model.off("change:login_widget", drawLogin);
    debugCleanup();
    loginAbort?.abort();
    elapsed.destroy();
    graph?.destroy();
  };
}

function render({ model, el, host }: RenderProps<MonitorModel | RunsModel>): () => void {
  // One Python-side entry ("monitor") serves both widgets; their "view" trait tells them apart.
  if (model.get("view") === "runs") return renderRuns(model as ViewModel<RunsModel>, el);
  return renderRun(model as ViewModel<MonitorModel>, el, host ?? null);
}

export default { render };
