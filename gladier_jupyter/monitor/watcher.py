"""A run watcher: polls one run until it ends, reporting each change; errors it classifies."""

from __future__ import annotations

import collections
import copy
import threading
import time
import typing as t
import weakref

import globus_sdk

from gladier_jupyter.monitor.log import LogReader, http_status, response_data
from gladier_jupyter.monitor.model import RunModel
from gladier_jupyter.monitor.policy import (
    GLOBUS_POLICY,
    LOCAL_POLICY,
    PollPolicy,
    is_local_client,
    no_retry_client,
)
from gladier_jupyter.monitor.scheduler import _SCHEDULER

__all__ = ["CONNECTION_STATES", "RunWatcher", "classify_error", "ended_in_log", "fetch_definition"]

_SHARED: weakref.WeakValueDictionary[tuple[str, str], RunWatcher] = weakref.WeakValueDictionary()
_SHARED_LOCK = threading.Lock()

#: connection states a watcher reports
CONNECTION_STATES = ("idle", "live", "reconnecting", "login-expired", "done", "stopped")


class RunWatcher:
    """Polls one run until it ends, reporting each change to ``on_update``.

    ``on_update(model, info)`` runs on a worker thread with the :class:`RunModel` and a dict
    ``{"connection", "message", "new_entries"}``. ``start()`` begins polling in the
    background; ``poll_once()`` does one poll on the calling thread (scripts, tests).
    """

    def __init__(self, flows_client: t.Any, run_id: str, *,
                 on_update: t.Callable[[RunModel, dict[str, t.Any]], None] | None = None,
                 definition: dict[str, t.Any] | None = None,
                 policy: PollPolicy | None = None,
                 run: t.Mapping[str, t.Any] | None = None) -> None:
        # One layer owns retries here: the watcher's polls go out once each (no globus-sdk
        # retry loop under them), and its policy's backoff retries, showing "reconnecting".
        self.flows_client = no_retry_client(flows_client)
        self.run_id = str(run_id)
        self.local = is_local_client(flows_client)
        self.policy = policy or (LOCAL_POLICY if self.local else GLOBUS_POLICY)
        self.model = RunModel(self.run_id, definition=definition)
        if run:
            self.model.set_run(run)
        self.reader = LogReader(self.run_id)
        self._listeners: list[t.Callable[[RunModel, dict[str, t.Any]], None]] = []
        if on_update is not None:
            self._listeners.append(on_update)
        self.connection = "idle"
        self.message = ""
        self.requests: collections.deque[float] = collections.deque()
        self.request_count = 0
        self.polls = 0
        self._delay: float | None = None
        self._failures = 0
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._finished = threading.Event()
        self._running = False
        self._need_definition = definition is None
        self._ended = False
        self._run_read = False
        self._tail_reads = 0
        self._gen = 0
        self._poll_lock = threading.Lock()

    # -- lifecycle ----------------------------------------------------------------------
    @property
    def stopped(self) -> bool:
        return self._stopped.is_set()

    @property
    def finished(self) -> bool:
        """True once the run has ended and its whole log is read."""
        return self._finished.is_set()

    def start(self) -> RunWatcher:
        """Begin polling in the background; if already polling, poll again right now."""
        with self._lock:
            if self.finished:
                return self
            self._stopped.clear()
            self._running = True
            # A new generation: whatever poll was scheduled before is dropped.
            self._gen += 1
            self._delay = None
            gen = self._gen
        _SCHEDULER.schedule(self, 0.0, gen)
        return self

    def stop(self) -> None:
        """Stop polling (the model keeps what was read)."""
        self._stopped.set()
        with self._lock:
            self._running = False
        if not self.finished:
            self._set_connection("stopped", "")

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the run ends (True) or ``timeout`` passes (False)."""
        return self._finished.wait(timeout)

    def finish_if_ended(self) -> None:
        """Mark the watch finished once the run ended and its views were told."""
        if self._ended:
            self.connection = "done"
            self._finished.set()

    # -- one poll -----------------------------------------------------------------------
    def _count_request(self) -> None:
        now = time.monotonic()
        self.requests.append(now)
        self.request_count += 1
        while self.requests and self.requests[0] < now - 60.0:
            self.requests.popleft()

    def poll_once(self) -> bool:
        """Read what changed (run document and new log entries); True if anything did.

        Raises the client's error on failure; the background loop turns those into
        "reconnecting" / "login expired" and retries.
        """
        model = self.model
        changed = False
        if self._need_definition:
            # A transient failure fails the poll (retried, "reconnecting"): with no retries
            # under the watcher, swallowing it would leave the run without its graph.
            model.definition = fetch_definition(self.flows_client, self.run_id,
                                                model.run.get("flow_id"), self._count_request,
                                                raise_transient=True)
            self._need_definition = False
            changed = True
        self.polls += 1
        if model.terminal and self._run_read:
            # The run ended; only the log's last entries may still be unread.
            tail = self.reader.read_new(self.flows_client, self._count_request)
            model.add_entries(tail)
            self._settle_end()
            return bool(tail) or changed
        new = self.reader.read_new(self.flows_client, self._count_request)
        if new:
            model.add_entries(new)
            changed = True
        if new or not model.run or self.polls % self.policy.run_every == 1 or \
                self.policy.run_every <= 1 or ended_in_log(new):
            self._count_request()
            doc = response_data(self.flows_client.get_run(self.run_id))
            self._run_read = True
            if model.set_run(doc):
                changed = True
            if model.terminal:
                # The run document says it ended: read the log's last entries, then stop.
                tail = self.reader.read_new(self.flows_client, self._count_request)
                if tail:
                    model.add_entries(tail)
                    changed = True
                self._settle_end()
        return changed

    def _settle_end(self) -> None:
        # The log may lag the run document by a moment: the run is done once its log has
        # the flow's last entry (or a few more reads found nothing new).
        if not self.reader.caught_up:
            return  # more of the log to read first (a long log is read over several polls)
        self._tail_reads += 1
        if ended_in_log(self.model.entries[-5:]) or self._tail_reads >= 5:
            self._ended = True

    def _tick(self, gen: int) -> None:
        if self.stopped or gen != self._gen:
            return
        retry_after: float | None = None
        try:
            before = len(self.model.entries)
            with self._poll_lock:
                changed = self.poll_once()
            self._failures = 0
            if self.connection != "live" or changed:
                self._set_connection("done" if self._ended else "live", "",
                                     new_entries=len(self.model.entries) - before, notify=False)
                self._notify(len(self.model.entries) - before)
            self.finish_if_ended()
            delay = self.policy.next_delay(self._delay, changed)
            self._delay = delay
        except Exception as err:  # noqa: BLE001 - every failure is reported, none kills the loop
            kind, message, retry_after = classify_error(err)
            self._failures += 1
            if kind == "auth":
                self._set_connection("login-expired", message)
                with self._lock:
                    self._running = False
                return
            self._set_connection("reconnecting", message)
            delay = self.policy.retry_delay(self._failures, retry_after)
            self._delay = None
        if self.finished:
            with self._lock:
                self._running = False
            return
        if self.stopped or gen != self._gen:
            return
        _SCHEDULER.schedule(self, self._rate_limited(delay), gen)

    def _rate_limited(self, delay: float) -> float:
        cap = self.policy.max_per_minute
        if not cap:
            return delay
        now = time.monotonic()
        window = [ts for ts in self.requests if ts > now - 60.0]
        # A poll makes up to three requests: leave room for them inside the cap.
        if len(window) + 3 > cap and window:
            excess = len(window) + 3 - cap
            free_at = window[min(excess, len(window)) - 1] + 60.0
            delay = max(delay, free_at - now)
        return delay

    def _set_connection(self, connection: str, message: str, *, new_entries: int = 0,
                        notify: bool = True) -> None:
        changed = (connection, message) != (self.connection, self.message)
        self.connection, self.message = connection, message
        if changed and notify:
            self._notify(new_entries)

    def add_listener(self, fn: t.Callable[[RunModel, dict[str, t.Any]], None]) -> None:
        """Also report updates to ``fn`` (several monitors may share one watcher)."""
        with self._lock:
            self._listeners.append(fn)

    def remove_listener(self, fn: t.Callable[[RunModel, dict[str, t.Any]], None]) -> int:
        """Stop reporting to ``fn``; returns how many listeners are left."""
        with self._lock:
            if fn in self._listeners:
                self._listeners.remove(fn)
            return len(self._listeners)

    def _notify(self, new_entries: int) -> None:
        info = {"connection": self.connection, "message": self.message,
                "new_entries": new_entries}
        with self._lock:
            listeners = list(self._listeners)
        for fn in listeners:
            try:
                fn(self.model, info)
            except Exception:  # a view's bug must not stop the watching
                import logging

                logging.getLogger(__name__).exception("run monitor update failed")

    @classmethod
    def shared(cls, flows_client: t.Any, run_id: str, **kwargs: t.Any) -> RunWatcher:
        """The watcher already following this run on this service, or a new one.

        Showing the same run again (re-running a cell, ``attach``) adds a view to the one
        watcher instead of polling the service once more per view.
        """
        key = (str(getattr(flows_client, "base_url", "") or id(flows_client)), str(run_id))
        with _SHARED_LOCK:
            watcher = _SHARED.get(key)
            if watcher is None or watcher.finished or watcher.stopped:
                watcher = cls(flows_client, run_id, **kwargs)
                _SHARED[key] = watcher
            elif kwargs.get("definition") and not watcher.model.definition:
                watcher.model.definition = kwargs["definition"]
            return watcher


def ended_in_log(entries: list[dict[str, t.Any]]) -> bool:
    return any(str(e.get("code") or "") in
               {"FlowSucceeded", "FlowFailed", "FlowCanceled", "FlowCancelled", "FlowEnded"}
               for e in entries)


def classify_error(err: BaseException) -> tuple[str, str, float | None]:
    """("auth" | "transient", message for the user, Retry-After seconds or None)."""
    status = http_status(err)
    if status in {401, 403}:
        return ("auth", "The Globus login expired or lacks access to this run "
                f"(HTTP {status}); log in again to keep watching.", None)
    retry_after = None
    if status == 429:
        headers = getattr(err, "headers", None) or {}
        try:
            retry_after = float(headers.get("Retry-After", ""))
        except (TypeError, ValueError):
            retry_after = None
    if status is not None:
        what = f"HTTP {status}"
    else:
        what = type(err).__name__
    return ("transient", f"Reconnecting to the Flows service ({what}).", retry_after)


def _transient(err: BaseException) -> bool:
    """A failure worth trying again (network, 429, 5xx), not an answer like 404."""
    status = http_status(err)
    if status is None:
        import globus_sdk

        return isinstance(err, globus_sdk.NetworkError)
    return status == 429 or status >= 500


def fetch_definition(flows_client: t.Any, run_id: str, flow_id: t.Any,
                     on_request: t.Callable[[], None] | None = None, *,
                     raise_transient: bool = False) -> dict[str, t.Any] | None:
    """The run's flow definition: from the run (as it was started), else from its flow.

    Login failures (401/403) raise; so do transient ones (network, 429, 5xx) with
    ``raise_transient``; other failures give None.
    """
    def fatal(err: BaseException) -> bool:
        return http_status(err) in {401, 403} or (raise_transient and _transient(err))

    try:
        if on_request:
            on_request()
        data = response_data(flows_client.get_run_definition(run_id))
        if isinstance(data.get("definition"), dict):
            return copy.deepcopy(data["definition"])
    except (globus_sdk.GlobusError, OSError) as err:
        if fatal(err):
            raise
    if not flow_id:
        try:
            if on_request:
                on_request()
            flow_id = response_data(flows_client.get_run(run_id)).get("flow_id")
        except (globus_sdk.GlobusError, OSError) as err:
            if fatal(err):
                raise
            return None
    if flow_id:
        try:
            if on_request:
                on_request()
            data = response_data(flows_client.get_flow(flow_id))
            if isinstance(data.get("definition"), dict):
                return copy.deepcopy(data["definition"])
        except (globus_sdk.GlobusError, OSError) as err:
            if fatal(err):
                raise
            return None
    return None
