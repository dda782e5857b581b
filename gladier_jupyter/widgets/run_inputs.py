"""What a RunMonitor or RunsPanel is handed, resolved: the run id and document, the flows
client (and gladier client), the flow's graph model; and a service error in one line."""

from __future__ import annotations

import logging
import typing as t

from gladier_jupyter.errors import GladierJupyterUsageError

__all__: list[str] = []


def _run_id_and_doc(run: t.Any) -> tuple[str, dict[str, t.Any] | None]:
    data = getattr(run, "data", run)
    if isinstance(data, t.Mapping):
        run_id = data.get("run_id") or data.get("action_id")
        if not run_id:
            raise GladierJupyterUsageError(
                f"RunMonitor got a run document without 'run_id' (keys: {sorted(data)[:8]}); "
                "pass the result of run_flow(), a run id, or a run document."
            )
        return str(run_id), dict(data)
    if isinstance(run, str) and run.strip():
        return run.strip(), None
    raise GladierJupyterUsageError(
        f"RunMonitor cannot watch {run!r}: pass the result of run_flow(), a run id string, "
        "or a run document."
    )


def _resolve_client(client: t.Any) -> tuple[t.Any, t.Any]:
    """(flows client, gladier client or None) from whatever the caller passed."""
    if client is None:
        from gladier_jupyter import backend

        return backend.flows_client(), None
    if isinstance(client, type) or callable(getattr(client, "__wrapped__", None)):
        # A client class (or a @generate_flow_definition wrapper), as %gladier_client makes
        # it: an instance on the current backend, as %gladier_run builds one.
        from gladier_jupyter import backend, inline

        if inline.is_client(client):
            client = client(**backend.gladier_client_kwargs())
    manager = getattr(client, "flows_manager", None)
    if manager is not None and hasattr(manager, "flows_client"):
        return manager.flows_client, client
    if hasattr(client, "get_run_logs") and hasattr(client, "get_run"):
        return client, None
    maker = getattr(client, "flows_client", None)
    if callable(maker):  # the backend module, or anything offering flows_client()
        return maker(), None
    given = client.__name__ if isinstance(client, type) else type(client).__name__
    raise GladierJupyterUsageError(
        f"client={given!r} is not a gladier client (class or instance), a "
        "globus_sdk.FlowsClient or a backend; pass one of those (or omit it for the "
        "current backend)."
    )


def _graph_model(definition: dict[str, t.Any] | None) -> dict[str, t.Any]:
    """The flow graph model the page draws: the preview's model (``FlowGraph.model``)."""
    if not definition:
        return {}
    from gladier_jupyter.flowgraph import FlowGraph

    try:
        model = FlowGraph.build(definition).model
        if isinstance(model, dict):
            return model
    except Exception:  # the graph is an extra: the log and timeline still show
        logging.getLogger(__name__).warning("the run's flow could not be drawn", exc_info=True)
    return _simple_graph(definition)


def _simple_graph(definition: dict[str, t.Any]) -> dict[str, t.Any]:
    states = definition.get("States") or {}
    nodes, edges = [], []
    for name, state in states.items():
        nodes.append({"id": name, "name": name, "type": state.get("Type", "")})
        for kind, target in _transitions(state):
            edges.append({"source": name, "target": target, "kind": kind})
    return {"start": definition.get("StartAt", ""), "nodes": nodes, "edges": edges}


def _transitions(state: t.Mapping[str, t.Any]) -> list[tuple[str, str]]:
    out = []
    if state.get("Next"):
        out.append(("next", state["Next"]))
    for choice in state.get("Choices") or []:
        if isinstance(choice, dict) and choice.get("Next"):
            out.append(("choice", choice["Next"]))
    if state.get("Default"):
        out.append(("default", state["Default"]))
    for catch in state.get("Catch") or []:
        if isinstance(catch, dict) and catch.get("Next"):
            out.append(("catch", catch["Next"]))
    return out



def _short_error(err: BaseException) -> str:
    status = getattr(err, "http_status", None)
    code = getattr(err, "code", None)
    message = getattr(err, "message", None) or str(err)
    text = " ".join(str(x) for x in (status, code) if x and x != "Error")
    first = str(message).strip().splitlines()[0] if str(message).strip() else type(err).__name__
    return f"{text} {first}".strip()[:300]
