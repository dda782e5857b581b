"""One JSONPath for the definition check and the flow engine: what one accepts, the other runs.

The table is tests/data/flows/jsonpaths.json. A ResultPath must be a Reference Path (one
place in the state), as the States Language says; Globus documents nothing narrower.
"""

from __future__ import annotations

import json
import pathlib

import globus_sdk
import pytest

from gladier_jupyter import flowdef
from gladier_jupyter.local.flows import paths as engine_paths

TABLE = json.loads(
    (pathlib.Path(__file__).resolve().parent.parent / "data" / "flows" / "jsonpaths.json").read_text()
)["paths"]
DOC = {"a": [{"n": 1}, {"n": 2}], "n": 0}


def _pass(field: str, path: str) -> dict:
    state = {"Type": "Pass", "End": True, "ResultPath": "$.out", field: path}
    return {"StartAt": "P", "States": {"P": state}}


def _checked_ok(definition: dict) -> bool:
    return not [p for p in flowdef.validate(definition) if p.code == "bad_jsonpath"]


@pytest.mark.parametrize("case", TABLE, ids=[repr(c["path"]) for c in TABLE])
def test_definition_check_and_engine_agree_on_a_read_path(case):
    path = case["path"]
    try:
        engine_paths.get_path(DOC, path)
        engine_ok = True
    except engine_paths.PathError as exc:
        engine_ok = False
        assert "\n" not in str(exc) and repr(path) in str(exc)

    assert _checked_ok(_pass("InputPath", path)) is case["valid"]
    assert engine_ok is case["valid"]


@pytest.mark.parametrize("case", [c for c in TABLE if c["valid"]],
                         ids=[repr(c["path"]) for c in TABLE if c["valid"]])
def test_result_path_is_checked_and_written_as_a_reference_path(case):
    path = case["path"]
    assert _checked_ok(_pass("ResultPath", path)) is case["reference"]
    # The engine writes a Reference Path or raises PathError (what a Catch of
    # States.ResultPathMatchFailure sees), never another exception; it writes no other path.
    try:
        engine_paths.set_path(json.loads(json.dumps(DOC)), path, "v")
        written = True
    except engine_paths.PathError:
        written = False
    if not case["reference"]:
        assert not written


def test_writing_through_a_list_is_a_path_error_not_a_crash():
    with pytest.raises(engine_paths.PathError) as info:
        engine_paths.set_path({"a": [[1]]}, "$.a[0].b.c", 1)
    assert "'$.a[0].b.c'" in str(info.value) and "\n" not in str(info.value)


def test_a_result_path_write_leaves_the_written_document_as_it_was():
    # Copy-on-write: the engine keeps earlier run data (log entries not stored yet, the data
    # a state started with) by reference, so a write must not change it.
    before = {"acc": {"a": 1, "list": [{"n": 1}]}, "other": {"big": "x"}}
    frozen = json.loads(json.dumps(before))
    after = engine_paths.set_path(before, "$.acc.b", 2)
    listed = engine_paths.set_path(after, "$.acc.list[0].m", 3)
    created = engine_paths.set_path(listed, "$.new.deep", 4)

    assert before == frozen
    assert after == {"acc": {"a": 1, "b": 2, "list": [{"n": 1}]}, "other": {"big": "x"}}
    assert listed["acc"]["list"] == [{"n": 1, "m": 3}] and after["acc"]["list"] == [{"n": 1}]
    assert created["new"] == {"deep": 4} and "new" not in listed
    assert created["other"] is before["other"]  # what is off the path is shared, not copied


def test_service_accepts_a_filter_path_and_refuses_a_wildcard_result_path(flows_client):
    flows_client.create_flow("filter", {"StartAt": "P", "States": {"P": {
        "Type": "Pass", "Parameters": {"big.$": "$.items[?(@.n > 1)]"}, "End": True}}}, {})

    with pytest.raises(globus_sdk.FlowsAPIError) as info:
        flows_client.create_flow("wildcard", _pass("ResultPath", "$.a[*]"), {})

    assert info.value.http_status == 422
    assert "'$.a[*]'" in info.value.text and "ResultPath" in info.value.text
