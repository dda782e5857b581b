"""Another user of the node tries to take the local service's secret (issue findings 1, 2, 12).

The attacker is a real second Unix user (made with ``useradd`` for the module, removed after)
who binds the service's port the moment it frees and records every byte a client sends, or
who prepares the state folder before the victim's first start. What the victim's clients do
is the product's own code path: ``backend`` clients, a ``RunMonitor``, plain globus-sdk
clients that follow ``GLOBUS_SDK_SERVICE_URL_*``, and ``ensure_running`` itself.

Before the fix, each attack below received ``Authorization: Bearer <secret>`` (the review's
reproduction; ``RELIABILITY.md`` has the figures). Now the attacker's socket gets a TLS hello
at most, and the product finds or starts the real service instead.
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import signal
import subprocess
import tempfile
import textwrap
import typing as t

import globus_sdk
import pytest

from gladier_jupyter import backend, local
from gladier_jupyter.errors import GladierJupyterUsageError
from gladier_jupyter.local import process
from tests._fixtures.net import free_port
from tests._fixtures.waiting import wait_until
from tests.reliability import _service as svc

ATTACKER = "gjattacker"
SYSTEM_PYTHON = "/usr/bin/python3"

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("useradd") or not os.path.exists(SYSTEM_PYTHON),
    reason="needs root (useradd, runuser) and the system python3 to act as a second user",
)

# The attacker: bind 127.0.0.1:PORT, say so, then record every byte of every connection
# (answering nothing) until told to stop.
LISTENER = textwrap.dedent(
    """
    import socket, sys, threading, time, pathlib
    port, out = int(sys.argv[1]), pathlib.Path(sys.argv[2])
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    deadline = time.monotonic() + 20
    while True:
        try:
            s.bind(("127.0.0.1", port)); break
        except OSError:
            if time.monotonic() > deadline: raise
            time.sleep(0.01)
    s.listen(64)
    (out / "ready").write_text(str(port))
    def take(c):
        c.settimeout(2)
        with c, open(out / "captured", "ab") as fh:
            fh.write(b"--connection--")
            try:
                while True:
                    data = c.recv(65536)
                    if not data: break
                    fh.write(data); fh.flush()
            except OSError:
                pass
    while not (out / "stop").exists():
        s.settimeout(0.2)
        try:
            c, _ = s.accept()
        except OSError:
            continue
        threading.Thread(target=take, args=(c,), daemon=True).start()
    time.sleep(0.5)
    """
)


@pytest.fixture(scope="module")
def attacker() -> t.Iterator[str]:
    subprocess.run(["userdel", "-r", ATTACKER], capture_output=True)
    subprocess.run(["useradd", "-m", ATTACKER], check=True, capture_output=True)
    try:
        yield ATTACKER
    finally:
        subprocess.run(["pkill", "-u", ATTACKER], capture_output=True)
        subprocess.run(["userdel", "-r", ATTACKER], capture_output=True)


class Listener:
    """The attacker's socket on ``port``, run as the attacker; ``captured()`` is what it got."""

    def __init__(self, user: str, port: int) -> None:
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix="gj-attacker-"))
        os.chmod(self.dir, 0o777)
        script = self.dir / "listen.py"
        script.write_text(LISTENER)
        os.chmod(script, 0o644)
        self.proc = subprocess.Popen(
            ["runuser", "-u", user, "--", SYSTEM_PYTHON, str(script), str(port), str(self.dir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        wait_until(lambda: self.proc.poll() is not None or (self.dir / "ready").exists(), 25,
                   f"the attacker binds {port}")
        if self.proc.poll() is not None:
            raise AssertionError(f"the attacker could not bind {port}: {self.proc.stderr.read()!r}")
        self.port = port

    @property
    def pid(self) -> int:
        # runuser execs nothing itself: the python child is the one holding the socket.
        out = subprocess.run(["pgrep", "-u", ATTACKER, "-f", "listen.py"], capture_output=True, text=True)
        return int(out.stdout.split()[0])

    def captured(self) -> bytes:
        try:
            return (self.dir / "captured").read_bytes()
        except FileNotFoundError:
            return b""

    def close(self) -> None:
        (self.dir / "stop").write_text("")
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


def _port(info: t.Any) -> int:
    return int(info.base_url.rsplit(":", 1)[1])


def _wait_gone(pid: int, timeout: float = 30.0) -> None:
    wait_until(lambda: not process._pid_alive(pid), timeout, f"service {pid} exits")


def _assert_no_secret(listener: Listener, *secrets: str) -> None:
    got = listener.captured()
    for secret in secrets:
        assert secret.encode() not in got
    assert b"Authorization" not in got and b"Bearer" not in got
    # Whatever came was the start of a TLS handshake (0x16 0x03), never an HTTP request.
    for chunk in got.split(b"--connection--")[1:]:
        assert chunk == b"" or chunk[:2] == b"\x16\x03", chunk[:40]


def test_port_taken_after_idle_exit_gets_no_secret_and_clients_find_the_service_again(attacker, tmp_path):
    state = tmp_path / "idle"
    with svc.private_service(state, GLADIER_JUPYTER_IDLE_TIMEOUT="1") as info, svc.as_backend(info):
        product = backend.flows_client()
        plain = globus_sdk.FlowsClient(authorizer=globus_sdk.AccessTokenAuthorizer(info.secret))
        assert plain.base_url == info.service_url("flows")  # the kernel has no real token
        product.list_flows()
        _wait_gone(info.pid)
        listener = Listener(attacker, _port(info))
        try:
            # A plain client still holding the old URL: the handshake fails, nothing is sent.
            with pytest.raises(globus_sdk.NetworkError):
                plain.list_flows()
            # The product's client looks the service up again (started anew, elsewhere).
            assert product.list_flows().data["flows"] == []
            fresh = local.status(state)
            assert fresh is not None and fresh.pid != info.pid and fresh.base_url != info.base_url
            assert fresh.secret != info.secret
            assert product.base_url == fresh.service_url("flows")
            _assert_no_secret(listener, info.secret, fresh.secret)
            assert listener.captured().count(b"--connection--") >= 1  # the attack was tried
        finally:
            listener.close()


def test_port_taken_after_kill_9_while_a_monitor_reconnects_gets_no_secret(attacker, tmp_path):
    from gladier_jupyter import RunMonitor

    state = tmp_path / "killed"
    with svc.private_service(state) as info, svc.as_backend(info):
        fc = backend.flows_client()
        flow_id = svc.deploy(fc, {"StartAt": "W", "States": {
            "W": {"Type": "Wait", "Seconds": 2, "Next": "P"},
            "P": {"Type": "Pass", "Result": {"ok": True}, "ResultPath": "$.done", "End": True}}})
        run = svc.start(fc, flow_id)
        monitor = RunMonitor(run["run_id"], client=backend.flows_client())
        try:
            os.kill(info.pid, signal.SIGKILL)
            _wait_gone(info.pid)
            listener = Listener(attacker, _port(info))
            try:
                assert monitor.wait(90) == "SUCCEEDED"
                fresh = local.status(state)
                assert fresh is not None and fresh.pid != info.pid
                _assert_no_secret(listener, info.secret, fresh.secret)
            finally:
                listener.close()
        finally:
            monitor.close()


def test_stale_state_file_naming_another_users_pid_and_port_is_never_pinged_with_the_secret(attacker, tmp_path):
    state = tmp_path / "stale"
    process.prepare_state_dir(state)
    process.new_secret(state)
    old_secret = process.read_secret(state)
    listener = Listener(attacker, free_port())
    try:
        # The crash left service.json behind; the attacker's process now has that pid
        # (here: the attacker's listener, on the recorded port).
        assert process._pid_alive(listener.pid) is False  # EPERM: another user's pid is gone
        process._write_private(state / process.STATE_FILE, json.dumps(
            {"pid": listener.pid, "port": listener.port, "base_url": f"https://127.0.0.1:{listener.port}"}))
        info = local.ensure_running(state)
        try:
            assert info.pid != listener.pid and _port(info) != listener.port
            _assert_no_secret(listener, old_secret, info.secret)
            assert listener.captured() == b""  # not even a connection
        finally:
            local.stop(state)
    finally:
        listener.close()


def test_a_recorded_pid_running_another_program_is_not_the_service(tmp_path):
    state = tmp_path / "reused"
    process.prepare_state_dir(state)
    process.new_secret(state)
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        assert process._pid_alive(sleeper.pid) is True
        assert process._is_our_server(sleeper.pid) is False
        process._write_private(state / process.STATE_FILE, json.dumps({"pid": sleeper.pid, "port": 9}))
        assert local.status(state) is None
        assert local.stop(state) is False
        assert sleeper.poll() is None, "stop() must never signal a process that is not the service"
    finally:
        sleeper.kill()
        sleeper.wait()


def test_state_folder_made_by_another_user_is_refused(attacker):
    shared = pathlib.Path(tempfile.mkdtemp(prefix="gj-shared-"))  # like /tmp: anyone may create
    os.chmod(shared, 0o1777)
    planted = shared / "state"
    try:
        subprocess.run(["runuser", "-u", attacker, "--", "sh", "-c",
                        f"umask 022; mkdir {planted} && echo attacker-secret > {planted}/secret"], check=True)
        with pytest.raises(GladierJupyterUsageError) as err:
            local.ensure_running(planted)
        message = str(err.value)
        assert "\n" not in message and str(planted) in message and "belongs to uid" in message
        assert not (planted / "service.json").exists()
        assert (planted / "secret").read_text() == "attacker-secret\n"  # untouched, unused
    finally:
        shutil.rmtree(shared, ignore_errors=True)


def test_state_folder_writable_by_others_is_refused(tmp_path):
    state = tmp_path / "open"
    state.mkdir()
    os.chmod(state, 0o777)
    with pytest.raises(GladierJupyterUsageError) as err:
        local.ensure_running(state)
    assert "writable by others" in str(err.value) and "chmod 700" in str(err.value)
    assert not (state / "secret").exists()


def test_a_secret_file_readable_by_others_is_not_adopted(tmp_path):
    state = tmp_path / "leaky"
    process.prepare_state_dir(state)
    (state / process.SECRET_FILE).write_text("known-to-everyone")
    os.chmod(state / process.SECRET_FILE, 0o644)
    with pytest.raises(GladierJupyterUsageError):
        process.read_secret(state)
    info = local.ensure_running(state)  # a start writes its own fresh secret (0600)
    try:
        assert info.secret != "known-to-everyone"
        assert (os.stat(state / process.SECRET_FILE).st_mode & 0o777) == 0o600
    finally:
        local.stop(state)


def test_with_hub_tokens_in_the_kernel_plain_clients_never_point_at_the_local_port(tmp_path, monkeypatch):
    """Finding 2: a plain globus-sdk client built with a real (hub) token goes to Globus."""
    monkeypatch.setenv("GLOBUS_DATA", "c29tZS1odWItdG9rZW5z")  # any hub GLOBUS_DATA
    state = tmp_path / "hub"
    with svc.private_service(state) as info, svc.as_backend(info):
        for name in ("FLOWS", "SEARCH", "TRANSFER", "AUTH", "COMPUTE"):
            assert f"GLOBUS_SDK_SERVICE_URL_{name}" not in os.environ
        real = globus_sdk.FlowsClient(authorizer=globus_sdk.AccessTokenAuthorizer("real-hub-token"))
        assert "127.0.0.1" not in real.base_url and real.base_url.startswith("https://")
        # The product's own clients still use the local service, with its secret.
        assert backend.flows_client().list_flows().data["flows"] == []


def test_once_real_tokens_are_noted_plain_clients_stop_following_the_local_service(tmp_path):
    state = tmp_path / "noted"
    with svc.private_service(state) as info, svc.as_backend(info):
        assert os.environ["GLOBUS_SDK_SERVICE_URL_FLOWS"] == info.service_url("flows")
        assert os.environ["GLOBUS_SDK_VERIFY_SSL"].startswith(str(state))
        backend.note_real_tokens()
        assert "GLOBUS_SDK_SERVICE_URL_FLOWS" not in os.environ
        assert "GLOBUS_SDK_VERIFY_SSL" not in os.environ
        assert "127.0.0.1" not in globus_sdk.SearchClient().base_url
        assert backend.flows_client().list_flows().data["flows"] == []
