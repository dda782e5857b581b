"""The debug loop's entry points: routes of this service's own, outside Globus's Flows API.

Globus Flows has no way to see what a state started with, to start a run at a state, or
to run one state alone; the local service adds the three, behind its own routes
(``GET /runs/{id}/state_inputs``, ``POST /runs/{id}/rerun``, ``POST /flows/test_state``
and ``POST /flows/{id}/test_state``). A re-run is an ordinary run of the flow's current
definition that starts at the chosen state and names its parent in its tags
(:data:`RERUN_TAGS`), which is also how a re-run on Globus (a run of a derived flow) says
where it came from. A state test (AWS Step Functions' TestState is the model) stores
nothing: :meth:`.Engine.test_state`.
"""

from __future__ import annotations

import copy
import typing as t
import uuid

from gladier_jupyter.local.flows.definitions import shown_value, validate_definition
from gladier_jupyter.local.flows.errors import BadRequest, Unprocessable
from gladier_jupyter.local.flows.service import FlowsService

__all__ = ["RERUN_TAGS", "FlowsDebugging", "rerun_tags"]

#: Tags a re-run carries: the run it re-runs and the state it started at (tags, because a
#: re-run on Globus, a run of a derived flow, can carry nothing else the runs list shows).
RERUN_TAGS = ("rerun-of:", "rerun-from:")


def rerun_tags(run_id: str, state_name: str) -> list[str]:
    """The tags of a re-run of run ``run_id`` from state ``state_name``."""
    return [f"{RERUN_TAGS[0]}{run_id}", f"{RERUN_TAGS[1]}{state_name}"]


class FlowsDebugging:
    """State inputs, re-runs and state tests of one Flows service (stateless)."""

    def __init__(self, service: FlowsService):
        self.service = service

    def state_inputs(self, run_id: str) -> dict[str, t.Any]:
        """The run data each state of the run last started with."""
        doc = self.service.get_run(run_id)
        return {"run_id": run_id, "flow_id": doc["flow_id"], "state_inputs": self.service.store.get_state_inputs(run_id)}

    def rerun(self, run_id: str, body: t.Any) -> dict[str, t.Any]:
        """A new run of the run's flow (its current definition) that starts at state
        ``state_name`` with the run data that state started with, or ``input`` instead."""
        parent = self.service.get_run(run_id)
        if not isinstance(body, dict):
            raise BadRequest("The request body must be a JSON object.")
        flow = self.service.get_flow(parent["flow_id"])
        states = flow["definition"].get("States") or {}
        name = body.get("state_name")
        if not isinstance(name, str) or name not in states:
            raise Unprocessable([(["state_name"], f"state_name {shown_value(name)} is not a state of flow "
                                  f"{flow['id']}; its states are {', '.join(list(states)[:20])}.", "value_error")])
        if "input" in body and body["input"] is not None:
            data = body["input"]
        else:
            started = self.service.store.get_state_inputs(run_id, shown=False)
            if name not in started:
                raise Unprocessable([(["state_name"], f"Run {run_id} never started state {name!r}, so there is "
                                      "no run data to start it with; pass 'input' with the data to use.",
                                      "value_error")])
            data = started[name]
        if not isinstance(data, dict):
            raise Unprocessable([(["input"], "The run data to start from must be a JSON object, not "
                                  f"{type(data).__name__}.", "type_error.dict")])
        given_tags = body.get("tags")
        kept_tags: list[t.Any] = given_tags if isinstance(given_tags, list) else list(parent.get("tags") or [])
        meta = {"label": body.get("label") or (f"{parent.get('label') or run_id[:8]} from {name}")[:64],
                "tags": [*rerun_tags(run_id, name), *[tag for tag in kept_tags if not str(tag).startswith(RERUN_TAGS)]],
                "run_managers": parent.get("run_managers"), "run_monitors": parent.get("run_monitors")}
        link = {"run_id": run_id, "label": parent.get("label"), "state_name": name}
        return self.service.start_run(flow, meta, data, start_at=name, parent=link)

    def test_state(self, body: t.Any, flow_id: str | None = None) -> dict[str, t.Any]:
        """Run one state against a run-data document, storing nothing (AWS Step Functions'
        TestState is the model): ``{"definition" (or the flow's), "state_name", "input"}``."""
        if not isinstance(body, dict):
            raise BadRequest("The request body must be a JSON object.")
        if flow_id is not None:
            flow = self.service.get_flow(flow_id)
            definition = flow["definition"]
        else:
            definition = body.get("definition")
            problems = validate_definition(definition) if isinstance(definition, dict) else [
                (["definition"], "definition must be a flow definition object.", "type_error.dict")]
            if problems:
                raise Unprocessable(problems)
        states = definition.get("States") or {}
        name = body.get("state_name")
        if not isinstance(name, str) or name not in states:
            raise Unprocessable([(["state_name"], f"state_name {shown_value(name)} is not a state of the flow; "
                                  f"its states are {', '.join(list(states)[:20])}.", "value_error")])
        data = body.get("input", {})
        if not isinstance(data, dict):
            raise Unprocessable([(["input"], "The run data ('input') must be a JSON object, not "
                                  f"{type(data).__name__}.", "type_error.dict")])
        test_id = f"test-state-{uuid.uuid4()}"
        doc: dict[str, t.Any] = {"run_id": test_id, "flow_id": flow_id or "test-state", "label": body.get("label") or f"test {name}",
               "start_time": self.service.clock.iso(), "tags": [], "run_managers": [], "run_monitors": []}
        return self.service.engine.test_state(doc, states, name, copy.deepcopy(data))
