"""Attacks on the local service's HTTP layer, each performed against a private service.

A hostile user on the node can reach the service's port (not its secret). None of this may
cost the service memory, keep it alive, fill its log or leak a header into it:

- uploads without the secret announcing a huge body and then stalling: refused on their
  headers (401, no byte of the body read), the service's RSS does not grow;
- an authenticated body over the route's cap: a one-line 413 in the API's error shape;
- a connection flood past the service's file-descriptor limit: connections beyond the cap
  are shed, the user's open connection keeps working and a new one is answered;
- 2,000 refused requests with long URIs and a planted bearer token: a few short lines in
  service.log, no header in any log or store, and the idle timer is not reset by them;
- 100,000-deep JSON bodies: a one-line 400 in each API's error shape, never a 500.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import resource
import socket
import ssl
import threading
import time
import typing as t
import urllib.parse
import uuid

import globus_sdk
import pytest

from tests.reliability import _service as svc

MB = 1024 * 1024


# -- a raw HTTP/1.1 client on the service's own address (plain or TLS, as info says) --------

def _address(info: t.Any) -> tuple[str, str, int]:
    url = urllib.parse.urlsplit(info.base_url)
    return url.scheme, url.hostname or "127.0.0.1", url.port or (443 if url.scheme == "https" else 80)


def _tls_context(info: t.Any) -> ssl.SSLContext:
    for name in ("ca_file", "cafile", "ca_path", "cert_file", "certfile", "cert_path"):
        ca = getattr(info, name, None)
        if ca:
            return ssl.create_default_context(cafile=str(ca))
    return ssl.create_default_context()


def _connect(info: t.Any, timeout: float = 10.0) -> socket.socket:
    scheme, host, port = _address(info)
    sock = socket.create_connection((host, port), timeout=timeout)
    if scheme == "https":
        sock = _tls_context(info).wrap_socket(sock, server_hostname=host)
    return sock


def _head(method: str, path: str, headers: dict[str, str]) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _read_response(sock: socket.socket, timeout: float = 10.0) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of one response (body by Content-Length, else to EOF)."""
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed before a response: {data[:200]!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines)}
    length = int(headers.get("content-length", "-1"))
    while length < 0 or len(body) < length:
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, TimeoutError):
            break
        if not chunk:
            break
        body += chunk
    return int(status_line.split()[1]), headers, body


def _request(info: t.Any, method: str, path: str, headers: dict[str, str], body: bytes = b"",
             timeout: float = 10.0) -> tuple[int, dict[str, str], bytes]:
    with contextlib.closing(_connect(info, timeout)) as sock:
        sock.sendall(_head(method, path, {"Connection": "close", **headers}) + body)
        return _read_response(sock, timeout)


def _rss_mb(pid: int) -> float:
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for {pid}")


def _alive(pid: int) -> bool:
    try:
        stat = pathlib.Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def _flows_shape(doc: dict) -> bool:
    return isinstance(doc.get("error"), dict) and {"code", "detail"} <= set(doc["error"]) and "debug_id" in doc


def _warm(info: t.Any) -> None:
    fc = svc.flows_client(info)
    for _ in range(5):
        fc.list_flows()


def _settled_rss_mb(pid: int, timeout: float = 30.0) -> float:
    """The RSS once the service's start-up imports (a warm-up thread) are done growing it."""
    deadline = time.monotonic() + timeout
    last = _rss_mb(pid)
    while time.monotonic() < deadline:
        time.sleep(1.0)
        now = _rss_mb(pid)
        if abs(now - last) < 0.5:
            return now
        last = now
    return last


# -- finding 4: memory held by unauthenticated uploads ---------------------------------------

def test_unauthenticated_upload_is_refused_on_its_headers_with_a_401(tmp_path):
    with svc.private_service(tmp_path / "svc") as info:
        # The body is announced, never sent: the old service waited for it for ever.
        status, headers, body = _request(info, "POST", "/api/flows/flows", {
            "Authorization": "Bearer wrong", "Content-Type": "application/json",
            "Content-Length": str(90 * MB)}, timeout=10)
        assert status == 401
        assert headers.get("connection", "").lower() == "close"
        import json

        doc = json.loads(body)
        assert _flows_shape(doc) and doc["error"]["code"] == "AUTHENTICATION_ERROR", doc
        assert info.secret not in body.decode()


def test_client_with_a_stale_secret_gets_a_clean_401_for_a_post_with_a_body(tmp_path):
    from globus_sdk.transport import RetryConfig

    with svc.private_service(tmp_path / "svc") as info:
        stale = globus_sdk.FlowsClient(base_url=info.service_url("flows"),
                                       authorizer=globus_sdk.AccessTokenAuthorizer("stale-secret"),
                                       transport=svc.transport(info),
                                       retry_config=RetryConfig(max_retries=0))
        for size in (1_000, 3 * MB):  # the service answers before reading it, then closes
            for _ in range(3):
                with pytest.raises(globus_sdk.GlobusAPIError) as caught:
                    stale.post("/flows", data={"title": "x", "definition": {}, "blob": "x" * size})
                assert caught.value.http_status == 401 and caught.value.code == "AUTHENTICATION_ERROR"
        assert svc.stored_counts(info.state_dir)["flows"] == 0


def test_stalled_unauthenticated_uploads_hold_no_memory(tmp_path):
    with svc.private_service(tmp_path / "svc") as info:
        _warm(info)
        before = _settled_rss_mb(info.pid)
        socks = []
        try:
            for _ in range(3):
                sock = _connect(info, timeout=5)
                sock.sendall(_head("POST", "/api/flows/flows", {
                    "Authorization": "Bearer not-the-secret", "Content-Type": "application/json",
                    "Content-Length": str(99 * MB)}))
                socks.append(sock)
            chunk = b"x" * MB
            sent = []
            for sock in socks:  # 40 MB each, then stall (never finish the 99 MB announced)
                n = 0
                with contextlib.suppress(OSError):
                    while n < 40 * MB:
                        sock.sendall(chunk)
                        n += len(chunk)
                sent.append(n // MB)
            time.sleep(1.0)  # let the service read whatever reached it
            grown = _rss_mb(info.pid) - before
            print(f"stalled uploads: sent {sent} MB, service RSS {before:.0f} MB -> +{grown:.0f} MB")
            assert grown < 20, f"3 stalled unauthenticated uploads grew the service by {grown:.0f} MB"
        finally:
            for sock in socks:
                sock.close()
        _warm(info)  # still serving


def test_authenticated_body_over_the_route_cap_gets_a_one_line_413(tmp_path):
    import json

    with svc.private_service(tmp_path / "svc") as info:
        fc = svc.flows_client(info)
        # Flows: definitions and run input are capped at 16 MiB (flows/routes.RUN_BODY_SIZE).
        with pytest.raises(globus_sdk.GlobusAPIError) as caught:
            fc.post("/flows", data={"title": "big", "definition": {}, "blob": "x" * (17 * MB)})
        doc = caught.value.raw_json
        assert caught.value.http_status == 413 and _flows_shape(doc), doc
        assert "\n" not in doc["error"]["detail"] and "16 MiB" in doc["error"]["detail"]
        # Search documents a 10 MB request limit (docs.globus.org/api/search/limits).
        index_id = svc.search_client(info).post(
            "/beta/index", data={"display_name": "big", "description": "x"}).data["id"]
        with pytest.raises(globus_sdk.GlobusAPIError) as caught:
            svc.search_client(info).post(f"/v1/index/{index_id}/ingest", data={
                "ingest_type": "GMetaEntry", "ingest_data": {"subject": "s", "visible_to": ["public"],
                                                             "content": {"blob": "x" * (11 * MB)}}})
        doc = caught.value.raw_json
        assert caught.value.http_status == 413 and doc.get("@datatype") == "GError", doc
        # A small-body route: 1 MiB.
        with pytest.raises(globus_sdk.GlobusAPIError) as caught:
            fc.post("/runs/00000000-0000-4000-8000-000000000000/cancel", data={"x": "y" * (2 * MB)})
        assert caught.value.http_status == 413
        # Announced far beyond any route, with the secret: answered on the headers.
        status, _, body = _request(info, "POST", "/api/flows/flows", {
            "Authorization": f"Bearer {info.secret}", "Content-Type": "application/json",
            "Content-Length": str(1024 * MB)})
        assert status == 413 and _flows_shape(json.loads(body))
        assert svc.stored_counts(info.state_dir)["flows"] == 0
        _warm(info)


# -- finding 4: connection flood --------------------------------------------------------------

def _fd_limit(pid: int) -> int:
    for line in pathlib.Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            return int(line.split()[3])
    raise AssertionError("no fd limit")


def _answers_within(info: t.Any, seconds: float) -> t.Any:
    """An authenticated globus-sdk request, given ``seconds`` to be answered."""
    outcome: dict[str, t.Any] = {}

    def call() -> None:
        try:
            outcome["flows"] = svc.flows_client(info).list_flows().data["flows"]
        except Exception as exc:  # noqa: BLE001 - reported below
            outcome["error"] = exc

    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    thread.join(seconds)
    return outcome.get("flows", outcome.get("error", "no answer"))


def test_connection_flood_past_the_fd_limit_leaves_the_service_answering(tmp_path):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    service_limit = 512
    if hard != resource.RLIM_INFINITY and hard < service_limit + 400:
        pytest.skip(f"RLIMIT_NOFILE hard limit {hard} is too low to flood past {service_limit}")
    scheme, host, port = None, None, None
    flood: list[socket.socket] = []
    with contextlib.ExitStack() as stack:
        # The service inherits a 512-descriptor soft limit (many hub nodes give 1024).
        resource.setrlimit(resource.RLIMIT_NOFILE, (service_limit, hard))
        try:
            info = stack.enter_context(svc.private_service(tmp_path / "svc"))
        finally:
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        stack.callback(lambda: [s.close() for s in flood])
        assert _fd_limit(info.pid) == service_limit
        _warm(info)
        scheme, host, port = _address(info)
        # The user's own keep-alive connection, open before the flood.
        own = stack.enter_context(contextlib.closing(_connect(info)))
        own.sendall(_head("GET", "/api/health", {"Authorization": f"Bearer {info.secret}"}))
        assert _read_response(own)[0] == 200
        failures = 0
        for i in range(service_limit + 300):
            try:
                sock = socket.create_connection((host, port), timeout=0.5)
                if i % 2:  # half of them slowloris: a request whose headers never end
                    sock.sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                flood.append(sock)
            except OSError:
                failures += 1
                if failures > 5:
                    break
        time.sleep(0.5)
        held = len(os.listdir(f"/proc/{info.pid}/fd"))
        answer = _answers_within(info, 20)
        print(f"flood: {len(flood)} connections opened, service holds {held} fds, answer: "
              f"{type(answer).__name__}")
        assert isinstance(answer, list), f"authenticated request during a flood: {answer!r}"
        assert held < service_limit - 64, f"the service holds {held} descriptors of {service_limit}"
        own.sendall(_head("GET", "/api/health", {"Authorization": f"Bearer {info.secret}"}))
        assert _read_response(own)[0] == 200, "the flood closed the user's own connection"


def test_more_authenticated_connections_than_the_cap_are_all_answered(tmp_path):
    from gladier_jupyter.local._gate import MAX_CONNECTIONS

    with svc.private_service(tmp_path / "svc") as info, contextlib.ExitStack() as stack:
        auth = {"Authorization": f"Bearer {info.secret}"}
        for _ in range(MAX_CONNECTIONS + 20):  # keep-alive connections a client left open
            sock = stack.enter_context(contextlib.closing(_connect(info)))
            sock.sendall(_head("GET", "/api/health", auth))
            assert _read_response(sock)[0] == 200
        assert isinstance(_answers_within(info, 20), list)


# -- findings 13 and 2: what refused requests leave in the log, and the idle timer ----------

def _files_holding(state_dir: pathlib.Path, needle: bytes) -> list[str]:
    hits = []
    for path in state_dir.rglob("*"):
        with contextlib.suppress(OSError):
            if path.is_file() and needle in path.read_bytes():
                hits.append(path.name)
    return hits


def test_refused_requests_leave_a_bounded_log_without_their_headers(tmp_path):
    state_dir = tmp_path / "svc"
    planted = f"planted-{uuid.uuid4().hex}"
    with svc.private_service(state_dir) as info:
        _warm(info)
        log = state_dir / "service.log"
        size_before = log.stat().st_size
        long_path = "/api/flows/flows/" + "a" * 2000 + "?q=" + "b" * 100
        for i in range(2000):
            path = long_path if i % 2 else "/api/search/v1/index/" + "c" * 2000 + "/search"
            status, _, body = _request(info, "GET", path, {"Authorization": f"Bearer {planted}"})
            assert status == 401 and planted.encode() not in body
        # A header tornado itself refuses as malformed (control character in its value).
        with contextlib.suppress(OSError, ConnectionError):
            _request(info, "GET", "/api/flows/flows", {"Authorization": f"Bearer {planted}\x01x"})
        # Refused on the open Auth token route (no secret needed there) with a planted header.
        status, _, _ = _request(info, "POST", "/api/auth/v2/oauth2/token?" + "d" * 2000, {
            "Authorization": f"Bearer {planted}", "Content-Type": "application/x-www-form-urlencoded",
            "Content-Length": "19"}, b"grant_type=password")
        assert 400 <= status < 500
        _warm(info)
        time.sleep(0.5)
        grown = log.stat().st_size - size_before
        text = log.read_text(errors="replace")
        print(f"2,000 refused requests with 2 KB URIs: service.log +{grown} bytes")
        assert grown < 8 * 1024, f"service.log grew {grown} bytes for 2,000 refused requests"
        assert max(len(line) for line in text.splitlines()) < 400
    assert not _files_holding(state_dir, planted.encode()), "a refused bearer token was kept"


def test_refused_requests_do_not_keep_an_idle_service_alive(tmp_path):
    with svc.private_service(tmp_path / "svc", GLADIER_JUPYTER_IDLE_TIMEOUT="3") as info:
        started = time.monotonic()
        sent = 0
        while _alive(info.pid) and time.monotonic() - started < 25:
            with contextlib.suppress(OSError, ConnectionError):
                _request(info, "GET", "/api/flows/flows", {"Authorization": "Bearer guess"}, timeout=2)
                sent += 1
        lived = time.monotonic() - started
        print(f"idle timeout 3 s under {sent} refused requests: service lived {lived:.1f} s")
        assert not _alive(info.pid), f"{sent} refused requests kept the service alive for {lived:.0f} s"


# -- finding 14: deep JSON bodies --------------------------------------------------------------

DEEP = "[" * 100_000 + "]" * 100_000
DEEP_OBJECT = '{"a":' * 100_000 + "1" + "}" * 100_000


def test_refusal_log_writes_a_burst_then_one_count(caplog):
    from gladier_jupyter.local._gate import RefusalLog

    refusals = RefusalLog(burst=2, window=0.2)
    with caplog.at_level("WARNING", logger="gladier_jupyter.local.http"):
        for i in range(500):
            refusals.note(f"401 GET /api/flows/x{i}")
        time.sleep(0.25)
        refusals.note("401 GET /api/flows/y")
    lines = [r.getMessage() for r in caplog.records]
    assert lines[:2] == ["refused: 401 GET /api/flows/x0", "refused: 401 GET /api/flows/x1"]
    assert lines[2].startswith("refused 498 more requests") and lines[3].endswith("/y")
    assert len(lines) == 4


def _client(info: t.Any, api: str) -> globus_sdk.BaseClient:
    return globus_sdk.BaseClient(base_url=info.service_url(api), authorizer=svc.authorizer(info),
                                 transport=svc.transport(info))


@pytest.fixture(scope="module")
def deep_service(tmp_path_factory):
    with svc.private_service(tmp_path_factory.mktemp("deep") / "svc") as info:
        fc = svc.flows_client(info)
        flow_id = svc.deploy(fc, {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}})
        index_id = svc.search_client(info).post(
            "/beta/index", data={"display_name": "deep", "description": "x"}).data["id"]
        yield info, {"flow_id": flow_id, "index_id": index_id}


@pytest.mark.parametrize("route", [
    "POST flows/flows", "POST flows/flows/validate", "POST flows/flows/{flow_id}/run",
    "PUT flows/flows/{flow_id}", "POST search/v1/index/{index_id}/ingest",
    "POST search/v1/index/{index_id}/search", "POST compute/v3/functions",
    "POST compute/v2/batch_status", "POST transfer/v0.10/transfer",
])
@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT], ids=["lists", "objects"])
def test_deep_json_body_gets_a_one_line_400_in_the_api_shape(deep_service, route, body):
    info, ids = deep_service
    method, _, path = route.partition(" ")
    api, _, rest = path.format(**ids).partition("/")
    with pytest.raises(globus_sdk.GlobusAPIError) as caught:
        _client(info, api).request(method, "/" + rest, data=body,
                                   headers={"Content-Type": "application/json"})
    err = caught.value
    doc = err.raw_json or {}
    assert err.http_status == 400, (err.http_status, err.text[:300])
    if api == "flows":
        assert _flows_shape(doc), doc
        message = doc["error"]["detail"]
    elif api == "search":
        assert doc.get("@datatype") == "GError" and doc["status"] == 400, doc
        message = doc["message"]
    else:
        message = doc.get("message") or doc.get("reason") or str(doc)
    assert "\n" not in message and "deep" in message.lower(), message
    _warm(info)


BODY_ROUTES = [
    "POST flows/flows", "POST flows/flows/validate", "PUT flows/flows/{flow_id}",
    "POST flows/flows/{flow_id}/run", "POST flows/flows/{flow_id}/validate_run",
    "POST search/v1/index", "POST search/v1/index/{index_id}/ingest",
    "POST search/v1/index/{index_id}/search", "POST search/v1/index/{index_id}/scroll",
    "POST search/v1/index/{index_id}/batch_delete_by_subject",
    "POST search/v1/index/{index_id}/delete_by_query", "POST search/v1/index/{index_id}/role",
    "POST compute/v3/functions", "POST compute/v2/submit", "POST compute/v2/batch_status",
    "POST compute/v3/endpoints/4b116d3c-1703-4f8f-9f6f-39921e5864df/submit",
    "POST transfer/v0.10/transfer", "POST transfer/v0.10/operation/endpoint/x/mkdir",
]


@pytest.mark.parametrize("route", BODY_ROUTES)
def test_body_of_the_wrong_type_never_gets_a_500(deep_service, route):
    info, ids = deep_service
    method, _, path = route.partition(" ")
    api, _, rest = path.format(**ids).partition("/")
    for body in ("[]", '"text"', "null", "1e999", b"\xff\xfe"):
        try:
            _client(info, api).request(method, "/" + rest, data=body,
                                       headers={"Content-Type": "application/json"})
        except globus_sdk.GlobusAPIError as err:
            assert err.http_status < 500, (route, body, err.text[:300])
