"""The service's child processes (compute workers, engines): they end with the service.

Every process the service starts goes through :func:`spawn`, which gives it

- its own process group (``start_new_session``), so stopping it stops what it started and
  a Ctrl-C meant for the service does not reach it;
- on Linux, a death signal (``prctl(PR_SET_PDEATHSIG)``): the kernel signals the child the
  moment the service dies, ``kill -9`` included, so no child is left re-parented to pid 1;
- a place in this module's registry, so the service's shutdown path (:func:`stop_all`)
  stops every child's whole process group.

The death signal fires when the *thread* that forked the child ends, not the process: so
every child is forked on one long-lived thread of this module, whatever thread asks.
A child started another way (a ``multiprocessing`` pool's worker) calls
:func:`die_with_parent` first thing (e.g. as the pool's ``initializer``).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import ctypes
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import typing as t

__all__ = ["die_with_parent", "live_children", "spawn", "stop_all"]

_PR_SET_PDEATHSIG = 1

_lock = threading.Lock()
_children: dict[int, subprocess.Popen] = {}
_requests: queue.SimpleQueue[tuple[t.Callable[[], subprocess.Popen], concurrent.futures.Future]] = (
    queue.SimpleQueue())
_forker: threading.Thread | None = None


def _prctl() -> t.Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.prctl
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    fn.restype = ctypes.c_int
    return fn


# Looked up once here: the code that runs between fork and exec must not load libraries.
_PRCTL = _prctl()


def die_with_parent(sig: int = signal.SIGKILL, parent: int | None = None) -> bool:
    """Ask the kernel to send ``sig`` to this process when its parent dies (Linux); ``True``
    if set. Exits at once if the parent (``parent``, default the current one) is already
    gone, as the signal would then never come."""
    expected = os.getppid() if parent is None else parent
    if _PRCTL is None or _PRCTL(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0) != 0:
        return False
    if os.getppid() != expected:
        os._exit(1)
    return True


def _forker_main() -> None:
    while True:
        start, future = _requests.get()
        if future.set_running_or_notify_cancel():
            try:
                future.set_result(start())
            except BaseException as exc:  # noqa: BLE001 - handed to the caller
                future.set_exception(exc)


def _on_forker(start: t.Callable[[], subprocess.Popen]) -> subprocess.Popen:
    global _forker
    with _lock:
        if _forker is None or not _forker.is_alive():
            _forker = threading.Thread(target=_forker_main, name="child-forker", daemon=True)
            _forker.start()
    future: concurrent.futures.Future = concurrent.futures.Future()
    _requests.put((start, future))
    return future.result()


def spawn(argv: t.Sequence[str], *, death_signal: int = signal.SIGKILL,
          **popen_kwargs: t.Any) -> subprocess.Popen:
    """``subprocess.Popen(argv, **popen_kwargs)`` in a process group of its own, signalled
    with ``death_signal`` when this process dies, and stopped by :func:`stop_all`.

    A child that must clean up what it started (its own process group) asks for a signal
    it handles (e.g. ``SIGTERM``) rather than the default ``SIGKILL``.
    """
    if "preexec_fn" in popen_kwargs:
        raise TypeError("spawn() sets its own preexec_fn")
    popen_kwargs.setdefault("start_new_session", True)
    parent = os.getpid()

    def preexec() -> None:  # in the child, between fork and exec: no imports, no locks
        if _PRCTL is not None:
            _PRCTL(_PR_SET_PDEATHSIG, int(death_signal), 0, 0, 0)
            if os.getppid() != parent:  # the service died before the signal was armed
                os._exit(1)

    proc = _on_forker(lambda: subprocess.Popen(list(argv), preexec_fn=preexec, **popen_kwargs))
    with _lock:
        for pid in [pid for pid, p in _children.items() if p.poll() is not None]:
            del _children[pid]
        _children[proc.pid] = proc
    return proc


def live_children() -> list[int]:
    """The pids of the children :func:`spawn` started that still run."""
    with _lock:
        return [pid for pid, p in _children.items() if p.poll() is None]


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)
    with contextlib.suppress(ProcessLookupError, PermissionError, OSError):
        proc.send_signal(sig)


def stop_all(timeout: float = 5.0) -> None:
    """Stop every child and its process group: ``SIGTERM``, then ``SIGKILL`` after ``timeout``."""
    with _lock:
        procs = list(_children.values())
        _children.clear()
    procs = [p for p in procs if p.poll() is None]
    for proc in procs:
        _signal_group(proc, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for proc in procs:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(max(0.0, deadline - time.monotonic()))
    for proc in procs:
        # the group too: a grandchild may outlive its parent's SIGTERM
        _signal_group(proc, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(1.0)
