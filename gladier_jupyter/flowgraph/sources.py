"""Where a flow definition comes from: gladier clients and tools (class or instance, with or
without ``@generate_flow_definition``), definition dicts, JSON/YAML text or a file path."""

from __future__ import annotations

import copy
import dataclasses
import inspect
import logging
import pathlib
import typing as t

from gladier_jupyter import flowdef, flowtext
from gladier_jupyter.errors import GladierJupyterUsageError
from gladier_jupyter.flowdef import Problem

log = logging.getLogger(__name__)

__all__ = ["load_definition"]


@dataclasses.dataclass
class _Source:
    """Where a definition came from and what gladier knows beside it."""

    definition: t.Any
    name: str = "flow"
    tools: list[t.Any] = dataclasses.field(default_factory=list)
    functions: dict[str, tuple[t.Any, str]] = dataclasses.field(default_factory=dict)
    defaults: dict[str, str] = dataclasses.field(default_factory=dict)
    required: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    tool_of_state: dict[str, str] = dataclasses.field(default_factory=dict)
    problems: list[Problem] = dataclasses.field(default_factory=list)
    is_gladier: bool = False


def _looks_like_path(value: str | pathlib.Path) -> bool:
    return isinstance(value, pathlib.Path) or (
        isinstance(value, str)
        and "\n" not in value
        and not value.lstrip().startswith(("{", "["))
        and (value.endswith((".json", ".yaml", ".yml")) or pathlib.Path(value).is_file())
    )


def load_definition(text_or_path: str | pathlib.Path) -> t.Any:
    """A definition from a JSON or YAML string, or from a .json/.yaml file path.

    Paths are for Python callers only: text from a browser goes to
    :func:`gladier_jupyter.flowtext.parse_text`, which never opens a file.
    """
    if _looks_like_path(text_or_path):
        path = pathlib.Path(text_or_path).expanduser()
        if not path.is_file():
            raise GladierJupyterUsageError(
                f"Flow definition file {str(path)!r} does not exist; give an existing .json or "
                ".yaml file, a definition dict, or a gladier client or tool."
            )
        if path.stat().st_size > flowtext.MAX_TEXT_CHARS * 4:
            raise flowtext.UnsafeDefinitionError(
                f"Flow definition file {str(path)!r} is {path.stat().st_size / 1e6:.1f} MB, "
                "far more than a flow definition; give the right file.")
        return flowtext.parse_text(path.read_text(encoding="utf-8"),
                                   json_only=path.suffix == ".json",
                                   what=f"Flow definition file {path.name!r}")
    return flowtext.parse_text(t.cast(str, text_or_path))


def _unwrap(x: t.Any) -> tuple[t.Any, dict | None]:
    """(class, modifiers) for a class wrapped by gladier's @generate_flow_definition."""
    wrapped = getattr(x, "__wrapped__", None)
    if inspect.isfunction(x) and isinstance(wrapped, type):
        try:
            nonlocals = inspect.getclosurevars(x).nonlocals
        except (TypeError, ValueError):
            nonlocals = {}
        return wrapped, dict(nonlocals.get("modifiers") or {})
    return x, None


def _tool_functions(tool: t.Any) -> list[t.Any]:
    seen: list[t.Any] = []
    for attr in ("compute_functions", "funcx_functions"):
        for fn in getattr(tool, attr, None) or []:
            if callable(fn) and fn not in seen:
                seen.append(fn)
    return seen


def _tool_name(tool: t.Any) -> str:
    return type(tool).__name__


def _describe_tools(source: _Source, tools: list[t.Any]) -> None:
    """Fill functions, defaults, required input and state ownership from gladier tools."""
    owner: dict[str, str] = {}
    for tool in tools:
        name = _tool_name(tool)
        source.tools.append(tool)
        for fn in _tool_functions(tool):
            source.functions.setdefault(fn.__name__, (fn, name))
            # gladier registers each function at run time and passes its id under this key
            source.defaults.setdefault(f"{fn.__name__}_function_id", "function id")
        try:
            flow_input = tool.get_flow_input() if hasattr(tool, "get_flow_input") else {}
        except Exception:  # the user's tool code: a broken tool still gets drawn
            log.debug("tool %s: get_flow_input() failed", name, exc_info=True)
            flow_input = getattr(tool, "flow_input", {}) or {}
        for key in flow_input or {}:
            source.defaults.setdefault(key, f"{name}.flow_input")
        try:
            required = tool.get_required_input() if hasattr(tool, "get_required_input") else []
        except Exception:  # the user's tool code, as above
            log.debug("tool %s: get_required_input() failed", name, exc_info=True)
            required = getattr(tool, "required_input", []) or []
        for key in required or []:
            source.required.setdefault(key, []).append(name)
        try:
            tool_def = tool.get_flow_definition()
        except Exception:  # the user's tool code, as above
            log.debug("tool %s: get_flow_definition() failed", name, exc_info=True)
            tool_def = getattr(tool, "flow_definition", None)
        states = tool_def.get("States") if isinstance(tool_def, dict) else None
        for state in states or {}:
            if state in owner and owner[state] != name:
                source.problems.append(Problem(
                    "duplicate_state",
                    f"State {state!r} is defined by both tool {owner[state]!r} and tool "
                    f"{name!r}; gladier refuses duplicate state names. Rename one tool's state "
                    "(or give the tool an alias).",
                    flowdef.state_path(state), state))
            else:
                owner[state] = name
    source.tool_of_state = owner


def _tolerant_chain(tools: list[t.Any]) -> dict:
    """Chain tool flows like gladier's ToolChain, but keep going on duplicate names."""
    states: dict[str, t.Any] = {}
    start = None
    tails: list[str] = []
    for tool in tools:
        tool_def = tool.get_flow_definition() if hasattr(tool, "get_flow_definition") else None
        if not isinstance(tool_def, dict) or not isinstance(tool_def.get("States"), dict):
            continue
        new = copy.deepcopy(tool_def["States"])
        for tail in tails:
            if isinstance(states.get(tail), dict):
                states[tail].pop("End", None)
                states[tail]["Next"] = tool_def.get("StartAt")
        states.update(new)
        start = start or tool_def.get("StartAt")
        tails = list(getattr(tool, "flow_transition_states", None) or []) or [
            n for n, s in new.items() if isinstance(s, dict) and s.get("End")
        ]
    return {"StartAt": start, "States": states}


def _from_gladier(x: t.Any) -> _Source:
    import gladier
    from gladier.exc import StateNameConflict

    cls, modifiers = _unwrap(x)
    if isinstance(x, gladier.GladierBaseClient):
        cls = type(x)
    if isinstance(cls, type) and issubclass(cls, gladier.GladierBaseClient):
        # Never run the client's __init__: it builds login and service managers.
        client = x if isinstance(x, gladier.GladierBaseClient) else object.__new__(cls)
        client._tools = getattr(client, "_tools", None)
        source = _Source(None, name=cls.__name__, is_gladier=True)
        tools = list(client.tools)
        _describe_tools(source, tools)
        static = getattr(client, "flow_definition", None)
        if modifiers is None and isinstance(static, (dict, str)):
            try:
                source.definition = client.get_flow_definition()
            except Exception as exc:  # noqa: BLE001 - the user's client code; its error is named
                raise GladierJupyterUsageError(
                    f"Client {cls.__name__!r} has an unusable flow_definition ({exc}); set it "
                    "to a definition dict or decorate the class with @generate_flow_definition."
                ) from None
        else:
            # @generate_flow_definition chains the tools' flows; do what it does
            from gladier.utils.flow_generation import combine_tool_flows

            try:
                source.definition = combine_tool_flows(client, modifiers or {})
            except StateNameConflict:
                source.definition = _tolerant_chain(tools)
            except Exception as exc:  # noqa: BLE001 - the user's tools' code; its error is named
                raise GladierJupyterUsageError(
                    f"Client {cls.__name__!r}'s tools do not chain into a flow ({exc}); give "
                    "every tool a flow_definition or compute functions."
                ) from None
        return source
    if isinstance(cls, type) and issubclass(cls, gladier.GladierBaseTool):
        tool = x() if modifiers is not None or x is cls else x
        return _from_gladier(tool)
    if isinstance(x, gladier.GladierBaseTool):
        source = _Source(None, name=_tool_name(x), is_gladier=True)
        _describe_tools(source, [x])
        definition = x.get_flow_definition()
        if definition is None and _tool_functions(x):
            from gladier.utils.flow_generation import generate_tool_flow

            definition = generate_tool_flow(x, {})
        if definition is None:
            raise GladierJupyterUsageError(
                f"Tool {_tool_name(x)!r} has no flow definition; decorate it with "
                "@generate_flow_definition (compute functions) or set flow_definition."
            )
        source.definition = definition
        return source
    base_state = getattr(gladier, "BaseState", None)
    if base_state is not None and isinstance(x, base_state):
        return _Source(x.get_flow_definition(),
                       name=getattr(x, "state_name", None) or type(x).__name__)
    raise GladierJupyterUsageError(
        f"Cannot preview {x!r}: give a gladier client or tool, a flow definition dict, a "
        "JSON/YAML string or a path to a .json/.yaml file."
    )




def source_of(x: t.Any) -> _Source:
    """The source behind x: a definition dict, JSON/YAML text or path, or a gladier object."""
    if isinstance(x, dict):
        return _Source(x)
    if isinstance(x, (str, pathlib.Path)):
        name = pathlib.Path(x).stem if _looks_like_path(x) else "flow"
        return _Source(load_definition(x), name=name)
    return _from_gladier(x)
