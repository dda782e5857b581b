"""The Transfer action providers and the Transfer API routes, through the real globus-sdk.

Shapes are compared key by key with globus-sdk's own fixtures (``globus_sdk.testing``), and
with the Transfer action providers' documented results
(https://docs.globus.org/api/transfer/action-providers/).
"""

from __future__ import annotations

import json
import pathlib
import uuid

import globus_sdk
import pytest
from globus_sdk.testing import get_response_set

DATA = pathlib.Path(__file__).parent.parent / "data" / "flows"
HOSTS = ("https://transfer.actions.globus.org/", "https://actions.globus.org/transfer/",
         "https://actions.automate.globus.org/transfer/")
OPS = ("transfer", "delete", "ls", "stat", "mkdir", "manage_permission", "collection_info")


@pytest.fixture
def tc(local_service):
    from gladier_jupyter import backend

    backend.use_local(local_service.state_dir)
    return backend.transfer_client()


def _keys(name: str, case: str = "default") -> set[str]:
    return set(get_response_set(getattr(globus_sdk.TransferClient, name)).lookup(case).json)


def _root(local_service, cid: str) -> pathlib.Path:
    root = pathlib.Path(local_service.state_dir) / "collections" / cid
    root.mkdir(parents=True, exist_ok=True)
    return root


def _state(url: str, params: dict, **extra) -> dict:
    return {"StartAt": "A", "States": {"A": {"Type": "Action", "ActionUrl": url, "Parameters": params,
                                             "ResultPath": "$.A", "End": True, **extra}}}


# -- addresses --------------------------------------------------------------------------------
@pytest.mark.parametrize("op", OPS)
def test_every_transfer_address_answers_with_the_same_provider(op):
    from gladier_jupyter.local import actions

    found = {type(actions.resolve(host + op)) for host in HOSTS}
    assert len(found) == 1 and None.__class__ not in found, found


@pytest.mark.parametrize("path", ["hello_world", "search/ingest", "search/delete", "transfer/set_permission"])
def test_automate_host_answers_as_actions_globus_org(path):
    from gladier_jupyter.local import actions

    assert type(actions.resolve(f"https://actions.automate.globus.org/{path}")) is type(
        actions.resolve(f"https://actions.globus.org/{path}")) is not type(None)


def test_hello_world_at_the_automate_address_runs(run_definition):
    run = run_definition(_state("https://actions.automate.globus.org/hello_world", {"echo_string": "hi"}))
    assert run["status"] == "SUCCEEDED" and run["details"]["output"]["A"]["details"]["hello"] == "hi"


def test_unknown_action_url_names_what_the_service_provides(run_definition):
    run = run_definition(_state("https://transfer.actions.globus.org/teleport", {}))
    cause = run["details"]["details"]["cause"]
    assert run["status"] == "FAILED" and "teleport" in cause and "collection_info" in cause


@pytest.mark.parametrize("op", OPS)
def test_introspection_document_carries_the_input_schema(tc, local_service, op):
    client = globus_sdk.BaseClient(base_url=local_service.service_url("actions"), authorizer=tc.authorizer)
    doc = client.get(f"transfer.actions.globus.org/{op}/").data
    assert doc["api_version"] == "1.0" and doc["input_schema"]["type"] == "object"
    assert doc["globus_auth_scope"] == "urn:globus:auth:scope:transfer.api.globus.org:all"
    with pytest.raises(globus_sdk.GlobusAPIError) as info:
        client.get("transfer.actions.globus.org/teleport/")
    assert info.value.http_status == 404


# -- the providers ----------------------------------------------------------------------------
def test_transfer_action_details_is_the_task_document(run_definition, local_service):
    src, dst = str(uuid.uuid4()), str(uuid.uuid4())
    (_root(local_service, src) / "a.txt").write_text("alpha")
    run = run_definition(_state("https://transfer.actions.globus.org/transfer", {
        "source_endpoint": src, "destination_endpoint": dst, "label": "docs",
        "DATA": [{"source_path": "/a.txt", "destination_path": "/b.txt"}]}))
    assert run["status"] == "SUCCEEDED", run["details"]
    details = run["details"]["output"]["A"]["details"]
    fixture = get_response_set(globus_sdk.TransferClient.task_list).lookup("default").json["DATA"][0]
    assert set(fixture) <= set(details), set(fixture) - set(details)
    assert (details["DATA_TYPE"], details["status"], details["label"], details["files"]) == ("task", "SUCCEEDED", "docs", 1)
    assert details["request_time"] and details["completion_time"] and details["deadline"] and "event_list" in details


def test_ls_action_returns_the_operation_ls_document(run_definition, local_service):
    cid = str(uuid.uuid4())
    (_root(local_service, cid) / "d").mkdir()
    (_root(local_service, cid) / "d" / "f.txt").write_text("12345")
    run = run_definition(_state("https://transfer.actions.globus.org/ls", {"endpoint_id": cid, "path": "/d"}))
    details = run["details"]["output"]["A"]["details"]
    assert (details["DATA_TYPE"], details["path"], details["total"]) == ("file_list", "/d/", 1)
    [entry] = details["DATA"]
    assert {"name", "type", "size", "last_modified", "permissions", "user", "group", "link_target"} <= set(entry)
    assert (entry["name"], entry["type"], entry["size"]) == ("f.txt", "file", 5)


def test_stat_action_of_a_missing_path_succeeds_with_not_found(run_definition, local_service):
    cid = str(uuid.uuid4())
    _root(local_service, cid)
    run = run_definition(_state("https://transfer.actions.globus.org/stat", {"endpoint_id": cid, "path": "/nope"}))
    assert run["status"] == "SUCCEEDED"
    details = run["details"]["output"]["A"]["details"]
    assert details["code"] == "NotFound" and _keys("operation_stat", "not_found") <= set(details)


def test_mkdir_twice_fails_the_second_action(run_definition, local_service):
    cid = str(uuid.uuid4())
    params = {"endpoint_id": cid, "path": "/new"}
    assert run_definition(_state("https://transfer.actions.globus.org/mkdir", params))["status"] == "SUCCEEDED"
    again = run_definition(_state("https://transfer.actions.globus.org/mkdir", params))
    assert again["status"] == "FAILED" and again["details"]["details"]["error"] == "ActionFailedException"
    assert "already exists" in again["details"]["details"]["cause"]


def test_manage_permission_records_lists_updates_and_deletes_rules(run_definition, tc):
    cid, who = str(uuid.uuid4()), str(uuid.uuid4())
    url = "https://transfer.actions.globus.org/manage_permission"
    run = run_definition(_state(url, {"endpoint_id": cid, "operation": "CREATE", "path": "/shared/",
                                      "principal_type": "identity", "principal": who, "permissions": "r"}))
    created = run["details"]["output"]["A"]["details"]
    assert created["code"] == "Created"
    [rule] = tc.endpoint_acl_list(cid)
    assert (rule["id"], rule["principal"], rule["permissions"]) == (created["access_id"], who, "r")
    run_definition(_state("https://actions.globus.org/transfer/set_permission", {
        "endpoint_id": cid, "operation": "UPDATE", "rule_id": rule["id"], "permissions": "rw"}))
    assert tc.get_endpoint_acl_rule(cid, rule["id"])["permissions"] == "rw"
    run_definition(_state(url, {"endpoint_id": cid, "operation": "DELETE", "rule_id": rule["id"]}))
    assert list(tc.endpoint_acl_list(cid)) == []


def test_collection_info_action_is_the_endpoint_document(run_definition):
    cid = str(uuid.uuid4())
    run = run_definition(_state("https://transfer.actions.globus.org/collection_info", {"endpoint_id": cid}))
    details = run["details"]["output"]["A"]["details"]
    assert details["id"] == cid and _keys("get_endpoint") <= set(details)


@pytest.mark.parametrize("case", json.loads((DATA / "transfer_action_bad_inputs.json").read_text()),
                         ids=lambda c: f"{c['url'].rsplit('/', 1)[1]}-{c['names']}")
def test_bad_input_is_action_unable_to_run_naming_the_field(run_definition, case):
    run = run_definition(_state(case["url"], case["body"]))
    assert run["status"] == "FAILED"
    details = run["details"]["details"]
    assert details["error"] == "ActionUnableToRun", details
    assert case["names"] in details["cause"] and "\n" not in details["cause"], details["cause"]


# -- the Transfer API routes, key by key with globus-sdk's fixtures --------------------------
def test_get_endpoint_has_every_key_of_the_fixture(tc):
    assert _keys("get_endpoint") <= set(tc.get_endpoint(str(uuid.uuid4())).data)


def test_operation_stat_matches_the_fixture_and_its_not_found_error(tc, local_service):
    cid = str(uuid.uuid4())
    (_root(local_service, cid) / "file1.txt").write_text("abcd")
    doc = tc.operation_stat(cid, "/file1.txt").data
    assert set(doc) == _keys("operation_stat") and (doc["type"], doc["size"]) == ("file", 4)
    with pytest.raises(globus_sdk.TransferAPIError) as info:
        tc.operation_stat(cid, "/missing")
    assert info.value.http_status == 404 and info.value.code == "NotFound"
    assert set(info.value.raw_json) == _keys("operation_stat", "not_found")


def test_mkdir_rename_submit_delete_and_submission_id_match_the_fixtures(tc, local_service):
    cid = str(uuid.uuid4())
    root = _root(local_service, cid)
    assert set(tc.operation_mkdir(cid, "/made").data) == _keys("operation_mkdir")
    assert set(tc.operation_rename(cid, "/made", "/renamed").data) == _keys("operation_rename")
    assert (root / "renamed").is_dir() and not (root / "made").exists()
    assert set(tc.get_submission_id().data) == _keys("get_submission_id")
    ddata = globus_sdk.DeleteData(endpoint=cid, recursive=True, label="cleanup")
    ddata.add_item("/renamed")
    result = tc.submit_delete(ddata).data
    assert set(result) == _keys("submit_delete") and not (root / "renamed").exists()
    task = tc.get_task(result["task_id"]).data
    assert (task["type"], task["status"], task["label"]) == ("DELETE", "SUCCEEDED", "cleanup")


def test_rename_onto_an_existing_path_is_refused(tc, local_service):
    cid = str(uuid.uuid4())
    root = _root(local_service, cid)
    (root / "a").write_text("a")
    (root / "b").write_text("b")
    with pytest.raises(globus_sdk.TransferAPIError) as info:
        tc.operation_rename(cid, "/a", "/b")
    assert info.value.http_status == 409 and (root / "b").read_text() == "b"


def test_task_list_matches_the_fixture_and_filters(tc, local_service):
    cid = str(uuid.uuid4())
    (_root(local_service, cid) / "x").write_text("x")
    tdata = globus_sdk.TransferData(source_endpoint=cid, destination_endpoint=cid, label="listed")
    tdata.add_item("/x", "/y")
    task_id = tc.submit_transfer(tdata)["task_id"]
    listing = tc.task_list(limit=5, filter="type:TRANSFER/status:SUCCEEDED").data
    fixture = get_response_set(globus_sdk.TransferClient.task_list).lookup("default").json
    assert set(fixture) == set(listing) and set(fixture["DATA"][0]) <= set(listing["DATA"][0])
    assert listing["DATA"][0]["task_id"] == task_id
    with pytest.raises(globus_sdk.TransferAPIError) as info:
        tc.task_list(filter="colour:blue")
    assert info.value.http_status == 400 and "filter" in info.value.message
