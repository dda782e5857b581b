"""The run model: the run document and its log turned into per-state status, timeline, progress."""

from __future__ import annotations

import datetime as _dt
import json
import math
import typing as t
from dataclasses import dataclass, field

__all__ = [
    "TERMINAL_STATUSES",
    "STATE_STATUSES",
    "MAX_JSON_CHARS",
    "StateInfo",
    "RunModel",
    "log_row",
    "parse_time",
    "format_duration",
]

#: Run statuses after which nothing changes any more.
TERMINAL_STATUSES = frozenset({"SUCCEEDED", "FAILED", "ENDED"})
#: Per-state statuses the views colour.
STATE_STATUSES = ("pending", "active", "inactive", "succeeded", "failed", "caught", "skipped")
#: Cap on one JSON value (state input/output) sent to the page.
MAX_JSON_CHARS = 20_000


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



def format_duration(seconds: float) -> str:
    """"340 ms", "1.2 s", "12 s", "3 min 05 s", "1 h 02 min"; "" for no duration.

    The same arithmetic as the views' ``formatDuration`` (labextension/src/common/
    monitorStatus.ts), rounding half up with floor(x + 0.5), so both show the same text.
    """
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        return ""
    if not math.isfinite(seconds) or seconds < 0:
        return ""
    ms = math.floor(seconds * 1000 + 0.5)
    if ms < 1000:
        return "<1 ms" if ms == 0 and seconds > 0 else f"{ms} ms"
    tenths = math.floor(seconds * 10 + 0.5)
    if tenths < 100:
        return f"{tenths // 10}.{tenths % 10} s"
    total = math.floor(seconds + 0.5)
    if total < 60:
        return f"{total} s"
    minutes, secs = divmod(total, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    return f"{minutes // 60} h {minutes % 60:02d} min"
