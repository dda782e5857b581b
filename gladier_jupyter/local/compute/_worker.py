"""What runs inside the embedded default's worker processes, around ``execute_task``.

Kept to the standard library at import time: the forkserver preloads it, and every worker
forks from there. :func:`init_worker` is the ``ProcessPoolExecutor`` initializer;
:func:`call` wraps the engine's ``execute_task`` call so that ``sys.exit`` in a function
ends the worker, as it does on a real endpoint's Parsl worker (``execute_task`` catches
``Exception`` only; a ``ProcessPoolExecutor`` worker would otherwise send ``SystemExit``
back as if it were a result).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import select
import signal
import sys
import threading
import time
import typing as t

__all__ = [
    "call", "clean_environment", "forkserver_context", "init_worker", "modules_hidden",
    "parsl_unchecked", "typechecks_left_out",
]

# Credentials the kernel or hub may have handed the service: a task, like one on a real
# endpoint, runs without them (and cannot print them into the worker log).
CREDENTIAL_NAMES = re.compile(
    r"^(GLOBUS_DATA|JUPYTERHUB_API_TOKEN|JPY_API_TOKEN|GLADIER_JUPYTER_SECRET)$"
    r"|GLOBUS.*(TOKEN|SECRET)|(TOKEN|SECRET).*GLOBUS",
    re.IGNORECASE,
)

_PR_SET_PDEATHSIG = 1
_parsl_unchecked = False
_PRELOAD = ["gladier_jupyter.local.compute._worker", "gladier_jupyter.local.compute._preload"]


def forkserver_context() -> t.Any:
    """The multiprocessing context every engine worker of the service forks from: a
    forkserver that has imported ``execute_task`` once (parsl, globus-compute-sdk)."""
    import multiprocessing

    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(_PRELOAD)
    return ctx


def init_worker(memory_mb: int | None, service_pid: int, environ: dict[str, str]) -> None:
    """Own process group, death with the service, the service's environment (as it is when
    the worker starts, not when the forkserver did) without credentials, the memory cap."""
    # its own process group: a timeout or cancel also stops what the function started,
    # and a Ctrl-C meant for the service does not reach the worker
    os.setsid()
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the watchdog below still works
        pass
    _watch_service(service_pid)
    os.environ.clear()
    os.environ.update(clean_environment(environ))
    os.environ["PYTHONUNBUFFERED"] = "1"
    if memory_mb:
        _cap_memory(memory_mb)


@contextlib.contextmanager
def modules_hidden(*names: str) -> t.Iterator[None]:
    """Imports of ``names`` fail with ImportError inside the block (unless already
    imported), and work again after it: for optional dependencies a package tries at
    import time and that this process never uses."""
    hidden = [name for name in names if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        for name in hidden:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]


@contextlib.contextmanager
def typechecks_left_out() -> t.Iterator[None]:
    """Inside the block, typeguard's ``@typechecked`` returns what it decorates unchanged.

    Parsl puts ``@typeguard.typechecked`` on its public API (its executors', providers'
    and DataFlowKernel's constructors and methods): each use re-reads and recompiles the
    function at import time, about a third of importing parsl. A process that only runs
    ``execute_task`` never calls that API, so the checks would never run; after the block
    ``@typechecked`` instruments again (a task function of the user's that uses it keeps
    its checks). Typeguard itself makes the decorator a no-op under ``python -O``.
    """
    try:
        import typeguard
    except ImportError:  # parsl requires it; nothing to leave out otherwise
        yield
        return
    instrument = typeguard.typechecked

    def unchanged(target: t.Any = None, **_options: t.Any) -> t.Any:
        return target if target is not None else (lambda later: later)

    global _parsl_unchecked
    before = "parsl" in sys.modules
    typeguard.typechecked = unchanged
    try:
        yield
    finally:
        typeguard.typechecked = instrument
        if not before and "parsl" in sys.modules:
            _parsl_unchecked = True


def parsl_unchecked() -> bool:
    """Whether this process imported parsl inside :func:`typechecks_left_out`."""
    return _parsl_unchecked


def clean_environment(environ: t.Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in environ.items() if not CREDENTIAL_NAMES.search(k)}


def call(func: t.Callable[..., bytes], *args: t.Any, **kwargs: t.Any) -> bytes:
    """``func(*args, **kwargs)`` (the engine's ``execute_task``); ``sys.exit`` ends the worker."""
    try:
        return func(*args, **kwargs)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
        os._exit(code)


def _watch_service(service_pid: int) -> None:
    # The worker's parent is the forkserver, which lives as long as any worker holds its
    # "alive" pipe (every worker does): PR_SET_PDEATHSIG alone would never fire. So a
    # watchdog waits on a pidfd of the service itself (no pid-reuse race: opened while the
    # service is alive) and stops this worker's whole process group, the function's own
    # children included, the moment the service is gone (e.g. ``kill -9``).
    try:
        pidfd = os.pidfd_open(service_pid)
    except (AttributeError, OSError):
        pidfd = None

    def watch() -> None:
        if pidfd is not None:
            select.select([pidfd], [], [])
        else:  # no pidfd (old kernel): poll
            while _alive(service_pid):
                time.sleep(0.5)
        os.killpg(0, signal.SIGKILL)

    threading.Thread(target=watch, name="service-watchdog", daemon=True).start()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _cap_memory(memory_mb: int) -> None:
    # a function that allocates past the cap gets MemoryError (its task fails with that
    # reason) instead of growing until the machine's OOM killer picks a process
    import resource

    cap = memory_mb * 1024 * 1024
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = cap if hard == resource.RLIM_INFINITY else min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
