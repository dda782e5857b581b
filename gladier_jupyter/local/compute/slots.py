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

A task submitted while a slot is idle goes to its worker on the submitter's thread (no
hand-off to another thread); one submitted while every slot is busy waits, in order, for
the next free slot, whose thread sends it. A result that comes back normally (its worker
alive, the task neither cancelled nor past its time limit, the service not stopping) ends
the task at once, on the thread that completes the engine's future, and frees its slot,
without waking the slot's thread. That thread ends the task in every other case (a
timeout, a cancel, a dead worker) and replaces a dead worker; ``close`` ends the tasks the
service's stop cut off. Whichever claims a task first (under the pool's lock) is the only
one to end it, and the only one to free its slot.
"""

from __future__ import annotations

import collections
import logging
import os
import queue
import select
import signal
import threading
import time
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
        # a pidfd of the worker, readable once it has exited: "is it alive?" is one poll
        # (no pid-reuse race: opened while the worker runs, as its warm-up just answered)
        try:
            self._pidfd: int | None = os.pidfd_open(self.pid)
        except (AttributeError, OSError):  # no pidfd (not Linux, old kernel)
            self._pidfd = None

    @property
    def alive(self) -> bool:
        pidfd = self._pidfd  # (close() may drop it meanwhile: a closed fd polls as gone)
        if pidfd is None:
            return self.process.is_alive()
        # a poll object of its own: one shared by threads refuses concurrent polls
        exited = select.poll()
        exited.register(pidfd, select.POLLIN)
        return not exited.poll(0)

    @property
    def broken(self) -> bool:
        """Whether the engine saw its worker die (set before it fails the worker's tasks;
        no system call, unlike :attr:`alive`)."""
        return bool(self.engine.executor._broken)

    def kill(self) -> None:
        for kill in (os.killpg, os.kill):
            try:
                kill(self.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

    def exit_reason(self) -> str:
        # The engine's manager thread reads the dead worker's exit status from the
        # forkserver (joining it) before it ends; a second read at the same moment would
        # find the pipe empty and give 255. So the status is read once that thread is done.
        manager = getattr(self.engine.executor, "_executor_manager_thread", None)
        if manager is not None and manager is not threading.current_thread():
            manager.join(5)
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
        if self._pidfd is not None:
            pidfd, self._pidfd = self._pidfd, None
            os.close(pidfd)


#: what a slot's thread is told: start a run on its worker (and watch it), watch a run
#: already sent to its worker (its time limit), or end a run its result did not end
_START, _WATCH, _SETTLED = "start", "watch", "settled"


class _Run:
    """A job on its slot: which of the two ends it (``ended``: the result's callback or
    the slot's thread, whichever claims it first under the pool's lock)."""

    __slots__ = ("job", "index", "slot", "ended", "started", "deadline", "future")

    def __init__(self, job: Job, index: int):
        self.job = job
        self.index = index  # its slot
        self.slot: _Slot | None = None  # the worker it was sent to
        self.ended = False
        self.started = False  # marked running in the store
        self.deadline: float | None = None  # time.monotonic() past which it is stopped
        self.future: t.Any = None


class SlotPool:
    """A fixed number of slots, each one warm single-worker engine and a thread watching it.

    A job submitted while a slot is idle (and none waits) is sent to that slot's worker on
    the caller's thread; its slot's thread is told only when the job has a time limit to
    watch, or when its result did not end it. The others wait in order for the next free
    slot, whose thread sends them.
    """

    def __init__(self, size: int, *, endpoint_id: str, run_dir: str, start: Start, done: Done):
        self.size = size
        self.endpoint_id = endpoint_id
        self.run_dir = run_dir
        self._start = start
        self._done = done
        self._lock = threading.Lock()
        self._pending: collections.deque[Job] = collections.deque()
        self._idle: list[int] = []
        self._inbox: list[queue.SimpleQueue[tuple[str, _Run] | None]] = [
            queue.SimpleQueue() for _ in range(size)
        ]
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

    def reserve(self, count: int) -> list[int]:
        """Take up to ``count`` idle slots (none while jobs wait for one) for jobs the
        caller records as running and then hands to :meth:`submit` with their slot."""
        with self._lock:
            if self._pending or self._stopping:
                return []
            taken = self._idle[-count:] if count > 0 else []
            del self._idle[len(self._idle) - len(taken):]
            return taken

    def unreserve(self, reserved: list[int]) -> None:
        """Give back slots :meth:`reserve` took, unused."""
        for i in reserved:
            self._free(i)

    def submit(self, job: Job, reserved: int | None = None) -> None:
        """Run ``job``: on slot ``reserved`` (from :meth:`reserve`; the job is recorded as
        running), else on an idle slot now, else on the next slot that becomes free."""
        with self._lock:
            slot = reserved
            if slot is None:
                if self._pending or not self._idle or self._stopping:
                    self._pending.append(job)
                    return
                slot = self._idle.pop()
            run = self._claim_slot(slot, job)
            run.started = reserved is not None
            worker = self._slots[slot]
        try:
            if not run.started:
                if not self._start(job):  # cancelled meanwhile
                    self._release(run)
                    return
                run.started = True
            with self._lock:
                if worker is not None and worker.alive and not job.cancelled:
                    run.slot = worker
            if run.slot is None:  # its thread starts a worker, or ends it as cancelled
                self._inbox[run.index].put((_START, run))
                return
            self._send(run)
        except Exception as exc:
            if not run.started:
                self._release(run)
                raise
            log.exception("Compute task %s could not be sent to its worker", job.task_id)
            if self._end(run, failed("EngineError", f"Task {job.task_id} could not be sent "
                                     f"to its worker: {exc}")):
                self._free(run.index)

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
            waiting = len(self._pending)
            alive = sum(1 for s in self._slots if s is not None and s.alive)
        return {
            "engine_type": "ProcessPoolEngine",
            "total_workers": alive,
            "idle_workers": max(0, alive - busy),
            "pending_tasks": waiting,
            "outstanding_tasks": busy + waiting,
            "max_workers_per_node": 1,
            "managers": self.size,
        }

    def worker_pids(self) -> list[int]:
        with self._lock:
            return [s.pid for s in self._slots if s is not None and s.alive]

    def close(self) -> None:
        """Stop the workers; a task they were running ends as stopped with the service,
        one still waiting for a slot stays pending (the next start runs it)."""
        with self._lock:
            self._stopping = True
            slots = [s for s in self._slots if s is not None]
        for inbox in self._inbox:
            inbox.put(None)
        for slot in slots:
            slot.close()
        for thread in self._threads:
            thread.join(timeout=10)
        with self._lock:
            runs = [r for r in self._running.values() if r.started and not r.ended]
        for run in runs:
            self._end(run, failed(
                "ServiceStopped",
                f"The local Compute service stopped while task {run.job.task_id} was running.",
            ))

    # ---- the slots' threads

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
        self._free(i)
        inbox = self._inbox[i]
        watched: _Run | None = None  # the run whose time limit this thread keeps
        while True:
            timeout = None
            if watched is not None and watched.deadline is not None and not watched.ended:
                timeout = max(0.0, watched.deadline - time.monotonic())
            try:
                message = inbox.get(timeout=timeout)
            except queue.Empty:  # the watched run is past its time limit
                message = (_SETTLED, t.cast(_Run, watched))
            if message is None or self._stopping:
                return
            kind, run = message
            try:
                if kind == _START:
                    self._begin(run)  # its time limit comes as a _WATCH
                elif kind == _WATCH:
                    watched = run
                elif not run.ended:
                    self._settle(run)
            except Exception:  # a slot must keep serving
                log.exception("Compute task %s could not be handled", run.job.task_id)
                if self._end(run, failed("EngineError", f"Task {run.job.task_id} could not "
                                         "be handled by its worker; see the service log.")):
                    self._free(i)

    def _begin(self, run: _Run) -> None:
        # on the slot's thread: a job that waited for this slot, or found its worker down
        job = run.job
        if not run.started:
            if not self._start(job):  # cancelled while it waited
                self._release(run)
                return
            run.started = True
        try:
            slot = self._slot(run.index)
        except Exception as exc:  # noqa: BLE001
            if self._end(run, failed("WorkerStartFailed", str(exc))):
                self._free(run.index)
            return
        with self._lock:
            run.slot = slot
            cancelled = job.cancelled
        if cancelled:
            if self._end(run, failed("TaskCancelled", f"Task {job.task_id} was cancelled.")):
                self._free(run.index)
            return
        self._send(run)

    def _send(self, run: _Run) -> None:
        """Hand the run to its slot's engine; its result's callback is :meth:`_arrived`."""
        from globus_compute_endpoint.engines.base import GCFuture

        job, slot = run.job, t.cast(_Slot, run.slot)
        future = GCFuture(job.task_id, function_id=job.function_uuid)
        run.future = future
        if job.timeout:
            run.deadline = time.monotonic() + job.timeout
            self._inbox[run.index].put((_WATCH, run))
        future.add_done_callback(lambda f: self._arrived(run, slot, f))
        slot.engine.submit(future, pack_task(job), resource_specification={})

    def _settle(self, run: _Run) -> None:
        # on the slot's thread: a run its result did not end (a timeout, a cancel, a dead
        # worker, the service stopping)
        with self._lock:
            if not self._claim_locked(run):
                return
        job, slot = run.job, t.cast(_Slot, run.slot)
        if run.future is not None and not run.future.done():
            slot.kill()
            slot.exit_reason()
            outcome = failed("TaskTimeout", f"Task {job.task_id} ran longer than its time "
                             f"limit of {job.timeout:g} s; its worker was stopped.")
        elif job.cancelled:
            outcome = failed("TaskCancelled", f"Task {job.task_id} was cancelled.")
        elif self._stopping and not slot.alive:
            outcome = failed(
                "ServiceStopped",
                f"The local Compute service stopped while task {job.task_id} was running.",
            )
        elif not slot.alive:
            outcome = failed(
                "WorkerLost",
                f"Task {job.task_id} failed because {slot.exit_reason()} while running it "
                "(sys.exit, os._exit or a crash in the function); the worker was replaced.",
            )
        else:
            outcome = outcome_from_result(run.future.result())
        self._done(job, outcome)
        if not slot.alive and not self._stopping:
            # replace a dead worker now, so the next task finds a warm one
            try:
                self._slot(run.index)
            except Exception:  # noqa: BLE001 - retried when the next job arrives
                log.warning("A replacement Compute worker did not start; retrying later.")
        self._free(run.index)

    # ---- the engine's result thread

    def _arrived(self, run: _Run, slot: _Slot, future: t.Any) -> None:
        # On the thread that completed the engine's future (the pool's result thread): a
        # normal result ends the task here, without waking the slot's thread; the slot is
        # free again before the result is stored, so the waiter's next task finds it idle.
        try:
            after = None
            with self._lock:
                mine = not (run.job.cancelled or self._stopping or slot.broken)
                mine = mine and self._claim_locked(run)
                if mine:
                    after = self._next_locked(run.index)
            if not mine:
                self._inbox[run.index].put((_SETTLED, run))
                return
            if after is not None:
                self._inbox[run.index].put((_START, after))
            try:
                outcome = outcome_from_result(future.result())
            except Exception as exc:  # noqa: BLE001 - an unreadable result
                outcome = failed("EngineError", f"Task {run.job.task_id}: {exc}")
            self._done(run.job, outcome)
        except Exception:  # the engine's thread must go on
            log.exception("Compute task %s could not be ended", run.job.task_id)

    # ---- bookkeeping (the pool's lock)

    def _claim_slot(self, i: int, job: Job) -> _Run:
        run = _Run(job, i)
        self._running[job.task_id] = run  # before it is marked running: a cancel finds it
        return run

    def _next_locked(self, i: int) -> _Run | None:
        """Slot ``i`` is free: the next waiting job's run on it, or None (it is idle)."""
        if self._stopping:
            return None
        if self._pending:
            return self._claim_slot(i, self._pending.popleft())
        self._idle.append(i)
        return None

    def _free(self, i: int) -> None:
        with self._lock:
            after = self._next_locked(i)
        if after is not None:
            self._inbox[i].put((_START, after))

    def _release(self, run: _Run) -> None:
        # a run that never started (cancelled while it waited): its slot is free again
        with self._lock:
            run.ended = True
            self._running.pop(run.job.task_id, None)
        self._free(run.index)

    def _claim_locked(self, run: _Run) -> bool:
        """Claim the end of ``run`` (under the pool's lock); False if it was claimed."""
        if run.ended:
            return False
        run.ended = True
        self._running.pop(run.job.task_id, None)
        self.tasks_run += 1
        return True

    def _end(self, run: _Run, outcome: Outcome) -> bool:
        """End the run with ``outcome`` unless it has ended; whether this call ended it."""
        with self._lock:
            if not self._claim_locked(run):
                return False
        self._done(run.job, outcome)
        return True
