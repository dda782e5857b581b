"""The run model: the run document and its log turned into per-state status, timeline, progress.

What a single log entry says as text (its row, its failure, its JSON, its times) is
:mod:`.entries`'; ``log_row``, ``parse_time``, ``format_duration`` and ``MAX_JSON_CHARS`` are
re-exported here for the package's public :mod:`gladier_jupyter.monitor`.
"""

from __future__ import annotations

import dataclasses
import typing as t
from dataclasses import dataclass, field

from gladier_jupyter.monitor.entries import (
    MAX_JSON_CHARS,
    event_kind,
    failure_text,
    format_duration,
    json_text,
    last_line,
    log_row,
    parse_time,
    walk,
)

__all__ = [
    "TERMINAL_STATUSES",
    "STATE_STATUSES",
    "MAX_JSON_CHARS",
    "CANCEL_CODES",
    "MAX_TIMELINE_BARS",
    "StateInfo",
    "RunModel",
    "document_outcome",
    "log_row",
    "parse_time",
    "format_duration",
]

#: Run statuses after which nothing changes any more.
TERMINAL_STATUSES = frozenset({"SUCCEEDED", "FAILED", "ENDED"})
#: Per-state statuses the views colour.
STATE_STATUSES = ("pending", "active", "inactive", "succeeded", "failed", "caught", "skipped",
                  "cancelled")
#: Timeline bars sent to the page (the newest): a loop of thousands of visits stays cheap.
MAX_TIMELINE_BARS = 400
#: Codes of the entry (and the run's details) that end a run canceled by its user. The
#: Flows API writes "FlowCanceled"; "FlowCancelled" is accepted too.
CANCEL_CODES = frozenset({"FlowCanceled", "FlowCancelled"})


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
    #: whether the state has ended at least once (a loop state running again stays counted)
    finished: bool = False
    _texts: dict[str, tuple[int, str]] = field(default_factory=dict, repr=False, compare=False)

    def _text(self, key: str, value: t.Any) -> str:
        # Input and output are replaced, never mutated: their text is kept per object, so a
        # 500-state run does not re-serialise every state's data on each update.
        cached = self._texts.get(key)
        if cached is not None and cached[0] == id(value):
            return cached[1]
        text = json_text(value)
        self._texts[key] = (id(value), text)
        return text

    def copy(self) -> StateInfo:
        return dataclasses.replace(self, _texts=self._texts)

    def to_json(self) -> dict[str, t.Any]:
        return {
            "name": self.name,
            "status": self.status,
            "type": self.state_type,
            "input": self._text("input", self.input),
            "output": self._text("output", self.output),
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
    #: what ``derive`` has read of the log so far (it reads only entries added since)
    _derived: _Derivation | None = field(default=None, repr=False, compare=False)
    _longest: tuple[int, int] | None = field(default=None, repr=False, compare=False)

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
        for key, value in walk(self.run.get("details") or {}):
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
        """Per-state info and the timeline (one bar per state visit, the newest
        ``MAX_TIMELINE_BARS``), from the log.

        Reads only the entries added since the last call (the log only grows), so an
        update costs the same with 10 or 10,000 entries; the run's end is applied to copies.
        """
        d = self._derived
        if d is None or d.definition is not self.definition or d.entries is not self.entries \
                or d.seen > len(self.entries):
            d = self._derived = _Derivation(self.definition, self.entries,
                                            {n: StateInfo(n) for n in self.state_names()})
        for entry in self.entries[d.seen:]:
            d.read(entry, self._has_catch)
        d.seen = len(self.entries)
        infos = {n: i.copy() for n, i in d.infos.items()}
        first = max(0, len(d.timeline) - MAX_TIMELINE_BARS)
        timeline = [dict(b) for b in d.timeline[first:]]
        last_failed = d.last_failed
        # Close what the run's end left open, and mark what it never reached.
        status = self.status
        cancelled = self.cancelled
        for info in infos.values():
            if info.status == "active":
                if status == "INACTIVE":
                    info.status = "inactive"
                elif cancelled:
                    info.status = "cancelled"
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
        """States done, out of the most a run of this flow can pass through.

        The total is fixed for the whole run (the longest path of the flow without going
        round a loop), so the counter never changes its total mid-run; a loop state counts
        once. Once the run has ended, both are the states it reached (a canceled run counts
        the state it was in).
        """
        if self.terminal:
            reached = [n for n, i in infos.items()
                       if i.status in {"succeeded", "failed", "caught", "cancelled"}]
            return {"done": len(reached), "total": len(reached)}
        done = sum(1 for i in infos.values() if i.finished)
        running = sum(1 for i in infos.values() if i.status in {"active", "inactive"}
                      and not i.finished)
        return {"done": done, "total": max(self.longest_path(), done + running)}

    def longest_path(self) -> int:
        """States on the flow's longest path from StartAt, loops taken at most once."""
        key = (id(self.definition), len(self.state_names()))
        if self._longest is None or self._longest[0] != key[0]:
            self._longest = (key[0], _longest_path(self.definition or {}))
        return self._longest[1]

    # -- failures the run went on after, and cancels ---------------------------------------
    @property
    def cancelled(self) -> bool:
        """Whether the run ended because its user canceled it."""
        if not self.terminal:
            return False
        details = self.run.get("details") or {}
        if isinstance(details, dict) and details.get("code") in CANCEL_CODES:
            return True
        return any(e.get("code") in CANCEL_CODES for e in self.entries[-5:])

    @staticmethod
    def failed_states(infos: t.Mapping[str, StateInfo]) -> dict[str, str]:
        """The states whose action failed, each with the last line of its exception."""
        return {n: last_line(i.traceback) or last_line(i.error) or "failed"
                for n, i in infos.items() if i.status == "failed"}

    def outcome(self, infos: t.Mapping[str, StateInfo]) -> tuple[str, str, str]:
        """(what the views colour, the header's text, the first failure's line).

        A run that SUCCEEDED while states failed (gladier sets ExceptionOnActionFailure
        false, so the run goes on) is a "warning": "SUCCEEDED · 1 state failed".
        """
        failed = self.failed_states(infos)
        first = next(iter(failed.items()), None)
        failure = f"{first[0]}: {first[1]}" if first else ""
        status = self.status
        if self.cancelled:
            return "cancelled", "CANCELLED", ""
        shown = str(self.run.get("display_status") or status)
        if status == "SUCCEEDED" and failed:
            n = len(failed)
            return "warning", f"{shown} · {n} state{'s' if n != 1 else ''} failed", failure
        return status.lower(), shown, failure

    # -- the snapshot the views show ------------------------------------------------------
    def snapshot(self) -> dict[str, t.Any]:
        infos, timeline = self.derive()
        outcome, headline, failure = self.outcome(infos)
        return {
            "run_id": self.run_id,
            "status": self.status,
            "display_status": str(self.run.get("display_status") or self.status),
            "outcome": outcome,
            "headline": headline,
            "failure": failure,
            "failed_states": self.failed_states(infos),
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
            "output": json_text(self.output()) if self.terminal else "",
        }


def document_outcome(doc: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """What a run document alone says of its outcome: cancelled, or its status (the failed
    states of a SUCCEEDED run need its log: ``RunModel.outcome``)."""
    status = str(doc.get("status") or "")
    details = doc.get("details") or {}
    if status in TERMINAL_STATUSES and isinstance(details, dict) and \
            details.get("code") in CANCEL_CODES:
        return {"outcome": "cancelled", "headline": "CANCELLED", "failure": "",
                "failed_states": 0}
    return {"outcome": status.lower(), "headline": str(doc.get("display_status") or status),
            "failure": "", "failed_states": 0}


@dataclass
class _Derivation:
    """What the log has said so far, read entry by entry (see ``RunModel.derive``)."""

    definition: dict[str, t.Any] | None
    entries: list[dict[str, t.Any]]
    infos: dict[str, StateInfo]
    timeline: list[dict[str, t.Any]] = field(default_factory=list)
    open_bar: dict[str, int] = field(default_factory=dict)
    last_failed: str | None = None
    seen: int = 0

    def read(self, entry: t.Mapping[str, t.Any], has_catch: t.Callable[[str], bool]) -> None:
        infos, timeline, open_bar = self.infos, self.timeline, self.open_bar
        details = entry.get("details") or {}
        name = details.get("state_name") if isinstance(details, dict) else None
        code = str(entry.get("code") or "")
        when = str(entry.get("time") or "")
        kind = event_kind(code)
        if not name or kind == "flow":
            if kind == "flow" and name and code == "FlowFailed" and name in infos and \
                    infos[name].status == "active":
                infos[name].error, infos[name].traceback = failure_text(entry)
            return
        info = infos.setdefault(str(name), StateInfo(str(name)))
        info.state_type = str(details.get("state_type") or info.state_type)
        last_failed = self.last_failed
        if kind == "started":
            if last_failed and last_failed != name and infos[last_failed].status == "failed" \
                    and has_catch(last_failed):
                # The run went on after that state failed: its Catch took it.
                infos[last_failed].status = "caught"
            self.last_failed = None
            info.status = "active"
            info.attempts += 1
            info.started = when
            info.ended = ""
            info.error = info.traceback = ""
            if "input" in details:
                info.input = details["input"]
            open_bar[info.name] = len(timeline)
            timeline.append({"state": info.name, "start": when, "end": "", "status": "active"})
        elif kind in {"succeeded", "failed"}:
            info.status = kind
            info.ended = when
            info.finished = True
            if "output" in details:
                info.output = details["output"]
            if kind == "failed":
                self.last_failed = info.name
                info.error, info.traceback = failure_text(entry)
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
            info.finished = True
        elif "output" in details and info.status == "active":
            info.output = details["output"]


def _state_edges(state: t.Any) -> list[str]:
    if not isinstance(state, dict):
        return []
    out = [state.get("Next"), state.get("Default")]
    for key in ("Choices", "Catch"):
        for item in state.get(key) or []:
            if isinstance(item, dict):
                out.append(item.get("Next"))
    return [str(n) for n in out if n]


def _longest_path(definition: t.Mapping[str, t.Any]) -> int:
    """States on the longest path from StartAt once edges closing a loop are dropped."""
    states = definition.get("States") or {}
    start = definition.get("StartAt")
    if not isinstance(states, dict) or not isinstance(start, str) or start not in states:
        return 0
    # Iterative depth-first search: a 500-state chain would exceed Python's recursion.
    longest: dict[str, int] = {}
    on_path: set[str] = set()
    stack: list[tuple[str, t.Iterator[str]]] = [(start, iter(_state_edges(states[start])))]
    on_path.add(start)
    while stack:
        name, nexts = stack[-1]
        step = next(nexts, None)
        if step is None:
            stack.pop()
            on_path.discard(name)
            best = max((longest.get(n, 0) for n in _state_edges(states[name])
                        if n in states and n in longest), default=0)
            longest[name] = 1 + best
        elif step in states and step not in on_path and step not in longest:
            on_path.add(step)
            stack.append((step, iter(_state_edges(states[step]))))
    return longest.get(start, 0)


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
