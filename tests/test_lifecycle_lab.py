"""A plain ``jupyter lab`` on a laptop: once it is closed (SIGTERM, Ctrl-C, even kill -9), the
local service its runs panel and its kernel started does not stay behind, nor do its workers."""

from __future__ import annotations

import asyncio
import os
import pathlib
import secrets
import signal
import subprocess
import sys
import time

import pytest

from gladier_jupyter import local
from tests._fixtures.hub import api, execute
from tests._fixtures.net import free_port
from tests._fixtures.processes import descendants, gone
from tests._fixtures.waiting import wait_until

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc")

KERNEL_CODE = "import gladier_jupyter\nprint(gladier_jupyter.use_local().pid)\n"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL],
                         ids=["SIGTERM", "Ctrl-C", "kill-9"])
def test_closing_jupyter_lab_leaves_no_local_service_behind(tmp_path, sig):
    state, root = tmp_path / "state", tmp_path / "root"
    root.mkdir()
    port, token = free_port(), secrets.token_hex(16)
    url = f"http://127.0.0.1:{port}"
    # the defaults a user has: only the state folder is this test's own
    env = {k: v for k, v in os.environ.items() if not k.startswith("GLADIER_JUPYTER_")}
    env.update(GLADIER_JUPYTER_STATE_DIR=str(state), TMPDIR=str(tmp_path))
    log = tmp_path / "lab.log"
    with log.open("w") as log_fh:
        lab = subprocess.Popen(
            [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
             "--ServerApp.port_retries=0", "--allow-root", f"--IdentityProvider.token={token}",
             f"--ServerApp.root_dir={root}"],
            env=env, stdout=log_fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        wait_until(lambda: api(f"{url}/api/status", token)[0] == 200, 60, "JupyterLab answers")
        # the runs panel's first request starts the service; a kernel then adopts it
        status, doc = api(f"{url}/gladier-jupyter/api/runs", token)
        assert status == 200, doc
        info = local.status(state)
        status, kernel = api(f"{url}/api/kernels", token, "POST", {"name": "python3"})
        assert status == 201, status
        ws = f"ws://127.0.0.1:{port}/api/kernels/{kernel['id']}/channels"
        assert int(asyncio.run(execute(ws, token, KERNEL_CODE)).strip()) == info.pid
        owners = sorted(int(p) for p in os.listdir(state / "owners"))
        assert lab.pid in owners and len(owners) == 2, owners  # the server and its kernel
        below = wait_until(lambda: descendants(info.pid), 60, "the service's compute workers start")
        watched = [info.pid, *below, *owners]

        closed = time.monotonic()
        lab.send_signal(sig)
        left = wait_until(lambda: [p for p in watched if not gone(p)], 60,
                          "the server, its kernel, the service and its workers all end",
                          until=lambda pids: not pids,
                          context=lambda: (state / "service.log").read_text()[-2000:])
        print(f"{signal.Signals(sig).name}: {len(watched)} processes gone "
              f"{time.monotonic() - closed:.1f} s after closing JupyterLab")
        assert left == []
    finally:
        if lab.poll() is None:
            lab.kill()
        lab.wait(10)
        local.stop(state)
    assert "has ended and no run is active: exiting" in (state / "service.log").read_text()


def test_the_owner_files_are_the_state_folders_own(tmp_path):
    state = tmp_path / "state"
    local.ensure_running(state)
    try:
        owners = state / "owners"
        assert os.stat(owners).st_mode & 0o777 == 0o700
        mine = owners / str(os.getpid())
        assert os.stat(mine).st_mode & 0o777 == 0o600
        assert mine.read_text() == pathlib.Path(f"/proc/{os.getpid()}/stat").read_text().rpartition(")")[2].split()[19]
    finally:
        local.stop(state)
