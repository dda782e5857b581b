"""The run monitor owns retries: a RunMonitor built as a notebook builds it (no client given,
the backend's own) shows "reconnecting" after one failed attempt per request, not after
globus-sdk's 5 retries with backoff (about 15 s of "live" on a failing service)."""

from __future__ import annotations

import re
import threading

from gladier_jupyter.monitor.policy import no_retry_client
from gladier_jupyter.widgets.monitor import RunMonitor
from tests._fixtures.data import load_json
from tests._fixtures.waiting import wait_until
from tests.reliability import _service as svc

PASS = load_json("flows/definitions.json", "pass")


def _faulted(log: str) -> list[str]:
    return re.findall(r"injected fault 503 GET (\S+)", log)


def test_monitor_on_the_backend_client_reconnects_after_one_attempt(tmp_path):
    # Every Flows GET fails (503); POSTs (deploy, start) go through.
    with svc.private_service(tmp_path / "svc", GLADIER_JUPYTER_FAULTS="flows@GET:1:503") as info:
        fc = svc.flows_client(info)
        run = svc.start(fc, svc.deploy(fc, PASS))
        seen: dict[str, list[str]] = {}
        reconnecting = threading.Event()

        def on_connection(change):
            if change["new"] == "reconnecting" and not reconnecting.is_set():
                # Read on the watcher's thread, before its next attempt is scheduled.
                seen["faults"] = _faulted((info.state_dir / "service.log").read_text())
                reconnecting.set()

        with svc.as_backend(info):
            monitor = RunMonitor(run, start=False)
            monitor.observe(on_connection, "connection")
            monitor.start()
            try:
                wait_until(reconnecting.is_set, 30, 'the monitor shows "reconnecting"')
            finally:
                monitor.close()
        faults = seen["faults"]
        assert faults, "no request reached the service"
        # One attempt: the first poll's first request (the run's definition) failed once and
        # the monitor said so; it did not go round globus-sdk's retry loop (6 attempts, ~15 s).
        assert faults == [f"/api/flows/runs/{run['run_id']}/definition"]
        # The caller's client keeps globus-sdk's retries (gladier's run_flow relies on them).
        assert fc.retry_config.max_retries > 0


def test_no_retry_copy_shares_transport_and_leaves_the_original_alone(local_service):
    fc = svc.flows_client(local_service)
    copy = no_retry_client(fc)
    assert copy is not fc
    assert copy.retry_config.max_retries == 0
    assert fc.retry_config.max_retries > 0
    assert copy.transport is fc.transport and copy.authorizer is fc.authorizer
    assert copy.base_url == fc.base_url
    assert copy.list_flows().http_status == 200
    not_sdk = object()
    assert no_retry_client(not_sdk) is not_sdk


def test_a_failed_definition_read_is_retried_so_the_graph_comes(tmp_path):
    # Half the Flows GETs fail, the first among them (seeded): the definition read fails
    # once; the watcher tries the poll again instead of going on without the graph.
    env = {"GLADIER_JUPYTER_FAULTS": "flows@GET:0.5:503", "GLADIER_JUPYTER_FAULTS_SEED": "3"}
    with svc.private_service(tmp_path / "svc", **env) as info:
        fc = svc.flows_client(info)
        run = svc.start(fc, svc.deploy(fc, PASS))
        with svc.as_backend(info):
            monitor = RunMonitor(run)
            try:
                assert monitor.wait(60) == "SUCCEEDED"
                wait_until(lambda: monitor.graph.get("nodes"), 30, "the run's graph")
            finally:
                monitor.close()
        faults = _faulted((info.state_dir / "service.log").read_text())
        assert faults[0] == f"/api/flows/runs/{run['run_id']}/definition"
