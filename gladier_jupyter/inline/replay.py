"""Replay a compute state of a run in the kernel: its function, called with exactly the
arguments the run passed, so ``%debug``, breakpoints and prints work here.

The arguments come from the run log's ``ActionStarted`` entry of the state (its ``input``
is the compute action's body, as on Globus); they are split into positional and keyword
arguments by the same rule the local Compute action uses (a dict ``payload`` is the
keyword arguments). The function is the one the notebook defines *now* (the tool's
``compute_functions``, redefined in place by a new ``%%gladier_tool`` run), so a fixed cell
replays with the fix; only when no tool of the notebook has the state does it fall back to
the function the run called, read from Compute and deserialized by globus-compute-sdk's
own serializer.
"""

from __future__ import annotations

import dataclasses
import typing as t

from gladier_jupyter.inline.cells import _usage

__all__ = ["ReplayCall", "recorded_calls", "find_function", "refresh_function_ids", "replay"]


@dataclasses.dataclass
class ReplayCall:
    """One task of a state as the run called it."""

    state_name: str
    function_id: str
    args: list[t.Any]
    kwargs: dict[str, t.Any]


def recorded_calls(entries: t.Sequence[dict[str, t.Any]], state_name: str) -> list[ReplayCall]:
    """The calls of the state's last visit, from its ``ActionStarted`` log entry."""
    from gladier_jupyter.local.actions import ActionUnableToRun
    from gladier_jupyter.local.actions.compute import task_list

    started = [e for e in entries if e.get("code") == "ActionStarted"
               and (e.get("details") or {}).get("state_name") == state_name]
    if not started:
        seen = sorted({str(name) for e in entries if e.get("code") == "ActionStarted"
                       if (name := (e.get("details") or {}).get("state_name")) is not None})
        raise _usage(f"The run never started action state {state_name!r}, so there is no recorded input to "
                     f"replay; its action states are {', '.join(seen) or 'none'}.")
    body = (started[-1].get("details") or {}).get("input")
    try:
        tasks = task_list(body, v3=False)
    except ActionUnableToRun as err:
        raise _usage(f"State {state_name!r} is not a compute state the run log can replay: {err}") from None
    return [ReplayCall(state_name, function, list(args), dict(kwargs)) for _, function, args, kwargs in tasks]


def find_function(state_name: str, user_ns: t.Mapping[str, t.Any]) -> t.Callable[..., t.Any] | None:
    """The compute function the notebook's tools give state ``state_name`` now, if any."""
    from gladier.utils.name_generation import get_compute_flow_state_name

    from gladier_jupyter.inline.clients import _unwrap, known_tools

    for name in known_tools(dict(user_ns)):
        tool = _unwrap(user_ns[name])
        for func in getattr(tool, "compute_functions", None) or []:
            if get_compute_flow_state_name(func) == state_name:
                return func
    return None


def _recorded_function(function_id: str, compute_client: t.Any) -> t.Callable[..., t.Any]:
    from globus_compute_sdk.serialize import ComputeSerializer
    from globus_compute_sdk.serialize.utils import unpack_buffers

    info = compute_client.get_function(function_id)
    code = info.get("function_code") if hasattr(info, "get") else None
    if not code:
        raise _usage(f"Compute has no code for function {function_id}; define its tool with %%gladier_tool "
                     "in this notebook and replay again.")
    # A registration's code is packed buffers (the function first), as globus-compute-sdk sends it.
    return ComputeSerializer().deserialize(unpack_buffers(code)[0])


def replay(entries: t.Sequence[dict[str, t.Any]], state_name: str, user_ns: t.Mapping[str, t.Any],
           compute_client: t.Any = None, task: int = 0) -> t.Any:
    """Call the state's function in this process with the run's arguments; its result (or
    its exception, raised here as the run raised it on the endpoint)."""
    calls = recorded_calls(entries, state_name)
    if not 0 <= task < len(calls):
        raise _usage(f"State {state_name!r} ran {len(calls)} task(s); task={task} is out of range.")
    call = calls[task]
    func = find_function(state_name, user_ns)
    if func is None:
        if compute_client is None:
            from gladier_jupyter import backend

            compute_client = backend.compute_client()
        func = _recorded_function(call.function_id, compute_client)
    return func(*call.args, **call.kwargs)


def _notebook_functions(user_ns: t.Mapping[str, t.Any]) -> dict[str, t.Callable[..., t.Any]]:
    """``<fn>_function_id`` key (gladier's name for it in the run input) -> the notebook's
    current compute function, for every tool the notebook defines."""
    from gladier.utils.name_generation import get_compute_function_name

    from gladier_jupyter.inline.clients import _unwrap, known_tools

    found: dict[str, t.Callable[..., t.Any]] = {}
    for name in known_tools(dict(user_ns)):
        tool = _unwrap(user_ns[name])
        for func in list(getattr(tool, "compute_functions", None) or []) + list(
                getattr(tool, "funcx_functions", None) or []):
            found.setdefault(get_compute_function_name(func), func)
    return found


def _same_code(func: t.Callable[..., t.Any], function_id: str, compute_client: t.Any) -> bool:
    """Whether Compute's code for ``function_id`` is ``func``'s code as gladier serializes it."""
    from gladier.managers.compute_manager import ComputeManager
    from globus_compute_sdk.serialize import ComputeSerializer
    from globus_compute_sdk.serialize.utils import unpack_buffers

    try:
        info = compute_client.get_function(function_id)
        code = info.get("function_code") if hasattr(info, "get") else None
        if not code:
            return False
        current = ComputeSerializer(strategy_code=ComputeManager.get_serialization_strategy()).serialize(func)
        return bool(unpack_buffers(code)[0] == current)
    except Exception:  # noqa: BLE001 - unknown to Compute, or code it cannot show: register anew
        return False


def refresh_function_ids(data: t.Any, user_ns: t.Mapping[str, t.Any], *, recorded: t.Any = None,
                         compute_client: t.Any = None) -> tuple[t.Any, list[str]]:
    """``data`` (a re-run's start data) with each ``<fn>_function_id`` of its ``input`` that
    names a notebook function whose code changed since replaced by the id of that function
    registered now, as gladier registers at ``run_flow``; and the keys replaced.

    A key whose value differs from ``recorded`` (the run's own start data) was edited by
    hand and is kept."""
    if not isinstance(data, dict) or not isinstance(data.get("input"), dict):
        return data, []
    functions = _notebook_functions(user_ns)
    before = (recorded or {}).get("input") if isinstance(recorded, dict) else None
    stale = [key for key, value in data["input"].items()
             if key in functions and isinstance(value, str)
             and (not isinstance(before, dict) or before.get(key) == value)]
    if not stale:
        return data, []
    if compute_client is None:
        from gladier.managers.compute_manager import ComputeManager

        from gladier_jupyter import backend

        compute_client = backend.compute_client(
            code_serialization_strategy=ComputeManager.get_serialization_strategy())
    replaced: list[str] = []
    new_input = dict(data["input"])
    for key in stale:
        if _same_code(functions[key], new_input[key], compute_client):
            continue
        new_input[key] = str(compute_client.register_function(functions[key]))
        replaced.append(key)
    return ({**data, "input": new_input} if replaced else data), replaced
