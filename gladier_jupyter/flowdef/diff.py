"""What changed between two flow definitions: per state added, removed, changed (each field
with its JSON path, old and new) or unchanged, the top-level fields, and the compute functions
whose source changed.

Pure: two definitions (and, optionally, a fingerprint per compute function on each side) in,
a JSON-ready :class:`DefinitionDiff` out. Key order never counts (a dict is compared by its
keys); list items are compared by position, as the flow language reads them (a Choice rule
moved up is a change: Choices are tried in order). A renamed state is a removed state plus an
added one: the definition carries no identity but the name.

Functions: gladier hands a state its compute function through the flow input
(``"function.$": "$.input.<name>_function_id"``), so a function whose source changed leaves
the definition as it was. Pass ``old_functions`` / ``new_functions`` (input key → fingerprint:
the function id or a source checksum) and the states that call a changed function are marked.
"""

from __future__ import annotations

import dataclasses
import typing as t

from gladier_jupyter.flowdef.paths import _key as _child
from gladier_jupyter.flowdef.paths import input_key

__all__ = ["DefinitionDiff", "FieldChange", "StateDiff", "diff_definitions", "function_keys"]

_FUNCTION_FIELDS = ("function.$", "function_id.$", "func.$")
_MISSING: t.Any = object()


@dataclasses.dataclass(frozen=True)
class FieldChange:
    """One field that differs: ``op`` is ``added``, ``removed`` or ``changed``."""

    path: str
    op: str
    old: t.Any = None
    new: t.Any = None

    def to_dict(self) -> dict[str, t.Any]:
        out: dict[str, t.Any] = {"path": self.path, "op": self.op}
        if self.op != "added":
            out["old"] = self.old
        if self.op != "removed":
            out["new"] = self.new
        return out

    def __str__(self) -> str:
        if self.op == "added":
            return f"{self.path}: + {_short(self.new)}"
        if self.op == "removed":
            return f"{self.path}: - {_short(self.old)}"
        return f"{self.path}: {_short(self.old)} → {_short(self.new)}"


def _short(value: t.Any, limit: int = 60) -> str:
    import json

    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _compare(old: t.Any, new: t.Any, path: str, out: list[FieldChange]) -> None:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in list(old) + [k for k in new if k not in old]:
            a, b = old.get(key, _MISSING), new.get(key, _MISSING)
            where = _child(path, str(key))
            if a is _MISSING:
                out.append(FieldChange(where, "added", new=b))
            elif b is _MISSING:
                out.append(FieldChange(where, "removed", old=a))
            else:
                _compare(a, b, where, out)
    elif isinstance(old, list) and isinstance(new, list):
        for i in range(max(len(old), len(new))):
            where = _child(path, i)
            if i >= len(old):
                out.append(FieldChange(where, "added", new=new[i]))
            elif i >= len(new):
                out.append(FieldChange(where, "removed", old=old[i]))
            else:
                _compare(old[i], new[i], where, out)
    elif type(old) is not type(new) or old != new:
        # type() too: JSON's true and 1 are different values
        out.append(FieldChange(path, "changed", old=old, new=new))


def function_keys(state: t.Any) -> list[str]:
    """The flow-input keys a state takes its compute function ids from (``$.input.<key>``)."""
    found: list[str] = []

    def walk(v: t.Any) -> None:
        if isinstance(v, dict):
            for k, sub in v.items():
                if k in _FUNCTION_FIELDS and isinstance(sub, str):
                    key = input_key(sub)
                    if key and key not in found:
                        found.append(key)
                else:
                    walk(sub)
        elif isinstance(v, list):
            for sub in v:
                walk(sub)

    walk(state.get("Parameters") if isinstance(state, dict) else None)
    return found


@dataclasses.dataclass
class StateDiff:
    """One state: ``status`` is ``added``, ``removed``, ``changed`` or ``unchanged``."""

    name: str
    status: str
    changes: list[FieldChange] = dataclasses.field(default_factory=list)
    #: input keys of the compute functions it calls whose fingerprint changed
    functions: list[str] = dataclasses.field(default_factory=list)

    def to_dict(self) -> dict[str, t.Any]:
        return {"name": self.name, "status": self.status,
                "changes": [c.to_dict() for c in self.changes], "functions": list(self.functions)}


@dataclasses.dataclass
class DefinitionDiff:
    """The diff of two definitions; ``changed`` is False when nothing differs."""

    states: dict[str, StateDiff]
    #: changes outside States (StartAt, Comment, ...)
    top: list[FieldChange]
    #: input key → {"old", "new", "states"} for each compute function whose fingerprint changed
    functions: dict[str, dict[str, t.Any]]

    @property
    def changed(self) -> bool:
        return bool(self.top) or any(s.status != "unchanged" for s in self.states.values())

    def names(self, status: str) -> list[str]:
        """The states with this status, in definition order."""
        return [n for n, s in self.states.items() if s.status == status]

    def summary(self) -> str:
        """One line: how many states were added, removed, changed; which functions changed."""
        if not self.changed:
            return "No change."
        parts = [f"{len(self.names(s))} {s}" for s in ("added", "removed", "changed")
                 if self.names(s)]
        if self.top:
            parts.append("top-level fields " + ", ".join(c.path for c in self.top))
        if self.functions:
            parts.append("functions changed: " + ", ".join(sorted(self.functions)))
        return "; ".join(parts) + "."

    def to_dict(self) -> dict[str, t.Any]:
        return {"changed": self.changed, "summary": self.summary(),
                "states": {n: s.to_dict() for n, s in self.states.items()},
                "top": [c.to_dict() for c in self.top],
                "functions": {k: dict(v) for k, v in self.functions.items()}}

    def to_text(self) -> str:
        """The diff as plain text, one line per state and field."""
        lines = [self.summary()]
        lines += [f"  {c}" for c in self.top]
        marks = {"added": "+", "removed": "-", "changed": "~"}
        for name, s in self.states.items():
            if s.status == "unchanged":
                continue
            extra = f" (function changed: {', '.join(s.functions)})" if s.functions else ""
            lines.append(f"{marks[s.status]} {name}{extra}")
            lines += [f"    {c}" for c in s.changes]
        return "\n".join(lines)


def _states(definition: t.Any) -> dict[str, t.Any]:
    states = definition.get("States") if isinstance(definition, dict) else None
    return states if isinstance(states, dict) else {}


def diff_definitions(
    old: t.Any,
    new: t.Any,
    *,
    old_functions: t.Mapping[str, t.Any] | None = None,
    new_functions: t.Mapping[str, t.Any] | None = None,
) -> DefinitionDiff:
    """What changed from ``old`` to ``new`` (flow definition dicts).

    States come in ``new``'s order, then the removed ones in ``old``'s order. A function
    counts as changed only when both sides name a fingerprint for its key and they differ.
    """
    old_states, new_states = _states(old), _states(new)
    old_functions, new_functions = old_functions or {}, new_functions or {}
    changed_functions = {
        key: {"old": old_functions[key], "new": value, "states": []}
        for key, value in new_functions.items()
        if key in old_functions and old_functions[key] != value
    }
    states: dict[str, StateDiff] = {}
    for name, state in new_states.items():
        where = _child("$.States", str(name))
        if name not in old_states:
            states[name] = StateDiff(name, "added")
            continue
        changes: list[FieldChange] = []
        _compare(old_states[name], state, where, changes)
        funcs = [k for k in function_keys(state) if k in changed_functions]
        for key in funcs:
            changed_functions[key]["states"].append(name)
        states[name] = StateDiff(name, "changed" if changes or funcs else "unchanged",
                                 changes, funcs)
    for name in old_states:
        if name not in new_states:
            states[name] = StateDiff(name, "removed")
    top: list[FieldChange] = []
    old_top = {k: v for k, v in old.items() if k != "States"} if isinstance(old, dict) else {}
    new_top = {k: v for k, v in new.items() if k != "States"} if isinstance(new, dict) else {}
    _compare(old_top, new_top, "$", top)
    return DefinitionDiff(states, top, changed_functions)
