"""Integration: a real JupyterHub (configurable-http-proxy, auth_state encrypted with a
generated JUPYTERHUB_CRYPT_KEY, GlobusOAuthenticator, a local-process spawner running
JupyterLab with this extension). From a kernel in the spawned server, ``login()`` finds the
tokens through the hub API and through GLOBUS_DATA."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import pathlib
import secrets
import shutil
import subprocess
import sys

import pytest

from tests._fixtures.hub import api as _api
from tests._fixtures.hub import execute as _execute
from tests._fixtures.net import free_port
from tests._fixtures.waiting import wait_until

ROOT = pathlib.Path(__file__).resolve().parent.parent
DATA = pathlib.Path(__file__).parent / "data" / "auth"
CHP = ROOT / "node_modules" / ".bin" / "configurable-http-proxy"
SINGLEUSER = pathlib.Path(sys.executable).parent / "jupyterhub-singleuser"
SEARCH = "urn:globus:auth:scope:search.api.globus.org:all"

pytestmark = pytest.mark.skipif(
    not CHP.exists() or shutil.which("node") is None,
    reason="configurable-http-proxy is not installed (npm ci installs it)",
)

KERNEL_CODE = """
import hashlib, json, os
import gladier_jupyter
from gladier_jupyter.auth import hub
gladier_jupyter.use_globus()
login = gladier_jupyter.login()
state, why = hub.fetch_hub_auth_state()
spawn = hub.decode_globus_data(os.environ['GLOBUS_DATA'])
digest = lambda s: hashlib.sha256(s.encode()).hexdigest()
print(json.dumps({
    'sources': login.sources, 'status': login.status, 'identity': login.identity,
    'problems': login.problems,
    'hub_api_why_not': why,
    'hub_api_search': state and digest(state['tokens']['search.api.globus.org']['access_token']),
    'globus_data_search': digest(spawn['tokens']['search.api.globus.org']['access_token']),
    'authorizer': digest(gladier_jupyter.search_client().authorizer.get_authorization_header()),
}))
"""


def _wait(predicate, timeout: float, what: str, log: pathlib.Path) -> None:
    wait_until(predicate, timeout, what, max_interval=0.5,
               context=lambda: f"hub log tail:\n{log.read_text()[-3000:]}")


def test_login_in_a_spawned_server_finds_hub_api_and_globus_data_tokens(tmp_path):
    state = json.loads((DATA / "hub_auth_state.json").read_text())
    admin_token = secrets.token_hex(16)
    hub_port = free_port()
    env = dict(
        os.environ,
        JUPYTERHUB_CRYPT_KEY=secrets.token_hex(32),
        GJ_HUB_DIR=str(tmp_path), GJ_AUTH_STATE=str(DATA / "hub_auth_state.json"),
        GJ_HUB_PORT=str(hub_port), GJ_HUB_API_PORT=str(free_port()),
        GJ_PROXY_API_PORT=str(free_port()), GJ_PROXY_TOKEN=secrets.token_hex(16),
        GJ_CHP=str(CHP), GJ_SINGLEUSER=str(SINGLEUSER), GJ_ADMIN_TOKEN=admin_token,
        PATH=f"{pathlib.Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
    )
    env.pop("GLOBUS_DATA", None)
    log = tmp_path / "hub.log"
    base = f"http://127.0.0.1:{hub_port}"
    with log.open("w") as log_fh:
        hub = subprocess.Popen(
            [sys.executable, "-m", "jupyterhub", "-f", str(DATA / "jupyterhub_config.py")],
            cwd=tmp_path, env=env, stdout=log_fh, stderr=subprocess.STDOUT,
        )
        try:
            _wait(lambda: _api(f"{base}/hub/api/", admin_token)[0] == 200, 60, "hub start", log)
            assert _api(f"{base}/hub/api/users/scientist", admin_token, "POST")[0] == 201
            status, _ = _api(f"{base}/hub/api/users/scientist/server", admin_token, "POST")
            assert status in (201, 202), status
            _wait(lambda: _api(f"{base}/hub/api/users/scientist", admin_token)[1]
                  .get("servers", {}).get("", {}).get("ready"), 100, "server ready", log)

            server = f"{base}/user/scientist"
            status, kernel = _api(f"{server}/api/kernels", admin_token, "POST",
                                  {"name": "python3"})
            assert status == 201, status
            ws = f"ws://127.0.0.1:{hub_port}/user/scientist/api/kernels/{kernel['id']}/channels"
            out = asyncio.run(_execute(ws, admin_token, KERNEL_CODE))
        finally:
            _api(f"{base}/hub/api/users/scientist/server", admin_token, "DELETE")
            hub.terminate()
            try:
                hub.wait(timeout=30)
            except subprocess.TimeoutExpired:
                hub.kill()

    report = json.loads(out.strip().splitlines()[-1])
    digest = lambda s: hashlib.sha256(s.encode()).hexdigest()  # noqa: E731
    expected = state["tokens"]["search.api.globus.org"]["access_token"]
    assert report["hub_api_why_not"] == ""
    assert report["sources"] == ["hub API", "GLOBUS_DATA"], report["problems"]
    assert report["status"] == "logged_in"
    assert report["identity"] == "scientist@globusid.org"
    assert report["hub_api_search"] == digest(expected)
    assert report["globus_data_search"] == digest(expected)
    assert report["authorizer"] == digest(f"Bearer {expected}")
    # The hub log never shows a token.
    assert expected not in log.read_text()
