"""The pre-flight check: the notebook's Python and globus-compute-sdk against the endpoint's."""

from __future__ import annotations

import platform

import pytest

from gladier_jupyter.backend import preflight
from gladier_jupyter.local import endpoints
from tests.reliability import _service as svc


def test_the_run_inputs_compute_endpoints_are_found():
    a, b = "4b116d3c-1703-4f8f-9f6f-39921e5864df", "6a0f5a8e-8f2d-4a57-9b57-1b86ad0b7e1d"
    flow_input = {"input": {"compute_endpoint": a, "funcx_endpoint_compute": b,
                            "search_index": a, "compute_endpoint_name": "not-a-uuid"}}
    assert preflight.endpoint_ids(flow_input) == [a, b]
    assert preflight.endpoint_ids({"compute_endpoint": a}) == [a]
    assert preflight.endpoint_ids(["not", "a", "dict"]) == []


@pytest.fixture(scope="module")
def local_backend(tmp_path_factory):
    state = tmp_path_factory.mktemp("preflight")
    custom = endpoints.add("custom-python", worker_init="module load python/3.9",
                           state_dir=state)
    with svc.private_service(state) as info, svc.as_backend(info):
        yield info, custom


def test_no_warning_where_the_endpoint_runs_this_kernels_python(local_backend):
    assert preflight.version_warnings({"input": {"compute_endpoint": svc.ENDPOINT}}) == []


def test_no_warning_where_worker_init_makes_the_endpoints_python_unknown(local_backend):
    info, custom = local_backend
    from gladier_jupyter import backend

    meta = backend.compute_client().get_endpoint_metadata(custom.uuid)
    assert meta["name"] == "custom-python"
    assert meta["python_version"] is None and meta["sdk_version"] is None
    assert preflight.version_warnings({"input": {"compute_endpoint": custom.uuid}}) == []


def test_an_endpoint_on_another_python_and_sdk_gets_one_line(monkeypatch):
    # the endpoint document Globus answers (globus-sdk's recorded one: SDK 2.31), with an
    # older Python than this kernel's
    from globus_sdk.testing import get_response_set

    doc = dict(get_response_set("compute.v2.get_endpoint").lookup("default").json)
    doc["python_version"] = "3.9.18"
    monkeypatch.setattr(preflight, "_metadata", lambda endpoint_id: doc)
    here = ".".join(platform.python_version_tuple()[:2])
    lines = preflight.version_warnings({"input": {"compute_endpoint": doc["uuid"]}})
    assert len(lines) == 1 and "\n" not in lines[0]
    assert f"Python 3.9 (this notebook {here})" in lines[0]
    assert "globus-compute-sdk 2.31 (this notebook 4.19)" in lines[0]
    assert doc["uuid"] in lines[0]
