"""Watch a Globus flow run: the run document and its event log, read incrementally.

Backend-agnostic: it talks to anything shaped like ``globus_sdk.FlowsClient`` (the cloud
service or the local one). All watchers share ONE scheduler thread; polls run on a small
worker pool so a slow request for one run never holds up another, and the kernel's main
thread is never used. A watcher reports a fresh :class:`RunModel` snapshot to its
``on_update`` callback after every poll that changed something.
"""

from __future__ import annotations

import collections
import copy
import datetime as _dt
import heapq
import itertools
import json
import queue
import threading
import time
import typing as t
import urllib.parse
import weakref
from dataclasses import dataclass, field

__all__ = [
    "TERMINAL_STATUSES",
    "PollPolicy",
    "LOCAL_POLICY",
    "GLOBUS_POLICY",
    "LogReader",
    "RunModel",
    "RunWatcher",
    "is_local_client",
    "web_app_url",
]

#: Run statuses after which nothing changes any more.
TERMINAL_STATUSES = frozenset({"SUCCEEDED", "FAILED", "ENDED"})
#: Per-state statuses the views colour.
STATE_STATUSES = ("pending", "active", "inactive", "succeeded", "failed", "caught", "skipped")
#: The largest page the Flows API serves for a run log.
LOG_PAGE_SIZE = 100
#: Pages of a run log one poll reads at most; the next poll goes on from there.
LOG_PAGES_PER_POLL = 10
#: Cap on one JSON value (state input/output) sent to the page.
MAX_JSON_CHARS = 20_000

WEB_APP_RUN_URL = "https://app.globus.org/runs/{run_id}"


# --------------------------------------------------------------------------------------
# Polling policy
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PollPolicy:
    """How often to poll: ``fast`` after a change, growing by ``factor`` up to ``slow``."""

    fast: float
    slow: float
    factor: float
    #: At most this many requests in any 60 s window for one run (None: no cap).
    max_per_minute: int | None
    #: Read the run document at least every this many polls even with no new log entries.
    run_every: int
    #: Backoff after transient failures: first delay and its cap.
    retry_first: float
    retry_max: float

    def next_delay(self, current: float | None, changed: bool) -> float:
        """The wait before the next poll, given the last wait and whether anything changed."""
        if changed or current is None:
            return self.fast
        return min(self.slow, max(self.fast, current * self.factor))

    def retry_delay(self, failures: int, retry_after: float | None = None) -> float:
        """The wait before retrying after ``failures`` transient failures in a row."""
        delay = min(self.retry_max, self.retry_first * (2 ** max(0, failures - 1)))
        if retry_after is not None:
            delay = max(delay, min(retry_after, 300.0))
        return delay


#: The local service is on this machine: poll often so a state change shows within 0.3 s.
LOCAL_POLICY = PollPolicy(
    fast=0.05, slow=0.1, factor=1.5, max_per_minute=None, run_every=5,
    retry_first=0.25, retry_max=2.0,
)
#: Globus: 0.5 s after a change, backing off to 10 s, never more than 30 requests a minute.
GLOBUS_POLICY = PollPolicy(
    fast=0.5, slow=10.0, factor=2.0, max_per_minute=30, run_every=3,
    retry_first=1.0, retry_max=30.0,
)


def is_local_client(flows_client: t.Any) -> bool:
    """True when the client talks to a service on this machine (the local service)."""
    base = str(getattr(flows_client, "base_url", "") or "")
    host = urllib.parse.urlparse(base).hostname or ""
    return host in {"127.0.0.1", "localhost", "::1"}


def web_app_url(run_id: str) -> str:
    """The run's page in the Globus web app."""
    return WEB_APP_RUN_URL.format(run_id=urllib.parse.quote(str(run_id)))


# --------------------------------------------------------------------------------------
# Incremental run-log reading
# --------------------------------------------------------------------------------------


class LogReader:
    """Reads a run's log page by page, returning each entry exactly once.

    The log only grows. The reader remembers the marker of the page it is on (the last
    page, which may still be filling up) and how many of its entries it has returned, so
    each poll re-reads at most that one page: nothing is missed or returned twice, however
    many pages the log has. If the service rejects an old marker, it starts over from the
    first page and skips what it has already returned.

    One call reads at most ``max_pages`` pages: a log that grows faster than it is read (a
    runaway loop) is shown a bounded piece per poll instead of being followed for ever in
    memory. ``caught_up`` says whether the last call reached the log's last page.
    """

    def __init__(self, run_id: str, page_size: int = LOG_PAGE_SIZE,
                 max_pages: int = LOG_PAGES_PER_POLL) -> None:
        self.run_id = str(run_id)
        self.page_size = page_size
        self.max_pages = max(1, max_pages)
        self.total = 0
        self.caught_up = False
        self._marker: str | None = None
        self._seen_on_page = 0
        self._skip = 0

    def read_new(self, flows_client: t.Any, on_request: t.Callable[[], None] | None = None,
                 ) -> list[dict[str, t.Any]]:
        """Fetch the entries added since the last call (up to ``max_pages`` pages)."""
        new: list[dict[str, t.Any]] = []
        restarted = False
        pages = 0
        self.caught_up = False
        while True:
            kwargs: dict[str, t.Any] = {"limit": self.page_size}
            if self._marker is not None:
                kwargs["marker"] = self._marker
            try:
                if on_request:
                    on_request()
                page = flows_client.get_run_logs(self.run_id, **kwargs)
            except Exception as err:  # a stale marker: start over, skipping what we have
                if self._marker is not None and not restarted and _http_status(err) == 400:
                    restarted = True
                    self._restart()
                    continue
                if new:
                    # Keep what this poll already read: the next poll carries on from here.
                    return new
                raise
            data = _data(page)
            entries = list(data.get("entries") or [])
            if restarted:
                entries = self._skip_known(entries, data)
                if entries is None:
                    continue
            if len(entries) < self._seen_on_page:
                # The page got shorter: the service re-paged; re-read from the start.
                if restarted:
                    raise RuntimeError(f"The log of run {self.run_id} shrank while reading it.")
                restarted = True
                self._restart()
                continue
            fresh = entries[self._seen_on_page:]
            new.extend(fresh)
            self.total += len(fresh)
            self._seen_on_page = len(entries)
            marker = data.get("marker")
            if data.get("has_next_page") and marker:
                self._marker = str(marker)
                self._seen_on_page = 0
                pages += 1
                if pages >= self.max_pages:
                    return new  # the rest next poll
                continue
            self.caught_up = True
            return new

    # While restarting, entries already returned before are skipped by count.
    def _restart(self) -> None:
        self._skip = self.total
        self.total = 0
        self._marker = None
        self._seen_on_page = 0

    def _skip_known(self, entries: list[dict[str, t.Any]], data: t.Mapping[str, t.Any],
                    ) -> list[dict[str, t.Any]] | None:
        skip = self._skip
        if skip <= 0:
            return entries
        if skip >= len(entries) and data.get("has_next_page") and data.get("marker"):
            self._skip = skip - len(entries)
            self.total += len(entries)
            self._marker = str(data["marker"])
            self._seen_on_page = 0
            return None
        take = min(skip, len(entries))
        self._skip = 0
        self.total += take
        self._seen_on_page = take
        return entries


def _data(response: t.Any) -> dict[str, t.Any]:
    data = getattr(response, "data", response)
    return data if isinstance(data, dict) else {}


def _http_status(err: BaseException) -> int | None:
    status = getattr(err, "http_status", None)
    return status if isinstance(status, int) else None


# --------------------------------------------------------------------------------------
# The run model: run document + log -> per-state status, timeline, progress
# --------------------------------------------------------------------------------------


@dataclass
class StateInfo:
    """What the log says about one state of the flow."""

    name: str
    status: str = "pending"
    state_type: str = ""
    input: t.Any = None
    output: t.Any = None
    error: str = ""
    traceback: str = ""
    started: str = ""
    ended: str = ""
    attempts: int = 0

    def to_json(self) -> dict[str, t.Any]:
        return {
            "name": self.name,
            "status": self.status,
            "type": self.state_type,
            "input": _json_text(self.input),
            "output": _json_text(self.output),
            "error": self.error,
            "traceback": self.traceback,
            "started": self.started,
            "ended": self.ended,
            "attempts": self.attempts,
        }


@dataclass
class RunModel:
    """Everything known about one run: its document, its whole log, and what they imply."""

    run_id: str
    definition: dict[str, t.Any] | None = None
    run: dict[str, t.Any] = field(default_factory=dict)
    entries: list[dict[str, t.Any]] = field(default_factory=list)

    # -- updates ------------------------------------------------------------------------
    def set_run(self, doc: t.Mapping[str, t.Any]) -> bool:
        """Store a fresh run document; True if something the views show changed."""
        doc = dict(doc)
        keys = ("status", "display_status", "label", "completion_time", "details", "flow_title")
        changed = any(self.run.get(k) != doc.get(k) for k in keys)
        self.run = doc
        return changed

    def add_entries(self, entries: t.Iterable[t.Mapping[str, t.Any]]) -> int:
        added = [dict(e) for e in entries]
        self.entries.extend(added)
        return len(added)

    # -- run-level facts ----------------------------------------------------------------
    @property
    def status(self) -> str:
        """The run's status; PENDING until the run document has been read."""
        return str(self.run.get("status") or "PENDING")

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def flow_title(self) -> str:
        return str(self.run.get("flow_title") or "")

    @property
    def label(self) -> str:
        return str(self.run.get("label") or "")

    def inactive_reason(self) -> str:
        """Why an INACTIVE run waits (e.g. a consent it needs), from the run's details."""
        if self.status != "INACTIVE":
            return ""
        details = self.run.get("details") or {}
        parts = []
        if isinstance(details, dict):
            for key in ("description", "code"):
                if details.get(key):
                    parts.append(str(details[key]))
                    break
            scopes = [s for s in self.required_scopes() if not any(s in p for p in parts)]
            if scopes:  # unless the description already names them
                parts.append("Required scope: " + ", ".join(scopes))
        return ". ".join(p.rstrip(".") for p in parts) + ("." if parts else "")

    def required_scopes(self) -> list[str]:
        """Scopes named in an INACTIVE run's details (what consent must be granted)."""
        found: list[str] = []
        for key, value in _walk(self.run.get("details") or {}):
            if key in {"required_scope", "required_scopes", "scope", "scopes"}:
                values = value if isinstance(value, list) else [value]
                for v in values:
                    for s in str(v).split():
                        if s and s not in found:
                            found.append(s)
        return found

    def output(self) -> t.Any:
        """The run's final output (its details' output), once it has ended."""
        details = self.run.get("details") or {}
        if isinstance(details, dict) and "output" in details:
            return details["output"]
        for entry in reversed(self.entries):
            if entry.get("code") in {"FlowSucceeded", "FlowFailed"}:
                return (entry.get("details") or {}).get("output")
        return None

    def run_error(self) -> str:
        """The run-level failure description, if it failed."""
        if self.status not in {"FAILED", "ENDED"}:
            return ""
        details = self.run.get("details") or {}
        if isinstance(details, dict):
            return str(details.get("description") or details.get("code") or "")
        return ""

    # -- per-state facts ----------------------------------------------------------------
    def state_names(self) -> list[str]:
        states = (self.definition or {}).get("States") or {}
        return list(states) if isinstance(states, dict) else []

    def derive(self) -> tuple[dict[str, StateInfo], list[dict[str, t.Any]]]:
        """Per-state info and the timeline (one bar per state visit), from the log."""
        infos: dict[str, StateInfo] = {n: StateInfo(n) for n in self.state_names()}
        timeline: list[dict[str, t.Any]] = []
        open_bar: dict[str, int] = {}
        last_failed: str | None = None
        for entry in self.entries:
            details = entry.get("details") or {}
            name = details.get("state_name") if isinstance(details, dict) else None
            code = str(entry.get("code") or "")
            when = str(entry.get("time") or "")
            kind = _event_kind(code)
            if not name or kind == "flow":
                if kind == "flow" and name and code == "FlowFailed" and name in infos and \
                        infos[name].status == "active":
                    infos[name].error, infos[name].traceback = _failure_text(entry)
                continue
            info = infos.setdefault(str(name), StateInfo(str(name)))
            info.state_type = str(details.get("state_type") or info.state_type)
            if kind == "started":
                if last_failed and last_failed != name and infos[last_failed].status == "failed" \
                        and self._has_catch(last_failed):
                    # The run went on after that state failed: its Catch took it.
                    infos[last_failed].status = "caught"
                last_failed = None
                info.status = "active"
                info.attempts += 1
                info.started = when
                info.ended = ""
                info.error = info.traceback = ""
                if "input" in details:
                    info.input = details["input"]
                open_bar[info.name] = len(timeline)
                timeline.append({"state": info.name, "start": when, "end": "",
                                 "status": "active"})
            elif kind in {"succeeded", "failed"}:
                info.status = kind
                info.ended = when
                if "output" in details:
                    info.output = details["output"]
                if kind == "failed":
                    last_failed = info.name
                    info.error, info.traceback = _failure_text(entry)
                    if info.output is None:
                        info.output = {k: v for k, v in details.items()
                                       if k not in {"state_name", "state_type"}}
                idx = open_bar.pop(info.name, None)
                if idx is None:
                    timeline.append({"state": info.name, "start": info.started or when,
                                     "end": when, "status": kind})
                else:
                    timeline[idx].update(end=when, status=kind)
            elif kind == "caught":
                info.status = "caught"
            elif "output" in details and info.status == "active":
                info.output = details["output"]
        # Close what the run's end left open, and mark what it never reached.
        status = self.status
        for info in infos.values():
            if info.status == "active":
                if status == "INACTIVE":
                    info.status = "inactive"
                elif status in TERMINAL_STATUSES:
                    info.status = "succeeded" if status == "SUCCEEDED" else "failed"
            if info.status == "pending" and status in TERMINAL_STATUSES:
                info.status = "skipped"
        for bar in timeline:
            if bar["status"] == "active":
                bar["status"] = infos[bar["state"]].status
        if status == "FAILED" and last_failed and infos[last_failed].status == "caught":
            infos[last_failed].status = "failed"
        return infos, timeline

    def _has_catch(self, name: str) -> bool:
        states = (self.definition or {}).get("States") or {}
        if name not in states:
            return True  # no definition: the run going on is all we know
        return bool(states[name].get("Catch"))

    def progress(self, infos: dict[str, StateInfo]) -> dict[str, int]:
        """States done on the path taken, out of those done plus those still ahead."""
        done = [n for n, i in infos.items() if i.status in {"succeeded", "failed", "caught"}]
        if self.terminal:
            return {"done": len(done), "total": max(len(done), 1) if done else 0}
        ahead = self._states_ahead(infos)
        return {"done": len(done), "total": len(done) + len(ahead)}

    def _states_ahead(self, infos: dict[str, StateInfo]) -> list[str]:
        states = (self.definition or {}).get("States") or {}
        current = [n for n, i in infos.items() if i.status in {"active", "inactive"}]
        if not current:
            start = (self.definition or {}).get("StartAt")
            if not any(i.status != "pending" for i in infos.values()) and start:
                current = [start]
            else:
                return []
        ahead: list[str] = []
        name: str | None = current[-1]
        while name and name in states and name not in ahead and len(ahead) <= len(states):
            if infos.get(name) is None or infos[name].status not in {"succeeded", "caught"}:
                ahead.append(name)
            name = _next_state(states[name])
        return ahead

    # -- the snapshot the views show ------------------------------------------------------
    def snapshot(self) -> dict[str, t.Any]:
        infos, timeline = self.derive()
        return {
            "run_id": self.run_id,
            "status": self.status,
            "display_status": str(self.run.get("display_status") or self.status),
            "label": self.label,
            "flow_id": str(self.run.get("flow_id") or ""),
            "flow_title": self.flow_title,
            "start_time": str(self.run.get("start_time") or ""),
            "completion_time": str(self.run.get("completion_time") or ""),
            "states": {n: i.to_json() for n, i in infos.items()},
            "timeline": timeline,
            "progress": self.progress(infos),
            "inactive_reason": self.inactive_reason(),
            "required_scopes": self.required_scopes(),
            "error": self.run_error(),
            "output": _json_text(self.output()) if self.terminal else "",
        }


def log_row(index: int, entry: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """One event-log table row (the entry's details stay in Python)."""
    details = entry.get("details") or {}
    return {
        "i": index,
        "time": str(entry.get("time") or ""),
        "code": str(entry.get("code") or ""),
        "state": str(details.get("state_name") or "") if isinstance(details, dict) else "",
        "description": str(entry.get("description") or ""),
    }


def _event_kind(code: str) -> str:
    if code.startswith("Flow"):
        return "flow"
    if code.endswith("Started"):
        return "started"
    if code.endswith(("Completed", "Succeeded")):
        return "succeeded"
    if code.endswith(("Failed", "Errored", "TimedOut", "Timeout")):
        return "failed"
    if code.endswith("Caught"):
        return "caught"
    return "other"


def _next_state(state: t.Mapping[str, t.Any]) -> str | None:
    if state.get("End"):
        return None
    if state.get("Next"):
        return str(state["Next"])
    if state.get("Default"):
        return str(state["Default"])
    choices = state.get("Choices") or []
    if choices and isinstance(choices[0], dict) and choices[0].get("Next"):
        return str(choices[0]["Next"])
    return None


def _walk(value: t.Any, depth: int = 0) -> t.Iterator[tuple[str, t.Any]]:
    if depth > 12:
        return
    if isinstance(value, dict):
        for k, v in value.items():
            yield str(k), v
            yield from _walk(v, depth + 1)
    elif isinstance(value, list):
        for v in value:
            yield from _walk(v, depth + 1)


def _failure_text(entry: t.Mapping[str, t.Any]) -> tuple[str, str]:
    """(error message, traceback) of a failed state, from wherever the provider put them."""
    details = entry.get("details") or {}
    tb = ""
    error = ""
    err = details.get("error") if isinstance(details, dict) else None
    if isinstance(err, dict) and (err.get("Error") or err.get("Cause")):
        error = ": ".join(str(err[k]) for k in ("Error", "Cause") if err.get(k))
    elif isinstance(details, dict) and details.get("error") and details.get("cause") \
            and isinstance(details["cause"], str):
        error = f"{details['error']}: {details['cause']}"
    for key, value in _walk(details):
        if not isinstance(value, str) or not value.strip():
            continue
        if "Traceback (most recent call last)" in value:
            if len(value) > len(tb):
                tb = value
        elif key in {"exception", "error", "cause", "Cause", "Error", "message"} and not error:
            error = value
    if not error and tb:
        error = tb.strip().splitlines()[-1]
    if not error:
        error = str(entry.get("description") or "")
    return error, tb


def _json_text(value: t.Any) -> str:
    if value is None:
        return ""
    try:
        text = json.dumps(value, indent=2, sort_keys=False, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    if len(text) > MAX_JSON_CHARS:
        text = text[:MAX_JSON_CHARS] + f"\n… ({len(text) - MAX_JSON_CHARS} more characters)"
    return text


def parse_time(value: str) -> float | None:
    """Seconds since the epoch of an ISO 8601 time from the Flows API (None if unparsable)."""
    if not value:
        return None
    try:
        return _dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


# --------------------------------------------------------------------------------------
# The shared scheduler
# --------------------------------------------------------------------------------------


class _Scheduler:
    """One daemon thread that wakes watchers when their next poll is due.

    Polls run on a small worker pool, at most one at a time per watcher.
    """

    def __init__(self, workers: int = 4) -> None:
        self._heap: list[tuple[float, int, RunWatcher, int]] = []
        self._cond = threading.Condition()
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None
        # Daemon workers (not a ThreadPoolExecutor, whose threads the interpreter joins at
        # exit): a request hanging at shutdown must not hold the kernel up.
        self._work: queue.SimpleQueue[tuple[RunWatcher, int]] = queue.SimpleQueue()
        self._workers: list[threading.Thread] = []
        self._max_workers = workers

    def schedule(self, watcher: RunWatcher, delay: float, gen: int = 0) -> None:
        with self._cond:
            heapq.heappush(self._heap, (time.monotonic() + delay, next(self._seq), watcher, gen))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="gladier-monitor",
                                                daemon=True)
                self._thread.start()
            self._cond.notify()

    @property
    def thread(self) -> threading.Thread | None:
        return self._thread

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._heap or self._heap[0][0] > time.monotonic():
                    timeout = (self._heap[0][0] - time.monotonic()) if self._heap else None
                    self._cond.wait(timeout)
                _, _, watcher, gen = heapq.heappop(self._heap)
            if not watcher.stopped and gen == watcher._gen:
                self._work.put((watcher, gen))
                self._grow()

    def _grow(self) -> None:
        self._workers = [w for w in self._workers if w.is_alive()]
        if len(self._workers) < self._max_workers and self._work.qsize() > 0:
            worker = threading.Thread(target=self._work_loop, daemon=True,
                                      name=f"gladier-monitor-poll-{len(self._workers)}")
            worker.start()
            self._workers.append(worker)

    def _work_loop(self) -> None:
        while True:
            watcher, gen = self._work.get()
            try:
                watcher._tick(gen)
            except Exception:  # never lose the worker; the watcher reports its own errors
                import logging

                logging.getLogger(__name__).exception("run monitor poll failed")


_SCHEDULER = _Scheduler()


def scheduler_thread() -> threading.Thread | None:
    """The one thread all watchers share (None before the first watcher starts)."""
    return _SCHEDULER.thread


# --------------------------------------------------------------------------------------
# The watcher
# --------------------------------------------------------------------------------------

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
        self.flows_client = flows_client
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
            model.definition = fetch_definition(self.flows_client, self.run_id,
                                                model.run.get("flow_id"), self._count_request)
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
                self.policy.run_every <= 1 or _ended_in_log(new):
            self._count_request()
            doc = _data(self.flows_client.get_run(self.run_id))
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
        if _ended_in_log(self.model.entries[-5:]) or self._tail_reads >= 5:
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
        except Exception as err:  # every failure is reported, none kills the loop
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


def _ended_in_log(entries: list[dict[str, t.Any]]) -> bool:
    return any(str(e.get("code") or "") in
               {"FlowSucceeded", "FlowFailed", "FlowCanceled", "FlowCancelled", "FlowEnded"}
               for e in entries)


def classify_error(err: BaseException) -> tuple[str, str, float | None]:
    """("auth" | "transient", message for the user, Retry-After seconds or None)."""
    status = _http_status(err)
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


def fetch_definition(flows_client: t.Any, run_id: str, flow_id: t.Any,
                     on_request: t.Callable[[], None] | None = None) -> dict[str, t.Any] | None:
    """The run's flow definition: from the run (as it was started), else from its flow."""
    try:
        if on_request:
            on_request()
        data = _data(flows_client.get_run_definition(run_id))
        if isinstance(data.get("definition"), dict):
            return copy.deepcopy(data["definition"])
    except Exception as err:
        if _http_status(err) in {401, 403}:
            raise
    if not flow_id:
        try:
            if on_request:
                on_request()
            flow_id = _data(flows_client.get_run(run_id)).get("flow_id")
        except Exception:
            return None
    if flow_id:
        try:
            if on_request:
                on_request()
            data = _data(flows_client.get_flow(flow_id))
            if isinstance(data.get("definition"), dict):
                return copy.deepcopy(data["definition"])
        except Exception:
            return None
    return None
