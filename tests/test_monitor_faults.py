"""A run watched through a proxy that injects faults still ends right, with a complete log."""

from __future__ import annotations

import http.client
import http.server
import itertools
import socket
import threading
import time
import typing as t

import globus_sdk
import pytest
from globus_sdk.transport import RetryConfig

from gladier_jupyter.widgets.monitor import RunMonitor
from tests._fixtures.net import free_port
from tests._fixtures.waiting import wait_until
from tests.reliability import _service as svc
from tests.test_monitor_local import QUIET, start_run


class FaultProxy:
    """HTTP proxy to the local service that answers some GETs with a fault instead.

    ``plan`` yields, per proxied GET, ``None`` (forward it) or a fault: an HTTP status
    (500, 502, 503, 429 with Retry-After), ``"drop"`` (close the connection without an
    answer) or ``"refuse"`` (stop listening for a moment: connection refused).
    """

    def __init__(self, target_port: int, plan: t.Iterator[t.Any], ca_file: t.Any = None) -> None:
        self.target_port = target_port
        self.ca_file = ca_file  # the service's certificate: the proxy speaks HTTPS to it
        self.plan = plan
        self.faults: list[t.Any] = []
        self._lock = threading.Lock()
        self._server: http.server.ThreadingHTTPServer | None = None
        self.port = free_port()
        self._serve()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: t.Any) -> None:
                pass

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                fault = None
                if self.command == "GET":
                    with proxy._lock:
                        fault = next(proxy.plan, None)
                        if fault is not None:
                            proxy.faults.append(fault)
                if fault == "drop" or fault == "refuse":
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    if fault == "refuse":
                        threading.Thread(target=proxy._refuse_for, args=(0.4,)).start()
                    return
                if isinstance(fault, int):
                    payload = (b'{"error": {"code": "INJECTED", "detail": "injected fault"}, '
                               b'"debug_id": "proxy"}')
                    self.send_response(fault)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    if fault in (429, 503):
                        self.send_header("Retry-After", "1")
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                from gladier_jupyter.local import tls

                conn = http.client.HTTPSConnection("127.0.0.1", proxy.target_port, timeout=30,
                                                   context=tls.client_context(proxy.ca_file))
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                conn.request(self.command, self.path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                self.send_response(resp.status)
                for k, v in resp.getheaders():
                    if k.lower() not in {"transfer-encoding", "connection", "content-length"}:
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                conn.close()

            do_GET = do_POST = do_PUT = do_DELETE = _forward

        class Server(http.server.ThreadingHTTPServer):
            allow_reuse_address = True
            daemon_threads = True

        self._server = Server(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def _refuse_for(self, seconds: float) -> None:
        server = self._server
        if server is None:
            return
        server.shutdown()
        server.server_close()
        time.sleep(seconds)
        self._serve()

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


@pytest.fixture
def proxied_flows_client(local_service):
    # Faults on a steady share of GETs: every kind, again and again.
    kinds = [500, None, 502, None, None, 503, None, 429, None, "drop", None, None, "refuse",
             None, None]
    proxy = FaultProxy(int(local_service.base_url.rsplit(":", 1)[1]), itertools.cycle(kinds),
                       ca_file=local_service.ca_file)
    # No retries inside globus-sdk: the monitor's own reconnect logic must carry the run.
    client = globus_sdk.FlowsClient(
        base_url=f"{proxy.url}/api/flows/",
        authorizer=globus_sdk.AccessTokenAuthorizer(local_service.secret),
        retry_config=RetryConfig(max_retries=0),
    )
    yield client, proxy
    proxy.close()


def test_run_watched_through_injected_faults_ends_right_with_a_complete_log(
        flows_client, proxied_flows_client):
    client, proxy = proxied_flows_client
    run, _ = start_run(flows_client, "slow_steps")
    connections: list[str] = []
    monitor = RunMonitor(run, client=client)
    monitor.observe(lambda change: connections.append(change["new"]), "connection")
    assert monitor.wait(120) == "SUCCEEDED"
    assert "reconnecting" in connections
    assert connections[-1] == "done"
    assert {500, 502, 503, 429, "drop", "refuse"} <= set(proxy.faults)
    server_log = list(flows_client.paginated.get_run_logs(run["run_id"]).items())
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
