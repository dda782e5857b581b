"""The seed tutorial's client runs end to end on the local service, through unmodified
gladier, globus-sdk and globus-compute-sdk clients sending real HTTP."""

from __future__ import annotations

import pathlib
import random
import uuid

import pytest
from gladier import GladierBaseClient, GladierBaseTool, generate_flow_definition

# The seed notebook's tools and client, as written there: one copy, which the magics tests
# also compare the magics' flow with.
from tests._fixtures.runs import wait_for_run
from tests.data.magics.seed_decorator_tools import (
    GatherMetadata,
    MyGladierClient,
    PublishMetadata,
    RunExperiment,
    gather_metadata,
    run_experiment,
)

__all__ = [
    "GatherMetadata", "MyGladierClient", "PublishMetadata", "RunExperiment",
    "gather_metadata", "run_experiment",
]


# ---- helpers ---------------------------------------------------------------------------


@pytest.fixture
def tutorial_index(search_client) -> str:
    index_doc = {
        "display_name": f"gladier-tutorial-{uuid.uuid4().hex[:6]}",
        "description": "A trial index for running my search tutorial",
    }
    return search_client.post("/beta/index", data=index_doc).data["id"]


def tutorial_input(tmp_path: pathlib.Path, index_id: str) -> dict:
    experiment = tmp_path / f"file_{random.randint(1, 1000000)}.txt"
    subject = pathlib.Path("https://example.com/my-gladier-experiment") / experiment.name
    return {
        "input": {
            "experiment": str(experiment),
            "subject": str(subject),
            "funcx_endpoint_compute": "4b116d3c-1703-4f8f-9f6f-39921e5864df",
            # gladier 0.11's generated states read $.input.compute_endpoint; locally any id works.
            "compute_endpoint": "4b116d3c-1703-4f8f-9f6f-39921e5864df",
            "search_index": index_id,
        }
    }


# ---- tests -----------------------------------------------------------------------------


def test_tutorial_client_runs_to_succeeded_and_publishes_search_document(
    gladier_kwargs, flows_client, search_client, tutorial_index, tmp_path
):
    flow_input = tutorial_input(tmp_path, tutorial_index)
    experiment = pathlib.Path(flow_input["input"]["experiment"])
    client = MyGladierClient(**gladier_kwargs)

    flow = client.run_flow(flow_input=flow_input, label=f"Experiment {experiment.name}")
    run = wait_for_run(flows_client, flow["run_id"])

    assert run["status"] == "SUCCEEDED", run["details"]
    output = run["details"]["output"]
    assert output["RunExperiment"]["details"]["result"] == [str(experiment)]
    document = output["GatherMetadata"]["details"]["result"][0]
    assert document["content"]["files"][0]["filename"] == experiment.name
    assert document["content"]["files"][0]["length"] > 0
    assert not experiment.exists(), "gather_metadata removes the experiment file"
    assert output["PublishMetadata"]["status"] == "SUCCEEDED"

    # gladier's own status calls work on the local run (progress ends at once when done).
    assert client.get_status(flow["run_id"])["status"] == "SUCCEEDED"
    client.progress(flow["run_id"], callback=lambda status: None)

    found = search_client.search(tutorial_index, "Experiment").data
    subjects = [g["subject"] for g in found["gmeta"]]
    assert flow_input["input"]["subject"] in subjects


def test_tutorial_client_deploys_flow_and_registers_functions_once(gladier_kwargs, flows_client, tutorial_index, tmp_path):
    first = MyGladierClient(**gladier_kwargs)
    run1 = first.run_flow(flow_input=tutorial_input(tmp_path, tutorial_index))
    ids1 = first.get_compute_function_ids()

    second = MyGladierClient(**type(gladier_kwargs)(__import__("gladier_jupyter.backend").backend.gladier_client_kwargs()))
    run2 = second.run_flow(flow_input=tutorial_input(tmp_path, tutorial_index))

    assert run1["flow_id"] == run2["flow_id"], "an unchanged flow is not deployed again"
    assert second.get_compute_function_ids() == ids1, "unchanged functions are not registered again"
    flow = flows_client.get_flow(run1["flow_id"]).data
    assert flow["title"] == "MyGladierClient flow"
    assert list(flow["definition"]["States"]) == ["RunExperiment", "GatherMetadata", "PublishMetadata"]
    for run in (run1, run2):
        assert wait_for_run(flows_client, run["run_id"])["status"] == "SUCCEEDED"


def test_tutorial_ids_are_stored_apart_from_globus_ids(gladier_kwargs, tutorial_index, tmp_path):
    client = MyGladierClient(**gladier_kwargs)
    client.run_flow(flow_input=tutorial_input(tmp_path, tutorial_index))
    # The client's own storage (what cloud mode reads) holds no local id.
    assert client.storage.get_value("flow_id") is None
    assert client.storage.get_value("run_experiment_function_id") is None
    assert client.flows_manager.get_flow_id()


def explode(**data):
    raise ValueError(f"bad experiment {data['experiment']}")


@generate_flow_definition
class Explode(GladierBaseTool):
    compute_functions = [explode]


@generate_flow_definition
class ExplodingClient(GladierBaseClient):
    gladier_tools = [Explode]


def test_failing_tool_carries_remote_traceback_and_gladier_get_status_copes(gladier_kwargs, flows_client):
    client = ExplodingClient(**gladier_kwargs)
    run = client.run_flow(flow_input={"input": {"experiment": "x1", "compute_endpoint": str(uuid.uuid4())}})
    done = wait_for_run(flows_client, run["run_id"])
    # ExceptionOnActionFailure is false in gladier's generated states: the run goes on.
    assert done["status"] == "SUCCEEDED"
    state = done["details"]["output"]["Explode"]
    assert state["status"] == "FAILED"
    assert "ValueError: bad experiment x1" in state["details"]["exception"]
    assert "Traceback" in state["details"]["exception"]
    # gladier 0.11 tries to unpickle the exception (as for old funcX); it must not raise.
    assert client.get_status(run["run_id"])["details"]["output"]["Explode"]["status"] == "FAILED"


# one state each: the definitions are what the test changes
FIRST = {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}
SECOND = {"StartAt": "B", "States": {
    "B": {"Type": "Pass", "Parameters": {"changed": True}, "ResultPath": "$.b", "End": True}}}


class ChangingClient(GladierBaseClient):
    flow_definition = FIRST
    gladier_tools: list = []


def test_changed_client_flow_is_updated_in_place(gladier_kwargs, flows_client):
    first = ChangingClient(**gladier_kwargs)
    run1 = first.run_flow(flow_input={"input": {"x": 1}})
    ChangingClient.flow_definition = SECOND
    try:
        from gladier_jupyter import backend

        second = ChangingClient(**backend.gladier_client_kwargs())
        run2 = second.run_flow(flow_input={"input": {"x": 2}})
    finally:
        ChangingClient.flow_definition = FIRST
    assert run2["flow_id"] == run1["flow_id"], "gladier updates (PUT) the flow it deployed"
    assert flows_client.get_flow(run1["flow_id"])["definition"]["StartAt"] == "B"
    assert wait_for_run(flows_client, run2["run_id"])["details"]["output"]["b"] == {"changed": True}


@generate_flow_definition
class TransferClient(GladierBaseClient):
    gladier_tools = ["gladier_tools.globus.transfer.Transfer"]


def test_gladier_tools_transfer_tool_copies_between_local_collections(gladier_kwargs, flows_client, local_service):
    src, dst = str(uuid.uuid4()), str(uuid.uuid4())
    source = local_service.state_dir / "collections" / src / "results"
    source.mkdir(parents=True)
    (source / "data.csv").write_text("a,b\n1,2\n")
    client = TransferClient(**gladier_kwargs)
    run = client.run_flow(flow_input={"input": {
        "transfer_source_endpoint_id": src, "transfer_destination_endpoint_id": dst,
        "transfer_source_path": "/results", "transfer_destination_path": "/archive/results",
        "transfer_recursive": True}})
    done = wait_for_run(flows_client, run["run_id"])
    assert done["status"] == "SUCCEEDED", done["details"]
    copied = local_service.state_dir / "collections" / dst / "archive" / "results" / "data.csv"
    assert copied.read_text() == "a,b\n1,2\n"
