"""The one scheduler thread all watchers share, and the worker pool their polls run on."""

from __future__ import annotations

import heapq
import itertools
import queue
import threading
import time
import typing as t

__all__ = ["Polled", "scheduler_thread"]


class Polled(t.Protocol):
    """What the scheduler needs of a watcher: whether it stopped, and one poll to run."""

    _gen: int

    @property
    def stopped(self) -> bool: ...

    def _tick(self, gen: int) -> None: ...


class _Scheduler:
    """One daemon thread that wakes watchers when their next poll is due.

    Polls run on a small worker pool, at most one at a time per watcher.
    """

    def __init__(self, workers: int = 4) -> None:
        self._heap: list[tuple[float, int, Polled, int]] = []
        self._cond = threading.Condition()
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None
        # Daemon workers (not a ThreadPoolExecutor, whose threads the interpreter joins at
        # exit): a request hanging at shutdown must not hold the kernel up.
        self._work: queue.SimpleQueue[tuple[Polled, int]] = queue.SimpleQueue()
        self._workers: list[threading.Thread] = []
        self._max_workers = workers

    def schedule(self, watcher: Polled, delay: float, gen: int = 0) -> None:
        with self._cond:
            heapq.heappush(self._heap, (time.monotonic() + delay, next(self._seq), watcher, gen))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="gladier-monitor",
                                                daemon=True)
                self._thread.start()
            self._cond.notify()

    @property
    def thread(self) -> threading.Thread | None:
        return self._thread

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._heap or self._heap[0][0] > time.monotonic():
                    timeout = (self._heap[0][0] - time.monotonic()) if self._heap else None
                    self._cond.wait(timeout)
                _, _, watcher, gen = heapq.heappop(self._heap)
            if not watcher.stopped and gen == watcher._gen:
                self._work.put((watcher, gen))
                self._grow()

    def _grow(self) -> None:
        self._workers = [w for w in self._workers if w.is_alive()]
        if len(self._workers) < self._max_workers and self._work.qsize() > 0:
            worker = threading.Thread(target=self._work_loop, daemon=True,
                                      name=f"gladier-monitor-poll-{len(self._workers)}")
            worker.start()
            self._workers.append(worker)

    def _work_loop(self) -> None:
        while True:
            watcher, gen = self._work.get()
            try:
                watcher._tick(gen)
            except Exception:  # never lose the worker; the watcher reports its own errors
                import logging

                logging.getLogger(__name__).exception("run monitor poll failed")


_SCHEDULER = _Scheduler()


def scheduler_thread() -> threading.Thread | None:
    """The one thread all watchers share (None before the first watcher starts)."""
    return _SCHEDULER.thread

