"""Finding, starting and stopping the per-user local service (the state folder's files).

The state folder (0700) holds:

- ``secret`` (0600): the bearer secret every request must carry; made afresh at each start
  (a secret that leaked from an earlier run of the service is worth nothing).
- ``tls-key.pem`` / ``tls-cert.pem`` / ``ca-bundle.pem``: the service's TLS identity, made
  afresh at each start (:mod:`gladier_jupyter.local.tls`); clients pin the certificate, so
  nothing is ever sent to a socket another user holds.
- ``instance-id``: a random id of this folder's databases (gladier's id storage is keyed
  by it, so ids from one local store never leak into another store or into Globus).
- ``service.json``: ``{"pid", "port", "base_url"}`` of the running server, written once it
  listens and removed when it stops. A pid that is gone, owned by another user or running
  another program, or a server that does not prove the folder's TLS identity and answer
  with the secret, makes the file stale: it is ignored and a new server is started.

The folder must be the user's own and writable by nobody else: another user who made it
first (or can write into it) could plant a secret or a key, so such a folder is refused.
- ``service.log``: the detached server's stdout/stderr.
- ``owners/<pid>``: one file per process that uses the service (a Jupyter server, a kernel),
  holding that process's start time (so a reused pid is not taken for it). Written by
  :func:`ensure_running`; the service stops soon after the last owner has gone and no run
  is active (:func:`live_owners`). A service started by hand (``serve`` or ``start``)
  ignores them: it keeps the long idle timeout even when a kernel adopts it.
"""

from __future__ import annotations

import contextlib
import fcntl
import http.client
import json
import os
import pathlib
import secrets
import signal
import subprocess
import sys
import time
import uuid

from gladier_jupyter.errors import GladierJupyterError, GladierJupyterUsageError
from gladier_jupyter.local import ServiceInfo, tls

STATE_FILE = "service.json"
SECRET_FILE = "secret"
INSTANCE_FILE = "instance-id"
LOG_FILE = "service.log"
LOCK_FILE = "start.lock"
SERVE_LOCK_FILE = "serve.lock"
OWNERS_DIR = "owners"
START_TIMEOUT = 30.0


def prepare_state_dir(state_dir: pathlib.Path) -> None:
    """Create the folder (0700) and its instance id if missing; refuse a folder that is
    not the user's own or that others may write to (see the module's docstring)."""
    if not state_dir.exists():
        state_dir.mkdir(parents=True, mode=0o700)
        with contextlib.suppress(OSError):
            os.chmod(state_dir, 0o700)  # mkdir's mode is filtered by the umask
    check_private_dir(state_dir)
    # An existing folder keeps its mode (it may be one the user chose, e.g. 0755); every
    # file the service writes in it is 0600 (secret, key, state file, databases, logs).
    inst = state_dir / INSTANCE_FILE
    if not inst.exists():
        _write_private(inst, uuid.uuid4().hex)


def check_private_dir(state_dir: pathlib.Path) -> None:
    """Raise unless ``state_dir`` is a folder owned by this user that no one else can write."""
    try:
        st = os.stat(state_dir)
    except OSError as exc:
        raise GladierJupyterUsageError(
            f"The local service's state folder {state_dir} cannot be read ({exc.strerror}); "
            "set GLADIER_JUPYTER_STATE_DIR to a folder of your own."
        ) from None
    import stat as stat_mod

    if not stat_mod.S_ISDIR(st.st_mode):
        raise GladierJupyterUsageError(
            f"The local service's state folder {state_dir} is not a folder; remove it or set "
            "GLADIER_JUPYTER_STATE_DIR to a folder of your own."
        )
    if st.st_uid != os.getuid():
        raise GladierJupyterUsageError(
            f"The local service's state folder {state_dir} belongs to uid {st.st_uid}, not to you "
            f"(uid {os.getuid()}); it is refused: remove it or set GLADIER_JUPYTER_STATE_DIR to a "
            "folder of your own."
        )
    if st.st_mode & 0o022:
        raise GladierJupyterUsageError(
            f"The local service's state folder {state_dir} is writable by others "
            f"(mode {stat_mod.S_IMODE(st.st_mode):04o}); it is refused: run 'chmod 700 {state_dir}'."
        )


def _read_private(path: pathlib.Path) -> str:
    """A file of the state folder, refused if it is a link, another user's or readable by others."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd) as fh:
        st = os.fstat(fh.fileno())
        if st.st_uid != os.getuid() or st.st_mode & 0o077:
            raise GladierJupyterUsageError(
                f"{path} belongs to uid {st.st_uid} with mode {st.st_mode & 0o7777:04o}; the local "
                "service only trusts files of your own that others cannot read: remove it."
            )
        return fh.read()


def new_secret(state_dir: pathlib.Path) -> str:
    """Write a fresh secret (called by the server at each start, under its serve lock)."""
    secret = secrets.token_urlsafe(32)
    _write_private(state_dir / SECRET_FILE, secret)
    return secret


def _write_private(path: pathlib.Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()  # a leftover of a crash (or a planted link): never written through
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)


def read_secret(state_dir: pathlib.Path) -> str:
    return _read_private(state_dir / SECRET_FILE).strip()


def read_instance_id(state_dir: pathlib.Path) -> str:
    try:
        return (state_dir / INSTANCE_FILE).read_text().strip()
    except OSError:
        return ""


def write_state(state_dir: pathlib.Path, port: int) -> None:
    """Called by the server once it listens."""
    doc = {"pid": os.getpid(), "port": port, "base_url": f"https://127.0.0.1:{port}"}
    _write_private(state_dir / STATE_FILE, json.dumps(doc))


def clear_state(state_dir: pathlib.Path) -> None:
    """Called by the server when it stops: remove the state file if it is still ours."""
    path = state_dir / STATE_FILE
    with contextlib.suppress(OSError, ValueError):
        if json.loads(path.read_text()).get("pid") == os.getpid():
            path.unlink()


def _pid_alive(pid: int) -> bool:
    """True if ``pid`` is a live process of this user (another user's pid counts as gone)."""
    try:
        os.kill(pid, 0)
    except OSError:
        # EPERM: the pid is another user's now (pids are reused): not our service.
        return False
    try:
        st = os.stat(f"/proc/{pid}")
        stat = pathlib.Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    if st.st_uid != os.getuid():
        return False
    # A zombie child (started by this process, killed, not yet reaped) is not alive.
    return stat.rpartition(")")[2].split()[0] != "Z"


def _is_our_server(pid: int) -> bool:
    """True if ``pid`` is this user's process running ``python -m gladier_jupyter.local serve``."""
    if not _pid_alive(pid):
        return False
    try:
        cmd = pathlib.Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"gladier_jupyter.local" in cmd and b"serve" in cmd


def ping(port: int, secret: str, cert_file: pathlib.Path, timeout: float = 2.0) -> int | None:
    """The pid the service at ``port`` reports, or ``None``.

    The TLS handshake proves the server holds the folder's key before the secret is sent:
    a socket bound by anyone else fails there and receives nothing but a TLS hello.
    """
    try:
        context = tls.client_context(cert_file)
    except (OSError, ValueError):
        return None
    conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=timeout, context=context)
    try:
        conn.request("GET", "/api/health", headers={"Authorization": f"Bearer {secret}"})
        resp = conn.getresponse()
        body = resp.read(4096)
        if resp.status != 200:
            return None
        return int(json.loads(body)["pid"])
    except (OSError, ValueError, KeyError, http.client.HTTPException):
        return None
    finally:
        conn.close()


def find_running(state_dir: pathlib.Path) -> ServiceInfo | None:
    """The service recorded in the state file if it is this user's live server and it
    proves the folder's TLS identity and knows the secret."""
    try:
        check_private_dir(state_dir)
        doc = json.loads(_read_private(state_dir / STATE_FILE))
        pid, port = int(doc["pid"]), int(doc["port"])
        secret = read_secret(state_dir)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    cert_file = state_dir / tls.CERT_FILE
    if not _is_our_server(pid) or ping(port, secret, cert_file) != pid:
        return None
    return ServiceInfo(
        base_url=f"https://127.0.0.1:{port}",
        secret=secret,
        pid=pid,
        state_dir=state_dir,
        instance_id=read_instance_id(state_dir),
        ca_file=cert_file,
    )


def hold_serve_lock(state_dir: pathlib.Path) -> int | None:
    """Take the folder's serve lock for this process's lifetime; ``None`` if it is held."""
    fd = os.open(state_dir / SERVE_LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def _serve_lock_held(state_dir: pathlib.Path) -> bool:
    try:
        fd = os.open(state_dir / SERVE_LOCK_FILE, os.O_RDWR)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def _recorded_pid(state_dir: pathlib.Path) -> int | None:
    try:
        return int(json.loads(_read_private(state_dir / STATE_FILE))["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


@contextlib.contextmanager
def _start_lock(state_dir: pathlib.Path):
    # Two kernels starting at once must end up with one service.
    fd = os.open(state_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _start_time(pid: int) -> str | None:
    """When ``pid`` started (clock ticks since boot, /proc/PID/stat field 22), if it is a
    live process of this user; with the pid, it names one process even after pid reuse."""
    if not _pid_alive(pid):
        return None
    try:
        fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        return fields[19]
    except (OSError, IndexError):
        return None


def register_owner(state_dir: pathlib.Path, pid: int) -> None:
    """Record ``pid`` as a user of the service of ``state_dir`` (see :func:`live_owners`)."""
    started = _start_time(pid)
    if started is None:
        return
    owners = state_dir / OWNERS_DIR
    path = owners / str(pid)
    with contextlib.suppress(OSError):
        if _read_private(path) == started:
            return
    with contextlib.suppress(FileExistsError):
        owners.mkdir(mode=0o700)
    if owners.is_symlink() or not owners.is_dir():
        raise GladierJupyterUsageError(
            f"{owners} is not a folder of the local service; remove it and try again.")
    _write_private(path, started)


def live_owners(state_dir: pathlib.Path) -> list[int]:
    """The owners of ``state_dir``'s service that still run; the files of those that do not
    (or whose pid now names another process) are removed."""
    found = []
    try:
        names = os.listdir(state_dir / OWNERS_DIR)
    except OSError:
        return []
    for name in names:
        path = state_dir / OWNERS_DIR / name
        try:
            pid = int(name)
            alive = _start_time(pid) == _read_private(path).strip()
        except (ValueError, OSError, GladierJupyterUsageError):
            alive = False
        if alive:
            found.append(pid)
        else:
            with contextlib.suppress(OSError):
                path.unlink()
    return sorted(found)


def ensure_running(state_dir: pathlib.Path, owner: int | None = None) -> ServiceInfo:
    """Find the service of ``state_dir`` or start it detached and wait until it answers.

    ``owner`` (a pid, usually the caller's) is recorded as a user of the service: once no
    recorded owner runs and no run is active, the service stops after a short grace.
    """
    if owner is not None:
        with contextlib.suppress(OSError, GladierJupyterUsageError):
            check_private_dir(state_dir)
            register_owner(state_dir, owner)
    info = find_running(state_dir)
    if info is not None:
        return info
    prepare_state_dir(state_dir)
    if owner is not None:
        register_owner(state_dir, owner)  # before the service starts: it is owned from its first tick
    with _start_lock(state_dir):
        info = find_running(state_dir)
        if info is not None:
            return info
        if _serve_lock_held(state_dir):
            # A service holds the folder but does not answer (busy or hung): give it a
            # moment rather than start a second service on the same databases.
            deadline = time.monotonic() + 10.0
            while time.monotonic() < deadline and _serve_lock_held(state_dir):
                info = find_running(state_dir)
                if info is not None:
                    return info
                time.sleep(0.2)
            if _serve_lock_held(state_dir):
                raise GladierJupyterError(
                    f"The local Globus service of {state_dir} (pid {_recorded_pid(state_dir)}) "
                    "holds its folder but does not answer; stop it with "
                    f"'python -m gladier_jupyter.local stop --state-dir {state_dir}' and try again."
                )
        with contextlib.suppress(OSError):
            (state_dir / STATE_FILE).unlink()
        log = os.fdopen(os.open(state_dir / LOG_FILE, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "ab")
        # The child runs in the private state folder (``-m`` puts its cwd first on
        # sys.path: a notebook folder's stray modules must not be imported by a service
        # that executes code) and imports this same copy of the package.
        package_root = str(pathlib.Path(__file__).resolve().parents[2])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (package_root, env.get("PYTHONPATH", "")) if p
        )
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", "gladier_jupyter.local", "serve", "--state-dir", str(state_dir.resolve()),
                 *(["--owned"] if owner is not None else [])],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=str(state_dir),
                env=env,
                start_new_session=True,
                close_fds=True,
            )
        finally:
            log.close()
        deadline = time.monotonic() + START_TIMEOUT
        delay = 0.01
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                break
            if (state_dir / STATE_FILE).exists():
                info = find_running(state_dir)
                if info is not None:
                    return info
            time.sleep(delay)
            delay = min(delay * 1.5, 0.05)
        tail = _log_tail(state_dir)
        if proc.poll() is None:
            with contextlib.suppress(OSError):
                proc.kill()
        raise GladierJupyterError(
            f"The local Globus service in {state_dir} did not start (exit code {proc.poll()}); "
            f"see {state_dir / LOG_FILE}: {tail}"
        )


def _log_tail(state_dir: pathlib.Path) -> str:
    try:
        lines = (state_dir / LOG_FILE).read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " | ".join(lines[-3:])


def stop(state_dir: pathlib.Path, timeout: float = 10.0) -> bool:
    """Stop the recorded service (SIGTERM, then SIGKILL); ``True`` if one was running."""
    info = find_running(state_dir)
    pid = info.pid if info is not None else None
    if pid is None and _serve_lock_held(state_dir):
        # Not answering but alive: the recorded pid, if it still is our server.
        recorded = _recorded_pid(state_dir)
        if recorded is not None and _is_our_server(recorded):
            pid = recorded
    if pid is None:
        with contextlib.suppress(OSError):
            (state_dir / STATE_FILE).unlink()
        return False
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    # While it exits its command line reads empty: wait on the (uid-checked) pid itself.
    while time.monotonic() < deadline and _pid_alive(pid):
        time.sleep(0.02)
    if _pid_alive(pid):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(OSError):
        (state_dir / STATE_FILE).unlink()
    return True
