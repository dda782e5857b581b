"""What the server extension remembers about runs, read from its sources.

The sources (the per-user local service, and Globus Flows when this server holds a
Globus login) are :mod:`.sources`'. Here: the run list's rows and outcomes, the runs
followed in memory (:class:`RunTracker`) and the :class:`Registry` the handlers ask.
Everything here blocks (globus-sdk is synchronous): the handlers call it on a thread pool.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
import typing as t

from gladier_jupyter import monitor as _monitor
from gladier_jupyter.errors import GladierJupyterUsageError
from gladier_jupyter.server.sources import (
    GlobusSource,
    LocalSource,
    SourceUnavailable,
    response_data,
)

__all__ = ["GlobusSource", "LocalSource", "Registry", "RunTracker", "SourceUnavailable"]

#: Most runs listed per source.
MAX_RUNS = 200
#: Most tags a run row carries (Globus allows 20 per run).
MAX_ROW_TAGS = 20
#: Runs whose document and log the server keeps in memory (least recently opened dropped).
MAX_TRACKED_RUNS = 64
#: Ended runs whose log one listing reads to tell "SUCCEEDED · 1 state failed" apart (each
#: read once: an ended run's outcome is kept). Globus asks for few requests.
OUTCOME_READS = {"local": 50, "globus": 3}
#: Ended runs whose outcome the server remembers.
MAX_OUTCOMES = 2000


def http_status(err: BaseException) -> int | None:
    status = getattr(err, "http_status", None)
    return status if isinstance(status, int) else None


def run_row(doc: t.Mapping[str, t.Any], source: str) -> dict[str, t.Any]:
    """What the side panel shows of one run."""
    return {
        "run_id": str(doc.get("run_id") or doc.get("action_id") or ""),
        "label": str(doc.get("label") or ""),
        "flow_id": str(doc.get("flow_id") or ""),
        "flow_title": str(doc.get("flow_title") or ""),
        "status": str(doc.get("status") or ""),
        "display_status": str(doc.get("display_status") or doc.get("status") or ""),
        "start_time": str(doc.get("start_time") or ""),
        "completion_time": str(doc.get("completion_time") or ""),
        "source": source,
        # the panel filters by tag itself: the Flows API's list_runs has no tag filter
        # (https://docs.globus.org/api/flows/ "List Runs": filter_flow_id, filter_status,
        # filter_label, filter_*_time, no tags)
        "tags": [tag for tag in doc.get("tags") or [] if isinstance(tag, str)][:MAX_ROW_TAGS],
        # a re-run's link to its parent (the tags a re-run from a state carries)
        "rerun_of": next((tag[len("rerun-of:"):] for tag in doc.get("tags") or []
                          if isinstance(tag, str) and tag.startswith("rerun-of:")), ""),
        "rerun_from": next((tag[len("rerun-from:"):] for tag in doc.get("tags") or []
                            if isinstance(tag, str) and tag.startswith("rerun-from:")), ""),
        **_monitor.document_outcome(doc),
    }


def model_outcome(model: t.Any) -> dict[str, t.Any]:
    """The outcome of a run whose log was read (``RunModel``)."""
    infos, _ = model.derive()
    outcome, headline, failure = model.outcome(infos)
    return {"outcome": outcome, "headline": headline, "failure": failure,
            "failed_states": len(model.failed_states(infos))}


class RunTracker:
    """One run as the server has read it: its document, the whole log, the definition.

    The log is read incrementally (``monitor.LogReader``), so a page polling a long run
    costs one log page per poll, however long the log is.
    """

    def __init__(self, source: t.Any, run_id: str) -> None:
        self.source = source
        self.run_id = run_id
        self.model = _monitor.RunModel(run_id)
        self.reader = _monitor.LogReader(run_id)
        self.graph: dict[str, t.Any] = {}
        self.lock = threading.Lock()
        self._polled = 0.0
        self._definition_tried = False
        self.message = ""
        #: what the run waits on a person for, its emails (see ``monitor.human``)
        self.choices: list[dict[str, str]] = []
        self.outbox: list[str] = []
        self._human_keys: tuple[t.Any, t.Any] = (None, None)

    def poll(self, force: bool = False) -> None:
        """Read what changed since the last poll (at most one poll per ``policy.fast``)."""
        with self.lock:
            now = time.monotonic()
            done = self.model.terminal and self._polled and _monitor.ended_in_log(
                self.model.entries)
            if not force and (done or now - self._polled < self.source.policy.fast):
                return
            client = self.source.client()
            self.model.set_run(response_data(client.get_run(self.run_id)))
            if not self._definition_tried:
                self._definition_tried = True
                self.model.definition = _monitor.fetch_definition(
                    client, self.run_id, self.model.run.get("flow_id"))
                self.graph = graph_model(self.model.definition)
            self.model.add_entries(self.reader.read_new(client))
            self._polled = time.monotonic()
            self._read_human(client)

    def _read_human(self, client: t.Any) -> None:
        """Refresh ``choices`` and ``outbox`` when the run's facts changed (an extra: a
        failure leaves what was shown)."""
        from gladier_jupyter.monitor import human

        local = self.source.name == "local"
        key = (self.model.status, len(self.model.entries))
        choice_key, outbox_key = self._human_keys
        try:
            if outbox_key != key:
                self.outbox = human.outbox_lines(client, self.model, local)
                outbox_key = key
            if not human.needs_choices(self.model, local):
                self.choices, choice_key = [], key
            elif choice_key != key or not self.choices:
                self.choices = human.choices(client, self.model, local)
                choice_key = key if self.choices else None
        except Exception:  # the view's extras; the run itself still shows
            logging.getLogger(__name__).debug("reading the run's choices failed", exc_info=True)
        self._human_keys = (choice_key, outbox_key)

    def snapshot(self) -> dict[str, t.Any]:
        with self.lock:
            snap = self.model.snapshot()
            snap.update(
                source=self.source.name,
                graph=self.graph,
                web_url=self.source.web_url(self.run_id),
                log_total=len(self.model.entries),
                connection="done" if self.model.terminal else "live",
                message=self.message,
                choices=list(self.choices),
                outbox=list(self.outbox),
                clock=_human_clock(self.model),
            )
            return snap

    def log_rows(self, offset: int) -> list[dict[str, t.Any]]:
        with self.lock:
            entries = self.model.entries[max(0, offset):]
            return [_monitor.log_row(offset + i, e) for i, e in enumerate(entries)]


def _human_clock(model: t.Any) -> str:
    from gladier_jupyter.monitor import human

    return human.clock_badge(model)


def graph_model(definition: dict[str, t.Any] | None) -> dict[str, t.Any]:
    """The flow graph model (``FlowGraph.model``), or ``{}`` when there is no definition."""
    if not definition or not isinstance(definition, dict):
        return {}  # never a string: FlowGraph.build would take one for a file path
    from gladier_jupyter.flowgraph import FlowGraph

    try:
        model = FlowGraph.build(definition).model
    except Exception:  # the graph is an extra: log and timeline still show
        logging.getLogger(__name__).warning("the run's flow could not be drawn", exc_info=True)
        return {}
    return model if isinstance(model, dict) else {}


class Registry:
    """The sources and the runs this server is following (one per server process)."""

    def __init__(self, sources: list[t.Any] | None = None) -> None:
        if sources is None:
            local = LocalSource()
            sources = [local, GlobusSource(local)]
        self.sources = sources
        self._by_name = {s.name: s for s in self.sources}
        self._trackers: collections.OrderedDict[tuple[str, str], RunTracker] = (
            collections.OrderedDict())
        self._lists: dict[tuple[str, str, str], tuple[float, list[dict[str, t.Any]]]] = {}
        self._lock = threading.Lock()
        #: (source, run id) -> the outcome of an ended SUCCEEDED run (from its log)
        self._outcomes: collections.OrderedDict[tuple[str, str], dict[str, t.Any]] = (
            collections.OrderedDict())

    def source(self, name: str) -> t.Any:
        try:
            return self._by_name[name]
        except KeyError:
            raise SourceUnavailable(
                f"Unknown run source {name!r}; use one of {', '.join(self._by_name)}."
            ) from None

    def list_runs(self, flow_ids: list[str], statuses: list[str]) -> dict[str, t.Any]:
        """Runs of every available source, newest first; a source that fails is reported."""
        rows: list[dict[str, t.Any]] = []
        sources: dict[str, dict[str, t.Any]] = {}
        for source in self.sources:
            try:
                client = source.client()
                key = (source.name, ",".join(flow_ids), ",".join(statuses))
                cached = self._lists.get(key)
                ttl = getattr(source, "list_ttl", 0.0)
                if cached is not None and time.monotonic() - cached[0] < ttl:
                    found = cached[1]
                else:
                    found = self._list(source, client, flow_ids, statuses)
                    self._lists[key] = (time.monotonic(), found)
                rows.extend(self._with_outcomes(source, client, found))
                sources[source.name] = {"available": True, "message": ""}
            except SourceUnavailable as err:
                sources[source.name] = {"available": False, "message": str(err)}
            except Exception as err:  # noqa: BLE001 - one source down must not hide the other
                sources[source.name] = {"available": False,
                                        "message": f"Could not list runs: {short_error(err)}"}
        rows.sort(key=lambda r: r["start_time"], reverse=True)
        return {"runs": rows, "sources": sources,
                "active": any(r["status"] == "ACTIVE" for r in rows)}

    def _with_outcomes(self, source: t.Any, client: t.Any,
                       rows: list[dict[str, t.Any]]) -> list[dict[str, t.Any]]:
        """The rows, with the failed states of SUCCEEDED runs (gladier's states let a run go
        on after their action failed): read from the run's log once, then remembered."""
        budget = OUTCOME_READS.get(source.name, 0)
        out = []
        for row in rows:
            if row["status"] != "SUCCEEDED":
                out.append(row)
                continue
            key = (source.name, row["run_id"])
            known = self._outcomes.get(key)
            if known is None:
                with self._lock:
                    tracker = self._trackers.get(key)
                if tracker is not None and tracker.model.terminal:
                    with tracker.lock:
                        known = model_outcome(tracker.model)
                elif budget > 0:
                    budget -= 1
                    try:
                        known = model_outcome(_read_whole_run(client, row["run_id"],
                                                              row.get("flow_id")))
                    except Exception:  # the row still shows its status
                        logging.getLogger(__name__).debug("reading run %s's log failed",
                                                          row["run_id"], exc_info=True)
                if known is not None:
                    self._outcomes[key] = known
                    while len(self._outcomes) > MAX_OUTCOMES:
                        self._outcomes.popitem(last=False)
            out.append({**row, **known} if known else row)
        return out

    @staticmethod
    def _list(source: t.Any, client: t.Any, flow_ids: list[str],
              statuses: list[str]) -> list[dict[str, t.Any]]:
        params: dict[str, t.Any] = {"per_page": 50}
        if statuses:
            params["filter_status"] = ",".join(statuses)
        if source.name == "globus":
            params["orderby"] = "start_time DESC"
        kwargs: dict[str, t.Any] = {"query_params": params}
        if flow_ids:
            kwargs["filter_flow_id"] = flow_ids
        out: list[dict[str, t.Any]] = []
        for page in client.paginated.list_runs(**kwargs):
            out.extend(run_row(r, source.name) for r in page.get("runs", []))
            if len(out) >= MAX_RUNS:
                break
        return out[:MAX_RUNS]

    def tracker(self, run_id: str, source_name: str | None = None) -> RunTracker:
        """The tracker of ``run_id`` (polled now); without a source, local then Globus."""
        names = [source_name] if source_name else [s.name for s in self.sources]
        last: BaseException | None = None
        for name in names:
            source = self.source(name)
            with self._lock:
                tracker = self._trackers.get((name, run_id))
                if tracker is not None:
                    self._trackers.move_to_end((name, run_id))
            if tracker is not None:
                tracker.poll()
                return tracker
            tracker = RunTracker(source, run_id)
            try:
                tracker.poll(force=True)
            except SourceUnavailable as err:
                last = err
                continue
            except Exception as err:
                if http_status(err) in {403, 404} and len(names) > 1:
                    last = err
                    continue
                raise
            with self._lock:
                self._trackers[(name, run_id)] = tracker
                while len(self._trackers) > MAX_TRACKED_RUNS:
                    self._trackers.popitem(last=False)
            return tracker
        if last is not None and not isinstance(last, SourceUnavailable):
            raise last
        raise RunNotFound(f"Run {run_id!r} is not in the local service"
                          + (" nor in Globus Flows" if len(names) > 1 else "")
                          + "; check the id, or log in to Globus for cloud runs.")

    def cancel(self, run_id: str, source_name: str | None = None) -> dict[str, t.Any]:
        tracker = self.tracker(run_id, source_name)
        result = response_data(tracker.source.client().cancel_run(run_id))
        tracker.poll(force=True)
        return result

    def resume(self, run_id: str, source_name: str | None = None) -> dict[str, t.Any]:
        tracker = self.tracker(run_id, source_name)
        flow_id = str(tracker.model.run.get("flow_id") or "")
        result = tracker.source.resume(run_id, flow_id)
        tracker.poll(force=True)
        return result

    def choose(self, run_id: str, key: str, source_name: str | None = None) -> dict[str, t.Any]:
        """Answer what the run waits on with the choice ``key`` it offers (a weboption's
        ``url_suffix``, a web input's ``option_id``); only a choice the run offers."""
        from gladier_jupyter.monitor import human

        tracker = self.tracker(run_id, source_name)
        tracker.poll(force=True)
        found = next((c for c in tracker.choices if c.get("key") == key), None)
        if found is None:
            offered = ", ".join(repr(c.get("label")) for c in tracker.choices) or "none"
            raise ChoiceNotOffered(f"Run {run_id} waits on no choice {str(key)[:60]!r} (offered: "
                                   f"{offered[:200]}); pick one of the buttons the run tab shows.")
        result = human.answer(tracker.source.client(), found)
        tracker.choices = [c for c in tracker.choices if c.get("state") != found.get("state")]
        tracker.poll(force=True)
        return {"label": found.get("label", ""), **{k: v for k, v in result.items() if k in ("name", "message")}}

    def flow(self, flow_id: str, source_name: str | None = None) -> dict[str, t.Any]:
        names = [source_name] if source_name else [s.name for s in self.sources]
        for name in names:
            try:
                client = self.source(name).client()
                doc = response_data(client.get_flow(flow_id))
            except SourceUnavailable:
                continue
            except Exception as err:
                if http_status(err) in {403, 404}:
                    continue
                raise
            definition = doc.get("definition") if isinstance(doc.get("definition"), dict) else {}
            return {
                "flow_id": str(doc.get("id") or flow_id),
                "title": str(doc.get("title") or ""),
                "source": name,
                "definition": definition,
                "graph": graph_model(definition),
            }
        raise RunNotFound(f"Flow {flow_id!r} is in no available source; check the id.")


def _read_whole_run(client: t.Any, run_id: str, flow_id: t.Any) -> t.Any:
    """A ``RunModel`` of an ended run: its document, definition and whole log."""
    model = _monitor.RunModel(run_id)
    model.set_run(response_data(client.get_run(run_id)))
    model.definition = _monitor.fetch_definition(client, run_id, flow_id)
    reader = _monitor.LogReader(run_id)
    for _ in range(100):  # bounded: 100 reads of a few pages each
        new = reader.read_new(client)
        if not new:
            break
        model.add_entries(new)
    return model


class RunNotFound(Exception):
    """No available source knows the run or flow."""


class ChoiceNotOffered(GladierJupyterUsageError):
    """A choice the run does not wait on (answered 400)."""


def short_error(err: BaseException) -> str:
    """A one-line description of a service error (never headers, so never a token)."""
    status = http_status(err)
    message = getattr(err, "message", None) or str(err)
    text = str(message).splitlines()[0] if message else type(err).__name__
    return f"HTTP {status}: {text}" if status else f"{type(err).__name__}: {text}"
