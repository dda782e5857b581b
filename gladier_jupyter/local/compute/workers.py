"""The worker pool that runs Compute tasks in long-lived subprocesses.

Each slot of the pool owns one worker process (``python -m
gladier_jupyter.local.compute.workers``) and talks to it over two private pipes with
``multiprocessing.connection`` framing, so anything the function prints cannot corrupt the
channel. A worker deserializes functions with globus-compute-sdk's own ``ComputeSerializer``
(keeping each function it has loaded), runs one task at a time and answers with the result
serialized as the Compute service sends it. A worker that dies (``sys.exit``, ``os._exit``,
a segfault) or overruns its task's time limit fails only that task and is replaced.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import pathlib
import platform
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import traceback
import typing as t
from multiprocessing.connection import Connection

from gladier_jupyter.local import _children

__all__ = ["Job", "Outcome", "WorkerPool"]

log = logging.getLogger("gladier_jupyter.local.compute")

_READY_TIMEOUT = 120.0


@dataclasses.dataclass
class Job:
    """One task handed to the pool."""

    task_id: str
    function_uuid: str
    function_code: str
    function_name: str
    serialized: bool
    payload: str
    timeout: float | None = None
    cancelled: bool = False


@dataclasses.dataclass
class Outcome:
    """How a task ended: ``result`` (serialized) or ``exception`` (remote traceback text)."""

    status: str  # "success" | "failed"
    result: str | None = None
    result_json: str | None = None
    exception: str | None = None
    details: dict[str, t.Any] = dataclasses.field(default_factory=dict)


class _Worker:
    """One worker subprocess and its two pipe ends."""

    def __init__(self, log_path: pathlib.Path | None):
        p2c_r, p2c_w = os.pipe()
        c2p_r, c2p_w = os.pipe()
        log = open(log_path, "ab") if log_path else subprocess.DEVNULL
        try:
            # its own process group (a timeout or cancel also stops what the function
            # started), ended with the service; SIGTERM: the worker then stops its group
            self.proc = _children.spawn(
                [sys.executable, "-m", __name__, str(p2c_r), str(c2p_w)],
                death_signal=signal.SIGTERM,
                pass_fds=(p2c_r, c2p_w),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                env=_worker_environment(),
            )
        finally:
            os.close(p2c_r)
            os.close(c2p_w)
            if not isinstance(log, int):  # subprocess.DEVNULL is an int
                log.close()
        self._to = Connection(p2c_w, readable=False)
        self._from = Connection(c2p_r, writable=False)
        self.loaded: set[str] = set()
        self.info: dict[str, t.Any] = {}
        self.tasks_run = 0

    def wait_ready(self) -> None:
        if not self._from.poll(_READY_TIMEOUT):
            raise RuntimeError("the Compute worker did not start in time")
        kind, info = self._from.recv()
        if kind != "ready":
            raise RuntimeError(f"unexpected first message from a Compute worker: {kind!r}")
        self.info = info

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.kill()
        except ProcessLookupError:
            pass

    def close(self) -> None:
        self.kill()
        for conn in (self._to, self._from):
            try:
                conn.close()
            except OSError:
                pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass

    def exit_reason(self) -> str:
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return "the worker stopped answering"
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            return f"the worker process was killed by {name}"
        return f"the worker process exited with code {code}"

    def run(self, job: Job) -> Outcome:
        code = None if job.function_uuid in self.loaded else job.function_code
        message = (
            "run",
            job.task_id,
            job.function_uuid,
            job.function_name,
            job.serialized,
            code,
            job.payload,
        )
        try:
            self._to.send(message)
        except (BrokenPipeError, OSError):
            return self._lost(job)
        self.loaded.add(job.function_uuid)
        deadline = time.monotonic() + job.timeout if job.timeout else None
        while True:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            if self._from.poll(remaining):
                try:
                    reply = self._from.recv()
                except (EOFError, OSError):
                    return self._lost(job)
                break
            if deadline is not None and time.monotonic() >= deadline:
                self.kill()
                self.exit_reason()
                return _failed(
                    _remote_error(
                        "TaskTimeout",
                        f"Task {job.task_id} ran longer than its time limit of "
                        f"{job.timeout:g} s; its worker was stopped.",
                    ),
                    self.info,
                )
        self.tasks_run += 1
        kind, _task_id, body, result_json, started, ended = reply
        details = {
            **self.info,
            "task_transitions": {"execution-start": started, "execution-end": ended},
        }
        if kind == "ok":
            return Outcome("success", result=body, result_json=result_json, details=details)
        return Outcome("failed", exception=body, details=details)

    def _lost(self, job: Job) -> Outcome:
        reason = self.exit_reason()
        if job.cancelled:
            return _cancelled(job, self.info)
        text = _remote_error(
            "WorkerLost",
            f"Task {job.task_id} failed because {reason} while running it "
            "(sys.exit, os._exit or a crash in the function); the worker was replaced.",
        )
        return _failed(text, self.info)


def _cancelled(job: Job, info: dict[str, t.Any]) -> Outcome:
    return _failed(_remote_error("TaskCancelled", f"Task {job.task_id} was cancelled."), info)


# Credentials the kernel or hub may have handed the service: a task, like one on a real
# endpoint, runs without them (and cannot print them into the worker log).
_CREDENTIAL_NAMES = re.compile(
    r"^(GLOBUS_DATA|JUPYTERHUB_API_TOKEN|JPY_API_TOKEN|GLADIER_JUPYTER_SECRET)$"
    r"|GLOBUS.*(TOKEN|SECRET)|(TOKEN|SECRET).*GLOBUS",
    re.IGNORECASE,
)


def _worker_environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not _CREDENTIAL_NAMES.search(k)}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _failed(text: str, info: dict[str, t.Any]) -> Outcome:
    return Outcome("failed", exception=text, details=dict(info))


def _remote_error(kind: str, message: str) -> str:
    return f"gladier_jupyter.local.compute.{kind}: {message}\n"


class WorkerPool:
    """A fixed number of slots, each a thread driving one warm worker process.

    ``start(job)`` is called by a slot when it picks a job (returns False to skip a job
    cancelled meanwhile); ``done(job, outcome)`` when the job has ended.
    """

    def __init__(
        self,
        size: int,
        *,
        start: t.Callable[[Job], bool],
        done: t.Callable[[Job, Outcome], None],
        log_path: pathlib.Path | None = None,
    ):
        self.size = size
        self._start = start
        self._done = done
        self._log_path = log_path
        self._queue: queue.Queue[Job | None] = queue.Queue()
        self._lock = threading.Lock()
        self._running: dict[str, tuple[Job, _Worker | None]] = {}
        self._workers: list[_Worker | None] = [None] * size
        self._first_ready = threading.Event()
        self._stopping = False
        self.workers_started = 0
        self._threads = [
            threading.Thread(
                target=self._slot, args=(i,), name=f"compute-worker-slot-{i}", daemon=True
            )
            for i in range(size)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, job: Job) -> None:
        self._queue.put(job)

    def cancel_running(self, task_id: str) -> bool:
        """Stop the worker running ``task_id``; the task then ends as cancelled."""
        with self._lock:
            entry = self._running.get(task_id)
            if entry is None:
                return False
            job, worker = entry
            job.cancelled = True
        if worker is not None:
            worker.kill()
        return True

    def status(self) -> dict[str, int]:
        with self._lock:
            busy = len(self._running)
            alive = sum(1 for w in self._workers if w is not None and w.alive)
        return {
            "total_workers": alive,
            "idle_workers": max(0, alive - busy),
            "pending_tasks": self._queue.qsize(),
            "outstanding_tasks": busy + self._queue.qsize(),
            "managers": 1,
        }

    def worker_pids(self) -> list[int]:
        with self._lock:
            return [w.proc.pid for w in self._workers if w is not None and w.alive]

    def close(self) -> None:
        self._stopping = True
        for _ in self._threads:
            self._queue.put(None)
        with self._lock:
            workers = [w for w in self._workers if w is not None]
        for worker in workers:
            worker.close()
        for thread in self._threads:
            thread.join(timeout=10)

    def _worker(self, slot: int) -> _Worker:
        worker = self._workers[slot]
        if worker is not None and worker.alive:
            return worker
        if worker is not None:
            worker.close()
        worker = _Worker(self._log_path)
        with self._lock:
            self._workers[slot] = worker
        worker.wait_ready()
        self.workers_started += 1
        return worker

    def _slot(self, slot: int) -> None:
        # Warm up before the first task arrives. The other slots start once the first
        # worker is up, so a cold service start is not slowed by several workers
        # importing globus-compute-sdk at once on a small machine.
        if slot > 0:
            self._first_ready.wait(_READY_TIMEOUT)
        try:
            self._worker(slot)
        except Exception:  # noqa: BLE001 - retried when a job arrives
            log.warning("A Compute worker did not start ahead of the first job; retrying then.")
        finally:
            self._first_ready.set()
        while True:
            job = self._queue.get()
            if job is None or self._stopping:
                return
            try:
                self._handle(slot, job)
            except Exception:  # a slot must keep serving the queue
                log.exception("Compute task %s could not be handled", job.task_id)
            finally:
                with self._lock:
                    self._running.pop(job.task_id, None)

    def _handle(self, slot: int, job: Job) -> None:
        # registered before it is marked running, so a cancel always finds it
        with self._lock:
            self._running[job.task_id] = (job, None)
        if not self._start(job):
            return
        try:
            worker = self._worker(slot)
        except Exception as exc:  # noqa: BLE001
            self._done(job, _failed(_remote_error("WorkerStartFailed", str(exc)), {}))
            return
        with self._lock:
            self._running[job.task_id] = (job, worker)
            cancelled = job.cancelled
        if cancelled:
            self._done(job, _cancelled(job, worker.info))
            return
        try:
            outcome = worker.run(job)
        except Exception:  # noqa: BLE001 - the service must outlive any task
            worker.kill()
            outcome = _failed(
                _remote_error("WorkerError", traceback.format_exc(limit=3)), worker.info
            )
        finally:
            with self._lock:
                self._running.pop(job.task_id, None)
        if self._stopping and not worker.alive:
            outcome = _failed(
                _remote_error(
                    "ServiceStopped",
                    f"The local Compute service stopped while task {job.task_id} was running.",
                ),
                worker.info,
            )
        self._done(job, outcome)
        if not worker.alive and not self._stopping:
            # replace a dead worker now, so the next task finds a warm one
            try:
                self._worker(slot)
            except Exception:  # noqa: BLE001 - retried when the next job arrives
                log.warning("A replacement Compute worker did not start; retrying later.")


# ---------------------------------------------------------------------------------------
# The worker process


def _load_function(serializer: t.Any, name: str, serialized: bool, code: str) -> t.Callable:
    if not serialized:
        namespace: dict[str, t.Any] = {"__name__": "__main__"}
        exec(compile(code, f"<function {name}>", "exec"), namespace)  # the user's own registered source
        return namespace[name]
    from globus_compute_sdk.serialize.utils import unpack_buffers

    buffers = unpack_buffers(code)
    return serializer.deserialize(buffers[0])


def _format_remote(exc: BaseException) -> str:
    # Leave out the worker's own frame so the traceback starts in the user's function.
    tb = exc.__traceback__
    if tb is not None and tb.tb_frame.f_code.co_filename == __file__:
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(exc), exc, tb))


def _watch_parent() -> None:
    """End this worker (and whatever its task started) when the service is gone.

    A worker waiting for work sees the pipe close; one busy in a long task would not, so
    a watchdog notices the service process vanishing (e.g. ``kill -9``) and stops the
    worker's whole process group instead of leaving it orphaned.
    """
    parent = os.getppid()
    # the death signal the service's kill -9 sends (gladier_jupyter.local._children)
    signal.signal(signal.SIGTERM, lambda *_: os.killpg(0, signal.SIGKILL))

    def watch() -> None:
        while True:
            time.sleep(0.5)
            if os.getppid() != parent:
                os.killpg(0, signal.SIGKILL)

    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()


def _cap_memory() -> None:
    # $GLADIER_JUPYTER_COMPUTE_MEMORY_MB caps each worker's address space: a function that
    # allocates past it gets MemoryError (its task fails with that reason) instead of
    # growing until the machine's OOM killer picks a process. Unset: no cap.
    limit = os.environ.get("GLADIER_JUPYTER_COMPUTE_MEMORY_MB", "").strip()
    if not limit:
        return
    import resource

    cap = int(limit) * 1024 * 1024
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (cap if hard == resource.RLIM_INFINITY else min(cap, hard), hard))


def _worker_main(fd_in: int, fd_out: int) -> None:
    import dill  # globus-compute-sdk's serializer, so always installed with it
    from globus_compute_sdk.serialize import ComputeSerializer
    from globus_compute_sdk.serialize.utils import unpack_buffers
    from globus_compute_sdk.version import __version__ as sdk_version

    dill_version = dill.__version__

    _watch_parent()
    _cap_memory()
    serializer = ComputeSerializer()
    inbox = Connection(fd_in, writable=False)
    outbox = Connection(fd_out, readable=False)
    functions: dict[str, t.Callable] = {}
    # code as received, kept so a function that failed to load fails the same way again
    sources: dict[str, tuple[str, bool, str]] = {}
    outbox.send(
        (
            "ready",
            {
                "os": platform.platform(),
                "python_version": platform.python_version(),
                "dill_version": dill_version,
                "globus_compute_sdk_version": sdk_version,
            },
        )
    )
    while True:
        try:
            message = inbox.recv()
        except (EOFError, OSError):
            return  # the service went away
        _kind, task_id, fid, name, serialized, code, payload = message
        started = time.time()
        try:
            if code is not None:
                sources[fid] = (name, serialized, code)
            if fid not in functions:
                if fid not in sources:
                    raise RuntimeError(f"function {fid} was never sent to this worker")
                functions[fid] = _load_function(serializer, *sources[fid])
            args, kwargs = (serializer.deserialize(b) for b in unpack_buffers(payload))
            value = functions[fid](*args, **kwargs)
            body = serializer.serialize(value)
            try:
                as_json: str | None = json.dumps(value)
            except (TypeError, ValueError):
                as_json = None
            reply = ("ok", task_id, body, as_json, started, time.time())
        except BaseException as exc:  # SystemExit too: a task failure
            if isinstance(exc, SystemExit):
                # sys.exit ends the worker, as on a real endpoint's worker
                raise
            reply = ("err", task_id, _format_remote(exc), None, started, time.time())
        outbox.send(reply)


if __name__ == "__main__":
    _worker_main(int(sys.argv[1]), int(sys.argv[2]))
