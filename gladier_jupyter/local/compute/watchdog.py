"""What a GlobusComputeEngine endpoint does not do by itself: fail the tasks a dead Parsl
worker lost, and stop the worker of a task that was cancelled or ran out of time.

Lost tasks. A manager hands tasks to its workers through a ``multiprocessing.Queue``. A
worker killed while it waits on that queue holds the queue's read lock forever (Python
documents that a process killed while using a queue may corrupt it): the task the
manager queued for it is never taken, its replacement never gets one, the manager goes
on heartbeating, and nothing ever fails the task. So once a manager logs that one of its
workers died while not running a task (one that died running a task was past the queue:
Parsl fails that task ``WorkerLost`` and the manager goes on), its block is retired: Parsl's hold stops the interchange sending it more,
the tasks placed on it that no worker ever took are failed (``WorkerLost``, saying they
never started and can be submitted again), and when its last running task has ended
its provider job is cancelled, so Parsl's scaling starts a fresh block for the next.
A task some worker took is left to its result, or to Parsl's own ``WorkerLost``.

Stopping. HTEX cannot withdraw a task; the runner fails a cancelled or overrunning task
at once, and this stops it where it runs: its worker is killed when it runs on this
host (found by the log file it holds open), else its block's job is cancelled when the
block runs nothing else of ours; a task not yet taken is stopped the moment a worker
takes it.
"""

from __future__ import annotations

import logging
import time
import typing as t

from ._htex import Htex

__all__ = ["Watchdog"]

log = logging.getLogger("gladier_jupyter.local.compute")

#: after a manager logs a death, the time Parsl gets to report the dead worker's own
#: task (it sends WorkerLost in the same pass) before the block's untaken tasks fail
GRACE = 5.0

Jobs = t.Callable[[], list[tuple[t.Any, t.Any]]]  # (job, future) still running here
Fail = t.Callable[[t.Any, str, str], None]  # (job, kind, message)


class Watchdog:
    """Looks at one engine's managers once per :meth:`tick` (the runner's tracker thread)."""

    def __init__(self, engine: t.Any, *, endpoint_id: str, jobs: Jobs, fail: Fail):
        self.htex = Htex(engine.executor, since=time.time())
        self.endpoint_id = endpoint_id
        self._jobs = jobs
        self._fail = fail
        self._deaths: dict[str, int] = {}  # manager uid -> idle deaths already acted on
        self._retiring: dict[str, float] = {}  # block id -> when its untaken tasks fail
        self._cancelled_blocks: set[str] = set()
        self._to_stop: dict[str, tuple[t.Any, t.Any]] = {}  # task id -> (job, future)

    def stop(self, job: t.Any, future: t.Any) -> None:
        """Stop ``job``'s task where it runs (it has been failed already)."""
        self._to_stop[job.task_id] = (job, future)

    def tick(self) -> None:
        self.htex.refresh()
        now = time.monotonic()
        for manager in self.htex.managers.values():
            if manager.idle_deaths > self._deaths.get(manager.uid, 0):
                self._deaths[manager.uid] = manager.idle_deaths
                if manager.block_id not in self._retiring:
                    log.warning("An idle worker of endpoint %s's Parsl manager %s (block %s) "
                                "died; the block takes no more tasks and is replaced.",
                                self.endpoint_id, manager.uid, manager.block_id)
                    self.htex.hold_block(manager.block_id)
                    self._retiring[manager.block_id] = now + GRACE
        self._fail_untaken(self._jobs(), now)
        self._stop_requested()
        self._cancel_drained(self._jobs())

    def _fail_untaken(self, jobs: list[tuple[t.Any, t.Any]], now: float) -> None:
        for job, future in jobs:
            block = _block(future)
            due = self._retiring.get(block or "")
            if due is None or now < due:
                continue
            task = future.executor_task_id
            if task is not None and self.htex.where_started(task) is not None:
                continue  # a worker took it: it ends by its result or Parsl's WorkerLost
            self._fail(job, "WorkerLost",
                       f"Task {job.task_id} was lost: a worker of the endpoint's Parsl manager "
                       f"in block {block} died before any worker started it, so it never ran; "
                       "it can be submitted again.")

    def _cancel_drained(self, jobs: list[tuple[t.Any, t.Any]]) -> None:
        busy = {_block(f) for _j, f in jobs}
        for block, due in list(self._retiring.items()):
            if block in self._cancelled_blocks or block in busy or time.monotonic() < due:
                continue
            self._cancelled_blocks.add(block)
            if self.htex.cancel_block(block):
                log.info("Block %s of endpoint %s was cancelled; Parsl starts another.",
                         block, self.endpoint_id)

    def _stop_requested(self) -> None:
        for task_id, (_job, future) in list(self._to_stop.items()):
            task = future.executor_task_id
            found = self.htex.where_started(task) if task is not None else None
            if found is None:
                if future.done():
                    del self._to_stop[task_id]
                continue  # not taken yet: stopped when a worker takes it
            manager, worker = found
            del self._to_stop[task_id]
            if task in manager.finished:
                continue
            pid = manager.worker_pid(worker)
            if pid is not None and self.htex.kill(pid):
                log.info("Stopped task %s of endpoint %s: killed worker %d (pid %d) of manager "
                         "%s.", task_id, self.endpoint_id, worker, pid, manager.uid)
                continue
            others = [j for j, f in self._jobs() if _block(f) == manager.block_id]
            if not others:
                self.htex.hold_block(manager.block_id)
                self._cancelled_blocks.add(manager.block_id)
                if self.htex.cancel_block(manager.block_id):
                    log.info("Stopped task %s of endpoint %s: cancelled its block %s (its worker "
                             "runs on another host).", task_id, self.endpoint_id,
                             manager.block_id)
                continue
            log.warning("Task %s of endpoint %s cannot be stopped: its worker runs on another "
                        "host and its block %s runs other tasks; it runs to its end and its "
                        "result is dropped.", task_id, self.endpoint_id, manager.block_id)


def _block(future: t.Any) -> str | None:
    block = getattr(future, "block_id", None)
    return None if block is None else str(block)
