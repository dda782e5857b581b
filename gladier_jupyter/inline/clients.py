"""``%gladier_client``: tools (by name or object) chained into a gladier client class."""

from __future__ import annotations

import copy
import logging
import types
import typing as t

from gladier_jupyter.inline.cells import _check_identifier, _usage

__all__ = [
    "is_client",
    "known_tools",
    "known_clients",
    "resolve_tool",
    "tool_states",
    "check_state_collisions",
    "make_client",
    "client_flow_definition",
]


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
        except Exception:  # odd objects in a namespace are simply not tools
            logging.getLogger(__name__).debug("%s: not a tool or client", key, exc_info=True)
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
    bare: t.Any = object.__new__(target)  # no __init__: it would build login and service managers
    bare._tools = None
    static = getattr(target, "flow_definition", None)
    try:
        if getattr(client, "__wrapped__", None) is target or not isinstance(static, dict):
            return combine_tool_flows(bare, {})
        return copy.deepcopy(static)
    except GladierException as err:
        raise _usage(f"Client {target.__name__!r}: gladier could not build its flow: {err}") from None
