"""The service clock: the one "now" of a local service's Flows engine and actions.

Service time is real time plus an offset, running at a speed (1 by default). It only moves
forward: :meth:`ServiceClock.advance` refuses a negative step, and :meth:`now` never returns
less than it returned before, so log entries of a run are in order whatever the wall clock
does. The offset and speed live in ``clock.json`` of the state folder, so a restarted
service goes on at the time it had (and a waiting run resumes at its original end time).

Whoever keeps timers on the clock registers with :meth:`watch`: ``moved()`` is called after
every jump or change of speed (timers re-arm: what became due fires at once), and
``next_due()`` gives the earliest pending timer for :meth:`next_timer`.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import pathlib
import threading
import time
import typing as t

__all__ = ["CLOCK_FILE", "MAX_ADVANCE", "MAX_SPEED", "ClockUsageError", "ServiceClock", "clock_of"]

CLOCK_FILE = "clock.json"
#: The longest one advance may jump: past Globus's one-year run limit with room to spare,
#: and far from the year 9999 where dates end.
MAX_ADVANCE = 10 * 365 * 24 * 3600.0
MAX_SPEED = 1_000_000.0
_SAVE_EVERY = 1.0  # real seconds between saves of a clock that runs faster than real time
_FAR = 1e9  # seconds: "never" for a stopped clock's timers


class ClockUsageError(ValueError):
    """A clock request the clock refuses (a negative advance, a bad speed)."""


class ServiceClock:
    """Real time + ``offset``, at ``speed``; persisted in ``path`` when given."""

    def __init__(self, path: pathlib.Path | None = None):
        self.path = path
        self._lock = threading.RLock()
        self._watchers: list[tuple[t.Callable[[], None], t.Callable[[], float | None]]] = []
        self._speed = 1.0
        self._real0 = time.time()
        self._virtual0 = self._real0
        self._last = 0.0
        self._saved_at = 0.0
        self._load()

    # -- reading ---------------------------------------------------------------------
    def _compute(self, real: float) -> float:
        return self._virtual0 + (real - self._real0) * self._speed

    def now(self) -> float:
        """Service time, epoch seconds; never less than a value returned before."""
        with self._lock:
            real = time.time()
            value = max(self._compute(real), self._last)
            self._last = value
            if self._speed != 1.0 and real - self._saved_at >= _SAVE_EVERY:
                self._save(real)
            return value

    def iso(self) -> str:
        """:meth:`now` as an ISO 8601 UTC timestamp (the runs' and log entries' times)."""
        return dt.datetime.fromtimestamp(self.now(), dt.timezone.utc).isoformat()

    @property
    def speed(self) -> float:
        return self._speed

    def offset(self) -> float:
        """How far service time is ahead of real time, in seconds (0: the real clock)."""
        return self.now() - time.time()

    def delay(self, until: float) -> float:
        """Real seconds until service time reaches ``until`` (0 if it has)."""
        with self._lock:
            left = until - self.now()
            if left <= 0:
                return 0.0
            return left / self._speed if self._speed > 0 else _FAR

    def next_due(self) -> float | None:
        """The earliest pending timer of any watcher (service time), or ``None``."""
        dues = [d for d in (due() for _, due in list(self._watchers)) if d is not None]
        return min(dues) if dues else None

    def describe(self) -> dict[str, t.Any]:
        """The clock as the ``/api/clock`` route answers it."""
        now = self.now()
        due = self.next_due()
        return {
            "now": dt.datetime.fromtimestamp(now, dt.timezone.utc).isoformat(),
            "epoch": now,
            "offset_seconds": round(now - time.time(), 3),
            "speed": self._speed,
            "next_timer": None if due is None else dt.datetime.fromtimestamp(due, dt.timezone.utc).isoformat(),
            "next_timer_in_seconds": None if due is None else round(max(0.0, due - now), 3),
        }

    # -- moving ----------------------------------------------------------------------
    def watch(self, moved: t.Callable[[], None], next_due: t.Callable[[], float | None]) -> None:
        """Call ``moved()`` after each jump or change of speed; ask ``next_due()`` for the
        watcher's earliest timer."""
        self._watchers.append((moved, next_due))

    def advance(self, seconds: t.Any) -> float:
        """Jump ``seconds`` (>= 0) ahead; what became due fires at once. The new now."""
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not math.isfinite(seconds):
            raise ClockUsageError(f"advance takes a number of seconds, not {str(seconds)[:40]!r}; "
                                  "e.g. advance(3600).")
        if seconds < 0:
            raise ClockUsageError(f"The clock cannot go back: advance({seconds:g}) asks for a negative step; "
                                  "pass seconds >= 0.")
        if seconds > MAX_ADVANCE:
            raise ClockUsageError(f"advance({seconds:g}) jumps more than {MAX_ADVANCE:g} seconds (10 years) "
                                  "at once; advance in smaller steps.")
        with self._lock:
            value = self.now() + float(seconds)
            self._rebase(value, self._speed)
        self._moved()
        return value

    def next_timer(self) -> float | None:
        """Jump to the earliest pending timer (a Wait's end, a WaitTime, a hello_world
        sleep) and fire it; ``None`` (and no jump) when no timer is pending."""
        due = self.next_due()
        if due is None:
            return None
        self.advance(max(0.0, due - self.now()))
        return due

    def set_speed(self, speed: t.Any) -> float:
        """Run service time ``speed`` times as fast as real time (0 stops it)."""
        if isinstance(speed, bool) or not isinstance(speed, (int, float)) or not math.isfinite(speed) \
                or not 0 <= speed <= MAX_SPEED:
            raise ClockUsageError(f"speed {str(speed)[:40]!r} is not a factor from 0 to {MAX_SPEED:g}; "
                                  "e.g. speed(60) runs a minute per second, speed(1) is real time.")
        with self._lock:
            self._rebase(self.now(), float(speed))
        self._moved()
        return float(speed)

    def reset(self) -> None:
        """Back to real time at speed 1. The caller makes sure nothing is waiting on the
        clock: time would go back under it."""
        with self._lock:
            self._speed = 1.0
            self._real0 = self._virtual0 = time.time()
            self._last = 0.0
            self._save(self._real0)
        self._moved()

    def _rebase(self, value: float, speed: float) -> None:
        real = time.time()
        self._real0, self._virtual0, self._speed = real, value, speed
        self._last = max(self._last, value)
        self._save(real)

    def _moved(self) -> None:
        for moved, _ in list(self._watchers):
            moved()

    # -- persistence -----------------------------------------------------------------
    def _save(self, real: float) -> None:
        self._saved_at = real
        if self.path is None:
            return
        from gladier_jupyter.local import process

        value = max(self._compute(real), self._last)
        if self._speed == 1.0 and abs(value - real) < 1e-6:
            doc: dict[str, t.Any] = {"offset_seconds": 0.0, "speed": 1.0, "last": value}
        else:
            doc = {"offset_seconds": value - real, "speed": self._speed, "last": value}
        process._write_private(self.path, json.dumps(doc))

    def _load(self) -> None:
        if self.path is None:
            return
        try:
            doc = json.loads(self.path.read_text())
            offset, speed, last = float(doc["offset_seconds"]), float(doc["speed"]), float(doc.get("last", 0))
        except (OSError, ValueError, KeyError, TypeError):
            return  # no clock saved (or a damaged file): real time
        if not (math.isfinite(offset) and math.isfinite(speed) and math.isfinite(last)) or not 0 <= speed <= MAX_SPEED:
            return
        real = time.time()
        # The service was down meanwhile: service time went on at real speed; and never
        # before the last time it gave out.
        self._real0, self._speed = real, speed
        self._virtual0 = max(real + offset, last)
        self._last = last
        self._saved_at = real

    def close(self) -> None:
        with self._lock:
            self._save(time.time())


_clocks_lock = threading.Lock()


def clock_of(ctx: t.Any) -> ServiceClock:
    """The clock of the service ``ctx`` belongs to (made on first use, from its state folder)."""
    with _clocks_lock:
        clock = ctx.services.get("clock")
        if clock is None:
            state_dir = getattr(ctx, "state_dir", None)
            clock = ServiceClock(pathlib.Path(state_dir) / CLOCK_FILE if state_dir else None)
            ctx.services["clock"] = clock
        return clock
