"""Turn notebook cell source into ordinary gladier tool and client classes.

The magics (``magics.py``) parse options and show results; this module does the work, so
everything here is usable (and tested) without IPython. Every user mistake raises
:class:`~gladier_jupyter.errors.GladierJupyterUsageError` with a one-line message.

Tools made here are plain ``gladier.GladierBaseTool`` subclasses whose ``flow_definition`` is
what ``@generate_flow_definition`` gives for the same functions and modifiers; clients are
``GladierBaseClient`` subclasses wrapped by ``@generate_flow_definition``, exactly like the
decorator style, so plain gladier runs them unchanged.
"""

from __future__ import annotations

import ast
import builtins
import copy
import dis
import itertools
import json
import keyword
import linecache
import re
import types
import typing as t

from gladier_jupyter.errors import GladierJupyterUsageError

__all__ = [
    "COMPUTE_V2_URL",
    "COMPUTE_V3_URL",
    "CellRaised",
    "ToolSpec",
    "make_tool",
    "make_definition_tool",
    "parse_definition",
    "parse_value",
    "parse_input_option",
    "parse_literal",
    "resolve_tool",
    "known_tools",
    "known_clients",
    "is_client",
    "check_state_collisions",
    "make_client",
    "client_flow_definition",
    "tool_states",
    "check_run_input",
    "start_run",
]

COMPUTE_V2_URL = "https://compute.actions.globus.org"
COMPUTE_V3_URL = "https://compute.actions.globus.org/v3"
_ACTION_URLS = {"v2": COMPUTE_V2_URL, "v3": COMPUTE_V3_URL}
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_cell_counter = itertools.count(1)


class ToolSpec(t.NamedTuple):
    """What a ``%%gladier_tool`` cell asked for (kept on the class as ``_gladier_jupyter``)."""

    name: str
    source: str
    kind: str  # "functions" or "definition"
    options: dict[str, t.Any]


class CellRaised(GladierJupyterUsageError):
    """The cell's own code raised while defining the tool; ``exc_info`` is trimmed to the cell."""

    def __init__(self, message: str, exc_info: tuple[t.Any, BaseException, t.Any]) -> None:
        super().__init__(message)
        self.exc_info = exc_info


def _usage(message: str) -> GladierJupyterUsageError:
    return GladierJupyterUsageError(message)


def _check_identifier(what: str, name: str) -> None:
    if not name.isidentifier() or keyword.iskeyword(name):
        raise _usage(
            f"{what} name {name!r} is not a Python identifier; use a name like 'RunExperiment'."
        )


# --------------------------------------------------------------------------- values


def parse_value(text: str) -> t.Any:
    """A command-line value: JSON when it parses (``300``, ``true``, ``[1]``), else the string."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def _json_error(what: str, text: str, err: json.JSONDecodeError, line_offset: int = 0) -> str:
    bad = text.splitlines()[err.lineno - 1].strip() if text.splitlines() else ""
    return (
        f"{what} is not valid JSON: {err.msg} at line {err.lineno + line_offset}, "
        f"column {err.colno} ({bad!r}); fix the JSON (double-quoted keys and strings)."
    )


def parse_literal(text: str, what: str = "Input") -> t.Any:
    """A JSON document or a Python literal (``{'input': {...}}``), with line/column on errors."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as json_err:
        try:
            return ast.literal_eval(text.strip())
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            raise _usage(_json_error(what, text, json_err)) from None


def parse_input_option(values: t.Iterable[str] | None) -> dict[str, t.Any]:
    """``--input key=value`` (value parsed as JSON if it parses) or ``--input '{"k": 1}'``."""
    result: dict[str, t.Any] = {}
    for raw in values or ():
        text = raw.strip()
        if text.startswith("{"):
            value = parse_literal(text, what=f"--input {text!r}")
            if not isinstance(value, dict):
                raise _usage(f"--input {text!r} must be a JSON object of default flow_input values.")
            result.update(value)
            continue
        key, sep, value_text = text.partition("=")
        key = key.strip()
        if not sep or not key:
            raise _usage(
                f"--input {raw!r} is not KEY=VALUE or a JSON object; "
                "write it like --input search_index=my-index."
            )
        result[key] = parse_value(value_text)
    return result


def _split_list(values: t.Iterable[str] | None) -> list[str]:
    out: list[str] = []
    for value in values or ():
        out.extend(part.strip() for part in value.split(",") if part.strip())
    return out


# --------------------------------------------------------------------------- tools


def _register_source(name: str, source: str) -> str:
    """Give the cell a unique file name in ``linecache`` so ``inspect.getsource`` works.

    globus-compute-sdk's ``DillCodeSource`` (gladier's default) sends a function's *source*;
    the mtime ``None`` keeps ``linecache.checkcache`` from dropping the entry.
    """
    filename = f"<gladier_tool {name} #{next(_cell_counter)}>"
    lines = source.splitlines(True)
    linecache.cache[filename] = (len(source), None, lines, filename)
    return filename


def _syntax_error(name: str, err: SyntaxError) -> GladierJupyterUsageError:
    line = (err.text or "").strip()
    where = f"line {err.lineno}" + (f", column {err.offset}" if err.offset else "")
    return _usage(
        f"Syntax error in %%gladier_tool {name} at cell {where}: {err.msg} ({line!r}); "
        "fix the line and run the cell again."
    )


def _global_names(code: types.CodeType) -> set[str]:
    names = set()
    for ins in dis.get_instructions(code):
        if ins.opname in ("LOAD_GLOBAL", "LOAD_NAME"):
            names.add(ins.argval)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _global_names(const)
    return names


def _describe(value: t.Any) -> str:
    if isinstance(value, types.ModuleType):
        return f"the module {value.__name__!r}"
    if callable(value) and hasattr(value, "__name__"):
        return f"the notebook object {value.__name__!r}"
    return f"a notebook {type(value).__name__}"


def _check_portable(tool: str, func: types.FunctionType) -> None:
    """Refuse functions that cannot travel as source to a fresh process, saying why."""
    if func.__code__.co_freevars:
        raise _usage(
            f"Function {func.__name__!r} of tool {tool!r} closes over "
            f"{', '.join(map(repr, func.__code__.co_freevars))} from an enclosing scope; "
            "Globus Compute sends only the function's source, so define it at the top level "
            "and pass values in the flow input."
        )
    missing = sorted(
        name
        for name in _global_names(func.__code__)
        if name in func.__globals__ and name != func.__name__ and not hasattr(builtins, name)
    )
    if missing:
        name = missing[0]
        raise _usage(
            f"Function {func.__name__!r} of tool {tool!r} uses {name!r} "
            f"({_describe(func.__globals__[name])}) from the notebook; Globus Compute sends only "
            "the function's source and runs it in a fresh process where that name does not exist, "
            f"so import or create {name!r} inside the function (or pass it in the flow input)."
        )
    from globus_compute_sdk import serialize

    serializer = serialize.ComputeSerializer(strategy_code=serialize.DillCodeSource())
    try:
        copy_ = serializer.deserialize(serializer.serialize(func))
        if getattr(copy_, "__code__", None) is None or copy_.__code__.co_code != func.__code__.co_code:
            raise ValueError("the source found for it is not the cell's own")
    except Exception as err:  # noqa: BLE001 - the reason is reported to the user
        reason = f"{type(err).__name__}: {err}"
        if isinstance(err, KeyError):
            reason = "the source found for it is not the cell's own"
        raise _usage(
            f"Function {func.__name__!r} of tool {tool!r} cannot be serialized with "
            f"globus-compute-sdk's DillCodeSource (gladier's default): {reason}; "
            "define it at the top level of the cell without decorators."
        ) from None


def _functions_in(name: str, source: str) -> list[ast.FunctionDef]:
    try:
        module = ast.parse(source, filename=f"<gladier_tool {name}>")
    except SyntaxError as err:
        raise _syntax_error(name, err) from None
    funcs: list[ast.FunctionDef] = []
    seen: dict[str, int] = {}
    for node in module.body:
        if isinstance(node, ast.AsyncFunctionDef):
            raise _usage(
                f"Function {node.name!r} (cell line {node.lineno}) of tool {name!r} is async; "
                "Globus Compute runs plain functions, so write it with 'def'."
            )
        if not isinstance(node, ast.FunctionDef):
            continue
        if node.decorator_list:
            raise _usage(
                f"Function {node.name!r} (cell line {node.lineno}) of tool {name!r} is decorated; "
                "Globus Compute sends only the function's source, where the decorator is not "
                "defined, so remove the decorator."
            )
        if node.name in seen:
            raise _usage(
                f"Tool {name!r} defines function {node.name!r} twice (cell lines "
                f"{seen[node.name]} and {node.lineno}); each function is one flow state, so "
                "rename one of them."
            )
        seen[node.name] = node.lineno
        funcs.append(node)
    if not funcs:
        raise _usage(
            f"The %%gladier_tool {name} cell defines no function; every top-level 'def' becomes "
            "a compute function of the tool, so add one (or use --definition for a static flow "
            "definition)."
        )
    return funcs


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


def _install(name: str, attrs: dict[str, t.Any], user_ns: dict[str, t.Any]) -> type:
    """Define the tool class, or redefine a previous one from a magic in place.

    Updating the existing class keeps every client that lists it current: the next
    ``run_flow`` sees the new functions' checksums and re-registers them (gladier's way).
    """
    from gladier import GladierBaseTool

    attrs.setdefault("__module__", user_ns.get("__name__", "__main__"))
    attrs["__qualname__"] = name
    old = user_ns.get(name)
    if isinstance(old, type) and issubclass(old, GladierBaseTool) and "_gladier_jupyter" in vars(old):
        for key in list(vars(old)):
            if key not in attrs and key not in ("__dict__", "__weakref__"):
                delattr(old, key)
        for key, value in attrs.items():
            if key != "__qualname__":
                setattr(old, key, value)
        cls = old
    else:
        cls = type(name, (GladierBaseTool,), attrs)
    user_ns[name] = cls
    return cls


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
        exec(compile(padded, filename, "exec"), user_ns)  # noqa: S102 - the user's own cell
    except Exception as err:
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
        _check_portable(name, func)
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


# --------------------------------------------------------------------------- definitions


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
            value = yaml.load(  # noqa: S506 - a SafeLoader subclass
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
            f"'States', got {type(value).__name__} with keys "
            f"{sorted(value) if isinstance(value, dict) else []}."
        )
    return value


def _validate_definition(name: str, definition: dict[str, t.Any]) -> list[t.Any]:
    """Errors stop the cell; the remaining problems (warnings) are returned for display."""
    from gladier_jupyter.flowdef import validate

    problems = list(validate(definition))
    errors = [p for p in problems if getattr(p, "severity", "error") == "error"]
    if errors:
        detail = "; ".join(p.message for p in errors)
        raise _usage(f"The flow definition of tool {name!r} is invalid: {detail}")
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


# --------------------------------------------------------------------------- clients


def _unwrap(obj: t.Any) -> t.Any:
    """The class behind a ``@generate_flow_definition`` wrapper (a function), else ``obj``."""
    return getattr(obj, "__wrapped__", obj) if isinstance(obj, types.FunctionType) else obj


def _is_tool(value: t.Any) -> bool:
    from gladier import BaseState, GladierBaseTool

    target = _unwrap(value)
    if isinstance(target, type):
        return issubclass(target, GladierBaseTool)
    return isinstance(target, (GladierBaseTool, BaseState))


def is_client(value: t.Any) -> bool:
    """A client class, a ``@generate_flow_definition`` client, or a client instance."""
    from gladier import GladierBaseClient

    target = _unwrap(value)
    if isinstance(target, type):
        return issubclass(target, GladierBaseClient)
    return isinstance(target, GladierBaseClient)


def _names_of(user_ns: dict[str, t.Any], test: t.Callable[[t.Any], bool]) -> list[str]:
    names = []
    for key, value in list(user_ns.items()):
        if key.startswith("_"):
            continue
        try:
            if test(value):
                names.append(key)
        except Exception:  # noqa: BLE001 - odd objects in a namespace are simply not tools
            continue
    return sorted(names)


def known_tools(user_ns: dict[str, t.Any]) -> list[str]:
    """Names in ``user_ns`` that are gladier tools (any style)."""
    return _names_of(user_ns, _is_tool)


def known_clients(user_ns: dict[str, t.Any]) -> list[str]:
    """Names in ``user_ns`` that are gladier clients (any style)."""
    return _names_of(user_ns, is_client)


def resolve_tool(ref: str, user_ns: dict[str, t.Any]) -> t.Any:
    """A tool named in the notebook, or a dotted import string (kept as the string).

    ``Name:Alias`` gives a notebook tool gladier's alias (states get the suffix, its own
    inputs the prefix), as gladier does for ``'module.Tool:Alias'`` strings.
    """
    name, colon, alias = ref.partition(":")
    if colon and "." not in name:
        if not alias.isidentifier():
            raise _usage(f"Tool alias {alias!r} in {ref!r} is not an identifier; write e.g. {name}:Second.")
        base = resolve_tool(name, user_ns)
        if not isinstance(_unwrap(base), type):
            raise _usage(f"{name!r} is a tool instance; only a tool class can take an alias ({ref!r}).")
        from gladier import GladierBaseClient

        return base(alias, GladierBaseClient.alias_class)
    if ref in user_ns:
        value = user_ns[ref]
        if _is_tool(value):
            return value
        raise _usage(
            f"{ref!r} is a {type(value).__name__}, not a gladier tool; known tools: "
            f"{', '.join(known_tools(user_ns)) or 'none yet (define one with %%gladier_tool)'}."
        )
    if "." in ref:
        from gladier.utils.dynamic_imports import import_string

        try:
            value = import_string(ref)
        except (ImportError, ValueError) as err:
            raise _usage(f"Tool {ref!r} could not be imported: {err}.") from None
        if not _is_tool(value):
            raise _usage(f"{ref!r} is a {type(value).__name__}, not a gladier tool.")
        return ref
    raise _usage(
        f"Unknown tool {ref!r}; known tools: "
        f"{', '.join(known_tools(user_ns)) or 'none yet (define one with %%gladier_tool)'}."
    )


def tool_states(tool: t.Any) -> dict[str, t.Any]:
    """The states a tool contributes to a client's flow (name -> state)."""
    from gladier import GladierBaseClient

    instance = GladierBaseClient.get_gladier_defaults_cls(tool, GladierBaseClient.alias_class)
    definition = instance.get_flow_definition() or {}
    return dict(definition.get("States") or {})


def _label(ref: t.Any) -> str:
    if isinstance(ref, str):
        return ref
    target = _unwrap(ref)
    if isinstance(target, type):
        return target.__name__
    alias = getattr(target, "alias", None)
    return f"{type(target).__name__}:{alias}" if alias else type(target).__name__


def check_state_collisions(refs: t.Sequence[t.Any]) -> None:
    """Two tools defining the same state name cannot be chained; name both and the state."""
    from gladier.exc import GladierException

    owner: dict[str, str] = {}
    for ref in refs:
        try:
            states = tool_states(ref)
        except GladierException as err:
            raise _usage(f"Tool {_label(ref)!r} has no usable flow: {err}") from None
        for state in states:
            if state in owner:
                raise _usage(
                    f"Tools {owner[state]!r} and {_label(ref)!r} both define the state {state!r}; "
                    "state names must be unique in a flow, so rename the function (or state) in "
                    f"one of them, or give one an alias ({_label(ref).split(':')[0]}:Second)."
                )
            owner[state] = _label(ref)


def make_client(
    name: str,
    tool_refs: t.Sequence[str],
    user_ns: dict[str, t.Any],
    *,
    comment: str | None = None,
) -> t.Any:
    """Define ``name`` as ``@generate_flow_definition class name(GladierBaseClient)``."""
    _check_identifier("Client", name)
    if not tool_refs:
        raise _usage(
            f"%gladier_client {name} lists no tools; name them in order, e.g. "
            f"%gladier_client {name} RunExperiment GatherMetadata."
        )
    from gladier import GladierBaseClient, generate_flow_definition

    tools = [resolve_tool(ref, user_ns) for ref in tool_refs]
    check_state_collisions(tools)
    cls = type(
        name,
        (GladierBaseClient,),
        {
            "__doc__": comment,
            "__module__": user_ns.get("__name__", "__main__"),
            "__qualname__": name,
            "gladier_tools": tools,
        },
    )
    client = generate_flow_definition(cls)
    client_flow_definition(client)  # fail now, not at run time
    user_ns[name] = client
    return client


def client_flow_definition(client: t.Any) -> dict[str, t.Any]:
    """The flow a client runs, without logging in or building its managers."""
    from gladier.exc import GladierException
    from gladier.utils.flow_generation import combine_tool_flows

    target = _unwrap(client)
    if not isinstance(target, type):
        return copy.deepcopy(target.get_flow_definition())
    bare = target.__new__(target)
    bare._tools = None
    try:
        if getattr(client, "__wrapped__", None) is target or not isinstance(
            getattr(target, "flow_definition", None), dict
        ):
            return combine_tool_flows(bare, {})
        return copy.deepcopy(target.flow_definition)
    except GladierException as err:
        raise _usage(f"Client {target.__name__!r}: gladier could not build its flow: {err}") from None


# --------------------------------------------------------------------------- runs


def check_run_input(client: t.Any, flow_input: t.Any) -> list[str]:
    """Problems with ``flow_input`` for ``client``, as one message each (empty when fine)."""
    if not isinstance(flow_input, dict) or set(flow_input) != {"input"} or not isinstance(
        flow_input["input"], dict
    ):
        keys = sorted(flow_input) if isinstance(flow_input, dict) else type(flow_input).__name__
        return [
            f"The run input must be a dict with the single key 'input' holding the values "
            f"(gladier's rule), got {keys}; wrap it as {{'input': {{...}}}}."
        ]
    from gladier_jupyter import flowgraph

    problems = [
        getattr(p, "message", str(p)) for p in flowgraph.check_run_input(client, flow_input)
    ]
    if not problems and not flow_input["input"]:
        # gladier refuses an empty 'input' with a misleading "must be nested" message.
        problems.append(
            "The run input {'input': {}} holds no values, which gladier refuses; put at least "
            "one value under 'input', e.g. {'input': {'label': 'run 1'}}."
        )
    return problems


def start_run(
    client: t.Any,
    flow_input: dict[str, t.Any],
    *,
    label: str | None = None,
    tags: list[str] | None = None,
) -> tuple[t.Any, dict[str, t.Any]]:
    """Run ``client`` on the current backend; returns (client instance, run document)."""
    from gladier.exc import GladierException
    from globus_sdk import GlobusAPIError

    from gladier_jupyter import backend

    kwargs: dict[str, t.Any] = {}
    if label is not None:
        kwargs["label"] = label
    if tags:
        kwargs["tags"] = list(tags)
    try:
        instance = client
        if isinstance(_unwrap(client), type):
            instance = client(**backend.gladier_client_kwargs())
        run = instance.run_flow(flow_input=flow_input, **kwargs)
    except GladierJupyterUsageError as err:
        if backend.current().name == "local":
            raise
        raise GladierJupyterUsageError(
            f"{err} (Or run on the local service instead: gladier_jupyter.use_local().)"
        ) from None
    except GladierException as err:
        raise _usage(f"gladier refused the run: {err}") from None
    except GlobusAPIError as err:
        if backend.current().name == "globus" and (
            err.code in ("ConsentRequired", "MISSING_SCOPE")
            or getattr(getattr(err, "info", None), "consent_required", None)
        ):
            from gladier_jupyter.auth import ask_consent

            ask_consent(err)  # shows the login widget, then raises a one-line LoginRequired
        raise _usage(
            f"The flows service refused the run: {err.http_status} {err.code}: {err.message}"
        ) from None
    data = getattr(run, "data", run)
    return instance, dict(data)
