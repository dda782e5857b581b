"""What a query's matches become: ``filters`` applied, grouped by subject, sorted, ``terms``
facets counted (the parts of a ``POST`` query beyond the query string)."""

from __future__ import annotations

import typing as t

from .errors import ValidationError

__all__ = ["facet_results", "group_by_subject", "passes", "sorted_subjects"]


def _values(content: t.Any, field: str) -> list[t.Any]:
    """Every leaf value at a dotted field path (lists are walked through)."""
    current = [content]
    for part in field.split("."):
        nxt = []
        for value in current:
            if isinstance(value, list):
                value_items = value
            else:
                value_items = [value]
            for item in value_items:
                if isinstance(item, dict) and part in item:
                    nxt.append(item[part])
        current = nxt
    leaves: list[t.Any] = []
    for value in current:
        leaves.extend(value if isinstance(value, list) else [value])
    return leaves


def _norm(value: t.Any) -> str:
    return str(value).lower() if not isinstance(value, bool) else str(value).lower()


def passes(content: dict[str, t.Any], flt: t.Any) -> bool:
    if not isinstance(flt, dict) or not isinstance(flt.get("field_name"), str):
        raise ValidationError(f"The filter {flt!r} needs a 'field_name'.")
    kind = flt.get("type", "match_any")
    present = _values(content, flt["field_name"])
    if kind in ("match_any", "match_all"):
        wanted = flt.get("values")
        if not isinstance(wanted, list):
            raise ValidationError(f"The {kind} filter on {flt['field_name']!r} needs 'values'.")
        have = {_norm(v) for v in present}
        hits = [_norm(v) in have for v in wanted]
        ok = any(hits) if kind == "match_any" else all(hits)
    elif kind == "range":
        ranges = flt.get("values")
        if not isinstance(ranges, list):
            raise ValidationError(f"The range filter on {flt['field_name']!r} needs 'values'.")
        ok = any(_in_range(v, r) for v in present for r in ranges)
    elif kind == "exists":
        ok = bool(present)
    else:
        raise ValidationError(
            f"The filter type {kind!r} is not supported here; use match_any, match_all, "
            "range or exists."
        )
    return not ok if flt.get("negate") else ok


def _in_range(value: t.Any, rng: t.Any) -> bool:
    if not isinstance(rng, dict):
        raise ValidationError(f"The range {rng!r} must be an object with 'from' and 'to'.")
    low, high = rng.get("from", "*"), rng.get("to", "*")

    def cmp(a: t.Any, b: t.Any) -> int:
        try:
            fa, fb = float(a), float(b)
            return (fa > fb) - (fa < fb)
        except (TypeError, ValueError):
            sa, sb = str(a), str(b)
            return (sa > sb) - (sa < sb)

    if low not in (None, "*") and cmp(value, low) < 0:
        return False
    return not (high not in (None, "*") and cmp(value, high) > 0)


def group_by_subject(
    hits: list[tuple[dict[str, t.Any], float]],
) -> list[tuple[str, list[dict[str, t.Any]]]]:
    groups: dict[str, list[dict[str, t.Any]]] = {}
    for entry, _rank in hits:  # hits come best first: a subject ranks by its best entry
        groups.setdefault(entry["subject"], []).append(entry)
    return list(groups.items())


def sorted_subjects(
    subjects: list[tuple[str, list[dict[str, t.Any]]]], sort: list[dict[str, t.Any]]
) -> list[tuple[str, list[dict[str, t.Any]]]]:
    out = list(subjects)
    for rule in reversed(sort):
        if not isinstance(rule, dict) or not isinstance(rule.get("field_name"), str):
            raise ValidationError(f"The sort rule {rule!r} needs a 'field_name'.")
        field = rule["field_name"]
        reverse = rule.get("order", "asc") == "desc"

        def key(item: tuple[str, list[dict[str, t.Any]]], field: str = field) -> tuple:
            values = [v for e in item[1] for v in _values(e["content"], field)]
            if not values:
                return (1, 0, "")
            value = values[0]
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return (0, float(value), "")
            return (0, 0, str(value))

        present = [s for s in out if key(s)[0] == 0]
        missing = [s for s in out if key(s)[0] == 1]
        out = sorted(present, key=key, reverse=reverse) + missing
    return out


def facet_results(facets: list[dict[str, t.Any]], entries: list[dict[str, t.Any]]) -> list[dict]:
    results = []
    for facet in facets:
        if not isinstance(facet, dict) or not isinstance(facet.get("field_name"), str):
            raise ValidationError(f"The facet {facet!r} needs a 'field_name'.")
        kind = facet.get("type", "terms")
        if kind != "terms":
            raise ValidationError(f"The facet type {kind!r} is not supported here; use terms.")
        counts: dict[str, int] = {}
        for entry in entries:
            for value in {str(v) for v in _values(entry["content"], facet["field_name"])}:
                counts[value] = counts.get(value, 0) + 1
        size = int(facet.get("size", 10))
        buckets = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:size]
        results.append(
            {
                "name": facet.get("name", facet["field_name"]),
                "buckets": [{"value": v, "count": c} for v, c in buckets],
            }
        )
    return results
