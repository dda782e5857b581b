"""Action states against the local action providers: Compute (v2 and v3 bodies, failures,
WaitTime), Transfer (local copy), plus ``$._context`` — through real globus-sdk and
globus-compute-sdk clients."""

from __future__ import annotations

import pathlib
import uuid

import pytest
from globus_compute_sdk.serialize import DillCodeSource

from tests._fixtures.data import load_json
from tests._fixtures.runs import run_log, wait_for_log_code, wait_for_run

# The definitions that do not name a registered function; those that do are built below.
DEFINITIONS = load_json("flows/actions.json")

ENDPOINT = str(uuid.uuid4())
COMPUTE = "https://compute.actions.globus.org"


def double(**data):
    return data["n"] * 2


def add(a, b):
    return a + b


def odd_types(**data):
    import datetime

    return {"set": {3}, "tuple": (1, 2), "when": datetime.date(2024, 1, 2), "raw": b"ok"}


def divide_by_zero(**data):
    return 1 / 0


def sleep_long(**data):
    import time

    time.sleep(60)


def exit_worker(**data):
    import sys

    sys.exit(3)


def segfault(**data):
    import ctypes

    ctypes.string_at(0)


@pytest.fixture(scope="module")
def fids(local_service):
    from gladier_jupyter import backend

    backend.use_local(local_service.state_dir)
    client = backend.compute_client(code_serialization_strategy=DillCodeSource())
    return {f.__name__: client.register_function(f) for f in (double, add, odd_types, divide_by_zero, sleep_long, exit_worker, segfault)}


def compute_state(function_id, *, eoaf=False, wait_time=30, catch=None, end=True):
    state = {
        "Type": "Action",
        "ActionUrl": COMPUTE,
        "ExceptionOnActionFailure": eoaf,
        "Parameters": {"tasks": [{"endpoint.$": "$.input.compute_endpoint", "function": function_id, "payload.$": "$.input"}]},
        "ResultPath": "$.Result",
        "WaitTime": wait_time,
    }
    if catch:
        state["Catch"] = catch
    state["End" if end else "Next"] = True if end else "Handled"
    return state


def test_compute_v2_body_puts_return_values_under_result_and_results(run_definition, fids):
    run = run_definition({"StartAt": "C", "States": {"C": compute_state(fids["double"])}},
                         {"input": {"compute_endpoint": ENDPOINT, "n": 21}})
    assert run["status"] == "SUCCEEDED", run["details"]
    result = run["details"]["output"]["Result"]
    assert result["status"] == "SUCCEEDED"
    assert result["details"]["result"] == [42]
    assert result["details"]["results"][0]["output"] == 42
    assert result["details"]["results"][0]["status"] == "success"


def test_compute_v3_body_with_args_and_several_tasks(run_definition, fids):
    definition = {"StartAt": "C", "States": {"C": {
        "Type": "Action", "ActionUrl": COMPUTE + "/v3",
        "Parameters": {"endpoint_id": ENDPOINT, "tasks": [
            {"function_id": fids["add"], "args": [1, 2]},
            {"function_id": fids["add"], "kwargs": {"a": 10, "b": 5}},
        ]},
        "ResultPath": "$.Sum", "End": True}}}
    run = run_definition(definition, {})
    assert run["status"] == "SUCCEEDED", run["details"]
    assert run["details"]["output"]["Sum"]["details"]["result"] == [3, 15]


def test_failing_function_without_exception_on_failure_continues_with_failed_result(
        run_definition, fids, flows_client):
    run = run_definition({"StartAt": "C", "States": {"C": compute_state(fids["divide_by_zero"])}},
                         {"input": {"compute_endpoint": ENDPOINT}})
    assert run["status"] == "SUCCEEDED", run["details"]
    result = run["details"]["output"]["Result"]
    assert result["status"] == "FAILED"
    assert "ZeroDivisionError" in result["details"]["exception"]
    codes = [e["code"] for e in run_log(flows_client, run["run_id"])]
    assert "ActionFailed" in codes


def test_failing_function_with_exception_on_failure_fails_the_run(run_definition, fids):
    run = run_definition({"StartAt": "C", "States": {"C": compute_state(fids["divide_by_zero"], eoaf=True)}},
                         {"input": {"compute_endpoint": ENDPOINT}})
    assert run["status"] == "FAILED"
    assert run["details"]["details"]["error"] == "ActionFailedException"
    assert "ZeroDivisionError" in run["details"]["details"]["cause"]


def test_catch_action_failed_exception_routes_to_handler(run_definition, fids):
    catch = [{"ErrorEquals": ["ActionFailedException"], "ResultPath": "$.failure", "Next": "Handled"}]
    definition = {"StartAt": "C", "States": {
        "C": compute_state(fids["divide_by_zero"], eoaf=True, catch=catch, end=False),
        "Handled": {"Type": "Pass", "End": True}}}
    run = run_definition(definition, {"input": {"compute_endpoint": ENDPOINT}})
    assert run["status"] == "SUCCEEDED", run["details"]
    assert run["details"]["output"]["failure"]["Error"] == "ActionFailedException"


def test_action_past_wait_time_fails_with_action_timeout(run_definition, fids):
    run = run_definition({"StartAt": "C", "States": {"C": compute_state(fids["sleep_long"], wait_time=1)}},
                         {"input": {"compute_endpoint": ENDPOINT}})
    assert run["status"] == "FAILED"
    assert run["details"]["details"]["error"] == "ActionTimeout"
    assert "WaitTime" in run["details"]["details"]["cause"]


def test_function_calling_sys_exit_fails_the_action_and_service_stays_up(run_definition, fids):
    run = run_definition({"StartAt": "C", "States": {"C": compute_state(fids["exit_worker"], eoaf=True)}},
                         {"input": {"compute_endpoint": ENDPOINT}})
    assert run["status"] == "FAILED"
    assert run["details"]["details"]["error"] == "ActionFailedException"
    again = run_definition({"StartAt": "C", "States": {"C": compute_state(fids["double"])}},
                           {"input": {"compute_endpoint": ENDPOINT, "n": 1}})
    assert again["details"]["output"]["Result"]["details"]["result"] == [2]


def test_unknown_function_is_action_unable_to_run(run_definition, fids):
    run = run_definition({"StartAt": "C", "States": {"C": compute_state(str(uuid.uuid4()))}},
                         {"input": {"compute_endpoint": ENDPOINT}})
    assert run["status"] == "FAILED"
    assert run["details"]["details"]["error"] == "ActionUnableToRun"


def test_context_gives_run_id_flow_id_and_username(run_definition):
    run = run_definition(DEFINITIONS["context"], {}, label="ctx label")
    ctx = run["details"]["output"]["ctx"]
    assert ctx["run"] == run["run_id"]
    assert ctx["flow"] == run["flow_id"]
    assert ctx["user"]
    assert ctx["label"] == "ctx label"
    assert "_context" not in run["details"]["output"]


def test_transfer_action_copies_between_local_collections(run_definition, local_service):
    src, dst = str(uuid.uuid4()), str(uuid.uuid4())
    source = pathlib.Path(local_service.state_dir) / "collections" / src / "data"
    source.mkdir(parents=True)
    (source / "a.txt").write_text("alpha")
    (source / "sub").mkdir()
    (source / "sub" / "b.txt").write_text("beta")
    run = run_definition(DEFINITIONS["transfer_copy"], {"src": src, "dst": dst})
    assert run["status"] == "SUCCEEDED", run["details"]
    target = pathlib.Path(local_service.state_dir) / "collections" / dst / "copy"
    assert (target / "a.txt").read_text() == "alpha"
    assert (target / "sub" / "b.txt").read_text() == "beta"
    assert run["details"]["output"]["Transfer"]["details"]["files"] == 2


def test_transfer_path_escaping_collection_is_refused(run_definition):
    run = run_definition(DEFINITIONS["transfer_escaping_its_collection"], {})
    assert run["status"] == "FAILED"
    assert run["details"]["details"]["error"] == "ActionUnableToRun"
    assert "leaves its collection" in run["details"]["details"]["cause"]


def test_cancel_during_compute_action_ends_run_canceled(run_definition, fids, flows_client):
    run = run_definition({"StartAt": "C", "States": {"C": compute_state(fids["sleep_long"], wait_time=120)}},
                         {"input": {"compute_endpoint": ENDPOINT}}, wait=False)
    wait_for_log_code(flows_client, run["run_id"], "ActionStarted")
    assert flows_client.cancel_run(run["run_id"])["details"]["code"] == "FlowCanceled"
    codes = [e["code"] for e in run_log(flows_client, run["run_id"])]
    assert codes[-1] == "FlowCanceled" and "ActionCompleted" not in codes
    assert flows_client.get_run(run["run_id"])["status"] == "FAILED"


def test_many_concurrent_runs_all_succeed(flows_client, fids):
    from globus_sdk import SpecificFlowClient

    definition = {"StartAt": "P", "States": {
        "P": {"Type": "Pass", "Parameters": {"n.$": "$.n"}, "ResultPath": "$.p", "Next": "C"},
        "C": compute_state(fids["double"])}}
    flow = flows_client.create_flow("many", definition, {}).data
    sfc = SpecificFlowClient(flow["id"], authorizer=flows_client.authorizer)
    ids = [sfc.run_flow({"n": i, "input": {"compute_endpoint": ENDPOINT, "n": i}}).data["run_id"] for i in range(30)]
    results = [wait_for_run(flows_client, rid) for rid in ids]
    assert [r["status"] for r in results] == ["SUCCEEDED"] * 30
    assert [r["details"]["output"]["Result"]["details"]["result"][0] for r in results] == [2 * i for i in range(30)]


def test_segfaulting_function_fails_the_action_and_service_stays_up(run_definition, fids):
    run = run_definition({"StartAt": "C", "States": {"C": compute_state(fids["segfault"])}},
                         {"input": {"compute_endpoint": ENDPOINT}})
    assert run["status"] == "SUCCEEDED", run["details"]
    result = run["details"]["output"]["Result"]
    assert result["status"] == "FAILED" and result["details"]["exception"]
    again = run_definition({"StartAt": "C", "States": {"C": compute_state(fids["double"])}},
                           {"input": {"compute_endpoint": ENDPOINT, "n": 4}})
    assert again["details"]["output"]["Result"]["details"]["result"] == [8]


def test_non_json_return_values_become_json_in_the_flow_document(run_definition, fids):
    run = run_definition({"StartAt": "C", "States": {"C": compute_state(fids["odd_types"])}},
                         {"input": {"compute_endpoint": ENDPOINT}})
    assert run["status"] == "SUCCEEDED", run["details"]
    assert run["details"]["output"]["Result"]["details"]["result"] == [
        {"set": [3], "tuple": [1, 2], "when": "2024-01-02", "raw": "ok"}]


def test_transfer_delete_removes_items_from_a_collection(run_definition, local_service):
    cid = str(uuid.uuid4())
    root = pathlib.Path(local_service.state_dir) / "collections" / cid
    (root / "old").mkdir(parents=True)
    (root / "old" / "a.txt").write_text("x")
    (root / "keep.txt").write_text("k")
    run = run_definition(DEFINITIONS["transfer_delete"], {"collection": cid})
    assert run["status"] == "SUCCEEDED", run["details"]
    assert not (root / "old").exists() and (root / "keep.txt").exists()


def test_search_delete_by_subject_removes_the_document(run_definition, search_client):
    index = search_client.post("/v1/index", data={"display_name": "del", "description": "d"}).data["id"]
    subject = f"urn:test:{uuid.uuid4()}"
    where = {"index": index, "subject": subject}
    assert run_definition(DEFINITIONS["search_ingest"], where)["status"] == "SUCCEEDED"
    assert search_client.search(index, "Zanzibar")["total"] == 1
    run = run_definition(DEFINITIONS["search_delete_by_subject"], where)
    assert run["status"] == "SUCCEEDED", run["details"]
    assert search_client.search(index, "Zanzibar")["total"] == 0
