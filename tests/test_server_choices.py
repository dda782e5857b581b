"""The run tab answers what a run waits on through the server extension's
``POST runs/<id>/choose``: a real JupyterLab server and the local service."""

from __future__ import annotations

import json

import pytest

from gladier_jupyter import local
from tests._fixtures.runs import TERMINAL, wait_for_run
from tests._fixtures.waiting import wait_until
from tests.test_monitor_choices import SELECTION, WEB_INPUT
from tests.test_server_ext import API, authed, raw_request


def _choices(lab, run_id: str) -> list[dict]:
    status, snap = authed(lab, f"{API}/runs/{run_id}")
    assert status == 200, snap
    return snap["choices"]


def test_the_run_tab_offers_the_selection_and_a_choose_lets_the_run_succeed(lab, run_definition, flows_client):
    started = run_definition(SELECTION, wait=False, label="server-ext choose")
    run_id = started["run_id"]
    choices = wait_until(lambda: _choices(lab, run_id), timeout=30, what="the run's choices")
    assert [(c["label"], c["key"]) for c in choices] == [("go", f"{run_id}-go"), ("stop", f"{run_id}-stop")]
    status, doc = authed(lab, f"{API}/runs/{run_id}/choose", "POST", {"key": f"{run_id}-stop"})
    assert status == 200, doc
    assert doc["label"] == "stop"
    final = wait_for_run(flows_client, run_id, timeout=60)
    assert final["status"] == "SUCCEEDED" and final["details"]["output"]["answer"]["details"]["name"] == "stop"
    snap = wait_until(lambda: authed(lab, f"{API}/runs/{run_id}")[1], timeout=30, what="the outbox line",
                      until=lambda s: s["outbox"] == ["email to a@b.org: chose stop"])
    assert snap["choices"] == []


def test_the_run_tab_answers_a_web_input(lab, run_definition, flows_client):
    started = run_definition(WEB_INPUT, wait=False, label="server-ext web input")
    run_id = started["run_id"]
    wait_for_run(flows_client, run_id, 60, statuses=("INACTIVE", *TERMINAL))
    choices = wait_until(lambda: _choices(lab, run_id), timeout=30, what="the web input's options")
    assert [c["label"] for c in choices] == ["Yes", "No"]
    status, doc = authed(lab, f"{API}/runs/{run_id}/choose", "POST", {"key": choices[0]["key"]})
    assert status == 200, doc
    final = wait_for_run(flows_client, run_id, timeout=60)
    assert final["status"] == "SUCCEEDED" and final["details"]["output"]["reply"]["response"] == "yes"


@pytest.mark.parametrize("body", [{"key": "../../flows"}, {"key": ""}, {}, "not json"])
def test_a_choice_the_run_does_not_offer_is_a_400_and_selects_nothing(lab, run_definition, body):
    started = run_definition(SELECTION, wait=False, label="server-ext bad choose")
    run_id = started["run_id"]
    wait_until(lambda: _choices(lab, run_id), timeout=30, what="the run's choices")
    data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    status, text = raw_request(lab, f"{API}/runs/{run_id}/choose", "POST", data,
                               {"Authorization": f"token {lab.token}", "Content-Type": "application/json"})
    assert status == 400, text
    assert "\n" not in text.strip()
    assert len(local.waiting_options(run_id)) == 1
    local.select_option(f"{run_id}-go")  # end the run


def test_choose_without_jupyter_login_is_refused(lab):
    status, _ = raw_request(lab, f"{API}/runs/0b5b2a8e-0000-4000-8000-000000000000/choose", "POST", b"{}")
    assert status == 403
