"""How a RunMonitor follows its run: the watcher's updates into the traits, the event log's rows.

The watcher (:mod:`gladier_jupyter.monitor`) calls :meth:`LiveSync._on_update` from its
thread after each poll; the monitor copies the run model's snapshot into its traits under
the update lock, status last (a view reacting to it sees the rest in place). The event
log goes to the page incrementally: ``log_tail`` holds only the rows the last update
added, and a view that (re)connects asks for the rows it lacks (``log_sync``), answered
in messages of ``LOG_ROWS_PER_MESSAGE`` rows, so an update costs the same with 10 or
10,000 entries. The human side of a run (choices it waits on, its outbox, the clock
badge) is read from the service only when the run's facts changed. The monitor mixes this
in; what it needs of the monitor is declared below.
"""

from __future__ import annotations

import logging
import threading
import typing as t

from gladier_jupyter import monitor as _monitor
from gladier_jupyter.monitor import human as _human
from gladier_jupyter.widgets.run_inputs import _graph_model

log = logging.getLogger("gladier_jupyter.widgets.monitor")

__all__ = ["LOG_ROWS_PER_MESSAGE", "LiveSync"]

#: Log rows per message when a view catches up with the log.
LOG_ROWS_PER_MESSAGE = 2000


class LiveSync:
    """The RunMonitor's updates from the watcher thread and its event-log catch-up."""

    # What the updates use of the monitor (its traits, its watcher and its state).
    run_id: str
    flow_id: str
    label: str
    flow_title: str
    status: str
    display_status: str
    start_time: str
    completion_time: str
    connection: str
    message: str
    graph: dict[str, t.Any]
    states: dict[str, t.Any]
    timeline: list[dict[str, t.Any]]
    log_tail: list[dict[str, t.Any]]
    log_total: int
    outcome: str
    headline: str
    failure: str
    failed_states: dict[str, t.Any]
    progress: dict[str, t.Any]
    inactive_reason: str
    required_scopes: list[str]
    error: str
    output: str
    action: str
    choices: list[dict[str, str]]
    outbox: list[str]
    clock: str
    _flows_client: t.Any
    _watcher: _monitor.RunWatcher
    _update_lock: threading.RLock
    _final_bundle_sent: bool
    _human_key: tuple[t.Any, ...] | None
    _outbox_key: tuple[t.Any, ...] | None
    _choice_retry: threading.Timer | None
    _choice_retries: int
    _choice_attempt_key: tuple[t.Any, ...] | None
    _rows_sent: int
    _changes_checked: str
    hold_sync: t.Callable[[], t.ContextManager[t.Any]]
    send: t.Callable[..., t.Any]
    update_displays: t.Callable[[], int]
    check_flow_changes: t.Callable[[], t.Any]
    _check_parent: t.Callable[[_monitor.RunModel], None]

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
