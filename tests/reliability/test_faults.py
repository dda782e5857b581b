"""Fault injection in the local service (``GLADIER_JUPYTER_FAULTS``): the plan's syntax, each
fault kind as globus-sdk sees it, and 20 % faults on the Flows API while gladier starts the
tutorial flow and RunMonitors watch the runs: right status, complete logs, no duplicate run."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import time

import globus_sdk
import pytest
import requests

from gladier_jupyter.local import faults
from tests.reliability import _service as svc

FAULTS_20 = "flows:0.2:500,502,503,429,delay,drop"


def test_fault_plan_parses_rules_and_refuses_malformed_ones_with_one_line():
    plan = faults.parse("flows:0.2:500,429,drop; compute@POST:1:delay", seed=1)
    assert [(r.api, r.method, r.share, r.kinds) for r in plan.rules] == [
        ("flows", None, 0.2, ("500", "429", "drop")), ("compute", "POST", 1.0, ("delay",))]
    assert plan.draw("search", "GET") is None
    assert plan.draw("compute", "GET") is None
    assert plan.draw("compute", "POST") == "delay"
    hits = [plan.draw("flows", "GET") for _ in range(2000)]
    share = sum(h is not None for h in hits) / len(hits)
    assert 0.15 < share < 0.25
    assert {h for h in hits if h} == {"500", "429", "drop"}
    for bad in ("flows:0.2", "nope:0.2:500", "flows:2:500", "flows:x:500", "flows:0.2:418", "flows:0.2:"):
        with pytest.raises(faults.FaultSpecError) as err:
            faults.parse(bad)
        assert "\n" not in str(err.value) and faults.ENV in str(err.value)


def test_faults_are_off_by_default(local_service):
    # the shared service was started without the variable: no request is ever faulted
    fc = svc.flows_client(local_service)
    for _ in range(30):
        fc.list_flows()
    assert "injected fault" not in (local_service.state_dir / "service.log").read_text()


@pytest.mark.parametrize("kind", ["500", "502", "503", "504", "429", "delay", "drop"])
def test_each_fault_kind_reaches_the_client_as_that_failure_and_changes_nothing(tmp_path, kind):
    state_dir = tmp_path / "svc"
    with svc.private_service(state_dir, GLADIER_JUPYTER_FAULTS=f"flows:1:{kind}",
                             GLADIER_JUPYTER_FAULTS_DELAY="1.5",
                             GLADIER_JUPYTER_FAULTS_RETRY_AFTER="7") as info:
        url = info.service_url("flows") + "flows"
        headers = {"Authorization": f"Bearer {info.secret}"}
        body = {"title": "t", "definition": {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}}
        if kind in ("delay", "drop"):
            started = time.monotonic()
            with pytest.raises(requests.exceptions.RequestException):
                requests.post(url, json=body, headers=headers, timeout=1.0 if kind == "delay" else 10,
                              verify=str(info.ca_file))
            if kind == "delay":
                assert time.monotonic() - started >= 1.0
                time.sleep(1.0)  # past the hold: the held request is dropped, not executed
        else:
            resp = requests.post(url, json=body, headers=headers, timeout=10, verify=str(info.ca_file))
            assert resp.status_code == int(kind)
            doc = resp.json()
            assert doc["error"]["code"] == "INJECTED_FAULT" and "debug_id" in doc
            if kind == "429":
                assert resp.headers["Retry-After"] == "7"
        # a wrong secret is still a 401, never a fault
        assert requests.get(url, headers={"Authorization": "Bearer nope"}, timeout=10,
                            verify=str(info.ca_file)).status_code == 401
        # other APIs and the health check are untouched
        assert requests.get(info.base_url + "/api/health", headers=headers, timeout=10,
                            verify=str(info.ca_file)).status_code == 200
        assert svc.search_client(info).get("/v1/index_list").http_status == 200
        assert svc.stored_counts(state_dir)["flows"] == 0, "a faulted request must not run"
        assert f"injected fault {kind} POST /api/flows/flows" in (state_dir / "service.log").read_text()


def _db_runs(state_dir) -> list[tuple[str, str, str]]:
    con = sqlite3.connect(f"file:{state_dir / 'flows.sqlite3'}?mode=ro", uri=True)
    try:
        return [(r[0], r[1], json.loads(r[2]).get("label")) for r in
                con.execute("SELECT run_id, status, doc FROM runs ORDER BY seq")]
    finally:
        con.close()


def _db_log(state_dir, run_id: str) -> list[dict]:
    con = sqlite3.connect(f"file:{state_dir / 'flows.sqlite3'}?mode=ro", uri=True)
    try:
        return [json.loads(r[0]) for r in con.execute(
            "SELECT entry FROM run_logs WHERE run_id=? ORDER BY seq", (run_id,))]
    finally:
        con.close()


def test_twenty_percent_flows_faults_monitors_and_run_flow_end_right_without_duplicates(tmp_path, monkeypatch):
    from gladier_jupyter import backend
    from gladier_jupyter.widgets.monitor import RunMonitor
    from tests.local.test_tutorial_flow import MyGladierClient, tutorial_input

    n_runs = 24 if svc.full_size() else 10
    state_dir = tmp_path / "svc"
    # globus-sdk clients give up on a request after 1 s; a 'delay' fault holds it 1.5 s
    monkeypatch.setenv("GLOBUS_SDK_HTTP_TIMEOUT", "1")
    with svc.private_service(state_dir, GLADIER_JUPYTER_FAULTS=FAULTS_20,
                             GLADIER_JUPYTER_FAULTS_DELAY="1.5",
                             GLADIER_JUPYTER_FAULTS_SEED="20") as info, svc.as_backend(info):
        index_id = svc.search_client(info).post(
            "/beta/index", data={"display_name": "faults", "description": "faults"}).data["id"]
        started: dict[str, dict] = {}
        refused: dict[str, str] = {}
        for i in range(n_runs):
            label = f"faulty-{i}"
            client = MyGladierClient(**backend.gladier_client_kwargs())
            try:
                started[label] = client.run_flow(flow_input=tutorial_input(tmp_path, index_id), label=label)
            except Exception as exc:  # noqa: BLE001 - what the user would see, checked below
                refused[label] = f"{type(exc).__name__}: {exc}"
        # run_flow either started a run or said why in one clear error
        for message in refused.values():
            assert re.search(r"\b(50[0234]|429)\b|Connection|Timeout|timed out", message), message
        assert started, "with 20 % faults and globus-sdk's retries most run_flow calls succeed"

        monitors = {label: RunMonitor(run["run_id"], client=svc.flows_client(info))
                    for label, run in started.items()}
        statuses = {label: m.wait(240) for label, m in monitors.items()}

        db_runs = _db_runs(state_dir)
        labels = [label for _, _, label in db_runs]
        # never a duplicate run: one stored run per started run, none for a refused call
        assert sorted(labels) == sorted(started), (labels, list(started), refused)
        for run_id, status, label in db_runs:
            assert started[label]["run_id"] == run_id
            assert statuses[label] == status == "SUCCEEDED", (label, statuses[label], status)
            truth = _db_log(state_dir, run_id)
            seen = monitors[label].entries
            # complete log: every entry once, in the service's order
            assert [json.dumps(e, sort_keys=True) for e in seen] == \
                   [json.dumps(e, sort_keys=True) for e in truth], label
            assert [e["code"] for e in seen][-1] == "FlowSucceeded"
        for m in monitors.values():
            m.close()
        injected = (state_dir / "service.log").read_text().count("injected fault")
        assert injected >= 3, "the faults really happened"
        print(f"faults injected: {injected}; runs started {len(started)}, refused {len(refused)}")


def test_globus_sdk_gives_a_clear_error_when_every_flows_request_fails(tmp_path, monkeypatch):
    monkeypatch.setenv("GLOBUS_SDK_HTTP_TIMEOUT", "1")
    state_dir = tmp_path / "svc"
    with svc.private_service(state_dir, GLADIER_JUPYTER_FAULTS="flows:1:503",
                             GLADIER_JUPYTER_FAULTS_RETRY_AFTER="0") as info:
        from globus_sdk.transport import RetryConfig

        fc = svc.flows_client(info, retry_config=RetryConfig(max_retries=2, max_sleep=0.1))
        with pytest.raises(globus_sdk.GlobusAPIError) as err:
            fc.create_flow("t", {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}, {})
        assert err.value.http_status == 503 and err.value.code == "INJECTED_FAULT"
        assert svc.stored_counts(state_dir)["flows"] == 0
    assert os.environ.get("GLADIER_JUPYTER_FAULTS") is None


def test_a_lost_answer_to_a_post_makes_globus_sdk_send_it_again_and_create_it_again(tmp_path):
    """The limit RELIABILITY.md states: globus-sdk retries a POST whose answer was lost, and
    the Flows API (cloud and local alike) has no idempotency key to recognise the retry."""
    from globus_sdk.transport import RetryConfig

    state_dir = tmp_path / "svc"
    with svc.private_service(state_dir, GLADIER_JUPYTER_FAULTS="flows@POST:1:lost") as info:
        fc = svc.flows_client(info, retry_config=RetryConfig(max_retries=2, max_sleep=0.1))
        with pytest.raises(globus_sdk.NetworkError):
            fc.create_flow("once", {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}, {})
        assert svc.stored_counts(state_dir)["flows"] == 3  # one call, three flows
        assert (state_dir / "service.log").read_text().count("injected fault lost POST") == 3


def test_compute_and_search_faults_leave_gladier_runs_right_and_functions_registered_once(tmp_path, monkeypatch):
    from gladier_jupyter import backend
    from tests.local.test_tutorial_flow import MyGladierClient, tutorial_input

    monkeypatch.setenv("GLOBUS_SDK_HTTP_TIMEOUT", "1")
    state_dir = tmp_path / "svc"
    with svc.private_service(state_dir, GLADIER_JUPYTER_FAULTS="compute:0.3:500,503,429,drop;search@GET:0.3:502,drop",
                             GLADIER_JUPYTER_FAULTS_SEED="7") as info, svc.as_backend(info):
        index_id = svc.search_client(info).post(
            "/beta/index", data={"display_name": "faults", "description": "faults"}).data["id"]
        outcomes = []
        for _ in range(4):
            client = MyGladierClient(**backend.gladier_client_kwargs())
            try:
                run = client.run_flow(flow_input=tutorial_input(tmp_path, index_id))
            except Exception as exc:  # noqa: BLE001 - must be one clear line
                message = f"{type(exc).__name__}: {exc}"
                assert re.search(r"\b(50[0-4]|429)\b|Connection|Timeout|timed out", message), message
                outcomes.append("refused")
                continue
            end = svc.wait_for_run(svc.flows_client(info), run["run_id"])
            outcomes.append(end["status"])
        assert "SUCCEEDED" in outcomes and set(outcomes) <= {"SUCCEEDED", "refused"}, outcomes
        # the tutorial's two functions, each registered once however many retries it took
        assert svc.stored_counts(state_dir)["functions"] == 2
        hits = re.findall(r"injected fault \S+ \S+ /api/(\w+)/", (state_dir / "service.log").read_text())
        assert "compute" in hits, hits
