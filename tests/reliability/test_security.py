"""Security promises: the secret guards every API and a refused request executes nothing;
the service listens on 127.0.0.1 only; its folder and secret are private; a code-executing
GLOBUS_DATA runs nothing; after the whole tutorial plus a login, no token and no service
secret is in the saved notebook (with widget state), any output or the captured logs."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import pathlib
import pickle
import secrets
import stat
import subprocess
import sys
import textwrap

import nbformat
import pytest
import requests
from nbclient import NotebookClient

from tests.reliability import _service as svc

ROOT = pathlib.Path(__file__).resolve().parents[2]
TUTORIAL = ROOT / "notebooks" / "gladier_tutorial.ipynb"

# Every kind of request that would store or run something, per API.
MUTATING = [
    ("POST", "flows/flows", {"title": "x", "definition": {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}}),
    ("POST", "flows/flows/{flow_id}/run", {"body": {}}),
    ("POST", "flows/runs/{run_id}/cancel", None),
    ("PUT", "flows/flows/{flow_id}", {"title": "hijacked"}),
    ("DELETE", "flows/flows/{flow_id}", None),
    ("POST", "compute/v3/functions", {"function_name": "f", "function_code": "x"}),
    ("POST", "compute/v3/endpoints/4b116d3c-1703-4f8f-9f6f-39921e5864df/submit", {"tasks": []}),
    ("POST", "search/v1/index/{index_id}/ingest", {"ingest_type": "GMetaEntry", "ingest_data": {
        "subject": "intruder", "visible_to": ["public"], "content": {"a": 1}}}),
    ("POST", "search/beta/index", {"display_name": "intruder", "description": "x"}),
    ("GET", "flows/runs", None),
    ("GET", "flows/runs/{run_id}/log", None),
    ("GET", "search/v1/index/{index_id}/search?q=x", None),
    ("GET", "health", None),
]


@pytest.fixture(scope="module")
def targets(local_service) -> dict[str, str]:
    fc = svc.flows_client(local_service)
    flow_id = svc.deploy(fc, {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 600, "End": True}}})
    run_id = svc.start(fc, flow_id)["run_id"]
    index_id = svc.search_client(local_service).post(
        "/beta/index", data={"display_name": "security", "description": "x"}).data["id"]
    yield {"flow_id": flow_id, "run_id": run_id, "index_id": index_id}
    fc.cancel_run(run_id)


@pytest.mark.parametrize("auth", [None, "Bearer wrong-secret", "Basic {secret}", "Bearer {secret}x",
                                  "bearer", "Bearer  "], ids=["none", "wrong", "basic", "suffix", "empty", "blank"])
def test_request_without_the_secret_gets_401_and_executes_nothing(local_service, targets, auth):
    fc = svc.flows_client(local_service)
    before = svc.stored_counts(local_service.state_dir)
    for method, path, body in MUTATING:
        headers = {"Content-Type": "application/json"}
        if auth is not None:
            headers["Authorization"] = auth.format(secret=local_service.secret)
        resp = requests.request(method, f"{local_service.base_url}/api/{path.format(**targets)}",
                                data=json.dumps(body) if body is not None else None,
                                headers=headers, timeout=30, verify=str(local_service.ca_file))
        assert resp.status_code == 401, (method, path, resp.status_code, resp.text[:200])
        assert local_service.secret not in resp.text
    assert svc.stored_counts(local_service.state_dir) == before
    assert fc.get_run(targets["run_id"])["status"] == "ACTIVE", "a refused cancel canceled"
    assert fc.get_flow(targets["flow_id"])["title"] != "hijacked"


def _listening_addresses(pid: int) -> list[tuple[str, str, int]]:
    """(family, address, port) of every listening TCP socket the process holds."""
    inodes = set()
    for fd in pathlib.Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = []
    for family in ("tcp", "tcp6"):
        for line in pathlib.Path(f"/proc/net/{family}").read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and inode in inodes:  # 0A: LISTEN
                addr_hex, port_hex = local.split(":")
                if family == "tcp":
                    addr = ".".join(str(int(addr_hex[i:i + 2], 16)) for i in (6, 4, 2, 0))
                else:
                    addr = addr_hex
                found.append((family, addr, int(port_hex, 16)))
    return found


def test_service_listens_on_loopback_only(local_service):
    listening = _listening_addresses(local_service.pid)
    port = int(local_service.base_url.rsplit(":", 1)[1])
    assert listening, "the service's listening socket was not found"
    assert ("tcp", "127.0.0.1", port) in listening
    assert all(family == "tcp" and addr == "127.0.0.1" for family, addr, _ in listening), listening
    # and nothing answers on the machine's other addresses
    import socket

    others = {a[4][0] for a in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)} - {"127.0.0.1"}
    for addr in others:
        with socket.socket() as s:
            s.settimeout(1)
            assert s.connect_ex((addr, port)) != 0, f"port {port} answers on {addr}"


def test_state_folder_is_0700_and_every_file_in_it_0600(local_service):
    folder = local_service.state_dir
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((folder / "secret").stat().st_mode) == 0o600
    # every file the service keeps there (databases, logs, locks, state) is this user's only;
    # collections/ holds the user's own data (what transfers copy), with the modes the user's
    # programs gave it, reachable only through the 0700 folder above
    for path in folder.rglob("*"):
        if path.is_file() and "collections" not in path.relative_to(folder).parts[:1]:
            assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path


def test_globus_data_holding_a_code_executing_pickle_runs_nothing(tmp_path):
    canary = tmp_path / "canary"

    class Exploit:
        def __reduce__(self):
            return (os.system, (f"touch {canary}",))

    payload = base64.b64encode(pickle.dumps({"tokens": {"x": Exploit()}, "client_id": Exploit()})).decode()
    # In a fresh interpreter, through the public entry points a kernel uses.
    script = textwrap.dedent("""
        import gladier_jupyter
        from gladier_jupyter import auth
        errors = []
        for step in (lambda: auth.session().describe([]), lambda: auth.login(), lambda: auth.login_manager()):
            try:
                step()
            except Exception as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
        print("\\n".join(errors))
    """)
    env = {**os.environ, "GLOBUS_DATA": payload, "GLADIER_JUPYTER_AUTH_DIR": str(tmp_path / "auth")}
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert not canary.exists(), "the pickle's code ran"
    assert out.returncode == 0, out.stderr[-2000:]
    for line in filter(None, out.stdout.splitlines()):
        assert "GLOBUS_DATA" in line, line  # refused, naming where the bad value came from
    # the payload is real: a plain unpickle would have run it
    pickle.loads(base64.b64decode(payload))
    assert canary.exists()


def _hub_environment(tokens: dict[str, str]) -> str:
    """GLOBUS_DATA built by oauthenticator's GlobusOAuthenticator, with our token strings."""
    from oauthenticator.globus import GlobusOAuthenticator

    data = svc.DATA / "auth"
    response = json.loads((data / "globus_token_response.json").read_text())
    response.pop("_comment", None)
    user = json.loads((data / "globus_user_info.json").read_text())
    user.pop("_comment", None)

    def swap(doc: dict) -> None:
        for key in ("access_token", "refresh_token", "id_token"):
            if key in doc:
                doc[key] = tokens.setdefault(f"{doc.get('resource_server', 'x')}:{key}",
                                             f"LEAK{key[:3].upper()}{secrets.token_hex(12)}")

    swap(response)
    for other in response.get("other_tokens", []):
        swap(other)
    authenticator = GlobusOAuthenticator(client_id="hub-client-id", client_secret="hub-secret")
    state = authenticator.build_auth_state_dict(response, user)

    class _User:
        async def get_auth_state(self) -> dict:
            return state

    class _Spawner:
        environment: dict[str, str] = {}

    spawner = _Spawner()
    spawner.environment = {}
    asyncio.run(authenticator.pre_spawn_start(_User(), spawner))
    return spawner.environment["GLOBUS_DATA"]


def test_no_token_or_service_secret_leaks_from_the_tutorial_and_a_login(local_service, tmp_path, monkeypatch):
    tokens: dict[str, str] = {}
    monkeypatch.setenv("GLOBUS_DATA", _hub_environment(tokens))
    monkeypatch.setenv("GLADIER_JUPYTER_AUTH_DIR", str(tmp_path / "auth"))
    assert len(tokens) >= 8
    log_file = tmp_path / "kernel-debug.log"
    nb = nbformat.read(TUTORIAL, as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell(
        f"import logging\nlogging.basicConfig(filename={str(log_file)!r}, level=logging.DEBUG, force=True)"))
    nb.cells.extend(nbformat.v4.new_code_cell(src) for src in [
        "%gladier_login",
        "login = gladier_jupyter.login()\nlogin",
        "from gladier_jupyter import auth\ns = auth.session()\nprint(repr(s)); print(s.describe([]))",
        "print(repr(auth.login_manager()))",
        "%gladier_login --globus",
        "print(gladier_jupyter.auth.session().describe(['urn:globus:auth:scope:search.api.globus.org:all']))",
        "print(repr(gladier_jupyter.auth.authorizer_for('urn:globus:auth:scope:search.api.globus.org:all')))",
        "%gladier_login --local",
        "import gladier_jupyter.backend as b\nprint(b.current())\nprint(repr(b.flows_client().authorizer))",
    ])
    client = NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})
    client.execute()

    saved = nbformat.writes(nb)  # the notebook as saved: every output and the widget state
    assert "widgets" in nb.metadata and "RunMonitor" in json.dumps(nb.metadata["widgets"])
    assert "Login" in saved
    places = {
        "notebook": saved,
        "kernel log": log_file.read_text(errors="replace") if log_file.exists() else "",
        "service log": (local_service.state_dir / "service.log").read_text(errors="replace"),
        "compute worker log": (local_service.state_dir / "compute-workers.log").read_text(errors="replace")
        if (local_service.state_dir / "compute-workers.log").exists() else "",
    }
    assert places["kernel log"], "the kernel's logging was captured"
    secrets_to_find = {**tokens, "local service secret": local_service.secret}
    leaks = [(where, name) for where, text in places.items()
             for name, value in secrets_to_find.items() if value in text]
    assert leaks == []
    # the login really saw the hub's tokens (so the scan looked where they would show)
    assert "GLOBUS_DATA" in saved
