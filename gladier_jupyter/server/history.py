"""What the run tab and the runs panel show beyond one run: what changed in a run's flow
since it ran, two runs compared, a flow's per-state durations over its last runs."""

from __future__ import annotations

import typing as t

from gladier_jupyter.server.runs import Registry, RunNotFound, graph_model

__all__ = ["run_changes", "compare_runs", "flow_durations"]

#: Most runs a durations view reads (each is read whole: document, definition, log).
MAX_HISTORY_RUNS = 50


def run_changes(registry: Registry, run_id: str, source: str | None = None) -> dict[str, t.Any]:
    """The definition the run is pinned to against its flow's definition now.

    ``changed`` is False when the flow is as it was; ``graph`` draws the diff on the flow's
    current graph (removed states ghosted), ``{}`` when nothing changed.
    """
    from gladier_jupyter.flowgraph import FlowGraph, diff_model
    from gladier_jupyter.monitor.history import flow_changes

    tracker = registry.tracker(run_id, source)
    pinned = tracker.model.definition
    flow_id = str(tracker.model.run.get("flow_id") or "")
    if not isinstance(pinned, dict) or not flow_id:
        return {"run_id": run_id, "flow_id": flow_id, "changed": False, "known": False}
    found = flow_changes(tracker.source.client(), run_id, flow_id=flow_id, pinned=pinned)
    if not found.known or found.diff is None or found.current is None:
        unknown = {"run_id": run_id, "flow_id": flow_id, "changed": False, "known": False}
        return {**unknown, "message": found.message} if found.message else unknown
    diff, current = found.diff, found.current
    out: dict[str, t.Any] = {"run_id": run_id, "flow_id": flow_id, "known": True,
                             "changed": diff.changed, "diff": diff.to_dict(), "graph": {}}
    if diff.changed:
        try:
            out["graph"] = diff_model(pinned, FlowGraph.build(current), diff)
        except Exception:  # noqa: BLE001 - the drawing is an extra; the summary still shows
            out["graph"] = graph_model(current)
    return out


def _client(registry: Registry, run_id: str, source: str | None) -> t.Any:
    return registry.tracker(run_id, source).source.client()


def compare_runs(registry: Registry, a: str, b: str, source: str | None = None) -> dict[str, t.Any]:
    """Two runs side by side (``monitor.history.RunComparison.to_dict()``)."""
    from gladier_jupyter.monitor.history import compare_models, load_run

    client_a = _client(registry, a, source)
    client_b = _client(registry, b, source)
    return compare_models(load_run(client_a, a), load_run(client_b, b)).to_dict()


def flow_durations(registry: Registry, flow_id: str, last: int = 20,
                   source: str | None = None) -> dict[str, t.Any]:
    """Per-state durations of a flow's last runs (``FlowDurations.to_dict()``)."""
    from gladier_jupyter.monitor.history import flow_durations as durations

    last = max(1, min(int(last), MAX_HISTORY_RUNS))
    names = [source] if source else [s.name for s in registry.sources]
    for name in names:
        try:
            client = registry.source(name).client()
            client.get_flow(flow_id)
        except Exception:  # noqa: BLE001 - not in this source: try the next
            continue
        return {"source": name, **durations(client, flow_id, last).to_dict()}
    raise RunNotFound(f"Flow {flow_id!r} is in no available source; check the id.")
