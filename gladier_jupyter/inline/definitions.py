"""``%%gladier_tool NAME --definition``: a static flow definition (JSON or YAML) as a tool."""

from __future__ import annotations

import json
import typing as t

from gladier_jupyter.inline.cells import ToolSpec, _check_identifier, _install, _usage
from gladier_jupyter.inline.values import _json_error, _split_list

__all__ = ["parse_definition", "make_definition_tool"]


def parse_definition(name: str, text: str) -> dict[str, t.Any]:
    """A flow definition from JSON or YAML cell text; errors carry the cell's line and column."""
    stripped = text.strip()
    if not stripped:
        raise _usage(
            f"The %%gladier_tool {name} --definition cell is empty; put a flow definition "
            "(JSON or YAML with StartAt and States) in it."
        )
    if stripped.startswith(("{", "[")):
        try:
            value = json.loads(text)
        except json.JSONDecodeError as err:
            raise _usage(
                _json_error(f"The flow definition of tool {name!r}", text, err, line_offset=1)
            ) from None
    else:
        import yaml

        from gladier_jupyter import flowtext

        try:
            # Safe and without aliases: a few lines of aliases can stand for gigabytes.
            value = yaml.load(  # a SafeLoader subclass
                text, Loader=flowtext.yaml_loader(f"The flow definition of tool {name!r}"))
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            where = f" at line {mark.line + 2}, column {mark.column + 1}" if mark else ""
            problem = getattr(err, "problem", None) or str(err).splitlines()[0]
            raise _usage(
                f"The flow definition of tool {name!r} is not valid YAML: {problem}{where}; "
                "fix the YAML (or write JSON)."
            ) from None
    if not isinstance(value, dict) or "States" not in value or "StartAt" not in value:
        raise _usage(
            f"The flow definition of tool {name!r} must be an object with 'StartAt' and "
            f"'States', got {type(value).__name__}{_keys_shown(value)}."
        )
    return value


def _keys_shown(value: t.Any) -> str:
    if not isinstance(value, dict) or not value:
        return ""
    keys = sorted(str(k)[:40] for k in value)
    more = f" and {len(keys) - 8} more" if len(keys) > 8 else ""
    return " with the keys " + ", ".join(repr(k) for k in keys[:8]) + more


def _validate_definition(name: str, definition: dict[str, t.Any]) -> list[t.Any]:
    """Errors stop the cell; the remaining problems (warnings) are returned for display."""
    from gladier_jupyter.flowdef import validate

    problems = list(validate(definition))
    errors = [p for p in problems if getattr(p, "severity", "error") == "error"]
    if errors:
        if len(errors) == 1:
            raise _usage(f"The flow definition of tool {name!r} is invalid: {errors[0].message}")
        listed = "\n".join(f"  - {p.message}" for p in errors)
        raise _usage(
            f"The flow definition of tool {name!r} is invalid; {len(errors)} problems:\n{listed}"
        )
    return problems


def make_definition_tool(
    name: str,
    text: str,
    user_ns: dict[str, t.Any],
    *,
    required: t.Iterable[str] | None = None,
    flow_input: dict[str, t.Any] | None = None,
    transition_states: t.Iterable[str] | None = None,
    comment: str | None = None,
) -> tuple[type, list[t.Any]]:
    """Define ``name`` as a tool whose flow is the static definition in ``text``.

    Returns the class and the validator's warnings.
    """
    _check_identifier("Tool", name)
    definition = parse_definition(name, text)
    warnings = _validate_definition(name, definition)
    transitions = _split_list(transition_states)
    unknown = [s for s in transitions if s not in definition["States"]]
    if unknown:
        raise _usage(
            f"--transition-states names {unknown[0]!r}, which is not a state of tool {name!r}; "
            f"the states are {', '.join(definition['States'])}."
        )
    if comment:
        definition["Comment"] = comment
    attrs: dict[str, t.Any] = {
        "__doc__": comment,
        "flow_definition": definition,
        "compute_functions": [],
        "required_input": _split_list(required),
        "flow_input": dict(flow_input or {}),
        "flow_transition_states": transitions,
        "_gladier_jupyter": ToolSpec(name, text, "definition", {"comment": comment}),
    }
    return _install(name, attrs, user_ns), warnings
