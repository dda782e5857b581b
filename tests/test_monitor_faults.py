"""A run watched through the service's own injected faults still ends right, with a complete log."""

from __future__ import annotations

import re
import time

import globus_sdk
import pytest
from globus_sdk.transport import RetryConfig

from gladier_jupyter.widgets.monitor import RunMonitor
from tests._fixtures.waiting import wait_until
from tests.reliability import _service as svc
from tests.test_monitor_local import FLOWS, QUIET, start_run

# The product's own fault injection (``GLADIER_JUPYTER_FAULTS``, RELIABILITY.md) on a steady
# share of the Flows API's GETs, every kind again and again; seeded, so each run of the test
# meets the same faults.
FAULTS = "flows@GET:0.4:500,502,503,429,drop,drop"


@pytest.fixture
def faulty_service(tmp_path):
    with svc.private_service(tmp_path / "faulty", GLADIER_JUPYTER_FAULTS=FAULTS,
                             GLADIER_JUPYTER_FAULTS_SEED="20",
                             GLADIER_JUPYTER_FAULTS_RETRY_AFTER="1") as info:
        yield info


def _injected(info) -> set:
    """The fault kinds the service logged as injected (``injected fault <kind> <METHOD> <path>``)."""
    text = (info.state_dir / "service.log").read_text(errors="replace")
    kinds = set(re.findall(r"injected fault (\S+) GET", text))
    return {int(k) if k.isdigit() else k for k in kinds}


def test_run_watched_through_injected_faults_ends_right_with_a_complete_log(faulty_service):
    info = faulty_service
    # Starting and reading back go through globus-sdk's own retries; the monitor's client has
    # none, so the monitor's own reconnect logic must carry the run through every fault.
    steady = svc.flows_client(info)
    run = svc.start(steady, svc.deploy(steady, FLOWS["slow_steps"], "monitor slow_steps"),
                    {"input": {"name": "x"}})
    client = svc.flows_client(info, retry_config=RetryConfig(max_retries=0))
    connections: list[str] = []
    monitor = RunMonitor(run, client=client)
    monitor.observe(lambda change: connections.append(change["new"]), "connection")
    assert monitor.wait(120) == "SUCCEEDED"
    assert "reconnecting" in connections
    assert connections[-1] == "done"
    assert {500, 502, 503, 429, "drop"} <= _injected(info)
    server_log = list(steady.paginated.get_run_logs(run["run_id"]).items())
    assert monitor.entries == server_log
    assert [r["i"] for r in monitor.events] == list(range(len(server_log)))
    assert {n: s["status"] for n, s in monitor.states.items()} == {
        f"Step{i}": "succeeded" for i in range(1, 6)}
    monitor.close()


def test_expired_login_stops_polling_and_offers_login(local_service, flows_client):
    run, _ = start_run(flows_client, "pass_wait_pass")
    client = svc.flows_client(local_service,
                              authorizer=globus_sdk.AccessTokenAuthorizer("not-the-secret"),
                              retry_config=RetryConfig(max_retries=0))
    asked: list[list[str]] = []
    monitor = RunMonitor(run, client=client, consent_handler=lambda s: asked.append(s) or False)
    wait_until(lambda: monitor.connection, 30, "the monitor says the login expired",
               until=lambda connection: connection == "login-expired")
    assert "log in again" in monitor.message
    assert "not-the-secret" not in monitor.message
    polls = monitor.watcher.polls
    time.sleep(QUIET)
    assert monitor.watcher.polls == polls  # no hammering with a dead token
    monitor._on_page_msg(monitor, {"type": "login"}, [])  # the page's "Log in again"
    assert asked == [[str(globus_sdk.FlowsClient.scopes.all)]]
    monitor.close()
