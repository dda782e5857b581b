"""What a run writes: its log entries, its cursor and its states' start data, committed together.

The run's document, its cursor (next state + flow document) and the states' log entries
are committed together: before an Action or Wait starts, right after it ends, and for
side-effect-free states (Pass, Choice, ExpressionEval) every 64 entries or 20 ms. A
service killed mid-run resumes every ACTIVE run at its last commit: pure states are simply
run again, an action that had started is started again, a Wait keeps its original end
time. Nothing committed is lost or repeated.

With the log entries goes each state's start data (what "re-run from here" starts the
state with), serialized once per state and commit, and not at all when it is the very
object stored last time. Every log time is the service clock's; while the clock is moved
an entry says so (:func:`clock_note`).
"""

from __future__ import annotations

import datetime as dt
import json
import time
import typing as t

from gladier_jupyter.local.clock.service import ServiceClock
from gladier_jupyter.local.flows.control import RunControl

__all__ = ["Recorder", "clock_note", "now_iso"]

_GROUP_MAX = 64  # log entries held before a commit
_GROUP_SECONDS = 0.02  # and how long at most


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat()


def clock_note(clock: ServiceClock, details: dict[str, t.Any]) -> dict[str, t.Any]:
    """``details`` of a log entry, with ``clock_offset`` (seconds the service clock is
    ahead of real time) and ``clock_speed`` added while the clock was moved."""
    offset = round(clock.offset(), 3)
    if abs(offset) < 0.001 and clock.speed == 1.0:
        return details
    note: dict[str, t.Any] = {"clock_offset": offset}
    if clock.speed != 1.0:
        note["clock_speed"] = clock.speed
    return {**details, **note}


_dumps = json.JSONEncoder(separators=(",", ":")).encode
_NOTHING = object()


def _take_starts(control: RunControl) -> dict[str, str]:
    """The JSON start data of the states run since the last commit, but for those whose
    data is the very object stored last time (the run data is never changed in place, so
    the same object is the same data); each distinct object is encoded once."""
    starts, control.starts = control.starts, {}
    texts: dict[int, str] = {}
    out: dict[str, str] = {}
    for name, data in starts.items():
        if control.stored.get(name, _NOTHING) is data:
            continue
        control.stored[name] = data
        text = texts.get(id(data))
        if text is None:
            text = texts[id(data)] = _dumps(data)
        out[name] = text
    return out


def _untake_starts(control: RunControl, taken: t.Iterable[str], starts: dict[str, t.Any]) -> None:
    """Give back start data that was not stored after all (its commit did not apply)."""
    for name in taken:
        control.stored.pop(name, None)
    control.starts = {**starts, **control.starts}


class Recorder:
    """Builds a run's log entries and commits them, grouped, with its document and cursor."""

    def __init__(self, store: t.Any, clock: ServiceClock):
        self.store, self.clock = store, clock

    def entry(self, code: str, description: str, details: dict[str, t.Any]) -> dict[str, t.Any]:
        return {"time": self.clock.iso(), "code": code, "description": description,
                "details": clock_note(self.clock, details)}

    # Entries of pure states are stored with the next commit, after later states ran: they
    # hold the run data of their own state as it was, because nothing changes the run data
    # in place (ResultPath writes copy what is on their path; an action gets a copy of its
    # body), so they need no copy of their own.
    def started(self, name: str, stype: str, payload: t.Any) -> dict[str, t.Any]:
        return self.entry(f"{stype}Started", f"State {name} of type {stype} started",
                          {"state_name": name, "state_type": stype, "input": payload})

    def completed(self, name: str, stype: str, output: t.Any) -> dict[str, t.Any]:
        return self.entry(f"{stype}Completed", f"State {name} of type {stype} completed",
                          {"state_name": name, "state_type": stype, "output": output})

    def commit(self, control: RunControl, doc: dict[str, t.Any], cursor: dict[str, t.Any],
               entries: list[dict[str, t.Any]], force: bool = True) -> bool:
        """Record ``entries`` with the run's document and cursor (pure states': held
        until the group is full or old, unless ``force``); False: the run was canceled
        or released meanwhile."""
        control.pending.extend(entries)
        control.logged += len(entries)
        now = time.monotonic()
        if control.dry:
            control.pending = []
            return True
        if not force and len(control.pending) < _GROUP_MAX and now - control.flushed < _GROUP_SECONDS:
            return True
        pending, control.pending = control.pending, []
        visited = control.starts
        starts = _take_starts(control)
        control.flushed = now
        recorded = self.store.record(doc, cursor, pending, state_inputs=starts)
        if not recorded:  # canceled meanwhile: the cancel stores them
            _untake_starts(control, starts, visited)
        # Let other runs' threads and the HTTP thread have the interpreter between groups
        # of a loop of pure states, which otherwise hold it for whole switch intervals.
        time.sleep(0)
        return recorded

    @staticmethod
    def take_pending(control: RunControl, entries: list[dict[str, t.Any]]) -> list[dict[str, t.Any]]:
        """The entries not yet committed, then ``entries``: for the run's last record."""
        pending, control.pending = control.pending, []
        return [*pending, *entries]

    def store_starts(self, control: RunControl) -> None:
        """Store the start data of the states run since the last commit."""
        if control.dry:
            control.starts = {}
            return
        starts = _take_starts(control)
        if starts:
            self.store.put_state_inputs(control.run_id, starts)
