"""The embedded default endpoint: ``ProcessPoolEngine``s of one warm worker each.

Every task runs through ``globus-compute-endpoint``'s ``ProcessPoolEngine`` and its
``execute_task``, exactly as on an endpoint configured with that engine. A bare
``ProcessPoolEngine`` of N workers cannot keep this service's guarantees: a worker that
dies (a segfault, ``os._exit``, the OOM killer) breaks the whole pool, failing every task
in it, and nothing stops a task that hangs. So each slot is a ``ProcessPoolEngine`` with
``max_workers=1``: a dead worker fails only its own task; a task past its time limit, or
cancelled, has its worker's process group killed; and the slot gets a fresh engine.

Workers fork from a forkserver that has already imported ``execute_task`` (parsl and
globus-compute-sdk: ~1.5 s of imports paid once, not per worker), set up by
:func:`._worker.init_worker` (own process group, death with the service, no credentials,
the memory cap ``$GLADIER_JUPYTER_COMPUTE_MEMORY_MB``).

A result that comes back normally (its worker alive, the task neither cancelled nor past
its time limit, the service not stopping) ends the task at once, on the thread that
completes the engine's future; the slot's thread ends it in every other case (a timeout,
a cancel, a dead worker, the service stopping). Whichever claims the task first (under
the pool's lock) is the only one to end it.
"""

from __future__ import annotations

import logging
import os
import queue
import signal
import threading
import typing as t
import uuid

from . import _worker
from .runner import (
    Done,
    Job,
    Outcome,
    Start,
    failed,
    import_engine_modules,
    outcome_from_result,
    pack_task,
)

__all__ = ["SlotPool", "prestart", "start_forkserver"]

log = logging.getLogger("gladier_jupyter.local.compute")

_READY_TIMEOUT = 120.0
def start_forkserver() -> None:
    """Start the forkserver every worker forks from; it imports ``execute_task`` at once.

    The service calls this first thing (see :func:`prestart`), so that import (seconds of
    parsl) runs beside the service's own start-up instead of after it; idempotent.
    """
    from multiprocessing import forkserver

    _worker.forkserver_context()  # sets the preload
    try:
        forkserver.ensure_running()
    except OSError:  # the first slot starts it then, one step later
        log.warning("The Compute forkserver did not start ahead of the first worker.")


def prestart() -> None:
    """Start the forkserver, and import the engines in this process in the background.

    Only for the service's own process (:func:`gladier_jupyter.local.server.serve`): that
    import leaves out SQLAlchemy, which parsl imports for the monitoring database of its
    own workflows (a DataFlowKernel; no engine uses it), and while it runs no other thread
    of the process can import SQLAlchemy: none of the service's does. It also leaves out
    parsl's typeguard checks (:func:`._worker.typechecks_left_out`); a config whose
    settings reach parsl is checked in a fresh interpreter instead (:mod:`.configcheck`).
    """
    start_forkserver()
    threading.Thread(target=_import_engines, name="compute-engine-import", daemon=True).start()


def _import_engines() -> None:
    try:
        with _worker.modules_hidden("sqlalchemy"), _worker.typechecks_left_out():
            import_engine_modules()
    except Exception:  # noqa: BLE001 - the first slot imports them again, and reports
        log.warning("The Compute engines could not be imported ahead of the first task.")


def _memory_cap() -> int | None:
    limit = os.environ.get("GLADIER_JUPYTER_COMPUTE_MEMORY_MB", "").strip()
    return int(limit) if limit.isdigit() and int(limit) > 0 else None


def _engine_class() -> type:
    from globus_compute_endpoint.engines import ProcessPoolEngine

    class _SlotEngine(ProcessPoolEngine):
        # the worker calls execute_task through _worker.call, so sys.exit ends it
        def _submit(self, resource_specification, func, packed_task, args=(), kwargs=None):
            return super()._submit(
                resource_specification, _worker.call, func, args=(packed_task, *args),
                kwargs=kwargs,
            )

    return _SlotEngine


class _Slot:
    """One single-worker ProcessPoolEngine, its worker's pid and process."""

    def __init__(self, endpoint_id: str, run_dir: str):
        engine = _engine_class()(
            max_workers=1, mp_context=_worker.forkserver_context(), initializer=_worker.init_worker,
            initargs=(_memory_cap(), os.getpid(), _worker.clean_environment(os.environ)),
        )
        engine.start(endpoint_id=uuid.UUID(endpoint_id), run_dir=run_dir)
        self.engine = engine
        # the warm-up: the worker starts now, not with the first task
        self.pid: int = engine.executor.submit(os.getpid).result(_READY_TIMEOUT)
        self.process = engine.executor._processes[self.pid]  # its exit code, once it died

    @property
    def alive(self) -> bool:
        return self.process.is_alive()

    def kill(self) -> None:
        for kill in (os.killpg, os.kill):
            try:
                kill(self.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

    def exit_reason(self) -> str:
        self.process.join(5)
        code = self.process.exitcode
        if code is None:
            return "the worker stopped answering"
        if code == 255:
            # multiprocessing's forkserver gives 255 when the worker's status did not reach
            # it (seen under load after a segfault or os._exit): say so rather than guess
            return "the worker process died (its exit status did not reach the service)"
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            return f"the worker process was killed by {name}"
        return f"the worker process exited with code {code}"

    def close(self) -> None:
        self.kill()
        try:
            self.engine.shutdown(block=False)
        except Exception:  # noqa: BLE001 - a broken pool may complain; it is gone anyway
            pass
        self.process.join(5)


class _Run:
    """A job on its slot: which of the two ends it (``ended``), and when the result's
    callback has decided (``settled``)."""

    __slots__ = ("job", "slot", "ended", "settled")

    def __init__(self, job: Job):
        self.job = job
        self.slot: _Slot | None = None
        self.ended = False  # claimed by the result's callback or by the slot thread
        self.settled = threading.Event()


class SlotPool:
    """A fixed number of slots, each a thread driving one warm single-worker engine."""

    def __init__(self, size: int, *, endpoint_id: str, run_dir: str, start: Start, done: Done):
        self.size = size
        self.endpoint_id = endpoint_id
        self.run_dir = run_dir
        self._start = start
        self._done = done
        self._queue: queue.Queue[Job | None] = queue.Queue()
        self._lock = threading.Lock()
        self._running: dict[str, _Run] = {}
        self._slots: list[_Slot | None] = [None] * size
        self._first_ready = threading.Event()
        self._stopping = False
        self.workers_started = 0
        self.tasks_run = 0
        self._threads = [
            threading.Thread(target=self._serve, args=(i,), name=f"compute-slot-{i}", daemon=True)
            for i in range(size)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, job: Job) -> None:
        self._queue.put(job)

    def cancel_running(self, task_id: str) -> bool:
        """Stop the worker running ``task_id``; the task then ends as cancelled."""
        with self._lock:
            run = self._running.get(task_id)
            if run is None or run.ended:  # ended, or ending with its result
                return False
            run.job.cancelled = True
            slot = run.slot
        if slot is not None:
            slot.kill()
        return True

    def status(self) -> dict[str, t.Any]:
        with self._lock:
            busy = len(self._running)
            alive = sum(1 for s in self._slots if s is not None and s.alive)
        return {
            "engine_type": "ProcessPoolEngine",
            "total_workers": alive,
            "idle_workers": max(0, alive - busy),
            "pending_tasks": self._queue.qsize(),
            "outstanding_tasks": busy + self._queue.qsize(),
            "max_workers_per_node": 1,
            "managers": self.size,
        }

    def worker_pids(self) -> list[int]:
        with self._lock:
            return [s.pid for s in self._slots if s is not None and s.alive]

    def close(self) -> None:
        self._stopping = True
        for _ in self._threads:
            self._queue.put(None)
        with self._lock:
            slots = [s for s in self._slots if s is not None]
        for slot in slots:
            slot.close()
        for thread in self._threads:
            thread.join(timeout=10)

    def _slot(self, i: int) -> _Slot:
        slot = self._slots[i]
        if slot is not None and slot.alive:
            return slot
        if slot is not None:
            slot.close()
        slot = _Slot(self.endpoint_id, self.run_dir)
        with self._lock:
            self._slots[i] = slot
        self.workers_started += 1
        return slot

    def _serve(self, i: int) -> None:
        # The other slots start once the first worker is up, so a cold service start is
        # not slowed by several engines starting at once on a small machine.
        if i > 0:
            self._first_ready.wait(_READY_TIMEOUT)
        else:
            # the forkserver imports execute_task (parsl, globus-compute-sdk) while this
            # process imports the engines: on two cores both at once, not one after the other
            start_forkserver()
        try:
            import_engine_modules()
            if not self._stopping:
                self._slot(i)
        except Exception:  # noqa: BLE001 - retried when a job arrives
            log.warning("A Compute worker did not start ahead of the first job; retrying then.")
        finally:
            self._first_ready.set()
        while True:
            job = self._queue.get()
            if job is None or self._stopping:
                return
            try:
                self._handle(i, job)
            except Exception:  # a slot must keep serving the queue
                log.exception("Compute task %s could not be handled", job.task_id)
            finally:
                with self._lock:
                    self._running.pop(job.task_id, None)

    def _handle(self, i: int, job: Job) -> None:
        # registered before it is marked running, so a cancel always finds it
        run = _Run(job)
        with self._lock:
            self._running[job.task_id] = run
        if not self._start(job):
            return
        try:
            slot = self._slot(i)
        except Exception as exc:  # noqa: BLE001
            self._done(job, failed("WorkerStartFailed", str(exc)))
            return
        with self._lock:
            run.slot = slot
            cancelled = job.cancelled
        if cancelled:
            self._done(job, failed("TaskCancelled", f"Task {job.task_id} was cancelled."))
            return
        outcome = self._run(slot, run)
        if outcome is not None:  # not ended by its result's callback
            with self._lock:
                self._running.pop(job.task_id, None)
                self.tasks_run += 1
            if self._stopping and not slot.alive:
                outcome = failed(
                    "ServiceStopped",
                    f"The local Compute service stopped while task {job.task_id} was running.",
                )
            self._done(job, outcome)
        # (a task its result ended had a live worker; the next task checks it again)
        if outcome is not None and not slot.alive and not self._stopping:
            # replace a dead worker now, so the next task finds a warm one
            try:
                self._slot(i)
            except Exception:  # noqa: BLE001 - retried when the next job arrives
                log.warning("A replacement Compute worker did not start; retrying later.")

    def _run(self, slot: _Slot, run: _Run) -> Outcome | None:
        """Run the job on its slot and wait; its outcome, or None if its result's callback
        (:meth:`_arrived`) ended it. The slot takes its next job only after that."""
        from globus_compute_endpoint.engines.base import GCFuture

        job = run.job
        future = GCFuture(job.task_id, function_id=job.function_uuid)
        future.add_done_callback(lambda f: self._arrived(run, slot, f))
        slot.engine.submit(future, pack_task(job), resource_specification={})
        in_time = run.settled.wait(job.timeout or None)
        with self._lock:
            mine = not run.ended
            run.ended = True
        if not mine:  # the result's callback ends it (at the deadline: it came in time)
            run.settled.wait()
            return None
        if not in_time:
            slot.kill()
            slot.exit_reason()
            return failed("TaskTimeout", f"Task {job.task_id} ran longer than its time limit "
                          f"of {job.timeout:g} s; its worker was stopped.")
        if job.cancelled:
            return failed("TaskCancelled", f"Task {job.task_id} was cancelled.")
        if not slot.alive:
            return failed(
                "WorkerLost",
                f"Task {job.task_id} failed because {slot.exit_reason()} while running it "
                "(sys.exit, os._exit or a crash in the function); the worker was replaced.",
            )
        return outcome_from_result(future.result())

    def _arrived(self, run: _Run, slot: _Slot, future: t.Any) -> None:
        # On the thread that completed the engine's future (the pool's result thread): a
        # normal result ends the task here, without waiting for the slot thread to wake.
        try:
            with self._lock:
                mine = not (run.ended or run.job.cancelled or self._stopping) and slot.alive
                if mine:
                    run.ended = True
                    self._running.pop(run.job.task_id, None)
                    self.tasks_run += 1
            if mine:
                try:
                    outcome = outcome_from_result(future.result())
                except Exception as exc:  # noqa: BLE001 - an unreadable result
                    outcome = failed("EngineError", f"Task {run.job.task_id}: {exc}")
                self._done(run.job, outcome)
        except Exception:  # the engine's thread must go on
            log.exception("Compute task %s could not be ended", run.job.task_id)
        finally:
            run.settled.set()
