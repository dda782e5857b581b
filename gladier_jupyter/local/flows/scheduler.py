"""Moves runs without a thread per run: two small worker pools and the event loop's timers.

A run (a generator of its states, :mod:`.engine`) moves only on a pool worker, one step
at a time, until it yields a pause (:mod:`.control`). Its steps (states, expressions,
commits) run on a small fixed pool (``POOL_SIZE``), and an action provider's ``start``
(which may copy files for a while) on a pool of its own (``START_POOL_SIZE``), so long
starts never stall the states of other runs. While paused a run holds no thread: a Wait
state is a timer on the service's event loop; an action is woken by its provider (a
Compute task's done callback calls back as the task ends) or, for a provider that cannot
tell, polled on a loop timer; a cancel or a stop wakes it at once. Between steps the
run's ``control.paused`` holds the pause's token, and whichever comes first of its
timer, its action's wake-up, a cancel or a stop takes the token and hands the run to the
pool again. Pool threads idle for ``_IDLE_EXIT`` seconds end.

Timers follow the service clock (:mod:`gladier_jupyter.local.clock`): when it jumps or
changes speed, every paused run re-checks its timer (what became due goes on at once,
the rest re-arm). What a run does at each step is none of this module's business.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import threading
import time
import typing as t

from gladier_jupyter.local.clock.service import ServiceClock
from gladier_jupyter.local.flows.control import (
    Call,
    Pause,
    RunControl,
    RunSteps,
    Sleep,
    Turn,
    outcome,
)

__all__ = ["POOL_SIZE", "START_POOL_SIZE", "Scheduler"]

log = logging.getLogger("gladier_jupyter.local.flows")

#: Worker threads running the runs' states, however many runs are active.
POOL_SIZE = 4
#: Worker threads running action providers' ``start`` (a Transfer copies files there).
START_POOL_SIZE = 4

_IDLE_EXIT = 30.0  # seconds a pool thread waits for work before it ends


class _Workers:
    """At most ``size`` daemon threads running jobs ``fn(*args)``; threads start when jobs
    wait and end after ``_IDLE_EXIT`` idle seconds."""

    def __init__(self, size: int, name: str):
        self.size, self.name = size, name
        self._cond = threading.Condition()
        self._jobs: collections.deque[tuple[t.Callable[..., t.Any], tuple[t.Any, ...]]] = collections.deque()
        self._threads: list[threading.Thread] = []
        self._idle = 0

    def submit(self, fn: t.Callable[..., t.Any], *args: t.Any) -> None:
        with self._cond:
            self._jobs.append((fn, args))
            if len(self._jobs) > self._idle and len(self._threads) < self.size:
                thread = threading.Thread(target=self._serve, name=f"{self.name}-{len(self._threads)}", daemon=True)
                self._threads.append(thread)
                thread.start()
            self._cond.notify()

    def _serve(self) -> None:
        while True:
            with self._cond:
                self._idle += 1
                while not self._jobs:
                    if not self._cond.wait(_IDLE_EXIT) and not self._jobs:
                        self._idle -= 1
                        self._threads.remove(threading.current_thread())
                        return
                self._idle -= 1
                fn, args = self._jobs.popleft()
            try:
                fn(*args)
            except BaseException:  # a job's bug must not end the thread
                log.exception("A flow engine job failed.")
            del fn, args  # hold nothing of a run while idle


class Scheduler:
    """The moving runs by id, the pools that move them and the timers that wake them."""

    def __init__(self, clock: ServiceClock):
        self.clock = clock
        self.stopping = threading.Event()
        self._controls: dict[str, RunControl] = {}
        self._lock = threading.Lock()
        self._workers = _Workers(POOL_SIZE, "flows-engine")
        self._starts = _Workers(START_POOL_SIZE, "flows-action-start")
        self._loop: asyncio.AbstractEventLoop | None = None
        # A jump of the clock (or a change of speed) wakes every paused run, which
        # re-checks its Wait or WaitTime and parks again if not due.
        clock.watch(self._clock_moved, self._next_due)

    def timer_loop(self) -> asyncio.AbstractEventLoop:
        """The event loop keeping the runs' timers: the service's (the one running where
        the engine is first used), else a private loop on a thread of its own."""
        with self._lock:
            if self._loop is not None and not self._loop.is_closed():
                return self._loop
            try:
                self._loop = asyncio.get_running_loop()
            except RuntimeError:
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="flows-engine-timers", daemon=True).start()
                self._loop = loop
            return self._loop

    def launch(self, run_id: str, steps_of: t.Callable[[RunControl], RunSteps]) -> None:
        """Start moving run ``run_id`` (``steps_of(control)``: its generator), unless it moves."""
        loop = self.timer_loop()
        with self._lock:
            control = self._controls.get(run_id)
            if control is not None and not control.done.is_set():
                return
            control = RunControl(run_id, loop)
            control.steps = steps_of(control)
            self._controls[run_id] = control
        self._workers.submit(self._advance, control)

    def request_cancel(self, run_id: str) -> None:
        """Tell the run (if it moves) to stop at once; the caller records the cancel."""
        with self._lock:
            control = self._controls.get(run_id)
        if control is not None:
            control.cancel.set()
            self.poke(control)

    def wait_idle(self, run_id: str, timeout: float | None = None) -> None:
        with self._lock:
            control = self._controls.get(run_id)
        if control is not None:
            control.done.wait(timeout)

    def stop(self) -> None:
        self.stopping.set()
        with self._lock:
            controls = list(self._controls.values())
        for control in controls:
            self.poke(control)

    def poke(self, control: RunControl) -> None:
        """From any thread: the run's action may have changed, or it is canceled or stopping."""
        with control.lock:
            control.wakes += 1
        self._resume(control, None)

    def _advance(self, control: RunControl) -> None:
        """On a pool worker: move the run to its next pause, then park it there."""
        control.slice_start = time.monotonic()
        with control.lock:
            control.mark = control.wakes  # a poke from now on ends the coming pause
        reply, control.reply = control.reply, None
        try:
            assert control.steps is not None
            pause = control.steps.send(reply)
        except StopIteration:
            pause = None
        except BaseException:  # a bug here stops the run, not the service
            log.exception("The flow engine stopped moving run %s.", control.run_id)
            pause = None
        if pause is None:
            with self._lock:
                if self._controls.get(control.run_id) is control:
                    self._controls.pop(control.run_id)
            control.steps = None
            control.done.set()
            return
        self._park(control, pause)

    def _park(self, control: RunControl, pause: Pause) -> None:
        """Hold the run at ``pause`` with no thread: until its timer, its action's
        wake-up, a cancel or a stop (whichever comes first) hands it to the pool again."""
        if isinstance(pause, Turn):
            self._workers.submit(self._advance, control)
            return
        if isinstance(pause, Call):
            self._starts.submit(self._call, control, pause)
            return
        if isinstance(pause, Sleep):
            due = pause.until
            when = time.monotonic() + self.clock.delay(due)
        else:
            due = pause.deadline if pause.ready is None else min(pause.deadline, pause.ready)
            when = time.monotonic() + self.clock.delay(due)
            if not pause.told:
                when = min(when, time.monotonic() + control.poll_later())
        token = object()
        with control.lock:
            # A poke since the run was taken up (its action ended meanwhile, a cancel)
            # ends the pause at once; a later one finds the token.
            now = (control.wakes != control.mark or control.cancel.is_set()
                   or self.stopping.is_set() or when <= time.monotonic())
            if not now:
                control.paused = token
                control.due = due
        if now:
            self._workers.submit(self._advance, control)
            return
        try:
            control.loop.call_soon_threadsafe(self._arm, control, token, when)
        except RuntimeError:  # the loop closed: the service is stopping
            self._resume(control, token)

    def _call(self, control: RunControl, pause: Call) -> None:
        """On the start pool: run ``pause.fn``, then give the run its outcome."""
        control.reply = outcome(pause.fn, pause.args)
        self._workers.submit(self._advance, control)

    def _arm(self, control: RunControl, token: object, when: float) -> None:
        """On the loop: the pause's timer (``loop.time()`` is ``time.monotonic()``)."""
        with control.lock:
            if control.paused is token:
                control.timer = control.loop.call_at(when, self._resume, control, token)

    def _resume(self, control: RunControl, token: object | None) -> None:
        """End the run's pause (``token``: only that pause; ``None``: whichever it is in)."""
        with control.lock:
            if control.paused is None or (token is not None and control.paused is not token):
                return
            control.paused = None
            timer, control.timer = control.timer, None
        if timer is not None:
            try:
                control.loop.call_soon_threadsafe(timer.cancel)
            except RuntimeError:
                pass
        self._workers.submit(self._advance, control)

    def _clock_moved(self) -> None:
        """The service clock jumped or changed speed: every paused run re-checks its timer."""
        with self._lock:
            controls = list(self._controls.values())
        for control in controls:
            self._resume(control, None)

    def _next_due(self) -> float | None:
        """The service time of the earliest timer of a paused run."""
        with self._lock:
            controls = list(self._controls.values())
        dues = [c.due for c in controls if c.paused is not None and c.due is not None]
        return min(dues) if dues else None
