"""The short texts drawn on the graph: marker ids, Choice rules, action kinds, clipping."""

from __future__ import annotations

import json
import typing as t

from gladier_jupyter import flowdef

__all__ = ["END", "START", "describe_rule"]

#: Ids of the start and end marker nodes (not valid gladier state names, so no clash). With
#: several terminal states each gets its own end marker, ``"(end) <state>"``.
START = "(start)"
END = "(end)"

_OPS = {"Equals": "==", "GreaterThan": ">", "GreaterThanEquals": ">=", "LessThan": "<",
        "LessThanEquals": "<=", "Matches": "matches"}


def _short_path(path: t.Any) -> str:
    return str(path)[2:] if isinstance(path, str) and path.startswith("$.") else str(path)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def describe_rule(rule: t.Any, limit: int = 48) -> str:
    """Short form of a Choice rule: ``input.n >= 3``, ``not (mode present)``, ``a and b``."""

    def go(r: t.Any) -> str:
        if not isinstance(r, dict):
            return "?"
        for op, joiner in (("And", " and "), ("Or", " or ")):
            if isinstance(r.get(op), list):
                return joiner.join(f"({go(s)})" if len(r[op]) > 1 else go(s) for s in r[op])
        if "Not" in r:
            return f"not ({go(r['Not'])})"
        var = _short_path(r.get("Variable"))
        for key, value in r.items():
            if key in ("Variable", "Next") or key not in flowdef.CHOICE_COMPARATORS:
                continue
            if key.startswith("Is"):
                what = key[2:].lower()
                if what == "present":
                    return f"{var} {'present' if value else 'absent'}"
                return f"{var} is {'' if value else 'not '}{what}"
            base = key[:-4] if key.endswith("Path") else key
            for suffix, sym in sorted(_OPS.items(), key=lambda kv: -len(kv[0])):
                if base.endswith(suffix):
                    shown = _short_path(value) if key.endswith("Path") else json.dumps(value)
                    return f"{var} {sym} {shown}"
        return var

    return _clip(go(rule), limit)


def _action_kind(url: t.Any) -> tuple[str, str]:
    """(kind, caption) of an ActionUrl: compute, search, transfer or a plain action."""
    text = str(url or "").lower()
    if "compute" in text or "funcx" in text:
        return "compute", "Compute"
    if "search" in text:
        if "delete" in text:
            return "search", "Search delete"
        return "search", "Search ingest"
    if "transfer" in text:
        if "delete" in text:
            return "transfer", "Transfer delete"
        return "transfer", "Transfer"
    return "action", str(url or "no ActionUrl")

