"""RunMonitor: watch a flow run live without blocking the kernel.

``RunMonitor(run, client=...)`` takes a gladier ``run_flow`` result, a run id or a run
document. It starts watching at once (on the shared background scheduler of
:mod:`gladier_jupyter.monitor`), so it works in a headless notebook too; closing it stops
the polling. It replaces gladier's blocking ``progress()``.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import threading
import typing as t
import uuid

import anywidget
import traitlets

from gladier_jupyter import monitor as _monitor
from gladier_jupyter.errors import GladierJupyterError, GladierJupyterUsageError
from gladier_jupyter.monitor import human as _human
from gladier_jupyter.widgets._base import GladierWidget
from gladier_jupyter.widgets.debug import parent_of, parse_run_data
from gladier_jupyter.widgets.run_inputs import (
    _graph_model,
    _resolve_client,
    _run_id_and_doc,
    _short_error,
)
from gladier_jupyter.widgets.run_snapshot import snapshot_html

log = logging.getLogger(__name__)

__all__ = ["RunMonitor"]

#: Log rows per message when a view catches up with the log.
LOG_ROWS_PER_MESSAGE = 2000


class RunMonitor(GladierWidget):
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
        #: ids of the outputs this monitor was displayed in (see ``_ipython_display_``)
        self._display_ids: list[str] = []
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

    # -- the debug loop ---------------------------------------------------------------------
    def replay(self, state: str, task: int = 0, user_ns: t.Mapping[str, t.Any] | None = None) -> t.Any:
        """Call compute state ``state``'s function here, in the kernel, with exactly the
        arguments the run passed (from its log); the function is the notebook's current
        one, so a fixed ``%%gladier_tool`` cell replays with the fix. Raises what it raises.

        In [1]: monitor.replay("GatherMetadata")
        """
        from gladier_jupyter.inline.replay import replay

        if not self.entries:
            self.refresh()
        return replay(self.entries, state, _user_namespace() if user_ns is None else user_ns, task=task)

    def state_input(self, state: str) -> dict[str, t.Any]:
        """The run data state ``state`` (last) started with."""
        from gladier_jupyter.backend import debugging

        found = debugging.state_inputs(self.run_id, flows_client=self._flows_client,
                                       definition=self._watcher.model.definition or None)
        if state not in found:
            raise GladierJupyterUsageError(
                f"Run {self.run_id} never started state {state!r}; states it started: "
                f"{', '.join(found) or 'none'}.")
        return found[state]

    def rerun_from(self, state: str, data: t.Any = None, *, label: str | None = None,
                   show: bool = True) -> RunMonitor:
        """A new run of the same flow starting at ``state`` with the run data that state
        started with (or ``data``, e.g. edited); returns (and shows) its monitor. On
        Globus a derived flow whose StartAt is ``state`` is deployed first (said first).

        In [1]: monitor.rerun_from("GatherMetadata")
        """
        from gladier_jupyter.backend import debugging

        def notice(text: str) -> None:
            self.action = text
            print(text)

        data = self._with_current_functions(state, data, notice)
        run = debugging.rerun_from(self.run_id, state, data, label=label,
                                   flows_client=self._flows_client, notice=notice)
        child = RunMonitor(run, client=self._client)
        child.parent = {"run_id": self.run_id, "label": self.label, "state_name": state}
        if show:
            from IPython.display import display

            display(child)
        return child

    def _with_current_functions(self, state: str, data: t.Any, notice: t.Callable[[str], None]) -> t.Any:
        """The start data with the function ids of compute functions the notebook has
        changed since the run replaced by those functions registered now (the run data
        names the code a compute state runs: without this a fixed cell would re-run the
        old code); ``data`` itself when nothing changed (``None``: the run's own data)."""
        from gladier_jupyter.inline.replay import refresh_function_ids

        try:
            recorded = self.state_input(state)
        except GladierJupyterUsageError:
            return data  # the state never started; rerun_from says so
        fresh, replaced = refresh_function_ids(recorded if data is None else data, _user_namespace(),
                                               recorded=recorded)
        if not replaced:
            return data
        notice(f"Re-running with the notebook's current code: registered anew and replaced "
               f"{', '.join(replaced)} in the run data.")
        return fresh

    def _replay_to_pane(self, state: str) -> None:
        """Replay ``state`` for the state pane's button: its prints, then its result or
        its traceback (from the notebook's own frames on), as ``debug_text``. After an
        exception ``%debug`` in a cell opens it, as after a cell that raised."""
        import sys
        import traceback

        head = (f"Replaying {state} of run {self.label or self.run_id} in the kernel "
                "(after an exception, %debug in a cell opens it)...\n")
        self.debug_text = head
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
            try:
                result = self.replay(state)
            except GladierJupyterError as err:
                tail = f"{err}\n"
            except Exception as err:  # noqa: BLE001 - the user's function raised: shown, as a cell shows it
                sys.last_type, sys.last_value, sys.last_traceback = type(err), err, err.__traceback__
                tb = err.__traceback__
                while tb is not None and tb.tb_next is not None and _is_ours(tb.tb_frame.f_code.co_filename):
                    tb = tb.tb_next  # from the notebook's frames on: the package's own say nothing
                tail = "Traceback (most recent call last):\n" + "".join(
                    traceback.format_list(traceback.extract_tb(tb))) + "".join(
                    traceback.format_exception_only(type(err), err))
            else:
                tail = f"Result: {result!r}\n"
        self.debug_text = head + printed.getvalue() + tail

    def _on_debug_msg(self, kind: str, content: dict[str, t.Any]) -> None:
        state = str(content.get("state") or "")
        if kind == "replay":
            self._replay_to_pane(state)
        elif kind == "rerun_prepare":
            try:
                text = json.dumps(self.state_input(state), indent=2)
                self.rerun_form = {"state": state, "input": text, "error": "",
                                   "notice": "" if self.backend == "local" else
                                   "On Globus this deploys a derived flow whose StartAt is this state."}
            except GladierJupyterError as err:
                self.rerun_form = {"state": state, "input": "{}", "error": str(err), "notice": ""}
        elif kind == "rerun":
            try:
                data = parse_run_data(str(content.get("input") or ""), f"the run data for {state}")
            except GladierJupyterUsageError as err:
                self.rerun_form = {**self.rerun_form, "input": str(content.get("input") or ""), "error": str(err)}
                return
            self.rerun_form = {}
            notices: list[str] = []
            try:
                with contextlib.redirect_stdout(io.StringIO()) as printed:
                    child = self.rerun_from(state, data, show=False)
                notices = printed.getvalue().splitlines()
            except Exception as err:  # noqa: BLE001 - a refusal (bad data, the service's answer), shown in the pane
                self.debug_text = f"Re-run from {state} failed: {_short_error(err)}"
                return
            self.debug_text = "\n".join([*notices, f"Started run {child.label or child.run_id} (below)."])
            self.debug_output = child
        elif kind == "rerun_cancel":
            self.rerun_form = {}

    def _check_parent(self, model: _monitor.RunModel) -> None:
        """Fill ``parent`` from a re-run's tags (once the run document is known)."""
        if self._parent_checked or self.parent or not model.run:
            return
        self._parent_checked = True
        link = parent_of(model.run)
        if not link:
            return
        label = ""
        try:
            label = str(_monitor.response_data(self._flows_client.get_run(link["run_id"])).get("label") or "")
        except Exception:  # the parent may be gone (released); its id serves
            log.debug("reading the parent run %s failed", link["run_id"], exc_info=True)
        self.parent = {"run_id": link["run_id"], "label": label, "state_name": link.get("state_name", "")}

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

    # -- updates from the watcher thread ------------------------------------------------
    def _on_update(self, model: _monitor.RunModel, info: t.Mapping[str, t.Any]) -> None:
        with self._update_lock:
            if model.definition and not self.graph:
                self.graph = _graph_model(model.definition)
            with self.hold_sync():
                self._apply(model)
                self.message = str(info.get("message") or "")
                self.connection = str(info.get("connection") or self.connection)
            self._refresh_human(model)
            self._check_parent(model)
            self._check_changes_once(model)
            if model.terminal and not self._final_bundle_sent:
                self._final_bundle_sent = True
                self.update_displays()

    def _check_changes_once(self, model: _monitor.RunModel) -> None:
        """Compare definitions on the first update after attaching and when the run ends,
        never on the polls between."""
        if not model.run:
            return
        want = "ended" if model.terminal else "attached"
        if self._changes_checked == want or self._changes_checked == "ended":
            return
        self._changes_checked = want
        self.check_flow_changes()

    def _apply(self, model: _monitor.RunModel) -> None:
        snap = model.snapshot()
        self.label = snap["label"]
        self.flow_id = snap["flow_id"] or self.flow_id
        self.flow_title = snap["flow_title"]
        self.start_time = snap["start_time"]
        self.completion_time = snap["completion_time"]
        self.states = snap["states"]
        self.timeline = snap["timeline"]
        self.progress = snap["progress"]
        self.inactive_reason = snap["inactive_reason"]
        self.required_scopes = snap["required_scopes"]
        self.error = snap["error"]
        self.output = snap["output"]
        self.failed_states = snap["failed_states"]
        self.failure = snap["failure"]
        self.headline = snap["headline"]
        self.outcome = snap["outcome"]
        entries = model.entries
        if len(entries) != self._rows_sent:
            start = self._rows_sent if len(entries) > self._rows_sent else 0
            self.log_tail = [_monitor.log_row(i, entries[i]) for i in range(start, len(entries))]
            self._rows_sent = len(entries)
            self.log_total = len(entries)
        self.display_status = snap["display_status"]
        if model.terminal and (self.action in {"cancelling", "cancel requested", "resuming",
                                               "resumed"} or self.action.startswith("cho")):
            self.action = ""
        # Last, so a view reacting to the status sees the rest already in place.
        self.status = snap["status"]

    def _refresh_human(self, model: _monitor.RunModel) -> None:
        """Update ``choices``, ``outbox`` and ``clock`` (asking the service only when the
        run's facts changed); a failure is logged, the view keeps what it showed."""
        local = self._watcher.local
        self.clock = _human.clock_badge(model)
        outbox_key = (model.status, len(model.entries))
        if outbox_key != self._outbox_key:
            self._outbox_key = outbox_key
            try:
                self.outbox = _human.outbox_lines(self._flows_client, model, local)
            except Exception:  # the service's answer; the monitor goes on
                log.debug("reading run %s's outbox failed", self.run_id, exc_info=True)
        if not _human.needs_choices(model, local):
            self._human_key = None
            if self.choices:
                self.choices = []
            return
        key = (model.status, _human.web_input_id(model), len(model.entries))
        if key == self._human_key:
            return
        try:
            found = _human.choices(self._flows_client, model, local)
        except Exception:  # the service's answer; the monitor goes on
            log.debug("reading run %s's choices failed", self.run_id, exc_info=True)
            found = []
        if key != self._choice_attempt_key:
            self._choice_attempt_key, self._choice_retries = key, 0
        if found:
            self._human_key = key
            self.choices = found
        elif self._choice_retries < 40:
            # The action registers its wait just after its ActionStarted entry: look again.
            self._choice_retries += 1
            timer = threading.Timer(0.25, self._retry_choices)
            timer.daemon = True
            self._choice_retry = timer
            timer.start()

    def _retry_choices(self) -> None:
        with self._update_lock:
            self._refresh_human(self._watcher.model)

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

    def _send_log_rows(self, start: t.Any) -> None:
        """Send the page the log rows from ``start`` on (a view that (re)connected)."""
        if isinstance(start, bool) or not isinstance(start, int) or start < 0:
            return
        with self._update_lock:
            entries = list(self._watcher.model.entries[start:self._rows_sent])
        for first in range(0, len(entries), LOG_ROWS_PER_MESSAGE):
            chunk = entries[first:first + LOG_ROWS_PER_MESSAGE]
            self.send({"type": "log_rows", "from": start + first,
                       "rows": [_monitor.log_row(start + first + k, e)
                                for k, e in enumerate(chunk)]})

    # -- outside a live kernel ------------------------------------------------------------
    def _ipython_display_(self, **kwargs: t.Any) -> None:
        """Show the monitor under a display id, so its saved fallback can follow the run.

        The output keeps the live view's entry; when the run ends, :meth:`update_displays`
        replaces the HTML/text fallback of every output the monitor was shown in with the
        final state (what a saved notebook, nbconvert or GitHub show).
        """
        from IPython.display import display

        display_id = f"gladier-monitor-{uuid.uuid4().hex}"
        # Under the update lock: a run ending meanwhile updates this display too.
        with self._update_lock:
            data, metadata = self._repr_mimebundle_()
            self._display_ids.append(display_id)
            display(data, metadata=metadata, raw=True, display_id=display_id)

    def update_displays(self) -> int:
        """Refresh every output this monitor was displayed in with its current bundle.

        Updates go by display id (``update_display_data``), so they never add output to the
        cell running at the time. Returns how many displays were updated.
        """
        from IPython.core.interactiveshell import InteractiveShell
        from IPython.display import update_display

        with self._update_lock:
            ids = list(self._display_ids)
            if not ids or not InteractiveShell.initialized():
                return 0
            data, metadata = self._repr_mimebundle_()
            for display_id in ids:
                update_display(data, metadata=metadata, raw=True, display_id=display_id)
        return len(ids)

    def _repr_mimebundle_(self, **kwargs: t.Any):
        bundle = super()._repr_mimebundle_(**kwargs)
        data, metadata = bundle if isinstance(bundle, tuple) else (bundle or {}, {})
        data = dict(data)
        data["text/html"] = self.snapshot_html()
        data["text/plain"] = self.snapshot_text()
        return data, metadata

    def snapshot(self) -> t.Any:
        """A static picture of the run as it is now (``display(monitor.snapshot())``)."""
        from IPython.display import HTML

        return HTML(self.snapshot_html())

    def snapshot_text(self) -> str:
        """One paragraph: run, status, progress, states."""
        p = self.progress or {}
        named = f"{self.label} ({self.run_id})" if self.label and self.label != self.run_id else self.run_id
        lines = [f"Run {named} of "
                 f"{self.flow_title or 'flow'}: {self.headline or self.status}"
                 f" - {p.get('done', 0)}/{p.get('total', 0)} states done"]
        for name, info in self.states.items():
            reason = self.failed_states.get(name)
            lines.append(f"  {name}: {info.get('status')}" + (f" - {reason}" if reason else ""))
        if self.clock:
            lines[0] += f" ({self.clock})"
        if self.choices:
            lines.append("  waits for a choice: " + ", ".join(repr(c.get("label")) for c in self.choices)
                         + " (monitor.choose(label) answers it)")
        if self.inactive_reason:
            lines.append(f"  waiting: {self.inactive_reason}")
        if self.error:
            lines.append(f"  error: {self.error}")
        if self.changes.get("line"):
            lines.append(f"  {self.changes['line']} (monitor.flow_changes has the diff)")
        lines.extend(f"  {line}" for line in self.outbox)
        return "\n".join(lines)

    def snapshot_html(self) -> str:
        """A static picture of the last state (header, states, timeline, log tail)."""
        return snapshot_html(self, self._watcher.model.definition)


def _diff_graph(pinned: dict[str, t.Any], current: dict[str, t.Any], diff: t.Any) -> dict[str, t.Any]:
    """The flow's graph now with the diff drawn on it (``{}`` when it cannot be drawn)."""
    from gladier_jupyter.flowgraph import FlowGraph, diff_model

    try:
        return diff_model(pinned, FlowGraph.build(current), diff)
    except Exception:  # the drawing is an extra; the line and the list still show
        log.debug("the diff could not be drawn", exc_info=True)
        return {}


def _is_ours(filename: str) -> bool:
    """Whether a traceback frame's file is this package's (not the notebook's code)."""
    import os

    return filename.startswith(os.path.dirname(os.path.dirname(__file__)) + os.sep)


def _user_namespace() -> t.Mapping[str, t.Any]:
    """The notebook's namespace (where ``%%gladier_tool`` defines tools)."""
    from IPython import get_ipython

    shell = get_ipython()
    if shell is not None:
        return shell.user_ns
    import __main__

    return vars(__main__)
