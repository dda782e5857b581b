"""A definition diff drawn on the graph: the new flow's graph with every state marked added,
changed or unchanged, and the removed states put back as ghosts (with their old edges)."""

from __future__ import annotations

import copy
import typing as t

from gladier_jupyter import flowdef
from gladier_jupyter.flowgraph.graph import FlowGraph

__all__ = ["diff_model", "diff_graph"]


def diff_model(old: t.Any, new: FlowGraph, diff: flowdef.DefinitionDiff) -> dict[str, t.Any]:
    """``new``'s graph model with a ``diff`` mark on each state and ``old``'s removed states.

    A state node gets ``diff`` (``added`` / ``removed`` / ``changed`` / ``unchanged``),
    ``diff_changes`` (the field-level changes) and ``diff_functions`` (input keys of the
    compute functions it calls whose source changed); a removed state is drawn from ``old``'s
    graph with ``ghost: true``, and so are its edges (``removed: true``) to states still there.
    """
    model = copy.deepcopy(new.model)
    for node in model["nodes"]:
        entry = diff.states.get(node["id"])
        if entry is not None:
            node["diff"] = entry.status
            node["diff_changes"] = [c.to_dict() for c in entry.changes]
            node["diff_functions"] = list(entry.functions)
    removed = diff.names("removed")
    if removed:
        before = FlowGraph.build(old)
        ids = {n["id"] for n in model["nodes"]} | set(removed)
        for node in before.model["nodes"]:
            if node["id"] in removed:
                ghost = copy.deepcopy(node)
                ghost.update(diff="removed", ghost=True, diff_changes=[], diff_functions=[],
                             problems=[])
                model["nodes"].append(ghost)
        for i, edge in enumerate(before.model["edges"]):
            touches = edge["source"] in removed or edge["target"] in removed
            if touches and edge["source"] in ids and edge["target"] in ids:
                model["edges"].append({**edge, "id": f"r{i}", "removed": True, "back": False})
    model["diff"] = diff.to_dict()
    return model


def diff_graph(old: t.Any, new: t.Any, *, old_functions: t.Mapping[str, t.Any] | None = None,
               new_functions: t.Mapping[str, t.Any] | None = None,
               ) -> tuple[flowdef.DefinitionDiff, dict[str, t.Any]]:
    """The diff of two flows (anything ``FlowGraph.build`` takes) and its graph model."""
    before = FlowGraph.build(old).definition if old is not None else {}
    after = FlowGraph.build(new)
    diff = flowdef.diff_definitions(before, after.definition, old_functions=old_functions,
                                    new_functions=new_functions)
    return diff, diff_model(before, after, diff)
