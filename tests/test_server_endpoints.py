"""The local endpoints' status route (runs panel "Endpoints"), through a real JupyterLab,
and the Python status object it is built from, on a real engine of each kind.

The server inherits the tests' ``GLADIER_JUPYTER_STATE_DIR``, so an endpoint added here with
``local.endpoints.add()`` is one the server's route lists.
"""

from __future__ import annotations

import uuid

import pytest

from gladier_jupyter import local
from gladier_jupyter.local import endpoints
from gladier_jupyter.local.compute.endpoints import DEFAULT_ENDPOINT_ID
from tests._fixtures.waiting import wait_until
from tests.reliability import _service as svc
from tests.test_server_ext import API, authed, raw_request


def nap():
    import time

    time.sleep(0.2)
    return "rested"


@pytest.fixture
def threads():
    """A fresh ThreadPoolEngine endpoint in the shared state folder, forgotten afterwards
    (its threads live in the service process and end with it)."""
    ep = endpoints.add(f"threads-{uuid.uuid4().hex[:6]}", engine="ThreadPoolEngine",
                       max_workers_per_node=2)
    yield ep
    endpoints.remove(ep.name)


def test_the_endpoints_route_needs_the_jupyter_login(lab):
    status, text = raw_request(lab, f"{API}/endpoints")
    assert status in (401, 403)
    assert "total_workers" not in text


def test_the_default_is_listed_first_then_each_endpoint_not_started_until_its_first_task(lab, threads):
    status, doc = authed(lab, f"{API}/endpoints")
    assert status == 200, doc
    rows = doc["endpoints"]
    default = rows[0]
    assert default["uuid"] == DEFAULT_ENDPOINT_ID and default["default"] is True
    assert default["name"] == "default" and default["engine"] == "ProcessPoolEngine"
    # its workers start with its first task (warm after): a count, maybe 0
    assert default["state"] == "running" and isinstance(default["total_workers"], int)
    assert 0 <= default["busy_workers"] <= default["total_workers"]
    mine = next(r for r in rows if r["uuid"] == threads.uuid)
    assert mine == {
        "name": threads.name, "uuid": threads.uuid, "default": False,
        "engine": "ThreadPoolEngine", "provider": "", "state": "not started", "message": "",
        "busy_workers": None, "total_workers": None, "pending_tasks": None,
        "job_ids": [], "blocks": {},
    }
    # the very rows a notebook's endpoints.statuses() gives
    assert [s.summary()["uuid"] for s in endpoints.statuses()] == [r["uuid"] for r in rows]


def test_an_endpoint_that_ran_a_task_shows_running_with_its_workers(lab, threads):
    cc = svc.compute_client(local.ensure_running())
    task_id = cc.run(endpoint_id=threads.uuid, function_id=cc.register_function(nap))
    wait_until(lambda: cc._compute_web_client.v2.get_task(task_id).data, 60, "the task ends",
               until=lambda t: t["status"] == "success")
    status, doc = authed(lab, f"{API}/endpoints")
    assert status == 200, doc
    mine = next(r for r in doc["endpoints"] if r["uuid"] == threads.uuid)
    assert mine["state"] == "running"
    assert mine["total_workers"] == 2 and mine["pending_tasks"] == 0


def test_the_answer_holds_no_service_secret_or_address(lab, threads):
    info = local.ensure_running()
    status, text = raw_request(lab, f"{API}/endpoints", headers={"Authorization": f"token {lab.token}"})
    assert status == 200
    assert info.secret not in text
    assert info.base_url not in text and str(info.base_url.rsplit(":", 1)[-1]) not in text


# --------------------------------------------------------------------------- Python object


@pytest.fixture(scope="module")
def parsl_service(tmp_path_factory):
    """A private service with a GlobusComputeEngine on Parsl's LocalProvider: one block,
    stopped (interchange, manager and all) with the service."""
    state = tmp_path_factory.mktemp("endpoint-status")
    ep = endpoints.add("parsl-local", engine="GlobusComputeEngine", provider="LocalProvider",
                       max_workers_per_node=1, init_blocks=1, min_blocks=0, max_blocks=1,
                       state_dir=state)
    with svc.private_service(state) as info:
        yield info, state, ep


def test_a_parsl_endpoint_reports_its_block_and_provider_job(parsl_service):
    info, state, ep = parsl_service
    cc = svc.compute_client(info)
    task_id = cc.run(endpoint_id=ep.uuid, function_id=cc.register_function(nap))
    wait_until(lambda: cc._compute_web_client.v2.get_task(task_id).data, 120, "the task ends",
               until=lambda t: t["status"] == "success")
    found = endpoints.status("parsl-local", state_dir=state)
    assert isinstance(found, dict) and found["status"] == "online"  # the service's answer
    assert found.state == "running"
    assert found.blocks and set(found.blocks.values()) <= set(found.job_ids)
    row = found.summary()
    assert (row["engine"], row["provider"]) == ("GlobusComputeEngine", "LocalProvider")
    assert row["total_workers"] == 1
    text = repr(found)
    assert text.startswith("<EndpointStatus parsl-local running: ") and "jobs " in text
    assert "\n" not in text and len(text) < 200
    page = found._repr_html_()
    assert "<th scope='row'" in page and ep.uuid in page and "LocalProvider" in page
    listed = endpoints.statuses(state_dir=state)
    assert [s.name for s in listed] == ["default", "parsl-local"]


def test_an_endpoint_whose_status_cannot_be_read_is_a_row_in_error(tmp_path):
    with svc.private_service(tmp_path / "state") as info:
        assert endpoints._status_of(info, DEFAULT_ENDPOINT_ID, "default").state == "running"
    # the service is gone: the row says so in one line, nothing raises
    row = endpoints._status_of(info, DEFAULT_ENDPOINT_ID, "default").summary()
    assert row["state"] == "error" and row["name"] == "default"
    assert "did not answer" in row["message"] and "\n" not in row["message"]
    assert info.secret not in repr(row)
