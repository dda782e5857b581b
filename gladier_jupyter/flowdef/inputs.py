"""What a definition reads: its parameters and Choice rules walked, transitions, input keys
required and optional."""

from __future__ import annotations

import typing as t

from gladier_jupyter.flowdef.expressions import expression_paths
from gladier_jupyter.flowdef.language import _TERMINAL_TYPES, CHOICE_COMPARATORS
from gladier_jupyter.flowdef.paths import _join, _key, input_key

__all__ = ["transitions", "input_paths", "required_input_keys", "optional_input_keys"]


def _walk_params(value: t.Any, path: str) -> t.Iterator[tuple[str, str, t.Any]]:
    """Yield (kind, path, value) for every ``.$`` / ``.=`` entry in a Parameters tree."""
    if isinstance(value, dict):
        for key, sub in value.items():
            sub_path = _key(path, key)
            if isinstance(key, str) and key.endswith(".$"):
                yield "$", sub_path, sub
            elif isinstance(key, str) and key.endswith(".="):
                yield "=", sub_path, sub
            else:
                yield from _walk_params(sub, sub_path)
    elif isinstance(value, list):
        for i, sub in enumerate(value):
            yield from _walk_params(sub, _key(path, i))


def _walk_rule(rule: t.Any, path: str) -> t.Iterator[tuple[str, str, t.Any]]:
    """Yield (field, path, value) for every path-valued field of a Choice rule, nested too."""
    if not isinstance(rule, dict):
        return
    if "Variable" in rule:
        yield "Variable", _key(path, "Variable"), rule["Variable"]
    for op in ("And", "Or"):
        if isinstance(rule.get(op), list):
            for i, sub in enumerate(rule[op]):
                yield from _walk_rule(sub, _key(_key(path, op), i))
    if "Not" in rule:
        yield from _walk_rule(rule["Not"], _key(path, "Not"))
    for op, val in rule.items():
        if op.endswith("Path") and op in CHOICE_COMPARATORS:
            yield op, _key(path, op), val


def transitions(state: t.Any) -> list[tuple[str, str, t.Any]]:
    """Every (kind, field path relative to the state, target) transition out of a state.

    kind is 'next', 'choice', 'default' or 'catch'; field path is like ``Choices[0].Next``.
    """
    out: list[tuple[str, str, t.Any]] = []
    if not isinstance(state, dict):
        return out
    if "Next" in state:
        out.append(("next", "Next", state["Next"]))
    if isinstance(state.get("Choices"), list):
        for i, rule in enumerate(state["Choices"]):
            if isinstance(rule, dict) and "Next" in rule:
                out.append(("choice", f"Choices[{i}].Next", rule["Next"]))
    if "Default" in state:
        out.append(("default", "Default", state["Default"]))
    if isinstance(state.get("Catch"), list):
        for i, catcher in enumerate(state["Catch"]):
            if isinstance(catcher, dict) and "Next" in catcher:
                out.append(("catch", f"Catch[{i}].Next", catcher["Next"]))
    return out


def _is_terminal(state: t.Any) -> bool:
    return isinstance(state, dict) and (
        state.get("Type") in _TERMINAL_TYPES or state.get("End") is True
    )


# --------------------------------------------------------------------------- reads


def input_paths(definition: t.Any) -> dict[str, list[str]]:
    """The JSONPaths (absolute, InputPath applied) each state reads from the flow's state.

    Covers InputPath, Parameters ``.$`` values, names used in ``.=`` expressions, Choice
    ``Variable`` and ``…Path`` comparisons, and Wait ``SecondsPath``/``TimestampPath``.
    """
    out: dict[str, list[str]] = {}
    states = definition.get("States") if isinstance(definition, dict) else None
    if not isinstance(states, dict):
        return out
    for name, state in states.items():
        if not isinstance(state, dict):
            continue
        found: list[str] = []

        def add(p: t.Any, found: list[str] = found) -> None:
            if isinstance(p, str) and p.startswith("$") and p not in found:
                found.append(p)

        base = state.get("InputPath") if isinstance(state.get("InputPath"), str) else None
        if base is not None:
            add(base)
        for kind, _path, value in _walk_params(state.get("Parameters"), "$"):
            if kind == "$" and isinstance(value, str):
                add(_join(base, value))
            elif kind == "=" and isinstance(value, str):
                for p in expression_paths(value):
                    add(_join(base, p))
        if isinstance(state.get("Parameters"), str):  # gladier's default "$.input." string
            add(_join(base, state["Parameters"].rstrip(".")))
        for rule in state.get("Choices") or [] if isinstance(state.get("Choices"), list) else []:
            for _field, _p, value in _walk_rule(rule, "$"):
                add(value)
        for field in ("SecondsPath", "TimestampPath"):
            add(state.get(field))
        out[name] = found
    return out


def required_input_keys(definition: t.Any) -> dict[str, list[str]]:
    """Each ``$.input.<key>`` the flow reads, mapped to the states (in definition order) reading it."""
    out: dict[str, list[str]] = {}
    for state, paths in input_paths(definition).items():
        for p in paths:
            key = input_key(p)
            if key is not None:
                readers = out.setdefault(key, [])
                if state not in readers:
                    readers.append(state)
    return out


def optional_input_keys(definition: t.Any) -> set[str]:
    """``$.input`` keys a Choice tests with ``IsPresent``: the flow handles their absence."""
    found: set[str] = set()

    def walk(rule: t.Any) -> None:
        if not isinstance(rule, dict):
            return
        if "IsPresent" in rule and isinstance(rule.get("Variable"), str):
            key = input_key(rule["Variable"])
            if key:
                found.add(key)
        for op in ("And", "Or"):
            for sub in rule.get(op) or [] if isinstance(rule.get(op), list) else []:
                walk(sub)
        walk(rule.get("Not"))

    states = definition.get("States") if isinstance(definition, dict) else None
    for state in (states or {}).values() if isinstance(states, dict) else []:
        if isinstance(state, dict) and isinstance(state.get("Choices"), list):
            for rule in state["Choices"]:
                walk(rule)
    return found
