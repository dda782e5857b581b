"""Integration: a real JupyterHub (configurable-http-proxy, auth_state encrypted with a
generated JUPYTERHUB_CRYPT_KEY, GlobusOAuthenticator, a local-process spawner running
JupyterLab with this extension). From a kernel in the spawned server, ``login()`` finds the
tokens through the hub API and through GLOBUS_DATA."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import pathlib
import re
import secrets
import shutil
import subprocess
import sys
import typing as t

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


@contextlib.contextmanager
def running_hub(tmp_path: pathlib.Path, auth_state: pathlib.Path,
                spawn_env: dict[str, str] | None = None) -> t.Iterator[tuple[str, str, pathlib.Path]]:
    """A JupyterHub whose user 'scientist' holds ``auth_state`` (a Globus login), with that
    user's server spawned and ready; yields (hub URL, admin token, hub log). The server and
    the hub are stopped at the end."""
    admin_token = secrets.token_hex(16)
    hub_port = free_port()
    env = dict(
        os.environ,
        JUPYTERHUB_CRYPT_KEY=secrets.token_hex(32),
        GJ_HUB_DIR=str(tmp_path), GJ_AUTH_STATE=str(auth_state),
        GJ_HUB_PORT=str(hub_port), GJ_HUB_API_PORT=str(free_port()),
        GJ_PROXY_API_PORT=str(free_port()), GJ_PROXY_TOKEN=secrets.token_hex(16),
        GJ_CHP=str(CHP), GJ_SINGLEUSER=str(SINGLEUSER), GJ_ADMIN_TOKEN=admin_token,
        GJ_SPAWN_ENV=json.dumps(spawn_env or {}),
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
            yield base, admin_token, log
        finally:
            _api(f"{base}/hub/api/users/scientist/server", admin_token, "DELETE")
            hub.terminate()
            try:
                hub.wait(timeout=30)
            except subprocess.TimeoutExpired:
                hub.kill()


def start_kernel(base: str, admin_token: str) -> str:
    """A kernel in scientist's server; returns its websocket URL."""
    status, kernel = _api(f"{base}/user/scientist/api/kernels", admin_token, "POST", {"name": "python3"})
    assert status == 201, status
    return f"{base.replace('http', 'ws', 1)}/user/scientist/api/kernels/{kernel['id']}/channels"


def test_login_in_a_spawned_server_finds_hub_api_and_globus_data_tokens(tmp_path):
    state = json.loads((DATA / "hub_auth_state.json").read_text())
    with running_hub(tmp_path, DATA / "hub_auth_state.json") as (base, admin_token, log):
        out = asyncio.run(_execute(start_kernel(base, admin_token), admin_token, KERNEL_CODE))

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


def test_seed_tutorial_verbatim_on_a_hub_with_globus_login_uses_the_hubs_tokens(tmp_path):
    """The seed's cells, verbatim after ``%load_ext``, in a kernel of a hub-spawned server
    whose user logged in with Globus: the hub's GLOBUS_DATA is used (and not replaced) by
    the tutorial's Search cell. The local service plays Globus: the hub's auth state holds
    tokens it issued, one per resource server, and the server is told where its Search is."""
    from gladier_jupyter import backend
    from gladier_jupyter.local import tls
    from tests.reliability._service import private_service
    from tests.test_seed_tutorial import SEED, seed_code_cells

    digest = lambda s: hashlib.sha256(s.encode()).hexdigest()  # noqa: E731
    with private_service(tmp_path / "globus") as info:
        auth_state = backend.local_auth_state(info)
        (tmp_path / "auth_state.json").write_text(json.dumps(auth_state))
        hub_search_token = auth_state["tokens"]["search.api.globus.org"]["access_token"]
        spawn_env = {"GLADIER_JUPYTER_STATE_DIR": str(info.state_dir),
                     "GLOBUS_SDK_SERVICE_URL_SEARCH": info.service_url("search")}
        bundle = info.state_dir / tls.BUNDLE_FILE
        if bundle.is_file():
            spawn_env["GLOBUS_SDK_VERIFY_SSL"] = str(bundle)
        (tmp_path / "hub").mkdir()
        with running_hub(tmp_path / "hub", tmp_path / "auth_state.json", spawn_env) as (base, token, log):
            ws = start_kernel(base, token)
            before = asyncio.run(_execute(ws, token, "import hashlib, os\n"
                                          "print(hashlib.sha256(os.environ['GLOBUS_DATA'].encode()).hexdigest())"))
            outputs = [asyncio.run(_execute(ws, token, cell))
                       for cell in ["%load_ext gladier_jupyter", *seed_code_cells(SEED.read_text())]]
            report = json.loads(asyncio.run(_execute(ws, token, """
import hashlib, json, os
digest = lambda s: hashlib.sha256(s.encode()).hexdigest()
entry = search.get_subject(search_index, str(subject)).data
import gladier_jupyter.auth
sources = list(map(lambda ts: ts.source, gladier_jupyter.auth.session().token_sets()))
print(json.dumps({
    'title': entry['entries'][0]['content']['dc']['titles'][0]['title'],
    'search_authorization': digest(search.authorizer.get_authorization_header()),
    'globus_data': digest(os.environ['GLOBUS_DATA']),
    'provided_marker': os.environ.get('GLADIER_JUPYTER_LOCAL_GLOBUS_DATA'),
    'sources': sources,
    'status': my_gladier_client.get_status(flow['run_id'])['status'],
}))
""")).strip().splitlines()[-1])
        log_text = log.read_text()

    search_cell, run_cell = outputs[2], outputs[9]
    assert "gladier-tutorial" in search_cell
    assert "GLOBUS_DATA holds local-service tokens" not in "".join(outputs)  # not replaced
    assert re.search(r"Run [0-9a-f-]{36} SUCCEEDED\.", run_cell), run_cell
    assert report["status"] == "SUCCEEDED"
    assert report["title"] == f"My Experiment {report['title'].split()[-1]}"
    # the tutorial's Search client holds the hub's token; GLOBUS_DATA is the hub's, unchanged
    assert report["search_authorization"] == digest(f"Bearer {hub_search_token}")
    assert report["globus_data"] == before.strip()
    assert report["provided_marker"] is None
    # the kernel's login layer found the hub's login through both of the hub's channels
    assert report["sources"] == ["hub API", "GLOBUS_DATA"], report["sources"]
    assert hub_search_token not in log_text
