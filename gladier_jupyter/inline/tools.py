"""``%%gladier_tool NAME``: compute functions as a gladier tool, with gladier's modifiers checked."""

from __future__ import annotations

import json
import types
import typing as t

from gladier_jupyter.inline.cells import (
    _ACTION_URLS,
    _UUID,
    COMPUTE_V2_URL,
    COMPUTE_V3_URL,
    CellRaised,
    ToolSpec,
    _check_identifier,
    _install,
    _usage,
)
from gladier_jupyter.inline.definitions import _validate_definition
from gladier_jupyter.inline.functions import _check_portable, _functions_in, _register_source
from gladier_jupyter.inline.values import _split_list, parse_value

__all__ = ["make_tool"]


def _action_url(value: str | None) -> str:
    if value is None:
        return COMPUTE_V2_URL
    url = _ACTION_URLS.get(value.lower(), value.rstrip("/"))
    if url not in (COMPUTE_V2_URL, COMPUTE_V3_URL):
        raise _usage(
            f"--action-url {value!r} is not a Globus Compute action URL; use v2 "
            f"({COMPUTE_V2_URL}) or v3 ({COMPUTE_V3_URL})."
        )
    return url


# The JSON type of each typed compute-state field gladier can set (--set / --modifiers):
# (check, what the message calls it, an example). Untyped fields (payload...) are not here.
_FIELD_TYPES: dict[str, tuple[t.Callable[[t.Any], bool], str, str]] = {
    "WaitTime": (lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0,
                 "a whole number of seconds (0 or more)", "600"),
    "ExceptionOnActionFailure": (lambda v: isinstance(v, bool), "true or false", "true"),
    "End": (lambda v: isinstance(v, bool), "true or false", "true"),
    "Catch": (lambda v: isinstance(v, list), "a JSON list of catchers",
              '[{"ErrorEquals": ["States.ALL"], "Next": "Cleanup"}]'),
    "Parameters": (lambda v: isinstance(v, dict), "a JSON object", '{"key.$": "$.input.key"}'),
    "tasks": (lambda v: isinstance(v, list), "a JSON list of tasks", '[{"endpoint": "..."}]'),
    **{field: (lambda v: isinstance(v, str), "a string", example) for field, example in (
        ("ActionUrl", "https://compute.actions.globus.org"), ("RunAs", "user"),
        ("ActionScope", "https://auth.globus.org/scopes/..."), ("Type", "Action"),
        ("Next", "NextState"), ("InputPath", "$.input"), ("ResultPath", "$.result"),
        ("endpoint", "compute_endpoint"), ("endpoint_id", "compute_endpoint"),
        ("task_group_id", "$.input.group"))},
}


_KINDS = {str: "the string", int: "the integer", float: "the number", bool: "the boolean",
          list: "the list", dict: "the object", type(None): "null"}


def _check_field(option: str, func: str, field: str, value: t.Any, func_names: list[str]) -> None:
    """Refuse a typed state field given a value of the wrong type, naming function and field."""
    rule = _FIELD_TYPES.get(field)
    if rule is None:
        return
    check, expected, example = rule
    if isinstance(value, str) and (value.startswith("$.") or value in func_names):
        return  # gladier makes it a path read at run time ('WaitTime.$') or a result path
    if check(value):
        return
    kind = _KINDS.get(type(value), type(value).__name__)
    shown = "" if value is None else " " + (repr(value) if isinstance(value, str) else json.dumps(value))
    fix = f"--set {func}.{field}={example}" if option.startswith("--set") else f'{{"{field}": {example}}}'
    path = "" if example.startswith("$") else " (or a '$.' path read at run time)"
    raise _usage(
        f"{option}: {field} of function {func!r} is {kind}{shown}, but {field} must be "
        f"{expected}; write it like {fix}{path}."
    )


def _build_modifiers(
    func_names: list[str],
    *,
    v3: bool,
    endpoint_key: str | None,
    wait_time: int | None,
    settings: t.Iterable[str] | None,
    modifiers: dict[str, t.Any] | None,
) -> dict[str, dict[str, t.Any]]:
    result: dict[str, dict[str, t.Any]] = {f: {} for f in func_names}
    if endpoint_key is not None:
        for f in func_names:
            result[f]["endpoint_id" if v3 else "endpoint"] = endpoint_key
    if wait_time is not None:
        for f in func_names:
            result[f]["WaitTime"] = wait_time
    for raw in settings or ():
        target, sep, value_text = raw.partition("=")
        if not sep or not target.strip():
            raise _usage(
                f"--set {raw!r} is not [FUNCTION.]FIELD=VALUE; write it like "
                "--set gather_metadata.WaitTime=600."
            )
        func, dot, field = target.strip().rpartition(".")
        targets = [func] if dot else func_names
        for f in targets:
            if f not in result:
                raise _usage(
                    f"--set {raw!r} names function {f!r}, which this cell does not define; "
                    f"the functions are {', '.join(func_names)}."
                )
            value = parse_value(value_text)
            _check_field(f"--set {raw.strip()}", f, field, value, func_names)
            result[f][field] = value
    for key, value in (modifiers or {}).items():
        fname = getattr(key, "__name__", key)
        if fname not in result:
            raise _usage(
                f"--modifiers names function {fname!r}, which this cell does not define; "
                f"the functions are {', '.join(func_names)}."
            )
        if not isinstance(value, dict):
            raise _usage(f"--modifiers[{fname!r}] must be a dict of state fields, got {value!r}.")
        for field, fvalue in value.items():
            _check_field("--modifiers", fname, field, fvalue, func_names)
        result[fname].update(value)
    return {k: v for k, v in result.items() if v}


def _literal_endpoint(flow: dict[str, t.Any], endpoint: str, v3: bool) -> None:
    for state in flow["States"].values():
        params = state.get("Parameters", {})
        if v3:
            params.pop("endpoint_id.$", None)
            params["endpoint_id"] = endpoint
        else:
            for task in params.get("tasks", []):
                task.pop("endpoint.$", None)
                task["endpoint"] = endpoint


def make_tool(
    name: str,
    source: str,
    user_ns: dict[str, t.Any],
    *,
    endpoint: str | None = None,
    action_url: str | None = None,
    required: t.Iterable[str] | None = None,
    flow_input: dict[str, t.Any] | None = None,
    wait_time: int | None = None,
    settings: t.Iterable[str] | None = None,
    modifiers: dict[str, t.Any] | None = None,
    comment: str | None = None,
) -> type:
    """Run ``source`` in ``user_ns`` and define ``name`` as a tool of its top-level functions.

    ``source`` is the cell body; line numbers in messages and tracebacks are the cell's own
    (line 1 is the ``%%gladier_tool`` line). Raises ``GladierJupyterUsageError``.
    """
    _check_identifier("Tool", name)
    padded = "\n" + source  # line numbers match the cell, whose first line is the magic
    nodes = _functions_in(name, padded)
    if any(node.name == name for node in nodes):
        raise _usage(
            f"Tool {name!r} has the name of one of its functions, which the tool class would "
            "replace in the notebook; name the tool in UpperCamelCase, e.g. "
            f"{''.join(p.capitalize() for p in name.split('_')) or 'MyTool'}."
        )
    url = _action_url(action_url)
    v3 = url == COMPUTE_V3_URL
    filename = _register_source(name, padded)
    try:
        exec(compile(padded, filename, "exec"), user_ns)  # the user's own cell
    except Exception as err:  # noqa: BLE001 - whatever the user's cell raises is reported
        tb = err.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename != filename:
            tb = tb.tb_next
        line = tb.tb_lineno if tb is not None else "?"
        raise CellRaised(
            f"The %%gladier_tool {name} cell raised {type(err).__name__} at cell line {line}, "
            f"so tool {name!r} was not defined; fix the code above and run the cell again.",
            (type(err), err, tb or err.__traceback__),
        ) from None

    funcs = []
    for node in nodes:
        func = user_ns.get(node.name)
        if not isinstance(func, types.FunctionType) or func.__code__.co_filename != filename:
            raise _usage(
                f"Function {node.name!r} of tool {name!r} was replaced by later code in the cell; "
                "keep one top-level 'def' per name."
            )
        _check_portable(name, func, {n.name for n in nodes})
        funcs.append(func)

    endpoint_literal = endpoint if endpoint and _UUID.match(endpoint) else None
    endpoint_key = None if endpoint_literal else endpoint
    if endpoint_key is not None and not endpoint_key.startswith("$.") and not endpoint_key.isidentifier():
        raise _usage(
            f"--endpoint {endpoint!r} is neither an endpoint UUID nor a flow input key; "
            "give a UUID or a key like compute_endpoint."
        )
    mods = _build_modifiers(
        [f.__name__ for f in funcs],
        v3=v3,
        endpoint_key=endpoint_key,
        wait_time=wait_time,
        settings=settings,
        modifiers=modifiers,
    )
    from gladier.flow_builder.compute import ComputeFlowBuilderv2, ComputeFlowBuilderv3

    builder = ComputeFlowBuilderv3 if v3 else ComputeFlowBuilderv2
    fields = builder.VALID_STATE_MODIFIERS | builder.VALID_COMPUTE_MODIFIERS
    for fname, fmods in mods.items():
        for field in fmods:
            if field not in fields:
                raise _usage(
                    f"Tool {name!r}: {field!r} (for function {fname!r}) is not a field gladier can "
                    f"set on a {'v3' if v3 else 'v2'} compute state; the fields are "
                    f"{', '.join(sorted(fields))}."
                )
    attrs: dict[str, t.Any] = {
        "__doc__": comment,
        "compute_functions": funcs,
        "required_input": _split_list(required),
        "flow_input": dict(flow_input or {}),
        "_gladier_jupyter": ToolSpec(
            name,
            source,
            "functions",
            {
                "endpoint": endpoint,
                "action_url": url,
                "wait_time": wait_time,
                "settings": list(settings or ()),
                "modifiers": mods,
                "comment": comment,
            },
        ),
    }
    if v3:
        attrs["action_url"] = COMPUTE_V3_URL

    from gladier import GladierBaseTool
    from gladier.exc import GladierException
    from gladier.utils.flow_generation import generate_tool_flow

    probe = type(name, (GladierBaseTool,), dict(attrs))()
    try:
        flow = generate_tool_flow(probe, mods)
    except GladierException as err:
        raise _usage(f"Tool {name!r}: gladier could not build its flow: {err}") from None
    if endpoint_literal:
        _literal_endpoint(flow, endpoint_literal, v3)
    if comment:
        flow["Comment"] = comment
    _validate_definition(name, flow)  # e.g. --set f.WaitTime=soon
    attrs["flow_definition"] = flow
    return _install(name, attrs, user_ns)
