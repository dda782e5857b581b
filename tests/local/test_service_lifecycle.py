"""How long the local service and its children live: the service stops soon after the last
process that owns it (a Jupyter server, a kernel) has ended, once no run is active; a run
keeps it up, or is parked in its database and resumed by the next start; a ``kill -9`` of
the service leaves none of its workers nor what their tasks started."""

from __future__ import annotations

import os
import pathlib
import signal
import subprocess
import sys
import time

import pytest

from gladier_jupyter import local
from tests._fixtures.processes import descendants, gone
from tests._fixtures.runs import wait_for_run
from tests._fixtures.waiting import wait_until
from tests.reliability import _service as svc

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc")

# A process that uses the service, as a kernel does: it starts (or finds) it, then lives
# until its stdin closes or it is killed.
OWNER = """
import sys
from gladier_jupyter import local
print(local.ensure_running(sys.argv[1]).pid, flush=True)
sys.stdin.read()
"""


class Owner:
    def __init__(self, state: pathlib.Path, **env: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", OWNER, str(state)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, env=dict(os.environ, **env))
        self.service_pid = int(self.proc.stdout.readline())

    def end(self, sig: int = signal.SIGTERM) -> None:
        self.proc.send_signal(sig)
        self.proc.wait(10)


def _wait_flow(seconds: float) -> dict:
    return {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": seconds, "End": True}}}


def _owners(state: pathlib.Path) -> list[str]:
    return sorted(os.listdir(state / "owners")) if (state / "owners").exists() else []


@pytest.fixture
def state(tmp_path):
    path = tmp_path / "state"
    yield path
    local.stop(path)


def test_service_stops_soon_after_its_last_owner_ends(state):
    quick = {"GLADIER_JUPYTER_OWNERLESS_TIMEOUT": "0.5"}
    first, second = Owner(state, **quick), Owner(state, **quick)
    pid = first.service_pid
    assert second.service_pid == pid  # the second one adopted the running service
    assert _owners(state) == sorted([str(first.proc.pid), str(second.proc.pid)])
    first.end()
    wait_until(lambda: _owners(state), 20, "the service forgets the ended owner",
               until=lambda names: names == [str(second.proc.pid)])
    time.sleep(1.5)  # three grace periods: one owner still runs, so the service stays
    assert not gone(pid)
    ended = time.monotonic()
    second.end(signal.SIGKILL)  # a kernel killed hard counts as ended too
    wait_until(lambda: gone(pid), 20, f"the service {pid} exits after its last owner")
    print(f"service gone {time.monotonic() - ended:.1f} s after its last owner")
    assert "The last Jupyter server or kernel using the service has ended" in (
        state / "service.log").read_text()
    assert local.status(state) is None


def test_service_started_by_hand_keeps_the_idle_timeout_even_once_a_kernel_adopted_it(state):
    env = dict(os.environ, GLADIER_JUPYTER_OWNERLESS_TIMEOUT="0.2")
    out = subprocess.run([sys.executable, "-m", "gladier_jupyter.local", "start", "--state-dir", str(state)],
                         capture_output=True, text=True, check=True, env=env).stdout
    pid = int(out.split("(pid ")[1].split(",")[0])
    kernel = Owner(state)
    assert kernel.service_pid == pid
    kernel.end()
    time.sleep(1.5)  # several ownerless grace periods: they do not apply to it
    assert not gone(pid)


def test_an_active_run_keeps_an_ownerless_service_until_the_run_ends(state):
    owner = Owner(state, GLADIER_JUPYTER_OWNERLESS_TIMEOUT="0.5")
    info = local.status(state)  # this test process only looks: it is no owner
    fc = svc.flows_client(info)
    run = svc.start(fc, svc.deploy(fc, _wait_flow(4)))
    owner.end()
    wait_until(lambda: _owners(state), 20, "the service notices its owner ended",
               until=lambda names: names == [])
    time.sleep(1.5)  # past the grace, with no request meanwhile: the ACTIVE run keeps it
    assert not gone(info.pid)
    assert wait_for_run(fc, run["run_id"])["status"] == "SUCCEEDED"
    wait_until(lambda: gone(info.pid), 20, "the ownerless service exits once the run has ended")


def test_an_ownerless_run_past_the_limit_is_parked_and_resumed_by_the_next_start(state):
    owner = Owner(state, GLADIER_JUPYTER_OWNERLESS_TIMEOUT="0.2", GLADIER_JUPYTER_OWNERLESS_RUN_LIMIT="1")
    info = local.status(state)
    fc = svc.flows_client(info)
    run = svc.start(fc, svc.deploy(fc, _wait_flow(6)), label="parked")
    owner.end()
    wait_until(lambda: gone(info.pid), 30, "the ownerless service exits after the run limit")
    assert "its active runs resume when the service starts again" in (state / "service.log").read_text()
    restarted = local.ensure_running(state)
    fc = svc.flows_client(restarted)
    assert fc.get_run(run["run_id"])["label"] == "parked"
    assert wait_for_run(fc, run["run_id"], timeout=60)["status"] == "SUCCEEDED"


def spawn_and_sleep(**data):
    import subprocess
    import time

    subprocess.Popen(["sleep", "300"])
    time.sleep(300)


def _processes_below_a_running_task(info) -> list[int]:
    """Start ``spawn_and_sleep`` on the service's default endpoint; once its own ``sleep``
    runs, the pids of every process below the service (workers, the task's child)."""
    cc = svc.compute_client(info)
    fid = cc.register_function(spawn_and_sleep)
    cc.run(endpoint_id=svc.ENDPOINT, function_id=fid)
    return wait_until(lambda: descendants(info.pid), 60, "the task starts its own process",
                      until=lambda pids: any(_cmd(p) == "sleep 300" for p in pids))


def test_kill_9_of_the_service_leaves_no_worker_nor_task_process(tmp_path):
    with svc.private_service(tmp_path / "svc") as info:
        below = _processes_below_a_running_task(info)
        os.kill(info.pid, signal.SIGKILL)
        killed = time.monotonic()
        left = wait_until(lambda: [p for p in below if not gone(p)], 10,
                          "no worker or task process outlives the killed service",
                          until=lambda pids: not pids)
        print(f"{len(below)} processes below the service gone {time.monotonic() - killed:.2f} s after kill -9")
        assert left == []


def _cmd(pid: int) -> str:
    try:
        return pathlib.Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        return ""


# A parent that starts one child through the helper, from a thread that then ends (the death
# signal follows the forking thread), and one with a plain Popen; then waits to be killed.
PARENT = """
import signal, subprocess, threading
from gladier_jupyter.local import _children
found = {}
t = threading.Thread(target=lambda: found.update(child=_children.spawn(["sleep", "300"])))
t.start(); t.join()
plain = subprocess.Popen(["sleep", "301"], start_new_session=True)
print(found["child"].pid, plain.pid, flush=True)
signal.pause()
"""


def test_children_spawned_through_the_helper_end_with_a_killed_parent():
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True)
    child, plain = (int(p) for p in parent.stdout.readline().split())
    try:
        assert not gone(child)  # the forking thread has ended: the child lives on
        parent.kill()
        parent.wait(10)
        wait_until(lambda: gone(child), 10, f"the helper's child {child} ends with its parent")
        # what a plain Popen leaves behind (the defect the helper removes)
        assert not gone(plain)
    finally:
        for pid in (child, plain):
            if not gone(pid):
                os.kill(pid, signal.SIGKILL)


def test_stopping_the_service_stops_its_workers(tmp_path):
    with svc.private_service(tmp_path / "svc") as info:
        below = _processes_below_a_running_task(info)
        local.stop(info.state_dir)
        wait_until(lambda: [p for p in below if not gone(p)], 15, "the stopped service leaves no process",
                   until=lambda pids: not pids)
