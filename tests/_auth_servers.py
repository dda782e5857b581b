"""Small real HTTP servers on 127.0.0.1 for the login tests, each in its own thread.

* :func:`serve_auth_api` — the local service's Auth API (the same handlers the service mounts)
  with a clock the test moves, so an expired code needs no sleeping.
* :func:`serve_hub_api` — ``/hub/api/user`` answering like JupyterHub: the user model, with
  ``auth_state`` only for a server token granted ``admin:auth_state!user``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import pathlib
import secrets
import socket
import threading
import typing as t

import pytest
import requests
import tornado.httpserver
import tornado.web

from gladier_jupyter.local import auth as local_auth
from gladier_jupyter.local._http import ServiceContext


@dataclasses.dataclass
class FakeClock:
    now: float = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@contextlib.contextmanager
def _serve(app: tornado.web.Application) -> t.Iterator[str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    sock.setblocking(False)
    port = sock.getsockname()[1]
    ready = threading.Event()
    holder: dict[str, t.Any] = {}

    def run() -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        server = tornado.httpserver.HTTPServer(app)
        server.add_sockets([sock])
        holder["loop"], holder["server"] = loop, server
        ready.set()
        loop.run_forever()
        server.stop()
        loop.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ready.wait(10)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        holder["loop"].call_soon_threadsafe(holder["loop"].stop)
        thread.join(10)


@dataclasses.dataclass
class AuthApi:
    base_url: str  # Globus Auth base URL: ends with /api/auth/
    secret: str = dataclasses.field(repr=False)
    clock: FakeClock
    service: t.Any

    def approve(self, authorize_url: str) -> str:
        """What the user does in the browser: open the link, log in, read the code."""
        resp = requests.get(authorize_url, timeout=10, headers={
            "Authorization": f"Bearer {self.secret}", "Accept": "application/json"})
        resp.raise_for_status()
        return resp.json()["code"]


@contextlib.contextmanager
def serve_auth_api(state_dir: pathlib.Path) -> t.Iterator[AuthApi]:
    ctx = ServiceContext(state_dir=state_dir, secret=secrets.token_urlsafe(16))
    clock = FakeClock()
    ctx.services["auth"] = service = local_auth.AuthService(ctx, clock=clock)
    handlers = [
        (f"/api/auth/{path}", handler, {"ctx": ctx, **kwargs})
        for path, handler, kwargs in local_auth.routes(ctx)
    ]
    with _serve(tornado.web.Application(handlers)) as url:
        ctx.base_url = url
        yield AuthApi(base_url=f"{url}/api/auth/", secret=ctx.secret, clock=clock, service=service)
    service.close()


@pytest.fixture
def auth_api(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> t.Iterator[AuthApi]:
    """The Auth API on 127.0.0.1, where globus-sdk finds Globus Auth (as in local mode);
    stored logins go to a private folder of the test."""
    monkeypatch.setenv("GLADIER_JUPYTER_AUTH_DIR", str(tmp_path / "auth"))
    with serve_auth_api(tmp_path) as api:
        monkeypatch.setenv("GLOBUS_SDK_SERVICE_URL_AUTH", api.base_url)
        yield api


@dataclasses.dataclass
class HubApi:
    api_url: str  # like $JUPYTERHUB_API_URL
    server_token: str = dataclasses.field(repr=False)
    auth_state: dict[str, t.Any] = dataclasses.field(repr=False)
    grant_auth_state: bool = True
    requests: int = 0
    search_url: str = ""  # a Search-like API that accepts only the tokens in valid_tokens
    valid_tokens: set[str] = dataclasses.field(default_factory=set, repr=False)


class _HubUserHandler(tornado.web.RequestHandler):
    """``/hub/api/user`` and ``/hub/api/users/<name>`` as JupyterHub 6 answers them: the
    ``/user`` model carries ``auth_state: null``; ``/users/<name>`` fills it for a token
    holding ``admin:auth_state!user``."""

    def initialize(self, hub: HubApi) -> None:
        self.hub = hub

    def get(self, name: str | None = None) -> None:
        self.hub.requests += 1
        scheme, _, token = self.request.headers.get("Authorization", "").partition(" ")
        if scheme != "token" or token != self.hub.server_token:
            self.set_status(403)
            self.finish({"status": 403, "message": "Missing or invalid credentials."})
            return
        if name is not None and name != "scientist":
            self.set_status(404)
            self.finish({"status": 404, "message": f"No such user: {name}"})
            return
        model: dict[str, t.Any] = {
            "kind": "user", "name": "scientist", "admin": False, "groups": [],
            "server": "/user/scientist/", "pending": None, "scopes": ["access:servers!user"],
        }
        if self.hub.grant_auth_state:
            model["scopes"].append("admin:auth_state!user")
            model["auth_state"] = self.hub.auth_state if name is not None else None
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(model))


class _SearchHandler(tornado.web.RequestHandler):
    """``GET /search/v1/index_list``: 200 for a valid bearer token, else Search's 401 body."""

    def initialize(self, hub: HubApi) -> None:
        self.hub = hub

    def get(self) -> None:
        scheme, _, token = self.request.headers.get("Authorization", "").partition(" ")
        self.set_header("Content-Type", "application/json")
        if scheme != "Bearer" or token not in self.hub.valid_tokens:
            self.set_status(401)
            self.finish(json.dumps({"@datatype": "GError", "code": "AuthenticationFailed",
                                    "message": "Token is not active", "status": 401}))
            return
        self.finish(json.dumps({"index_list": []}))


@contextlib.contextmanager
def serve_hub_api(auth_state: dict[str, t.Any], grant_auth_state: bool = True) -> t.Iterator[HubApi]:
    hub = HubApi(api_url="", server_token=secrets.token_hex(16), auth_state=auth_state,
                 grant_auth_state=grant_auth_state)
    app = tornado.web.Application([
        (r"/hub/api/user", _HubUserHandler, {"hub": hub}),
        (r"/hub/api/users/([^/]+)", _HubUserHandler, {"hub": hub}),
        (r"/search/v1/index_list", _SearchHandler, {"hub": hub}),
    ])
    with _serve(app) as url:
        hub.api_url = f"{url}/hub/api"
        hub.search_url = f"{url}/search/"
        yield hub
