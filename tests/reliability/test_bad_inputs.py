"""The bad-input corpus (``tests/data/bad_inputs``): malformed magic cells, broken flow
definitions, wrong API requests, huge inputs, control characters, JSONPath injection and
expressions reaching for dunders or imports. Each gets one clear line (an IPython
UsageError, or a 4xx in the service's error shape, or a run FAILED with its reason); the
shell and the service keep working; nothing stored is corrupted; no injected code runs."""

from __future__ import annotations

import json
import pathlib
import typing as t

import pytest
import requests
from IPython.core.error import UsageError

from gladier_jupyter import flowdef
from tests.reliability import _service as svc
from tests.test_magics import ipshell  # noqa: F401 - the session's IPython shell fixture

CANARY = pathlib.Path("/tmp/gladier-canary")


def _cases(kind: str) -> list[tuple[str, dict]]:
    return [(p.stem, json.loads(p.read_text())) for p in sorted((svc.BAD / kind).glob("*.json"))]


MAGICS = _cases("magics")
DEFINITIONS = _cases("definitions")
API = _cases("api")
SHAPES = {
    "flows": lambda doc: isinstance(doc.get("error"), dict) and {"code", "detail"} <= set(doc["error"]) and "debug_id" in doc,
    "search": lambda doc: doc.get("@datatype") == "GError" and {"code", "message", "status"} <= set(doc),
    "compute": lambda doc: "code" in doc or "error" in doc or "reason" in doc,
}


def test_corpus_holds_at_least_fifty_cases_of_every_kind():
    assert len(MAGICS) + len(DEFINITIONS) + len(API) >= 50
    assert len(MAGICS) >= 20 and len(DEFINITIONS) >= 20 and len(API) >= 20
    # every kind of error the flow check knows is in the corpus
    known = {"not_a_dict", "no_states", "no_start_at", "unknown_start_at", "state_not_dict",
             "missing_type", "unknown_type", "unknown_target", "bad_field", "next_and_end",
             "no_next", "bad_expression", "missing_field", "no_action_url", "bad_rule",
             "unreachable", "no_end", "bad_jsonpath", "unsafe_expression"}
    assert known <= {case.get("code") or case.get("warning") for _, case in DEFINITIONS}


def _one_line(message: str) -> None:
    assert message.strip(), "an error must say something"
    assert "\n" not in message.strip(), f"not one line: {message!r}"
    assert "Traceback" not in message


@pytest.fixture
def shell(ipshell):  # noqa: F811
    ipshell.reset(new_session=False)
    CANARY.unlink(missing_ok=True)
    yield ipshell
    assert not CANARY.exists(), "injected code ran"


@pytest.mark.parametrize(("name", "case"), MAGICS, ids=[n for n, _ in MAGICS])
def test_bad_magic_cell_gives_one_line_usage_error_and_the_shell_keeps_working(
        shell, request, name, case):
    if case.get("service"):
        from gladier_jupyter import backend

        info = request.getfixturevalue("local_service")
        backend.use_local(info.state_dir)
    for cell in case.get("setup", []):
        result = shell.run_cell(cell, silent=True)
        assert result.success, (cell, result.error_in_exec)
    if case.get("big_input_mb"):
        shell.user_ns["big_input"] = {"input": {
            "compute_endpoint": svc.ENDPOINT, "blob": "x" * (case["big_input_mb"] * 1024 * 1024)}}
    result = shell.run_cell(case["cell"], silent=True)
    error = result.error_in_exec or result.error_before_exec
    if case.get("expect_ok"):
        assert error is None, error
        run = shell.user_ns.get("run")
        if run is not None:
            _check_stored_run(request, run, case)
    else:
        assert isinstance(error, UsageError), f"{name}: {type(error).__name__}: {error}"
        _one_line(str(error))
        for expected in case.get("expect", []):
            assert expected in str(error), (name, expected, str(error))
    # the shell still works: a good cell after the bad one succeeds
    good = shell.run_cell("%%gladier_tool AfterBad\ndef after_bad(**data):\n    return data\n", silent=True)
    assert good.success, good.error_in_exec
    assert shell.user_ns["AfterBad"].__name__ == "AfterBad"


def _check_stored_run(request: t.Any, run: dict, case: dict) -> None:
    info = request.getfixturevalue("local_service")
    fc = svc.flows_client(info)
    end = svc.wait_for_run(fc, run["run_id"])
    assert end["status"] == "SUCCEEDED", end["details"]
    stored = fc.get_run(run["run_id"]).data
    if "check_label" in case:
        assert stored["label"] == case["check_label"]
    if "check_label_max_len" in case:
        assert 0 < len(stored["label"]) <= case["check_label_max_len"]
    if case.get("big_input_mb"):
        blob = stored["details"]["output"]["input"]["blob"]
        assert len(blob) == case["big_input_mb"] * 1024 * 1024 and set(blob) == {"x"}


@pytest.mark.parametrize(("name", "case"), DEFINITIONS, ids=[n for n, _ in DEFINITIONS])
def test_broken_definition_is_named_by_the_check_and_refused_by_the_service(
        local_service, name, case):
    CANARY.unlink(missing_ok=True)
    fc = svc.flows_client(local_service)
    flows_before = svc.stored_counts(local_service.state_dir)["flows"]
    if "code" in case:
        problems = flowdef.validate(case["definition"])
        matching = [p for p in problems if p.code == case["code"] and p.severity == "error"]
        assert matching, (name, [p.to_dict() for p in problems])
        for p in problems:
            _one_line(p.message)
        resp = _post(local_service, "flows/flows", {"title": name, "definition": case["definition"]})
        assert resp.status_code == 422, (resp.status_code, resp.text[:300])
        doc = resp.json()
        assert SHAPES["flows"](doc)
        assert all(isinstance(d, dict) and {"loc", "msg", "type"} <= set(d) for d in doc["error"]["detail"])
        for d in doc["error"]["detail"]:
            _one_line(d["msg"])
        assert svc.stored_counts(local_service.state_dir)["flows"] == flows_before
    elif "warning" in case:
        # a warning: named by the check, the flow deploys and a run still ends
        problems = flowdef.validate(case["definition"])
        assert [p for p in problems if p.code == case["warning"] and p.severity == "warning"], problems
        flow_id = svc.deploy(fc, case["definition"], title=name)
        run = svc.wait_for_run(fc, svc.start(fc, flow_id, {"input": {}})["run_id"])
        assert run["status"] in ("SUCCEEDED", "FAILED")
    else:
        # the check cannot see it (it depends on the input); the engine refuses it at run
        # time with one line
        assert not flowdef.errors(case["definition"]), name
        flow_id = svc.deploy(fc, case["definition"], title=name)
        run = svc.wait_for_run(fc, svc.start(fc, flow_id, case.get("input", {"input": {}}))["run_id"])
        assert run["status"] == "FAILED"
        _one_line(run["details"]["description"])
        assert case["run_fails"] in run["details"]["description"]
    assert not CANARY.exists(), "injected code ran"
    _service_still_works(local_service)


def _post(info: t.Any, path: str, body: t.Any = None, raw: bytes | None = None,
          method: str = "POST") -> requests.Response:
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    return requests.request(method, info.base_url + "/api/" + path, data=data, timeout=60,
                            verify=str(info.ca_file),
                            headers={"Authorization": f"Bearer {info.secret}",
                                     "Content-Type": "application/json"})


def _service_still_works(info: t.Any) -> None:
    fc = svc.flows_client(info)
    flow_id = svc.deploy(fc, {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}, "after bad")
    run = svc.wait_for_run(fc, svc.start(fc, flow_id, {"ok": True})["run_id"])
    assert run["status"] == "SUCCEEDED"
    assert run["details"]["output"] == {"ok": True}


@pytest.fixture(scope="module")
def api_targets(local_service) -> dict[str, str]:
    fc = svc.flows_client(local_service)
    flow_id = svc.deploy(fc, {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}, "api corpus")
    schema_flow = fc.create_flow("api corpus schema", {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}, {
        "type": "object", "required": ["input"],
        "properties": {"input": {"type": "object", "properties": {"n": {"type": "number"}}}}}).data["id"]
    run_id = svc.start(fc, flow_id)["run_id"]
    svc.wait_for_run(fc, run_id)
    index_id = svc.search_client(local_service).post(
        "/beta/index", data={"display_name": "bad inputs", "description": "corpus"}).data["id"]
    return {"flow_id": flow_id, "schema_flow_id": schema_flow, "run_id": run_id, "index_id": index_id}


@pytest.mark.parametrize(("name", "case"), API, ids=[n for n, _ in API])
def test_bad_api_request_gets_a_4xx_in_the_service_error_shape_and_stores_nothing(
        local_service, api_targets, name, case):
    CANARY.unlink(missing_ok=True)
    path = case["path"].format(**api_targets)
    before = svc.stored_counts(local_service.state_dir)
    fc = svc.flows_client(local_service)
    runs_before = fc.get("/runs", query_params={"per_page": 50}).data["runs"]
    if case.get("big_body_mb"):
        body = {"body": {"blob": "x" * (case["big_body_mb"] * 1024 * 1024)}}
        resp = _post(local_service, path, body)
    else:
        raw = case["raw"].encode() if "raw" in case else None
        resp = _post(local_service, path, case.get("json"), raw=raw, method=case["method"])
    api = path.split("/", 1)[0]
    if case.get("expect_ok"):
        assert resp.status_code < 300, resp.text[:300]
        if "check_label" in case:
            run = svc.wait_for_run(fc, resp.json()["run_id"])
            assert run["status"] == "SUCCEEDED" and run["label"] == case["check_label"]
        if "check_title" in case:
            flow = fc.get_flow(resp.json()["id"]).data
            assert flow["title"] == case["check_title"]
            assert flow["definition"] == case["json"]["definition"]
            assert svc.wait_for_run(fc, svc.start(fc, flow["id"])["run_id"])["status"] == "SUCCEEDED"
        if case.get("big_body_mb"):
            run = svc.wait_for_run(fc, resp.json()["run_id"])
            assert run["status"] == "SUCCEEDED"
            assert len(run["details"]["output"]["blob"]) == case["big_body_mb"] * 1024 * 1024
    else:
        assert 400 <= resp.status_code < 500, (resp.status_code, resp.text[:300])
        doc = resp.json()
        assert SHAPES[api](doc), doc
        message = (doc.get("error", {}).get("detail") if api == "flows" else doc.get("message")) or ""
        texts = [d["msg"] for d in message] if isinstance(message, list) else [str(message)]
        for text in texts:
            _one_line(text)
        after = svc.stored_counts(local_service.state_dir)
        assert after["flows"] == before["flows"] and after["runs"] == before["runs"]
        assert after["functions"] == before["functions"]
        assert after["search_docs"] == before["search_docs"]
    # nothing stored changed: earlier runs read back the same
    for old in runs_before[:5]:
        now = fc.get_run(old["run_id"]).data
        if old["status"] in svc.TERMINAL:
            assert now == old
    assert not CANARY.exists(), "injected code ran"
    assert fc.get_run(api_targets["run_id"]).data["status"] == "SUCCEEDED"
    _service_still_works(local_service)
