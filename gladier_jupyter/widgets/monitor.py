"""RunMonitor: watch a flow run live without blocking the kernel.

``RunMonitor(run, client=...)`` takes a gladier ``run_flow`` result, a run id or a run
document. It starts watching at once (on the shared background scheduler of
:mod:`gladier_jupyter.monitor`), so it works in a headless notebook too; closing it stops
the polling. It replaces gladier's blocking ``progress()``.

This module holds the widget's traits (what the view draws, mirrored by
``labextension/src/widgets/monitor.ts``), its public actions (cancel, resume, choose,
consent and login) and the page's messages. Three parts are mixed in, each one idea:
:mod:`.monitor_sync` (the watcher's updates into the traits, the event log's rows),
:mod:`.monitor_debug` (replay in the kernel, re-run from a state, the parent link) and
:mod:`.monitor_display` (saved-notebook fallbacks and static snapshots).
"""

from __future__ import annotations

import logging
import threading
import typing as t

import anywidget
import traitlets

from gladier_jupyter import monitor as _monitor
from gladier_jupyter.errors import GladierJupyterError, GladierJupyterUsageError
from gladier_jupyter.monitor import human as _human
from gladier_jupyter.widgets._base import GladierWidget
from gladier_jupyter.widgets.monitor_debug import DebugLoop
from gladier_jupyter.widgets.monitor_display import SavedDisplay
from gladier_jupyter.widgets.monitor_sync import LiveSync
from gladier_jupyter.widgets.run_inputs import (
    _graph_model,
    _resolve_client,
    _run_id_and_doc,
    _short_error,
)
from gladier_jupyter.widgets.run_snapshot import snapshot_html

log = logging.getLogger(__name__)

__all__ = ["RunMonitor"]


class RunMonitor(DebugLoop, LiveSync, SavedDisplay, GladierWidget):
    """A live view of one flow run: graph, progress, event log, timeline, actions.

    ``run``: a gladier ``run_flow()`` result, a run id or a run document. ``client``: the
    gladier client, ``globus_sdk.FlowsClient`` or backend the run belongs to (default: the
    current backend's flows client). ``start=False`` waits for :meth:`start`;
    ``consent_handler(scopes)`` replaces the login widget when consent is needed;
    ``flow_client`` is the ``SpecificFlowClient`` used to resume (default: the gladier
    client's, or one built for the run's flow).

    In [1]: run = client.run_flow(flow_input); gladier_jupyter.RunMonitor(run, client=client)
    """

    _entry = "monitor"

    view = traitlets.Unicode("run").tag(sync=True)
    run_id = traitlets.Unicode("").tag(sync=True)
    label = traitlets.Unicode("").tag(sync=True)
    flow_id = traitlets.Unicode("").tag(sync=True)
    flow_title = traitlets.Unicode("").tag(sync=True)
    status = traitlets.Unicode("PENDING").tag(sync=True)
    display_status = traitlets.Unicode("").tag(sync=True)
    start_time = traitlets.Unicode("").tag(sync=True)
    completion_time = traitlets.Unicode("").tag(sync=True)
    backend = traitlets.Unicode("local").tag(sync=True)
    web_url = traitlets.Unicode("").tag(sync=True)
    connection = traitlets.Unicode("idle").tag(sync=True)
    message = traitlets.Unicode("").tag(sync=True)
    graph = traitlets.Dict().tag(sync=True)
    states = traitlets.Dict().tag(sync=True)
    timeline: traitlets.List[dict[str, t.Any]] = traitlets.List().tag(sync=True)
    #: the event-log rows added by the last update (each with its index ``i``): the page
    #: appends them, and asks for the rows it lacks ("log_sync") when it (re)connects, so an
    #: update costs the same with 10 or 10,000 entries in the log
    log_tail: traitlets.List[dict[str, t.Any]] = traitlets.List().tag(sync=True)
    #: how many entries the run's log has so far
    log_total = traitlets.Int(0).tag(sync=True)
    #: what the views colour: a run status in lower case, "warning" (SUCCEEDED while states
    #: failed) or "cancelled"
    outcome = traitlets.Unicode("pending").tag(sync=True)
    #: the header's text: "SUCCEEDED · 1 state failed", "CANCELLED", "ACTIVE"
    headline = traitlets.Unicode("").tag(sync=True)
    #: the first failed state and the last line of its exception ("Gather: ValueError: x")
    failure = traitlets.Unicode("").tag(sync=True)
    #: the states whose action failed, each with the last line of its exception (for
    #: scripts: the run may still have SUCCEEDED, see ``wait()``)
    failed_states = traitlets.Dict().tag(sync=True)
    progress = traitlets.Dict({"done": 0, "total": 0}).tag(sync=True)
    inactive_reason = traitlets.Unicode("").tag(sync=True)
    required_scopes: traitlets.List[str] = traitlets.List().tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)
    output = traitlets.Unicode("").tag(sync=True)
    #: "", "cancelling", "cancel requested", "resuming", "resumed", or a failure sentence
    action = traitlets.Unicode("").tag(sync=True)
    #: what the run waits on a person to choose (weboption options, web input options):
    #: ``kind``, ``state``, ``key``, ``label``, ``description``, ``title`` (see :meth:`choose`)
    choices: traitlets.List[dict[str, str]] = traitlets.List().tag(sync=True)
    #: the run's notification emails, "email to a@b: subject", oldest first
    outbox: traitlets.List[str] = traitlets.List().tag(sync=True)
    #: "clock +1 h" when the local service clock was moved during the run
    clock: traitlets.Unicode = traitlets.Unicode("").tag(sync=True)
    #: the Login widget shown inside the monitor while a consent or a new login is pending
    login_widget = anywidget.WidgetTrait().tag(sync=True)
    #: the debug loop: ``{"run_id", "label", "state_name"}`` of the run this one re-runs
    parent = traitlets.Dict().tag(sync=True)
    #: "Re-run from here": ``{"state", "input" (JSON text), "error", "notice"}`` while the form is open
    rerun_form = traitlets.Dict().tag(sync=True)
    #: what the last replay printed, then its result or its traceback; or a re-run's notices
    #: (text: an ``ipywidgets.Output`` cannot be drawn inside an anywidget view)
    debug_text = traitlets.Unicode("").tag(sync=True)
    #: the monitor of the last re-run started from this one's state pane (shown below it)
    debug_output = anywidget.WidgetTrait().tag(sync=True)
    #: "the flow changed since this run": ``{"line", "diff", "graph"}`` (the diff drawn on the
    #: flow's graph now, removed states ghosted) when the deployed definition differs from the
    #: run's pinned one, else ``{}``; read when the monitor attaches and when the run ends
    changes = traitlets.Dict().tag(sync=True)

    def __init__(self, run: t.Any, client: t.Any = None, *, start: bool = True,
                 consent_handler: t.Callable[[list[str]], t.Any] | None = None,
                 flow_client: t.Any = None, **kwargs: t.Any) -> None:
        run_id, doc = _run_id_and_doc(run)
        flows_client, gladier_client = _resolve_client(client)
        super().__init__(**kwargs)
        self._client = client
        self._flows_client = flows_client
        self._gladier_client = gladier_client
        self._flow_client = flow_client
        self.consent_handler = consent_handler
        self._update_lock = threading.RLock()
        #: ids of the outputs this monitor was displayed in (see ``_ipython_display_``),
        #: recorded under the update lock: a run ending meanwhile updates a new one too
        self._display_ids: list[str] = []
        self._display_lock = self._update_lock
        self._final_bundle_sent = False
        self._human_key: tuple[t.Any, ...] | None = None
        self._outbox_key: tuple[t.Any, ...] | None = None
        self._choice_retry: threading.Timer | None = None
        self._choice_retries = 0
        self._choice_attempt_key: tuple[t.Any, ...] | None = None
        #: log entries already sent to the page in ``log_tail``
        self._rows_sent = 0
        #: when the flow's definition was last compared: "" (never), "attached", "ended"
        self._changes_checked = ""
        self._flow_changes: dict[str, t.Any] | None = None
        definition = None
        if gladier_client is not None:
            try:
                definition = dict(gladier_client.get_flow_definition())
            except Exception:  # the user's client code; the run's own definition serves
                log.debug("the gladier client's flow definition failed", exc_info=True)
                definition = None
        self._watcher = _monitor.RunWatcher.shared(flows_client, run_id,
                                                   definition=definition, run=doc)
        self._watcher.add_listener(self._on_update)
        local = self._watcher.local
        with self.hold_sync():
            self.run_id = run_id
            self.backend = "local" if local else "globus"
            self.web_url = "" if local else _monitor.web_app_url(run_id)
            if definition or self._watcher.model.definition:
                self.graph = _graph_model(definition or self._watcher.model.definition)
            self._apply(self._watcher.model)
        self.on_msg(self._on_page_msg)
        self._parent_checked = False
        self._refresh_human(self._watcher.model)
        if start:
            self.start()

    # -- public -------------------------------------------------------------------------
    @classmethod
    def attach(cls, run_id: str, client: t.Any = None, **kwargs: t.Any) -> RunMonitor:
        """Watch an existing run again (e.g. after a kernel restart) by its id."""
        return cls(run_id, client=client, **kwargs)

    @property
    def watcher(self) -> _monitor.RunWatcher:
        """The background watcher (its ``model`` holds the run document and whole log)."""
        return self._watcher

    @property
    def entries(self) -> list[dict[str, t.Any]]:
        """Every run-log entry read so far, in order, with their details."""
        return list(self._watcher.model.entries)

    @property
    def events(self) -> list[dict[str, t.Any]]:
        """Every event-log row (time, code, state, description) read so far, in order."""
        return [_monitor.log_row(i, e) for i, e in enumerate(self._watcher.model.entries)]

    @property
    def run(self) -> dict[str, t.Any]:
        """The latest run document."""
        return dict(self._watcher.model.run)

    @property
    def flow_changes(self) -> dict[str, t.Any] | None:
        """How the flow's deployed definition differs from the one this run is pinned to
        (``DefinitionDiff.to_dict()``: ``summary``, ``states``, ``top``, ``functions``), or
        None when it is the same (or could not be read). Read once when the monitor
        attaches and once when the run ends (read here, on first use, when the watcher has
        not yet); :meth:`check_flow_changes` reads it again."""
        if not self._changes_checked:
            with self._update_lock:
                if not self._changes_checked:
                    self._changes_checked = "ended" if self._watcher.model.terminal else "attached"
                    self.check_flow_changes()
        return self._flow_changes

    def check_flow_changes(self) -> dict[str, t.Any] | None:
        """Compare the run's pinned definition with its flow's now (two requests); returns
        and shows the diff (see :attr:`flow_changes`). A failure is logged, not raised."""
        from gladier_jupyter.monitor.history import flow_changes

        model = self._watcher.model
        try:
            found = flow_changes(self._flows_client, self.run_id,
                                 flow_id=str(model.run.get("flow_id") or self.flow_id or ""))
        except Exception:  # the service's answer; the monitor goes on without the note
            log.debug("comparing run %s's definition with its flow's failed", self.run_id,
                      exc_info=True)
            return self._flow_changes
        if not found.changed or found.diff is None or found.pinned is None or found.current is None:
            self._flow_changes = None
            self.changes = {}
            return None
        diff = found.diff.to_dict()
        self._flow_changes = diff
        self.changes = {"line": found.line(), "diff": diff,
                        "graph": _diff_graph(found.pinned, found.current, found.diff)}
        return diff

    def start(self) -> RunMonitor:
        """Start (or restart, e.g. after logging in again) watching in the background."""
        self._watcher.start()
        return self

    def stop(self) -> None:
        """Stop watching (the view keeps the last state)."""
        self._watcher.stop()

    def wait(self, timeout: float | None = None) -> str:
        """Block until the run ends (or ``timeout`` seconds pass); returns its status.

        That is the run's status: a run whose states failed may still be "SUCCEEDED"
        (gladier's states set ExceptionOnActionFailure false); ``failed_states`` says which.
        """
        if not self._watcher.finished and (not self._watcher._running or
                                           self._watcher.stopped):
            self._watcher.start()
        self._watcher.wait(timeout)
        # The last update may still be in flight on the worker thread.
        with self._update_lock:
            return self.status

    def refresh(self) -> RunMonitor:
        """Poll once now, on this thread (for scripts; the background loop does this)."""
        with self._watcher._poll_lock:
            self._watcher.poll_once()
        self._watcher.finish_if_ended()
        self._on_update(self._watcher.model, {"connection": self._watcher.connection,
                                              "message": self._watcher.message})
        return self

    def close(self) -> None:
        """Stop watching and close the widget."""
        watcher = getattr(self, "_watcher", None)
        # The watcher may serve other views of the same run: it stops with the last one.
        if watcher is not None and watcher.remove_listener(self._on_update) == 0:
            watcher.stop()
        retry = getattr(self, "_choice_retry", None)
        if retry is not None:
            retry.cancel()
        super().close()

    def cancel(self) -> dict[str, t.Any]:
        """Cancel the run (``cancel_run``); the monitor shows it ending."""
        return self._run_request(
            "cancel", "cancelling", "cancel requested",
            lambda: self._flows_client.cancel_run(self.run_id),
        )

    def choose(self, key: str) -> dict[str, t.Any]:
        """Answer what the run waits on: pick the choice whose ``key`` (a weboption's
        ``url_suffix``, a web input's ``option_id``) or ``label`` is given; the run goes on."""
        wanted = str(key)
        found = next((c for c in self.choices if c.get("key") == wanted), None) or next(
            (c for c in self.choices if c.get("label") == wanted), None)
        if found is None:
            offered = ", ".join(repr(c.get("label")) for c in self.choices) or "none"
            raise GladierJupyterUsageError(
                f"Run {self.run_id} waits on no choice {wanted[:60]!r} (offered: {offered[:200]}); "
                "pick one of the buttons the monitor shows.")
        label = found.get("label") or wanted
        result = self._run_request("answer", f"choosing {label!r}", f"chose {label!r}",
                                   lambda: _human.answer(self._flows_client, found))
        self.choices = [c for c in self.choices if c.get("state") != found.get("state")]
        self._human_key = None
        return result

    def _run_request(self, verb: str, doing: str, done: str,
                     call: t.Callable[[], t.Any]) -> dict[str, t.Any]:
        """Send one request about the run (cancel, resume), show it, and watch again."""
        self.action = doing
        try:
            result = _monitor.response_data(call())
        except Exception as err:
            self.action = f"{verb.capitalize()} failed: {_short_error(err)}"
            raise GladierJupyterError(
                f"Could not {verb} run {self.run_id}: {_short_error(err)}.") from err
        self.action = done
        if result and "run_id" in result:
            self._watcher.model.set_run(result)
            self._apply(self._watcher.model)
        self.start()
        return result

    def request_consent(self, scopes: list[str], then: str = "resume") -> bool:
        """Hook: get consent for ``scopes``; True when granted now.

        Uses ``consent_handler`` when one was given (True/None: granted). Otherwise, on
        Globus, shows the Login widget inside the monitor, asking for ``scopes``, and
        returns False; once the login completes the monitor carries on by itself
        (``then``: "resume" the run, or "watch" it again). The local service grants
        every scope. Override to plug in another login.
        """
        if self.consent_handler is not None:
            return self.consent_handler(list(scopes)) is not False
        from gladier_jupyter import backend

        if backend.current().name == "local":
            return True
        from gladier_jupyter.widgets.login import login

        try:
            widget = login(list(scopes))
        except Exception as err:  # noqa: BLE001 - a button's callback: the failure is shown on it
            self.action = f"Login failed: {_short_error(err)}"
            return False
        if widget.status in ("logged_in", "local"):
            return True
        self._after_login = then
        widget.observe(self._on_login_status, "status")
        self.login_widget = widget
        self.action = ("Log in below to grant the consent this run needs; it resumes once you "
                       "have." if then == "resume" else
                       "Log in below; watching goes on once you have.")
        return False

    def _on_login_status(self, change: t.Mapping[str, t.Any]) -> None:
        if change["new"] not in ("logged_in", "local"):
            return
        widget = self.login_widget
        if widget is not None:
            widget.unobserve(self._on_login_status, "status")
        self.login_widget = None
        self.action = ""
        try:
            if getattr(self, "_after_login", "watch") == "resume":
                self.resume()
            else:
                self.start()
        except GladierJupyterError:
            pass  # shown in `action`

    def grant_consent_and_resume(self) -> dict[str, t.Any] | None:
        """For an INACTIVE run: get the consent it waits for, then ``resume_run``."""
        scopes = list(self.required_scopes)
        if not self.request_consent(scopes):
            if not self.action:
                self.action = "Consent was not granted; the run stays INACTIVE."
            return None
        return self.resume()

    def resume(self) -> dict[str, t.Any]:
        """Resume an INACTIVE run (``resume_run``) and keep watching it."""
        return self._run_request(
            "resume", "resuming", "resumed",
            lambda: self.specific_flow_client().resume_run(self.run_id),
        )

    def login(self) -> None:
        """After the login expired: log in again (hook), then keep watching."""
        import globus_sdk

        if self.request_consent([str(globus_sdk.FlowsClient.scopes.all)], then="watch"):
            self.start()

    def specific_flow_client(self) -> t.Any:
        """The SpecificFlowClient that may resume this run (its flow's own scope)."""
        if self._flow_client is not None:
            return self._flow_client
        if self._gladier_client is not None:
            manager = self._gladier_client.flows_manager
            if str(manager.get_flow_id() or "") == self.flow_id or not self.flow_id:
                return manager.specific_flow_client
        import globus_sdk

        from gladier_jupyter import backend

        authorizer = None
        maker = getattr(backend, "authorizer_for", None)
        if maker is not None:
            scope = globus_sdk.SpecificFlowClient(self.flow_id).scopes.user
            authorizer = maker(str(scope))
        return globus_sdk.SpecificFlowClient(self.flow_id, authorizer=authorizer)

    def _on_page_msg(self, _widget: t.Any, content: t.Any, _buffers: t.Any) -> None:
        kind = content.get("type") if isinstance(content, dict) else None
        try:
            if kind == "cancel":
                self.cancel()
            elif kind == "resume":
                self.grant_consent_and_resume()
            elif kind == "login":
                self.login()
            elif kind == "retry":
                self.start()
            elif kind == "choose":
                self.choose(str(content.get("key") or ""))
            elif kind in ("replay", "rerun_prepare", "rerun", "rerun_cancel"):
                self._on_debug_msg(kind, content)
            elif kind == "log_sync":
                self._send_log_rows(content.get("from"))
            elif kind == "hello":
                # A view (re)connected: this kernel still drives the monitor.
                self.send({"type": "hello", "log_total": self.log_total})
        except GladierJupyterUsageError as err:
            self.action = str(err)
        except GladierJupyterError:
            pass  # already shown in `action`

    # -- outside a live kernel ------------------------------------------------------------
    def snapshot_html(self) -> str:
        """A static picture of the last state (header, states, timeline, log tail)."""
        return snapshot_html(self, self._watcher.model.definition)

    def _repr_mimebundle_(self, **kwargs: t.Any):
        bundle = super()._repr_mimebundle_(**kwargs)
        data, metadata = bundle if isinstance(bundle, tuple) else (bundle or {}, {})
        data = dict(data)
        data["text/html"] = self.snapshot_html()
        data["text/plain"] = self.snapshot_text()
        return data, metadata


def _diff_graph(pinned: dict[str, t.Any], current: dict[str, t.Any], diff: t.Any) -> dict[str, t.Any]:
    """The flow's graph now with the diff drawn on it (``{}`` when it cannot be drawn)."""
    from gladier_jupyter.flowgraph import FlowGraph, diff_model

    try:
        return diff_model(pinned, FlowGraph.build(current), diff)
    except Exception:  # the drawing is an extra; the line and the list still show
        log.debug("the diff could not be drawn", exc_info=True)
        return {}
