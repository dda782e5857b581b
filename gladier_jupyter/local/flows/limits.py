"""The limits one run lives within, and how a log entry is shrunk once its run's log is big.

Globus documents a run's limits at https://docs.globus.org/api/flows/limits/ ("Run Limits"):
a run may execute for at most one year (``MAX_RUN_SECONDS``) and its state may hold 200 KB.
It documents no limit on a run's number of states or on its log: there the local service
follows AWS Step Functions, the reference service of the States Language, whose standard
workflows keep at most 25,000 history events per execution (``MAX_LOG_ENTRIES``). Without
such a cap a Choice loop that never takes its exit writes the log (and so the database)
without end and keeps the service busy for ever.

A run's log entries are stored whole until the run's log holds ``LOG_FULL_BYTES``; past
that, every big value in a new entry is cut to its head with a marker
(:func:`shrink_entry`), so a loop over a large input costs a few hundred bytes per entry.
With both limits one run's log holds at most about
``LOG_FULL_BYTES + MAX_LOG_ENTRIES * MAX_SHRUNK_ENTRY`` bytes (57 MiB).
"""

from __future__ import annotations

import datetime as dt
import itertools
import typing as t

__all__ = [
    "LOG_FULL_BYTES",
    "MAX_LOG_ENTRIES",
    "MAX_RUN_SECONDS",
    "MAX_SHRUNK_ENTRY",
    "LIMITS_URL",
    "duration_cause",
    "entries_cause",
    "run_deadline",
    "shrink_entry",
]

LIMITS_URL = "https://docs.globus.org/api/flows/limits/"
#: Globus: "Runs may continue executing for up to one year before being terminated."
MAX_RUN_SECONDS = 365 * 24 * 3600.0
#: Log entries one run may write (AWS Step Functions' 25,000 history events per execution).
MAX_LOG_ENTRIES = 25_000
#: Bytes of log a run keeps whole; later entries have their big values cut.
LOG_FULL_BYTES = 8 * 1024 * 1024
#: The most one shrunk entry takes (its JSON, in bytes).
MAX_SHRUNK_ENTRY = 2048

_KEEP_CHARS = 200  # of a long string: its head, which says what it was
_KEEP_DESCRIPTION = 1000  # the entry's description: a run's failure reason is in it
_KEEP_KEYS = 16  # of a big object: its first keys
_DEPTH = 3


def run_deadline(start_time: t.Any) -> float | None:
    """The epoch second at which a run started at ``start_time`` (ISO 8601) must end."""
    if not isinstance(start_time, str):
        return None
    try:
        start = dt.datetime.fromisoformat(start_time.replace("Z", "+00:00"))
    except ValueError:
        return None
    if start.tzinfo is None:
        start = start.replace(tzinfo=dt.timezone.utc)
    return start.timestamp() + MAX_RUN_SECONDS


def entries_cause(state: str) -> str:
    """Why a run that wrote ``MAX_LOG_ENTRIES`` log entries was stopped (one line)."""
    return (f"The run wrote {MAX_LOG_ENTRIES:,} log entries, the most one run may write in the "
            f"local Flows service, and was stopped before state {state}: does a loop never take "
            "its exit? Give the loop an end condition, or split the work over several runs.")


def duration_cause(state: str, what: str = "") -> str:
    """Why a run past its maximum duration of one year was stopped (one line)."""
    return (f"{what or 'The run reached'} the maximum run duration of Globus Flows, 1 year from "
            f"the run's start ({LIMITS_URL}), and was stopped at state {state}.")


def shrink_entry(entry: dict[str, t.Any], budget: int) -> dict[str, t.Any]:
    """``entry`` with every big value cut to its head and a marker, at most
    ``MAX_SHRUNK_ENTRY`` bytes of JSON; small entries come back as they are."""
    if _size(entry, MAX_SHRUNK_ENTRY) <= MAX_SHRUNK_ENTRY:
        return entry
    why = f"the run's log is over {budget // (1024 * 1024)} MiB"
    out = {k: _cut(v, why, _KEEP_DESCRIPTION) if k == "description" and isinstance(v, str)
           else _shrink(v, why, 0) for k, v in entry.items()}
    if _size(out, MAX_SHRUNK_ENTRY) > MAX_SHRUNK_ENTRY:
        # Still too big (many keys, long names): keep what names the entry only.
        details = entry.get("details")
        kept: dict[str, t.Any] = {}
        if isinstance(details, dict):
            for key in ("state_name", "state_type"):
                if isinstance(details.get(key), str):
                    kept[key] = _cut(details[key], why, 100)
        kept["left_out"] = f"[details left out: {why}]"
        out = {"time": _cut(str(entry.get("time", "")), why, 100),
               "code": _cut(str(entry.get("code", "")), why, 100),
               "description": _cut(str(entry.get("description", "")), why, _KEEP_DESCRIPTION),
               "details": kept}
    return out


def _cut(text: str, why: str, keep: int = _KEEP_CHARS) -> str:
    if len(text) <= keep:
        return text
    return f"{text[:keep]}...[{len(text) - keep} more characters left out: {why}]"


def _shrink(value: t.Any, why: str, depth: int) -> t.Any:
    if isinstance(value, str):
        return _cut(value, why)
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if _size(value, _KEEP_CHARS) <= _KEEP_CHARS:
        return value
    if isinstance(value, dict) and depth < _DEPTH:
        out = {_cut(str(k), why): _shrink(v, why, depth + 1)
               for k, v in itertools.islice(value.items(), _KEEP_KEYS)}
        if len(value) > _KEEP_KEYS:
            out["..."] = f"[{len(value) - _KEEP_KEYS} more keys left out: {why}]"
        return out
    if isinstance(value, list) and depth < _DEPTH:
        out_list = [_shrink(v, why, depth + 1) for v in value[:4]]
        if len(value) > 4:
            out_list.append(f"[{len(value) - 4} more items left out: {why}]")
        return out_list
    return f"[a {type(value).__name__} of more than {_KEEP_CHARS} bytes left out: {why}]"


def _size(value: t.Any, stop: int) -> int:
    """About the length of ``value``'s JSON, counted only until it passes ``stop``: the
    shrinking looks at entries of a runaway run many times, and encoding them costs."""
    total = 0
    todo = [value]
    while todo and total <= stop:
        item = todo.pop()
        if isinstance(item, str):
            # Non-ASCII characters are \uXXXX escapes in the stored JSON.
            total += 2 + (len(item) if item.isascii() else 6 * len(item))
        elif isinstance(item, (dict, list, tuple)):
            total += 2 + len(item)
            if total > stop:
                break
            todo.extend(itertools.chain.from_iterable(item.items()) if isinstance(item, dict) else item)
        elif item is None or isinstance(item, bool):
            total += 5
        elif isinstance(item, (int, float)):
            total += len(repr(item))
        else:
            total += len(str(item))
    return total
