"""The example flows published with Globus's older automate client run here unmodified.

Each file of ``tests/data/flows/automate_examples/`` holds one flow of
globus/globus-automate-client's ``examples/flows/`` (the last version before the project's
end of life) verbatim: its definition, its input (or the one its README gives), its input
schema when it has one, the files its collections start with and the outcome its README or
definition implies (``expected``). Only endpoint ids changed: the legacy names ``go#ep1`` /
``go#ep2`` became the Tutorial Endpoint ids, and every collection id is mapped to a folder of
the test with ``gladier_jupyter.local.map_collection``. A flow that waits on a person
(``weboption/wait_for_option``) is answered with ``gladier_jupyter.local.select_option``.
Runs go through globus-sdk's FlowsClient and SpecificFlowClient against the local service.
"""

from __future__ import annotations

import json
import pathlib
import time

import pytest

from tests._fixtures.local import run_log, wait_for_run

EXAMPLES = pathlib.Path(__file__).parent.parent / "data" / "flows" / "automate_examples"


def _load(name: str) -> dict:
    return json.loads((EXAMPLES / f"{name}.json").read_text())


def _cases() -> list:
    cases = []
    for path in sorted(EXAMPLES.glob("*.json")):
        doc = json.loads(path.read_text())
        marks = []
        if doc["expected"].get("xfail"):
            marks.append(pytest.mark.xfail(strict=True, reason=doc["expected"]["xfail"]))
        cases.append(pytest.param(path.stem, marks=marks, id=path.stem))
    return cases


def _lay_out(folder: pathlib.Path, files: dict) -> None:
    for rel, content in files.items():
        target = folder / rel
        if content is None:
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content)


def _at(doc: object, dotted: str) -> object:
    for part in dotted.split("."):
        assert isinstance(doc, dict) and part in doc, f"{dotted}: no {part!r} in {json.dumps(doc)[:300]}"
        doc = doc[part]
    return doc


def _answer_options(run_id: str, expected: dict, flows_client, state_dir) -> None:
    from gladier_jupyter import local

    deadline = time.monotonic() + 60
    while not local.waiting_options(run_id, state_dir) and time.monotonic() < deadline:
        assert flows_client.get_run(run_id).data["status"] == "ACTIVE"
        time.sleep(0.05)
    [waiting] = local.waiting_options(run_id, state_dir)
    options = {o["name"]: o for o in waiting["options"]}
    assert list(options) == expected["options"]
    local.select_option(options[expected["select"]]["url"], state_dir)


@pytest.mark.parametrize("name", _cases())
def test_automate_client_example_flow_ends_as_its_readme_or_definition_implies(
        name, flows_client, local_service, tmp_path):
    import globus_sdk

    from gladier_jupyter import local

    example = _load(name)
    expected = example["expected"]
    state_dir = local_service.state_dir
    folders = {}
    for cid, files in example["collections"].items():
        folders[cid] = local.map_collection(cid, tmp_path / cid, state_dir)
        _lay_out(folders[cid], files)

    if expected["status"] == "REJECTED":
        with pytest.raises(globus_sdk.FlowsAPIError) as refused:
            flows_client.create_flow(name, example["definition"], {})
        assert refused.value.http_status == expected["create_status"]
        assert expected["create_error_mentions"] in json.dumps(refused.value.raw_json), refused.value.raw_json
        return

    flow_input = example["input"]
    if "_tokens" in flow_input:  # a RunAs role's token: the caller's own
        flow_input = {**flow_input, "_tokens": {
            role: flows_client.authorizer.get_authorization_header().split(" ", 1)[1]
            for role in flow_input["_tokens"]}}
    flow = flows_client.create_flow(name, example["definition"], example.get("input_schema", {})).data
    specific = globus_sdk.SpecificFlowClient(flow["id"], authorizer=flows_client.authorizer)
    started_at = time.monotonic()
    run_id = specific.run_flow(flow_input, label=name).data["run_id"]
    if "select" in expected:
        _answer_options(run_id, expected, flows_client, state_dir)
    statuses = ("INACTIVE",) if expected["status"] == "INACTIVE" else ("SUCCEEDED", "FAILED", "ENDED")
    run = wait_for_run(flows_client, run_id, timeout=90, statuses=statuses)
    try:
        assert run["status"] == expected["status"], json.dumps(run["details"], indent=1)[:3000]
        if expected["status"] == "INACTIVE":
            assert expected["inactive_code"] in json.dumps(run["details"]), run["details"]
            return
        if "min_seconds" in expected:
            assert time.monotonic() - started_at >= expected["min_seconds"] - 1
        output = run["details"]["output"]
        for dotted, value in expected.get("output", {}).items():
            assert _at(output, dotted) == value, dotted
        for cid, files in expected.get("files", {}).items():
            for rel, content in files.items():
                assert (folders[cid] / rel).read_text() == content, (cid, rel)
        for cid, paths in expected.get("absent", {}).items():
            for rel in paths:
                assert not (folders[cid] / rel).exists(), f"{rel} is still on {cid}"
        if "log_states" in expected:
            started = [e["details"].get("state_name") for e in run_log(flows_client, run_id)
                       if e["code"] in ("ActionStarted", "PassStarted", "ExpressionEvalStarted")]
            for state, count in expected["log_states"].items():
                assert started.count(state) == count, (state, started)
        if "emails" in expected:
            mails = sorted(local.outbox(run_id=run_id, state_dir=state_dir), key=lambda m: m["id"])
            assert len(mails) == len(expected["emails"]), mails
            for mail, want in zip(mails, expected["emails"], strict=True):
                assert (mail["destination"], mail["subject"]) == (want["destination"], want["subject"])
                assert want["body_contains"] in mail["body"], mail["body"]
            assert "PASSWORD" not in json.dumps(mails), mails
    finally:
        if run["status"] in ("ACTIVE", "INACTIVE"):
            flows_client.cancel_run(run_id)


def test_every_automate_example_names_its_source_and_outcome():
    names = {p.stem for p in EXAMPLES.glob("*.json")}
    assert len(names) == 18  # every flow of examples/flows/ at the project's last version
    for name in names:
        doc = _load(name)
        assert doc["source"].startswith("github.com/globus/globus-automate-client@") and doc["expected"]["outcome"]


@pytest.mark.parametrize(("path", "doc", "value"), [
    ("$.input.Hellos[1:]", {"input": {"Hellos": ["Second"]}}, []),  # complex-hello-world's last slice
    ("$['input'].Hellos[1:]", {"input": {"Hellos": ["First", "Second"]}}, ["Second"]),
    ("$.a[2:5]", {"a": [1]}, []),
])
def test_a_slice_of_a_list_that_is_there_selects_a_list_even_an_empty_one(path, doc, value):
    from gladier_jupyter.jsonpath import MISSING, compile_path

    assert compile_path(path).find(doc) == value
    # nothing to slice is still nothing: the state's "not present" error
    assert compile_path(path).find({"input": {}, "a": {"x": 1}}) is MISSING
