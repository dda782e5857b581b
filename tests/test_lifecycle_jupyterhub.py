"""Integration: in a real JupyterHub, the local service lives and dies with the user's server.

The hub (root) spawns a server for a real Unix user (LocalProcessSpawner); a kernel there
starts a run that has finished and one that is still computing; the server is stopped
through the hub API. No process of that user may remain a few seconds after the run has
ended (the service, its compute workers, the kernel, the server), and the runs' records
are intact when the server starts again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import pathlib
import pwd
import secrets
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time

import pytest

from tests._fixtures.hub import api, execute
from tests._fixtures.net import free_port
from tests._fixtures.processes import processes_of
from tests._fixtures.waiting import WaitTimeout, wait_until

ROOT = pathlib.Path(__file__).resolve().parent.parent
CONFIG = ROOT / "tests" / "data" / "hub" / "jupyterhub_lifecycle_config.py"
CHP = ROOT / "node_modules" / ".bin" / "configurable-http-proxy"
SYSTEM_PYTHON = "/usr/bin/python3"
USER = "gjhubuser"


def _same_python_minor() -> bool:
    try:
        out = subprocess.run([SYSTEM_PYTHON, "-c", "import sys; print(sys.version_info[:2])"],
                             capture_output=True, text=True, timeout=30).stdout.strip()
    except OSError:
        return False
    return out == str(sys.version_info[:2])


pytestmark = [
    pytest.mark.skipif(not CHP.exists() or shutil.which("node") is None,
                       reason="configurable-http-proxy is not installed (npm ci installs it)"),
    pytest.mark.skipif(os.geteuid() != 0 or shutil.which("useradd") is None,
                       reason="needs root to create a real Unix user (useradd) for the hub to spawn"),
    pytest.mark.skipif(not sys.platform.startswith("linux") or not _same_python_minor(),
                       reason=f"needs Linux and a {SYSTEM_PYTHON} of this Python's version "
                              "(the spawned user cannot read a venv whose interpreter is under /root)"),
]

RUNS = """
import json
import gladier_jupyter
from tests._fixtures.hub import sleep_then_return
from tests.reliability import _service as svc
info = gladier_jupyter.use_local()
fc, cc = svc.flows_client(info), svc.compute_client(info)
done = svc.start(fc, svc.deploy(fc, {"StartAt": "P", "States": {"P": {
    "Type": "Pass", "Parameters": {"ok": True}, "ResultPath": "$.done", "End": True}}}),
    label="hub finished run")
assert svc.wait_for_run(fc, done["run_id"])["status"] == "SUCCEEDED"
fid = cc.register_function(sleep_then_return)
slow = svc.start(fc, svc.deploy(fc, {"StartAt": "C", "States": {"C": svc.compute_state(fid)}}),
                 {"input": {"sleep": 6}}, label="hub computing run")
import time
for _ in range(600):
    if "ActionStarted" in [e["code"] for e in svc.run_log(fc, slow["run_id"])]:
        break
    time.sleep(0.1)
print(json.dumps({"service": info.pid, "done": done["run_id"], "slow": slow["run_id"],
                  "status": fc.get_run(slow["run_id"])["status"]}))
"""

CHECK = """
import json
import gladier_jupyter
from tests.reliability import _service as svc
info = gladier_jupyter.use_local()
fc = svc.flows_client(info)
out = {}
for run_id in RUN_IDS:
    doc = svc.wait_for_run(fc, run_id, timeout=60)
    out[run_id] = {"status": doc["status"], "label": doc["label"],
                   "output": doc["details"].get("output"),
                   "log": [e["code"] for e in svc.run_log(fc, run_id)]}
print(json.dumps({"service": info.pid, "runs": out}))
"""


def _readable_venv(base: pathlib.Path) -> pathlib.Path:
    """A venv on the system python (readable by every user) that sees this venv's packages."""
    venv = base / "venv"
    subprocess.run([SYSTEM_PYTHON, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = pathlib.Path(sysconfig.get_paths()["purelib"])
    minor = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    (venv / "lib" / minor / "site-packages" / "gj_shared.pth").write_text(
        f"import site; site.addsitedir({str(site)!r})\n")
    subprocess.run(["chmod", "-R", "a+rX", str(base)], check=True)
    return venv / "bin" / "python"


class Hub:
    def __init__(self, tmp: pathlib.Path, user_python: pathlib.Path) -> None:
        self.token = secrets.token_hex(16)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = tmp / "hub.log"
        env = dict(
            os.environ,
            GJ_HUB_DIR=str(tmp), GJ_HUB_PORT=str(self.port), GJ_HUB_API_PORT=str(free_port()),
            GJ_PROXY_API_PORT=str(free_port()), GJ_PROXY_TOKEN=secrets.token_hex(16),
            GJ_CHP=str(CHP), GJ_ADMIN_TOKEN=self.token, GJ_HUB_USER=USER,
            GJ_USER_PYTHON=str(user_python), GJ_PYTHONPATH=str(ROOT), GJ_SHARED_PREFIX=sys.prefix,
            PATH=f"{pathlib.Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
        )
        with self.log.open("w") as fh:
            self.proc = subprocess.Popen([sys.executable, "-m", "jupyterhub", "-f", str(CONFIG)],
                                         cwd=tmp, env=env, stdout=fh, stderr=subprocess.STDOUT)
        self.wait(lambda: self.api("/hub/api/")[0] == 200, 60, "the hub answers")

    def api(self, path: str, method: str = "GET", body: dict | None = None) -> tuple[int, dict]:
        return api(f"{self.base}{path}", self.token, method, body)

    def wait(self, predicate, timeout: float, what: str, **kwargs):
        return wait_until(predicate, timeout, what, max_interval=0.5, **kwargs,
                          context=lambda: f"hub log tail:\n{self.log.read_text()[-3000:]}")

    def start_server(self) -> None:
        status, _ = self.api(f"/hub/api/users/{USER}/server", "POST")
        assert status in (201, 202), status
        self.wait(lambda: self.api(f"/hub/api/users/{USER}")[1].get("servers", {}).get("", {})
                  .get("ready"), 150, "the user's server is ready")

    def run_in_kernel(self, code: str) -> dict:
        status, kernel = self.api(f"/user/{USER}/api/kernels", "POST", {"name": "python3"})
        assert status == 201, status
        ws = f"ws://127.0.0.1:{self.port}/user/{USER}/api/kernels/{kernel['id']}/channels"
        return json.loads(asyncio.run(execute(ws, self.token, code)).strip().splitlines()[-1])

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture
def hub_user():
    subprocess.run(["userdel", "-r", USER], capture_output=True)
    subprocess.run(["useradd", "-m", USER], check=True, capture_output=True)
    try:
        yield pwd.getpwnam(USER).pw_uid
    finally:
        subprocess.run(["pkill", "-KILL", "-u", USER], capture_output=True)  # only this test's user
        subprocess.run(["userdel", "-r", USER], capture_output=True)


def test_stopping_the_users_server_through_the_hub_leaves_no_process_and_keeps_the_runs(hub_user):
    uid = hub_user
    base = pathlib.Path(tempfile.mkdtemp(prefix="gj-hub-lifecycle-"))
    base.chmod(0o755)  # the user reaches the shared venv below it (the hub folder stays 0700)
    hub = None
    try:
        user_python = _readable_venv(base / "shared")
        hub_dir = base / "hub"
        hub_dir.mkdir(mode=0o700)
        hub = Hub(hub_dir, user_python)
        assert hub.api(f"/hub/api/users/{USER}")[0] == 200  # made by allowed_users at start
        hub.start_server()
        first = hub.run_in_kernel(RUNS)
        assert first["status"] == "ACTIVE"  # still computing when the server is stopped
        mine = processes_of(uid)
        assert any(f"{first['service']}" == str(pid) for pid, _ in mine), mine

        stopped = time.monotonic()
        status, _ = hub.api(f"/hub/api/users/{USER}/server", "DELETE")
        assert status in (202, 204), status
        left = hub.wait(lambda: processes_of(uid), 90, f"no process of {USER} remains",
                        until=lambda procs: not procs)
        elapsed = time.monotonic() - stopped
        print(f"no process of {USER} {elapsed:.1f} s after DELETE /hub/api/users/{USER}/server "
              f"(the run computed 6 s of it; {len(mine)} processes before)")
        assert left == []
        state = pathlib.Path(pwd.getpwnam(USER).pw_dir) / ".local" / "state" / "gladier-jupyter"
        log = (state / "service.log").read_text()
        assert "has ended and no run is active: exiting" in log

        hub.start_server()
        run_ids = [first["done"], first["slow"]]
        second = hub.run_in_kernel(f"RUN_IDS = {run_ids!r}\n{CHECK}")
        assert second["service"] != first["service"]  # a new service, on the same databases
        done, slow = (second["runs"][r] for r in run_ids)
        assert (done["status"], done["label"]) == ("SUCCEEDED", "hub finished run")
        assert done["output"]["done"] == {"ok": True}
        assert (slow["status"], slow["label"]) == ("SUCCEEDED", "hub computing run")
        assert slow["output"]["Result"]["details"]["result"] == [6]
        assert slow["log"][0] == "FlowStarted" and slow["log"][-1] == "FlowSucceeded"
    finally:
        if hub is not None:
            hub.api(f"/hub/api/users/{USER}/server", "DELETE")
            with contextlib.suppress(WaitTimeout):  # what is left, the fixture kills
                wait_until(lambda: processes_of(uid), 60, f"{USER}'s server stops at the end",
                           until=lambda procs: not procs)
            hub.stop()
        if os.environ.get("GJ_KEEP_HUB_DIR") != "1":
            shutil.rmtree(base, ignore_errors=True)
