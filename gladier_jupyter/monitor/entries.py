"""What one run-log entry says, as text: its event-log row and kind, a failed state's
message and traceback (wherever the provider put them), a value shown as JSON, and the
Flows API's times and durations as the views show them."""

from __future__ import annotations

import datetime as _dt
import json
import math
import typing as t

__all__ = [
    "MAX_JSON_CHARS",
    "event_kind",
    "failure_text",
    "format_duration",
    "json_text",
    "last_line",
    "log_row",
    "parse_time",
    "walk",
]

#: Cap on one JSON value (state input/output) sent to the page.
MAX_JSON_CHARS = 20_000


def last_line(text: str) -> str:
    """The last non-blank line of ``text`` (at most 300 characters)."""
    lines = [line.strip() for line in str(text or "").strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""


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


def event_kind(code: str) -> str:
    """What a log entry's code tells: flow, started, succeeded, failed, caught or other."""
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


def walk(value: t.Any, depth: int = 0) -> t.Iterator[tuple[str, t.Any]]:
    """Every ``(key, value)`` of a nested document, at most 12 levels deep."""
    if depth > 12:
        return
    if isinstance(value, dict):
        for k, v in value.items():
            yield str(k), v
            yield from walk(v, depth + 1)
    elif isinstance(value, list):
        for v in value:
            yield from walk(v, depth + 1)


def failure_text(entry: t.Mapping[str, t.Any]) -> tuple[str, str]:
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
    for key, value in walk(details):
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


def json_text(value: t.Any) -> str:
    """``value`` as indented JSON, cut at ``MAX_JSON_CHARS`` ("" for None)."""
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
