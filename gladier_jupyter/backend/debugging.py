"""The debug loop's requests: test one state, the run data each state started with, and a
re-run from a state.

The local service answers all three natively (routes of its own under its Flows API:
``POST flows/test_state``, ``GET runs/{id}/state_inputs``, ``POST runs/{id}/rerun``).
Globus Flows has none of them: a state test needs the local service; the start data of a
state is rebuilt from the run log; a re-run deploys a derived flow whose ``StartAt`` is the
state and runs it with that data (the caller says so first: it creates a flow).
"""

from __future__ import annotations

import copy
import typing as t

from gladier_jupyter.errors import GladierJupyterUsageError

__all__ = ["is_local_client", "rebuild_state_inputs", "rerun_from", "state_inputs", "test_state",
           "DERIVED_FLOW_NOTICE"]

#: The one-line notice shown before a re-run on Globus (it deploys a flow).
DERIVED_FLOW_NOTICE = ("Globus Flows cannot start a run at a chosen state: deploying a derived flow "
                       "{title!r} whose StartAt is {state!r}, then running it with the state's run data.")


def is_local_client(flows_client: t.Any) -> bool:
    """Whether ``flows_client`` talks to the local service."""
    return getattr(flows_client, "_gj_local", None) is not None


def _flows(flows_client: t.Any) -> t.Any:
    if flows_client is not None:
        return flows_client
    from gladier_jupyter import backend

    return backend.flows_client()


def test_state(state_name: str, data: t.Any, *, definition: dict[str, t.Any] | None = None,
               flow_id: str | None = None, flows_client: t.Any = None) -> dict[str, t.Any]:
    """Run state ``state_name`` of ``definition`` (or of the deployed flow ``flow_id``) once
    against the run data ``data`` on the local service; its steps, output and next state."""
    client = _flows(flows_client)
    if not is_local_client(client):
        raise GladierJupyterUsageError(
            "Globus Flows has no state test; run gladier_jupyter.use_local() (the local service runs "
            "the state the way Globus would) and test the state again.")
    body: dict[str, t.Any] = {"state_name": state_name, "input": data}
    if flow_id:
        path = f"/flows/{flow_id}/test_state"
    else:
        path, body["definition"] = "/flows/test_state", definition
    return dict(client.post(path, data=body).data)


def state_inputs(run_id: str, *, flows_client: t.Any = None,
                 definition: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
    """State name -> the run data it (last) started with."""
    client = _flows(flows_client)
    if is_local_client(client):
        return dict(client.get(f"/runs/{run_id}/state_inputs").data["state_inputs"])
    entries = list(client.paginated.get_run_logs(run_id).items())
    if definition is None:
        definition = client.get(f"/runs/{run_id}/definition").data["definition"]
    return rebuild_state_inputs(definition, entries)


def rebuild_state_inputs(definition: dict[str, t.Any], entries: t.Sequence[dict[str, t.Any]]) -> dict[str, t.Any]:
    """The run data each state started with, rebuilt from a run log (for Globus, which does
    not record it): the run input, then each state's result stored at its ResultPath."""
    from gladier_jupyter.local.flows import paths

    states = definition.get("States") or {}
    data: t.Any = {}
    out: dict[str, t.Any] = {}
    for entry in entries:
        code = entry.get("code", "")
        details = entry.get("details") or {}
        name = details.get("state_name")
        if code == "FlowStarted":
            data = copy.deepcopy(details.get("input", {}))
        elif name and code.endswith("Started"):
            out[name] = copy.deepcopy(data)
        elif name and code in ("PassCompleted", "ExpressionEvalCompleted") and "output" in details:
            data = copy.deepcopy(details["output"])
        elif name and code in ("ActionCompleted", "ActionFailed") and "output" in details:
            path = (states.get(name) or {}).get("ResultPath", "$")
            if path is not None:
                data = paths.set_path(data, path, copy.deepcopy(details["output"]))
    return out


def rerun_from(run_id: str, state_name: str, data: t.Any = None, *, label: str | None = None,
               flows_client: t.Any = None, derived: bool | None = None,
               notice: t.Callable[[str], None] | None = None) -> dict[str, t.Any]:
    """A new run of the run's flow starting at ``state_name`` with the run data that state
    started with (or ``data``). Local: natively. Globus (or ``derived=True``): a derived
    flow whose StartAt is the state, announced through ``notice`` first. The run document."""
    client = _flows(flows_client)
    local = is_local_client(client)
    if derived is None:
        derived = not local
    if not derived:
        body: dict[str, t.Any] = {"state_name": state_name}
        if data is not None:
            body["input"] = data
        if label:
            body["label"] = label
        return dict(client.post(f"/runs/{run_id}/rerun", data=body).data)
    return _rerun_derived(client, run_id, state_name, data, label, notice)


def _rerun_derived(client: t.Any, run_id: str, state_name: str, data: t.Any, label: str | None,
                   notice: t.Callable[[str], None] | None) -> dict[str, t.Any]:
    from gladier_jupyter import backend

    parent = client.get_run(run_id).data
    definition = copy.deepcopy(client.get(f"/runs/{run_id}/definition").data["definition"])
    if state_name not in (definition.get("States") or {}):
        raise GladierJupyterUsageError(
            f"State {state_name!r} is not a state of run {run_id}'s flow; its states are "
            f"{', '.join(list(definition.get('States') or {})[:20])}.")
    if data is None:
        started = state_inputs(run_id, flows_client=client, definition=definition)
        if state_name not in started:
            raise GladierJupyterUsageError(
                f"Run {run_id} never started state {state_name!r}; pass the run data to start it with.")
        data = started[state_name]
    definition["StartAt"] = state_name
    title = f"{(parent.get('flow_title') or 'flow')[:80]} from {state_name}"[:128]
    if notice is not None:
        notice(DERIVED_FLOW_NOTICE.format(title=title, state=state_name))
    flow = client.create_flow(title=title, definition=definition, input_schema={},
                              subtitle=f"derived from flow {parent.get('flow_id')} to re-run {run_id}").data
    from gladier_jupyter.local.flows.debugging import rerun_tags

    specific = backend.specific_flow_client(flow["id"], authorizer=None if is_local_client(client)
                                            else backend.authorizer_for(flow["globus_auth_scope"]))
    return dict(specific.run_flow(data, label=(label or f"{parent.get('label') or run_id[:8]} from {state_name}")[:64],
                                  tags=rerun_tags(run_id, state_name)).data)
