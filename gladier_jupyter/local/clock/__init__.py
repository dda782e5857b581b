"""A clock you control: the local service's time, for testing flows that wait for hours.

Each local service (state folder) has one clock; its Wait states (``Seconds``,
``SecondsPath``, ``Timestamp``, ``TimestampPath``), its actions' ``WaitTime`` timeouts,
hello_world's ``sleep_time``, the one-year run limit and every run and log entry time
follow it. It never goes back; the offset is kept in the state folder across restarts.
While it is ahead of real time, log entries carry ``details.clock_offset`` (seconds ahead)
and ``details.clock_speed`` (when not 1), so a run's monitor shows that time was moved::

    from gladier_jupyter.local import clock
    clock.next_timer()        # jump to the next pending timer (a Wait's end...) and fire it
    clock.advance(86400)      # a day later, at once
    clock.speed(60)           # a minute per second from now on; clock.speed(1): real speed
    clock.now()               # the service's time (an aware datetime)
    clock.reset()             # back to real time (refused while a run is waiting)

Each function takes ``state_dir=`` (default: the session's service, started if needed).
"""

from __future__ import annotations

import datetime as dt
import os
import typing as t

__all__ = ["advance", "next_timer", "now", "reset", "speed", "status"]

_Dir = t.Union["os.PathLike[str]", str, None]


def _call(method: str, state_dir: _Dir, body: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
    from gladier_jupyter import local
    from gladier_jupyter.local import _client

    code, doc = _client.call(local.ensure_running(state_dir), method, "clock", body=body)
    if code != 200:
        from gladier_jupyter.errors import GladierJupyterUsageError

        message = doc.get("message") if isinstance(doc, dict) else None
        raise GladierJupyterUsageError(message or f"The local service answered {code} to {method} /api/clock.")
    return t.cast(dict, doc)


def _when(epoch: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch, dt.timezone.utc)


def status(state_dir: _Dir = None) -> dict[str, t.Any]:
    """The clock: ``now``, ``offset_seconds``, ``speed``, ``next_timer`` (ISO 8601 or None)."""
    return _call("GET", state_dir)


def now(state_dir: _Dir = None) -> dt.datetime:
    """The service's time now."""
    return _when(status(state_dir)["epoch"])


def advance(seconds: float, state_dir: _Dir = None) -> dt.datetime:
    """Move the service's time ``seconds`` (>= 0) ahead; what became due fires at once."""
    return _when(_call("POST", state_dir, {"advance": seconds})["epoch"])


def next_timer(state_dir: _Dir = None) -> dt.datetime | None:
    """Jump to the next pending timer and fire it: the time jumped to, or ``None`` when
    nothing waits on the clock."""
    fired = _call("POST", state_dir, {"next_timer": True}).get("fired")
    return None if fired is None else _when(fired)


def speed(factor: float, state_dir: _Dir = None) -> float:
    """Run the service's time ``factor`` times as fast as real time (0 stops it, 1 is real
    speed); the time already gained stays."""
    return float(_call("POST", state_dir, {"speed": factor})["speed"])


def reset(state_dir: _Dir = None) -> dt.datetime:
    """Back to real time at real speed; refused while a run is ACTIVE or INACTIVE."""
    return _when(_call("POST", state_dir, {"reset": True})["epoch"])


def make_service(ctx: t.Any) -> t.Any:
    """The service side: the context's :class:`~.service.ServiceClock`."""
    from gladier_jupyter.local.clock.service import clock_of

    return clock_of(ctx)
