"""What the Flows service checks of a flow definition and derives from it.

The checks a definition must pass to be created, updated or run (the package's own
:mod:`gladier_jupyter.flowdef` validation, then what Globus refuses of the run context
and of RunAs), as the ``(loc, msg, type)`` triples of a 422 answer; and what a flow
document derives from its definition: its scope, and one scope per RunAs role.
"""

from __future__ import annotations

import re
import typing as t

from gladier_jupyter import flowdef

__all__ = ["flow_scope", "run_as_roles", "run_as_scopes", "shown_value", "validate_definition"]


def flow_scope(flow_id: str) -> str:
    return f"https://auth.globus.org/scopes/{flow_id}/flow_{flow_id.replace('-', '_')}_user"


def run_as_scopes(flow_id: str, definition: t.Any) -> dict[str, str]:
    """``globus_auth_scopes_by_RunAs``: one scope per RunAs role ("the flows service creates
    a separate scope for each role which appears as part of a RunAs property")."""
    return {role: f"https://auth.globus.org/scopes/{flow_id}/flow_{flow_id.replace('-', '_')}_{role}"
            for role in run_as_roles(definition)}


def _problem_loc(path: t.Any) -> list[t.Any]:
    if isinstance(path, (list, tuple)):
        return ["definition", *path]
    text = str(path or "$")
    parts: list[t.Any] = []
    for m in re.finditer(r"\.([^.\[\]]+)|\[(\d+)\]|\[['\"](.*?)['\"]\]", text):
        if m.group(1) is not None:
            parts.append(m.group(1))
        elif m.group(2) is not None:
            parts.append(int(m.group(2)))
        else:
            parts.append(m.group(3))
    return ["definition", *parts]


#: RunAs values that name no role of the run's input (Performing Actions as Different Users).
_BUILTIN_RUN_AS = ("User", "Flow")


def run_as_roles(definition: t.Any) -> list[str]:
    """The role names Action states run as, which a run's input must bring tokens for."""
    states = definition.get("States") if isinstance(definition, dict) else None
    roles: set[str] = set()
    for state in (states or {}).values():
        if isinstance(state, dict) and state.get("Type") == "Action":
            role = state.get("RunAs")
            if isinstance(role, str) and role not in _BUILTIN_RUN_AS:
                roles.add(role)
    return sorted(roles)


def _writes_context(path: t.Any) -> bool:
    return isinstance(path, str) and re.match(r"^\$(\._context|\[['\"]_context['\"]\])(?![\w-])", path.strip()) is not None


def _context_problems(definition: t.Any) -> list[tuple[list[t.Any], str, str]]:
    """Run Context: "As this is a read-only value, the _context cannot be overwritten by
    using the path in a ResultPath on any state"; nor by a result stored at ``$`` that
    holds a ``_context`` key. Also: RunAs "is a property of an Action state and cannot be
    used on other state types" (Performing Actions as Different Users)."""
    states = definition.get("States") if isinstance(definition, dict) else None
    problems: list[tuple[list[t.Any], str, str]] = []
    for name, state in (states or {}).items() if isinstance(states, dict) else ():
        if not isinstance(state, dict):
            continue
        stype = state.get("Type")
        if "RunAs" in state and stype != "Action":
            problems.append((["definition", "States", name, "RunAs"],
                             f"State {name!r} ({stype}) sets RunAs {shown_value(state['RunAs'])}, but RunAs is "
                             "a property of Action states only; remove it or make the state an Action.",
                             "value_error"))
        targets = [(["definition", "States", name, "ResultPath"], state.get("ResultPath", "$"))]
        for i, catcher in enumerate(state.get("Catch") or [] if isinstance(state.get("Catch"), list) else []):
            if isinstance(catcher, dict) and "ResultPath" in catcher:
                targets.append((["definition", "States", name, "Catch", i, "ResultPath"], catcher["ResultPath"]))
        for loc, path in targets:
            if _writes_context(path):
                problems.append((loc, f"State {name!r} has ResultPath {shown_value(path)}, which would overwrite "
                                 "the read-only run context $._context; store the result elsewhere, "
                                 "such as '$.result'.", "value_error"))
        if stype in ("Pass", "ExpressionEval") and state.get("ResultPath", "$") == "$":
            result = state.get("Result") if "Result" in state else state.get("Parameters")
            if isinstance(result, dict):
                keys = [k for k in result if isinstance(k, str) and (k[:-2] if k.endswith((".$", ".=")) else k) == "_context"]
                if keys:
                    field = "Result" if "Result" in state else "Parameters"
                    problems.append((["definition", "States", name, field, keys[0]],
                                     f"State {name!r} stores its {field} at '$' with a key {keys[0]!r}, which "
                                     "would overwrite the read-only run context $._context; rename the "
                                     "key or set a ResultPath such as '$.result'.", "value_error"))
    return problems


def shown_value(value: t.Any, limit: int = 60) -> str:
    """``repr(value)``, shortened for a message."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 4] + "...'"


def validate_definition(definition: t.Any) -> list[tuple[list[t.Any], str, str]]:
    """Every error-severity problem of a definition as ``(loc, msg, type)``."""
    problems = _validate_definition(definition)
    seen = {tuple(loc) for loc, _, _ in problems}
    problems.extend(p for p in _context_problems(definition) if tuple(p[0]) not in seen)
    return problems


def _validate_definition(definition: t.Any) -> list[tuple[list[t.Any], str, str]]:
    problems: list[tuple[list[t.Any], str, str]] = []
    for p in flowdef.validate(definition):
        if getattr(p, "severity", "error") != "error":
            continue
        problems.append((_problem_loc(p.path), p.message, getattr(p, "code", "value_error")))
    return problems
