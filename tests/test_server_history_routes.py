"""The server extension's history routes over real HTTP, through a real Jupyter server and the
local service: ``compare?a=&b=`` (two runs side by side) and ``flows/<id>/durations`` (per-state
durations over a flow's last runs), their refusals, and the run rows' tags."""

from __future__ import annotations

import globus_sdk
import pytest

from tests._fixtures.runs import wait_for_run
from tests.test_server_ext import API, authed, raw_request
from tests.test_server_history import V1, V2

UNKNOWN = "0b5b2a8e-0000-4000-8000-000000000000"


def _run(flows_client, flow_id: str, label: str, tags: list[str] | None = None) -> str:
    specific = globus_sdk.SpecificFlowClient(flow_id, authorizer=flows_client.authorizer)
    run_id = specific.run_flow({}, label=label, tags=tags or []).data["run_id"]
    wait_for_run(flows_client, run_id)
    return run_id


@pytest.fixture
def redeployed(flows_client):
    """A flow run once, re-deployed with state B renamed to C and A's result changed, run again."""
    flow_id = flows_client.create_flow("routes history", V1, {}).data["id"]
    first = _run(flows_client, flow_id, "routes v1", ["beamline-7", "calibration"])
    flows_client.update_flow(flow_id, definition=V2)
    second = _run(flows_client, flow_id, "routes v2")
    return flow_id, first, second


@pytest.mark.parametrize("path", [f"{API}/compare?a={UNKNOWN}&b={UNKNOWN}",
                                  f"{API}/flows/{UNKNOWN}/durations"])
def test_history_routes_refuse_requests_without_jupyter_login(lab, path):
    status, text = raw_request(lab, path)
    assert status in (401, 403), (status, text)


def test_compare_route_gives_both_runs_per_state_and_the_definition_diff(lab, redeployed):
    flow_id, first, second = redeployed
    status, doc = authed(lab, f"{API}/compare?a={first}&b={second}")
    assert status == 200, doc
    assert [r["run_id"] for r in doc["runs"]] == [first, second]
    assert [r["label"] for r in doc["runs"]] == ["routes v1", "routes v2"]
    rows = {r["name"]: r for r in doc["states"]}
    assert set(rows) == {"A", "B", "C"}
    assert rows["A"]["status"] == ["succeeded", "succeeded"]
    assert rows["B"]["status"][1] == rows["C"]["status"][0] != "succeeded"  # not in that run
    assert rows["A"]["output_changes"][0]["path"] == "$.A.v"
    assert (rows["A"]["output_changes"][0]["old"], rows["A"]["output_changes"][0]["new"]) == (1, 2)
    assert all(isinstance(d, (int, float)) for d in rows["A"]["duration"])
    states = doc["definition_diff"]["states"]
    assert (states["B"]["status"], states["C"]["status"]) == ("removed", "added")
    # a run compared with itself: one definition, no differences
    status, same = authed(lab, f"{API}/compare?a={second}&b={second}&source=local")
    assert status == 200 and same["definition_diff"] is None
    assert all(not r["output_changes"] for r in same["states"])


@pytest.mark.parametrize(("query", "status", "words"), [
    ("", 400, "compare needs two runs"),
    (f"a={UNKNOWN}", 400, "compare needs two runs"),
    (f"a={UNKNOWN}&b={UNKNOWN}", 404, UNKNOWN),
    (f"a={UNKNOWN}&b={UNKNOWN}&source=nowhere", 409, "Unknown run source 'nowhere'"),
])
def test_compare_route_refuses_bad_requests_in_one_line(lab, local_service, query, status, words):
    got, doc = authed(lab, f"{API}/compare?{query}")
    assert got == status, doc
    assert words in doc["message"] and "\n" not in doc["message"]


def test_durations_route_gives_per_state_stats_and_the_latest_runs_gantt(lab, redeployed, flows_client):
    flow_id, first, second = redeployed
    third = _run(flows_client, flow_id, "routes v2 again")
    status, doc = authed(lab, f"{API}/flows/{flow_id}/durations?last=5")
    assert status == 200, doc
    assert doc["flow_id"] == flow_id and doc["source"] == "local"
    assert [r["run_id"] for r in doc["runs"]] == [first, second, third]
    assert doc["stats"]["A"]["runs"] == 3
    assert doc["stats"]["B"]["runs"] == 1 and doc["stats"]["C"]["runs"] == 2
    a = doc["stats"]["A"]
    assert a["min"] <= a["median"] <= a["max"]
    assert [b["state"] for b in doc["gantt"]] == ["A", "C"]  # the latest run's states, in order
    assert doc["gantt"][0]["offset"] == 0
    # last=N reads only the newest N runs
    status, two = authed(lab, f"{API}/flows/{flow_id}/durations?last=2")
    assert status == 200 and [r["run_id"] for r in two["runs"]] == [second, third]
    assert "B" not in two["stats"]


@pytest.mark.parametrize(("path", "status", "words"), [
    (f"flows/{UNKNOWN}/durations", 404, UNKNOWN),
    (f"flows/{UNKNOWN}/durations?last=0", 400, "last='0' is not a number of runs; use 1 to 50"),
    (f"flows/{UNKNOWN}/durations?last=many", 400, "last='many'"),
    (f"flows/{UNKNOWN}/durations?last=51", 400, "use 1 to 50"),
    (f"flows/{UNKNOWN}/durations?last={'9' * 400}", 400, "is not a number of runs"),
])
def test_durations_route_refuses_bad_requests_in_one_line(lab, local_service, path, status, words):
    got, doc = authed(lab, f"{API}/{path}")
    assert got == status, doc
    assert words in doc["message"] and "\n" not in doc["message"]
    assert len(doc["message"]) < 300  # a long bad value is shortened, never echoed whole


def test_run_rows_carry_their_tags_for_the_panels_tag_filter(lab, redeployed):
    flow_id, first, second = redeployed
    status, doc = authed(lab, f"{API}/runs?flow_id={flow_id}")
    assert status == 200, doc
    tags = {r["run_id"]: r["tags"] for r in doc["runs"]}
    assert tags == {first: ["beamline-7", "calibration"], second: []}
