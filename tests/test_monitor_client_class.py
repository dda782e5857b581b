"""RunMonitor and RunsPanel take a client the way %gladier_client defines it: the class."""

from __future__ import annotations

import uuid

import pytest
from gladier import GladierBaseClient, GladierBaseTool, generate_flow_definition

import gladier_jupyter
from gladier_jupyter import backend


class Hello(GladierBaseTool):
    flow_definition = {"StartAt": "Hello", "States": {"Hello": {"Type": "Pass", "End": True}}}
    compute_functions: list = []


def _client_class():
    # A fresh class per test: gladier keeps flow ids per class name.
    name = f"ClassClient{uuid.uuid4().hex[:8]}"
    return generate_flow_definition(type(name, (GladierBaseClient,), {"gladier_tools": [Hello]}))


def test_runs_panel_and_monitor_accept_the_decorated_client_class(local_service):
    cls = _client_class()
    assert not isinstance(cls, type)  # @generate_flow_definition gives a wrapper function
    run = cls(**backend.gladier_client_kwargs()).run_flow(
        flow_input={"input": {"n": 1}}, label="class-client")

    monitor = gladier_jupyter.RunMonitor(run, client=cls)
    assert monitor.wait(timeout=60) == "SUCCEEDED"
    panel = gladier_jupyter.RunsPanel(cls)
    ids = [r["run_id"] for r in panel.refresh()]
    assert ids == [run["run_id"]]  # this class's flow only
    monitor.close()
    panel.close()


def test_runs_panel_rejects_a_tool_class_naming_it_in_one_line(local_service):
    with pytest.raises(gladier_jupyter.GladierJupyterUsageError) as err:
        gladier_jupyter.RunsPanel(Hello)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith("client='Hello' is not a gladier client")
