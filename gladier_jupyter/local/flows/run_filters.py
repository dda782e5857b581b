"""The ``GET /runs`` filters and ordering of the Flows API, applied to run documents.

Time filters, from the Flows API reference (``filter_start_time``,
``filter_completion_time``): "Given a pair of comma separated ISO 8601 date/time strings,
filter results to only those runs which started execution within the specified range. If
one of the dates is omitted, it forms an open range. [...] If there is no comma, it is
treated in the same way as "DT,". Results will contain runs which began between the first
datetime onwards, up to (but not including) the second datetime." Runs still executing
have no completion time and are excluded by ``filter_completion_time``.

Roles (``filter_roles``, globus-sdk's ``list_runs``): ``run_owner``, ``run_manager``,
``run_monitor``, ``flow_run_manager``, ``flow_run_monitor``; a run matches when the user
has at least one of them. The local user owns every local run.
"""

from __future__ import annotations

import datetime as dt
import functools
import typing as t

__all__ = ["QUERY_FILTERS", "ROLES", "ORDER_FIELDS", "run_filter", "run_order"]

#: Single-valued filters of the query string handled here.
QUERY_FILTERS = ("filter_start_time", "filter_completion_time", "filter_fulltext", "filter_run_id")
ROLES = ("run_owner", "run_manager", "run_monitor", "flow_run_manager", "flow_run_monitor")
ORDER_FIELDS = ("id", "run_id", "start_time", "completion_time", "status", "label", "flow_title",
                "flow_id", "created_at")

Doc = dict[str, t.Any]


def _shown(value: str, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 4] + "...'"


def _when(text: str, name: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{name} {_shown(text)} is not an ISO 8601 date/time range; write "
                         "'2021-03-09T21:52:14,2021-03-09T21:53' (either side may be empty).",
                         name) from None
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def _range(raw: str, name: str) -> tuple[dt.datetime | None, dt.datetime | None]:
    low, _, high = raw.partition(",")
    return (_when(low, name) if low.strip() else None, _when(high, name) if high.strip() else None)


def _in_range(value: t.Any, bounds: tuple[dt.datetime | None, dt.datetime | None]) -> bool:
    if not isinstance(value, str):
        return False
    try:
        when = _when(value, "time")
    except ValueError:
        return False
    low, high = bounds
    return (low is None or when >= low) and (high is None or when < high)


def _field_in_range(doc: Doc, *, field: str,
                    bounds: tuple[dt.datetime | None, dt.datetime | None]) -> bool:
    return _in_range(doc.get(field), bounds)


def _sort_key(doc: Doc, *, field: str) -> tuple[bool, str]:
    """A missing value sorts first ascending."""
    return (doc.get(field) is not None, str(doc.get(field) or ""))


def run_filter(selected: dict[str, str | None], roles: list[str], user: str,
               get_flow: t.Callable[[str], Doc | None]) -> t.Callable[[Doc], bool]:
    """A predicate for run documents; ``ValueError(message, query_name)`` for a bad filter."""
    tests: list[t.Callable[[Doc], bool]] = []
    for field, name in (("start_time", "filter_start_time"), ("completion_time", "filter_completion_time")):
        raw = selected.get(name)
        if raw:
            bounds = _range(raw, name)
            tests.append(functools.partial(_field_in_range, field=field, bounds=bounds))
    text = (selected.get("filter_fulltext") or "").strip().lower()
    if text:
        tests.append(lambda d: text in " ".join(
            [d.get("label") or "", d.get("flow_title") or "", *map(str, d.get("tags") or [])]).lower())
    run_ids = {v.strip() for v in (selected.get("filter_run_id") or "").split(",") if v.strip()}
    if run_ids:
        tests.append(lambda d: d.get("run_id") in run_ids)
    if roles:
        unknown = [r for r in roles if r not in ROLES]
        if unknown:
            raise ValueError(f"filter_roles {_shown(unknown[0])} is not a run role; use one of "
                             f"{', '.join(ROLES)}.", "filter_roles")
        flows: dict[str, Doc | None] = {}

        def flow_lists(d: Doc, key: str) -> list[str]:
            flow_id = d.get("flow_id", "")
            if flow_id not in flows:
                flows[flow_id] = get_flow(flow_id)
            return list((flows[flow_id] or {}).get(key) or [])

        def has_role(d: Doc) -> bool:
            for role in roles:
                if role == "run_owner" and d.get("run_owner") == user:
                    return True
                if role in ("run_manager", "run_monitor") and user in (d.get(f"{role}s") or []):
                    return True
                if role.startswith("flow_") and user in flow_lists(d, role[len("flow_"):] + "s"):
                    return True
            return False

        tests.append(has_role)
    return lambda d: all(test(d) for test in tests)


def run_order(orderby: str | None) -> t.Callable[[list[Doc]], list[Doc]]:
    """A sort of run documents by ``orderby`` (default: newest first)."""
    criteria: list[tuple[str, bool]] = []
    for part in (orderby or "").split(","):
        if not part.strip():
            continue
        field, _, direction = part.strip().partition(" ")
        direction = direction.strip().upper() or "ASC"
        if field not in ORDER_FIELDS or direction not in ("ASC", "DESC"):
            raise ValueError(f"orderby {_shown(part.strip())} is not 'FIELD ASC' or 'FIELD DESC' with "
                             f"FIELD one of {', '.join(ORDER_FIELDS)}.", "orderby")
        criteria.append(("run_id" if field == "id" else "start_time" if field == "created_at" else field,
                         direction == "DESC"))

    def order(docs: list[Doc]) -> list[Doc]:
        # Stable sorts, last criterion first; a missing value sorts first ascending.
        for field, descending in reversed(criteria):
            docs = sorted(docs, key=functools.partial(_sort_key, field=field), reverse=descending)
        return docs

    return order
