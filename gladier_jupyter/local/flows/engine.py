"""The flow engine: moves runs through a flow definition without a thread per run.

What a state does to the run data (InputPath, Parameters, ResultPath, Choice rules,
Catch) is :mod:`.processing`'s; this module decides when states run and what is stored.
:meth:`Engine.test_state` runs one state through the same step a run takes, storing
nothing, with a trace of each step.

A run is a generator of its states. Its steps (states, expressions, commits) run on a
small fixed pool of worker threads (``POOL_SIZE``), and an action provider's ``start``
(which may copy files for a while) on a pool of its own (``START_POOL_SIZE``), so long
starts never stall the states of other runs. Where a run must wait it yields a pause and
holds no thread meanwhile: a Wait state is a timer on the service's event loop; an action
is woken by its provider (a Compute task's done callback calls back as the task ends) or,
for a provider that cannot tell, polled on a loop timer; a cancel or a stop wakes it at
once. A run that keeps a worker busy hands it on every ``_SLICE_SECONDS`` so others move
too; pool threads idle for ``_IDLE_EXIT`` seconds end.

Time is the service clock's (:mod:`gladier_jupyter.local.clock`): Wait ends, WaitTime
deadlines, the run limits and every log time follow it; when it jumps or changes speed,
every paused run re-checks its timer (what became due goes on at once, the rest re-arm).

Lifecycle of a run: ``ACTIVE`` -> ``SUCCEEDED`` | ``FAILED`` (a Fail state, an uncaught
error, a cancel: ``FlowCanceled``). The run's document, its cursor (next state + flow
document) and the states' log entries are committed together: before an Action or Wait
starts, right after it ends, and for side-effect-free states (Pass, Choice,
ExpressionEval) every 64 entries or 20 ms. A service killed mid-run resumes every ACTIVE
run at its last commit: pure states are simply run again, an action that had started is
started again, a Wait keeps its original end time. Nothing committed is lost or repeated.

A run lives within :mod:`.limits`: one that has written 25,000 log entries (a loop that
never takes its exit) or passes one year from its start ends FAILED with
``States.Runtime`` and the reason, before its next state. No Catch applies to a limit,
and the count is the stored log's, so a restart resumes such a run only to end it.
"""

from __future__ import annotations

import asyncio
import collections
import copy
import datetime as dt
import json
import logging
import threading
import time
import typing as t

from gladier_jupyter.local import actions, expressions
from gladier_jupyter.local.clock.service import ServiceClock, clock_of
from gladier_jupyter.local.flows import limits, paths, secrets
from gladier_jupyter.local.flows.processing import (
    StateError,
    Trace,
    catcher,
    caught_value,
    choose,
    input_for,
    is_num,
    resolve_parameters,
    store_result,
    timestamp,
)

__all__ = ["Engine", "POOL_SIZE", "START_POOL_SIZE", "clock_note", "now_iso", "StateError", "warm_up"]

log = logging.getLogger("gladier_jupyter.local.flows")

TERMINAL = ("SUCCEEDED", "FAILED", "ENDED")
DEFAULT_WAIT_TIME = 300.0
#: Worker threads running the runs' states, however many runs are active.
POOL_SIZE = 4
#: Worker threads running action providers' ``start`` (a Transfer copies files there).
START_POOL_SIZE = 4
#: Seconds a state test waits at most for its action (it answers one HTTP request).
TEST_WAIT_MAX = 45.0


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat()


def clock_note(clock: ServiceClock, details: dict[str, t.Any]) -> dict[str, t.Any]:
    """``details`` of a log entry, with ``clock_offset`` (seconds the service clock is
    ahead of real time) and ``clock_speed`` added while the clock was moved."""
    offset = round(clock.offset(), 3)
    if abs(offset) < 0.001 and clock.speed == 1.0:
        return details
    note: dict[str, t.Any] = {"clock_offset": offset}
    if clock.speed != 1.0:
        note["clock_speed"] = clock.speed
    return {**details, **note}


def warm_up() -> None:
    """Import and build what the first run would otherwise pay for."""
    paths.warm_up()
    expressions.warm_up()
    import jsonschema  # noqa: F401


class _Canceled(Exception):
    pass


class _Inactive(Exception):
    """The run waits (INACTIVE) for the user, e.g. a consent; resume_run starts it again."""


class _Stopping(Exception):
    """The service is shutting down: leave the run ACTIVE at its cursor for the next start."""


class _LimitReached(Exception):
    """The run passed one of its limits: it ends FAILED whatever its Catch says."""


# ----------------------------------------------------------------------------- engine


_PURE = frozenset({"Pass", "Choice", "ExpressionEval"})
_GROUP_MAX = 64  # log entries held before a commit
_GROUP_SECONDS = 0.02  # and how long at most

_SLICE_SECONDS = 0.05  # a run holding a pool worker longer hands it on at its next commit
_POLL_MIN, _POLL_MAX = 0.05, 1.0  # polling of an action whose provider cannot say it changed
_IDLE_EXIT = 30.0  # seconds a pool thread waits for work before it ends


class _Turn:
    """A pause: the run has held a pool worker for a while; let the other runs move."""


class _Sleep:
    """A pause: a Wait state until ``until`` (epoch seconds of the service clock)."""

    def __init__(self, until: float):
        self.until = until


class _AwaitAction:
    """A pause: the run waits for its action to change, at most until ``deadline``
    (service clock); ``told``: the action's handle wakes the run, else the driver polls;
    ``ready``: when the action says it will have changed (hello_world's sleep), if it does."""

    def __init__(self, deadline: float, told: bool, ready: float | None = None):
        self.deadline, self.told, self.ready = deadline, told, ready


class _Call:
    """A pause: ``fn(*args)`` runs on the start pool; the run gets ``(True, value)`` or
    ``(False, exception)`` back."""

    def __init__(self, fn: t.Callable[..., t.Any], *args: t.Any):
        self.fn, self.args = fn, args


_TURN = _Turn()
_Pause = _Turn | _Sleep | _AwaitAction | _Call
_Outcome = tuple[bool, t.Any]
_RunSteps = t.Generator[_Pause, t.Any, None]
_Stepped = tuple[t.Any, str | None, list[dict[str, t.Any]]]  # data, next state, log entries


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


def _outcome(fn: t.Callable[..., t.Any], args: tuple[t.Any, ...]) -> _Outcome:
    try:
        return True, fn(*args)
    except Exception as exc:  # noqa: BLE001 - handed back to the run
        return False, exc


class _RunControl:
    def __init__(self, run_id: str, loop: asyncio.AbstractEventLoop) -> None:
        self.run_id = run_id
        self.loop = loop  # keeps the run's timers
        self.steps: _RunSteps | None = None
        self.reply: _Outcome | None = None  # what the run's next step receives
        self.lock = threading.Lock()
        self.cancel = threading.Event()
        self.done = threading.Event()  # the run has stopped moving
        self.wakes = 0  # pokes so far
        self.mark = 0  # ``wakes`` when a pool worker last took the run up
        self.paused: object | None = None  # the token of the pause the run is in, if any
        self.timer: asyncio.TimerHandle | None = None
        self.due: float | None = None  # service time the current pause's timer is for
        self.wait_until: float | None = None  # a resumed Wait state's end time
        self.granted: tuple[str, ...] = ()  # consents given when the run was resumed
        self.pending: list[dict[str, t.Any]] = []  # log entries of uncommitted pure states
        self.flushed = time.monotonic()
        self.logged = 0  # entries of the run's log, committed or pending
        self.deadline: float | None = None  # epoch second the run must end by
        self.slice_start = time.monotonic()  # when a pool worker last took the run up
        self.poll_every = _POLL_MIN
        #: state name -> the run data its latest visit since the last commit started
        #: with, not yet stored; serialized only at the commit, once per state (a loop
        #: visits a state many times a group, and the data can be large). Held as it is,
        #: not copied: the run data is never changed in place (ResultPath writes copy
        #: the objects on their path, :func:`.paths.set_path`).
        self.starts: dict[str, t.Any] = {}
        #: state name -> the run data object last stored as its start data: a loop whose
        #: data does not change (a Choice polling a flag) rewrites nothing
        self.stored: dict[str, t.Any] = {}
        #: a state test (:meth:`Engine.test_state`): nothing is stored, a Wait does not
        #: wait, and ``trace`` gathers every step the state takes
        self.dry = False
        self.trace: Trace | None = None
        self.private: list[t.Any] = []  # a state test's private values, kept from its answer


_dumps = json.JSONEncoder(separators=(",", ":")).encode


def _take_starts(control: _RunControl) -> dict[str, str]:
    """The JSON start data of the states run since the last commit, but for those whose
    data is the very object stored last time (the run data is never changed in place, so
    the same object is the same data); each distinct object is encoded once."""
    starts, control.starts = control.starts, {}
    texts: dict[int, str] = {}
    out: dict[str, str] = {}
    for name, data in starts.items():
        if control.stored.get(name, _NOTHING) is data:
            continue
        control.stored[name] = data
        text = texts.get(id(data))
        if text is None:
            text = texts[id(data)] = _dumps(data)
        out[name] = text
    return out


def _untake_starts(control: _RunControl, taken: t.Iterable[str], starts: dict[str, t.Any]) -> None:
    """Give back start data that was not stored after all (its commit did not apply)."""
    for name in taken:
        control.stored.pop(name, None)
    control.starts = {**starts, **control.starts}


_NOTHING = object()


class Engine:
    """Runs flows. ``service`` gives the store, the context and run document building.

    A run moves only on a pool worker, one step of its generator at a time; between
    steps it is paused (``control.paused`` holds the pause's token) and whichever comes
    first of its timer (on the event loop), its action's wake-up, a cancel or a stop
    takes the token and hands the run to the pool again.
    """

    def __init__(self, service: t.Any):
        self.service = service
        self.store = service.store
        self._controls: dict[str, _RunControl] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._workers = _Workers(POOL_SIZE, "flows-engine")
        self._starts = _Workers(START_POOL_SIZE, "flows-action-start")
        self._loop: asyncio.AbstractEventLoop | None = None
        # Timers follow the service clock: a jump (or a change of speed) wakes every
        # paused run, which re-checks its Wait or WaitTime and parks again if not due.
        self.clock: ServiceClock = clock_of(service.ctx)
        self.clock.watch(self._clock_moved, self._next_due)

    # -- lifecycle -------------------------------------------------------------------
    def _timer_loop(self) -> asyncio.AbstractEventLoop:
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

    def launch(self, run_id: str) -> None:
        loop = self._timer_loop()
        with self._lock:
            control = self._controls.get(run_id)
            if control is not None and not control.done.is_set():
                return
            control = _RunControl(run_id, loop)
            control.steps = self._execute(run_id, control)
            self._controls[run_id] = control
        self._workers.submit(self._advance, control)

    def recover(self) -> None:
        """Resume every run the last service process left ACTIVE."""
        for run_id in self.store.run_ids_with_status("ACTIVE"):
            log.info("Resuming run %s after a service restart.", run_id)
            self.launch(run_id)

    def request_cancel(self, run_id: str) -> None:
        """Tell the run (if it moves) to stop at once; the caller records the cancel."""
        with self._lock:
            control = self._controls.get(run_id)
        if control is not None:
            control.cancel.set()
            self._poke(control)

    def wait_idle(self, run_id: str, timeout: float | None = None) -> None:
        with self._lock:
            control = self._controls.get(run_id)
        if control is not None:
            control.done.wait(timeout)

    def stop(self) -> None:
        self._stopping.set()
        with self._lock:
            controls = list(self._controls.values())
        for control in controls:
            self._poke(control)

    # -- execution -------------------------------------------------------------------
    def _advance(self, control: _RunControl) -> None:
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

    def _park(self, control: _RunControl, pause: _Pause) -> None:
        """Hold the run at ``pause`` with no thread: until its timer, its action's
        wake-up, a cancel or a stop (whichever comes first) hands it to the pool again."""
        if isinstance(pause, _Turn):
            self._workers.submit(self._advance, control)
            return
        if isinstance(pause, _Call):
            self._starts.submit(self._call, control, pause)
            return
        if isinstance(pause, _Sleep):
            due = pause.until
            when = time.monotonic() + self.clock.delay(due)
        else:
            due = pause.deadline if pause.ready is None else min(pause.deadline, pause.ready)
            when = time.monotonic() + self.clock.delay(due)
            if not pause.told:
                when = min(when, time.monotonic() + control.poll_every)
                control.poll_every = min(control.poll_every * 2, _POLL_MAX)
        token = object()
        with control.lock:
            # A poke since the run was taken up (its action ended meanwhile, a cancel)
            # ends the pause at once; a later one finds the token.
            now = (control.wakes != control.mark or control.cancel.is_set()
                   or self._stopping.is_set() or when <= time.monotonic())
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

    def _call(self, control: _RunControl, pause: _Call) -> None:
        """On the start pool: run ``pause.fn``, then give the run its outcome."""
        control.reply = _outcome(pause.fn, pause.args)
        self._workers.submit(self._advance, control)

    def _arm(self, control: _RunControl, token: object, when: float) -> None:
        """On the loop: the pause's timer (``loop.time()`` is ``time.monotonic()``)."""
        with control.lock:
            if control.paused is token:
                control.timer = control.loop.call_at(when, self._resume, control, token)

    def _resume(self, control: _RunControl, token: object | None) -> None:
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

    def _poke(self, control: _RunControl) -> None:
        """From any thread: the run's action may have changed, or it is canceled or stopping."""
        with control.lock:
            control.wakes += 1
        self._resume(control, None)

    def _execute(self, run_id: str, control: _RunControl) -> _RunSteps:
        try:
            yield from self._run(run_id, control)
        except _Canceled:
            self._store_starts(control)
            self.service.finish_canceled(run_id)
        except (_Stopping, _Inactive):
            self._store_starts(control)
        except Exception as exc:  # a bug here ends the run, not the service
            log.exception("Run %s failed inside the engine.", run_id)
            state = self.store.get_run_state(run_id)
            if state is not None and state[0]["status"] == "ACTIVE":
                cursor = state[2] or {}
                self._fail(state[0], cursor.get("data", {}), cursor.get("state"),
                           "States.Runtime", f"The local flow engine failed: {type(exc).__name__}: {exc}")
        else:
            self._store_starts(control)

    def _store_starts(self, control: _RunControl) -> None:
        """Store the start data of the states run since the last commit."""
        if control.dry:
            control.starts = {}
            return
        starts = _take_starts(control)
        if starts:
            self.store.put_state_inputs(control.run_id, starts)

    def _run(self, run_id: str, control: _RunControl) -> _RunSteps:
        loaded = self.store.get_run_state(run_id)
        if loaded is None:
            return
        doc, definition, cursor = loaded
        if doc["status"] != "ACTIVE" or cursor is None:
            return
        states = definition["definition"]["States"]
        name: str = cursor["state"]
        data: t.Any = cursor["data"]
        control.wait_until = cursor.get("wait_until")
        control.granted = tuple(cursor.get("granted_scopes", ()))
        control.logged = self.store.log_count(run_id)
        control.deadline = limits.run_deadline(doc.get("start_time"))
        context = self.service.run_context(doc)
        while True:
            if control.cancel.is_set():
                raise _Canceled()
            if self._stopping.is_set():
                return  # the service is going down; the cursor resumes it next time
            cause = self._over_limit(name, control)
            if cause:
                self._fail(doc, data, name, "States.Runtime", cause, self._take_pending(control, []))
                return
            state = states[name]
            stype = state.get("Type", "?")
            # What "re-run from here" starts this state with (its latest visit).
            control.starts[name] = data
            names = dict(data) if isinstance(data, dict) else {}
            names["_context"] = context
            entries: list[dict[str, t.Any]] = []
            try:
                data, next_name, entries = yield from self._step(name, state, data, names, doc, control)
            except _LimitReached as limit:
                self._fail(doc, data, name, "States.Runtime", str(limit), self._take_pending(control, []))
                return
            except StateError as err:
                handler = catcher(state, err.error)
                failed_entry = self._entry(
                    f"{stype}Failed",
                    f"State {name} of type {stype} failed",
                    {"state_name": name, "state_type": stype,
                     "error": {"Error": err.error, "Cause": err.cause},
                     **({"output": err.output} if err.output is not None else {})},
                )
                if handler is None:
                    self._fail(doc, data, name, err.error, err.cause, self._take_pending(
                        control, [] if stype == "Fail" else [failed_entry]), output=err.output)
                    return
                entries = [failed_entry]
                try:
                    data = store_result(data, handler, caught_value(err), "$")
                except StateError as err2:
                    self._fail(doc, data, name, err2.error, err2.cause, self._take_pending(control, entries))
                    return
                next_name = handler["Next"]
            if next_name is None:
                self.service.finish_succeeded(doc, data, self._take_pending(control, entries))
                return
            name = next_name
            nxt = states[name]
            doc = self.service.active_doc(doc, name, nxt.get("Type", "?"), data)
            # States without side effects (Pass, Choice, ExpressionEval) are committed in
            # small groups: after a crash they are simply run again from the last commit.
            force = stype not in _PURE or nxt.get("Type") not in _PURE
            if not self._commit(control, doc, {"state": name, "data": data}, entries, force):
                return  # canceled (or released) meanwhile
            if not control.pending and time.monotonic() - control.slice_start >= _SLICE_SECONDS:
                yield _TURN  # committed: let the other runs have the pool worker

    def test_state(self, doc: dict[str, t.Any], states: dict[str, t.Any], name: str,
                   data: t.Any) -> dict[str, t.Any]:
        """Run state ``name`` once against the run data ``data``, the way a run would (the
        same ``_step``), storing nothing and not waiting in a Wait state; the answer holds
        each step taken (``steps``), the output data, the next state, or the error and what
        a Catch made of it. Blocks until the state ends (an action: at most
        ``TEST_WAIT_MAX`` seconds): call it off the service's event loop."""
        control = _RunControl(doc["run_id"], self._timer_loop())
        control.dry, control.trace = True, Trace()
        state = states[name]
        stype = state.get("Type", "?")
        names = dict(data) if isinstance(data, dict) else {}
        names["_context"] = self.service.run_context(doc)
        answer: dict[str, t.Any] = {"state_name": name, "state_type": stype, "input": copy.deepcopy(data)}
        steps = self._step(name, state, data, names, doc, control)
        reply: t.Any = None
        try:
            while True:
                pause = steps.send(reply)
                reply = None
                if isinstance(pause, _Call):
                    reply = _outcome(pause.fn, pause.args)
                elif isinstance(pause, _AwaitAction):
                    due = pause.deadline if pause.ready is None else min(pause.deadline, pause.ready)
                    time.sleep(max(0.0, min(control.poll_every, self.clock.delay(due))))
                    control.poll_every = min(control.poll_every * 2, _POLL_MAX)
        except StopIteration as stop:
            out, next_name, entries = stop.value
            answer.update(status="SUCCEEDED", output=out, next_state=next_name, error=None)
        except StateError as err:
            answer.update(status="FAILED", error={"Error": err.error, "Cause": err.cause},
                          output=None, next_state=None)
            handler = catcher(state, err.error)
            entries = []
            if handler is not None:
                control.trace.add("Catch", error_equals=handler.get("ErrorEquals"), next_state=handler["Next"])
                try:
                    out = store_result(data, handler, caught_value(err), "$", control.trace)
                    answer.update(status="CAUGHT", output=out, next_state=handler["Next"])
                except StateError as err2:
                    answer["error"] = {"Error": err2.error, "Cause": err2.cause}
        answer["steps"] = control.trace.steps
        answer["log"] = entries
        return secrets.scrub(answer, control.private) if control.private else answer

    def _over_limit(self, name: str, control: _RunControl) -> str | None:
        """Why the run must stop before state ``name``, if it passed a limit."""
        if control.logged >= limits.MAX_LOG_ENTRIES:
            return limits.entries_cause(name)
        if control.deadline is not None and self.clock.now() >= control.deadline:
            return limits.duration_cause(name)
        return None

    def _commit(self, control: _RunControl, doc: dict[str, t.Any], cursor: dict[str, t.Any],
                entries: list[dict[str, t.Any]], force: bool = True) -> bool:
        control.pending.extend(entries)
        control.logged += len(entries)
        now = time.monotonic()
        if control.dry:
            control.pending = []
            return True
        if not force and len(control.pending) < _GROUP_MAX and now - control.flushed < _GROUP_SECONDS:
            return True
        pending, control.pending = control.pending, []
        visited = control.starts
        starts = _take_starts(control)
        control.flushed = now
        recorded = self.store.record(doc, cursor, pending, state_inputs=starts)
        if not recorded:  # canceled meanwhile: the cancel stores them
            _untake_starts(control, starts, visited)
        # Let other runs' threads and the HTTP thread have the interpreter between groups
        # of a loop of pure states, which otherwise hold it for whole switch intervals.
        time.sleep(0)
        return recorded

    @staticmethod
    def _take_pending(control: _RunControl, entries: list[dict[str, t.Any]]) -> list[dict[str, t.Any]]:
        pending, control.pending = control.pending, []
        return [*pending, *entries]

    def _fail(self, doc: dict[str, t.Any], data: t.Any, state: str | None, error: str, cause: str,
              entries: list[dict[str, t.Any]] | None = None, output: t.Any = None) -> None:
        self.service.finish_failed(doc, data, state, error, cause, entries or [])

    def _entry(self, code: str, description: str, details: dict[str, t.Any]) -> dict[str, t.Any]:
        return {"time": self.clock.iso(), "code": code, "description": description,
                "details": clock_note(self.clock, details)}

    # Entries of pure states are stored with the next commit, after later states ran: they
    # hold the run data of their own state as it was, because nothing changes the run data
    # in place (ResultPath writes copy what is on their path; an action gets a copy of its
    # body), so they need no copy of their own.
    def _started(self, name: str, stype: str, payload: t.Any) -> dict[str, t.Any]:
        return self._entry(f"{stype}Started", f"State {name} of type {stype} started",
                           {"state_name": name, "state_type": stype, "input": payload})

    def _completed(self, name: str, stype: str, output: t.Any) -> dict[str, t.Any]:
        return self._entry(f"{stype}Completed", f"State {name} of type {stype} completed",
                           {"state_name": name, "state_type": stype, "output": output})

    def _next(self, state: dict[str, t.Any]) -> str | None:
        if state.get("End"):
            return None
        return state.get("Next")

    def _step(self, name: str, state: dict[str, t.Any], data: t.Any, names: dict[str, t.Any],
              doc: dict[str, t.Any], control: _RunControl) -> t.Generator[_Pause, t.Any, _Stepped]:
        """One state (a generator: a Wait or an Action pauses the run where it waits)."""
        stype = state.get("Type")
        if stype == "Pass":
            # Pass States: "Pass states may contain a ResultPath, a JSONPath expression
            # indicating where the input should be placed in the output from the state";
            # a Result is the state's output whatever InputPath and Parameters say (ASL).
            started = self._started(name, stype, {k: v for k, v in names.items() if k != "_context"})
            if "Result" in state:
                value = state["Result"]
                if control.trace is not None:
                    control.trace.add("Result", value=value)
            elif "Parameters" not in state and "InputPath" not in state:
                value = data
                if control.trace is not None:
                    control.trace.add("InputPath", path="$", value=value)
            else:
                value = input_for(state, names, "States.Runtime", control.trace)
                self._hide_private(control, doc, state.get("Parameters"), value)
            data = store_result(data, state, value, "$", control.trace, owned=True)
            return data, self._next(state), [started, self._completed(name, stype, data)]
        if stype == "ExpressionEval":
            template = state.get("Parameters", {})
            started = self._started(name, stype, secrets.without_private(template))
            value = resolve_parameters(template, names, "States.Runtime")
            if control.trace is not None:
                control.trace.add("Parameters", template=secrets.without_private(template),
                                  value=secrets.without_private(template, value))
            self._hide_private(control, doc, template, value)
            data = store_result(data, state, value, "$", control.trace, owned=True)
            return data, self._next(state), [started, self._completed(name, stype, data)]
        if stype == "Choice":
            started = self._started(name, stype, {k: v for k, v in names.items() if k != "_context"})
            target = choose(state, name, names, control.trace)
            return data, target, [started, self._completed(name, stype, {"next_state": target})]
        if stype == "Wait":
            until = control.wait_until
            if until is None:
                # A Wait resumed after a restart keeps its original end time.
                seconds = self._wait_seconds(name, state, names)
                until = self.clock.now() + seconds
                if control.deadline is not None and until > control.deadline:
                    # Waiting would only end in the limit: end the run now, saying why.
                    end = dt.datetime.fromtimestamp(until, dt.timezone.utc).isoformat()
                    raise _LimitReached(limits.duration_cause(name, f"Wait state {name} would end at {end}, past"))
                started = self._started(name, stype, {"seconds": seconds})
                if control.dry:  # a state test shows the wait, and does not wait
                    assert control.trace is not None
                    control.trace.add("Wait", seconds=seconds, waited=False)
                    return data, self._next(state), [started]
                cursor = {"state": name, "data": data, "wait_until": until}
                if not self._commit(control, doc, cursor, [started]):
                    raise _Canceled()
            control.wait_until = None
            while self.clock.now() < until:
                if control.cancel.is_set():
                    raise _Canceled()
                if self._stopping.is_set():
                    raise _Stopping()
                yield _Sleep(until)  # a loop timer, no thread
            return data, self._next(state), [self._completed(
                name, stype, {"until": dt.datetime.fromtimestamp(until, dt.timezone.utc).isoformat()})]
        if stype == "Fail":
            error = state.get("Error", "FlowFailed")
            cause = state.get("Cause", f"The flow reached Fail state {name}.")
            if control.trace is not None:
                control.trace.add("Fail", error=error, cause=cause)
            raise StateError(error, cause)
        if stype == "Action" or stype in actions.STATE_TYPES:
            # Web Input states are actions of the Flows service itself.
            return (yield from self._action(name, state, data, names, doc, control))
        raise StateError("States.Runtime", f"State {name} has unknown Type {stype!r}.")

    def _status_doc(self, doc: dict[str, t.Any], name: str, status: str, details: t.Any,
                    start_time: str, completion_time: str | None) -> dict[str, t.Any]:
        """The action's status document, as an action provider's /status returns it."""
        return {
            "action_id": f"{doc['run_id'][:8]}-{name}",
            "completion_time": completion_time,
            "creator_id": self.service.ctx.identity_id and f"urn:globus:auth:identity:{self.service.ctx.identity_id}",
            "details": details,
            "display_status": status,
            "label": doc.get("label"),
            "manage_by": [],
            "monitor_by": [],
            "release_after": None,
            "start_time": start_time,
            "state_name": name,
            "status": status,
        }

    def _hide_private(self, control: _RunControl, doc: dict[str, t.Any], template: t.Any,
                      resolved: t.Any) -> None:
        """Keep the values the Parameters mark private out of every document written next."""
        if isinstance(template, dict):
            found = secrets.private_values(template, resolved)
            if found and control.dry:
                control.private.extend(found)
            elif found:
                self.store.add_secrets(doc["run_id"], found)

    def _wait_seconds(self, name: str, state: dict[str, t.Any], names: dict[str, t.Any]) -> float:
        if "Seconds" in state:
            value: t.Any = state["Seconds"]
        elif "SecondsPath" in state:
            value = paths.get_path(names, state["SecondsPath"])
        elif "Timestamp" in state or "TimestampPath" in state:
            raw = state.get("Timestamp") if "Timestamp" in state else paths.get_path(names, state["TimestampPath"])
            when = timestamp(raw)
            if when is None:
                raise StateError("States.Runtime", f"Wait state {name}: {raw!r} is not an ISO 8601 timestamp.")
            return when.timestamp() - self.clock.now()
        else:
            raise StateError("States.Runtime", f"Wait state {name} has no Seconds, SecondsPath, Timestamp or TimestampPath.")
        if not is_num(value):
            raise StateError("States.Runtime", f"Wait state {name}: seconds must be a number, not {value!r}.")
        return float(value)

    def _action(self, name: str, state: dict[str, t.Any], data: t.Any, names: dict[str, t.Any],
                doc: dict[str, t.Any], control: _RunControl) -> t.Generator[_Pause, t.Any, _Stepped]:
        url = state.get("ActionUrl")
        stype = state.get("Type", "Action")
        wait_time = float(state.get("WaitTime", DEFAULT_WAIT_TIME))
        if control.dry:  # a state test answers one HTTP request: it waits less
            wait_time = min(wait_time, TEST_WAIT_MAX)
        body = input_for(state, names, "ActionUnableToRun", control.trace)
        self._hide_private(control, doc, state.get("Parameters"), body)
        started = self._started(name, stype, secrets.without_private(state.get("Parameters"), body)
                                if isinstance(state.get("Parameters"), dict) else body)
        # Record the start so the log shows it while the action runs.
        if not self._commit(control, doc, {"state": name, "data": data}, [started]):
            raise _Canceled()
        provider = actions.resolve_state(state)
        if provider is None:
            raise StateError(
                "ActionUnableToRun",
                f"No action provider answers ActionUrl {url!r} in the local service; it provides "
                f"{actions.known_urls()}.",
            )
        start_time = self.clock.iso()
        if control.trace is not None:
            control.trace.add("ActionRequest", action_url=url,
                              body=secrets.without_private(state.get("Parameters"), body)
                              if isinstance(state.get("Parameters"), dict) else body)
        request = actions.ActionRequest(ctx=self.service.ctx, run_id=doc["run_id"], state_name=name,
                                        label=doc.get("label"), timeout=wait_time + 5,
                                        granted_scopes=control.granted)
        # On the start pool: a long start (a Transfer's copy) does not hold up other runs.
        # The provider gets a copy of the body, which shares objects with the run data (a
        # provider may normalize its body in place).
        started_ok, value = yield _Call(provider.start, copy.deepcopy(body), request)
        if not started_ok:
            if isinstance(value, actions.ActionUnableToRun):
                raise StateError("ActionUnableToRun", f"State {name}: {value}") from None
            raise value
        handle: actions.ActionHandle = value
        deadline = self.clock.now() + wait_time
        status, details = handle.poll()
        if status == "INACTIVE" and control.dry:
            handle.cancel()
            raise StateError("ActionInactive", f"State {name}: the action waits for the user "
                             f"({details.get('description', 'INACTIVE')}); a state test does not wait for it.",
                             output=details)
        if status == "INACTIVE":
            inactive = self.service.inactive_doc(doc, name, details)
            entry = self._entry("ActionInactive", f"State {name} of type Action is inactive: "
                                f"{details.get('description', 'it waits for the user')}",
                                {"state_name": name, "state_type": "Action", "output": details})
            cursor = {"state": name, "data": data, "granted_scopes": list(control.granted)}
            self.store.record(inactive, cursor, [*self._take_pending(control, []), entry])
            raise _Inactive()
        while status not in TERMINAL:
            if control.cancel.is_set():
                handle.cancel()
                raise _Canceled()
            if self._stopping.is_set():
                raise _Stopping()
            remaining = deadline - self.clock.now()
            if remaining <= 0:
                handle.cancel()
                # Handling Exceptions: "The status of the most recent poll of the Action
                # will be contained within the body of the exception."
                raise StateError("ActionTimeout",
                                 f"State {name}: the action did not complete within its WaitTime of {wait_time:g} seconds.",
                                 output=self._status_doc(doc, name, status, details, start_time, None))
            # No thread waits: the handle wakes the run when the action may have changed.
            try:
                told = handle.notify(lambda: self._poke(control))
            except Exception:  # the next poll says what went wrong
                log.debug("The handle of state %s could not register a wake-up.", name, exc_info=True)
                told = False
            yield _AwaitAction(deadline, told, getattr(handle, "ready_at", None))
            status, details = handle.poll()
        if self._stopping.is_set():
            raise _Stopping()  # the end may come from the shutdown itself (workers stopped)
        result = details if getattr(provider, "bare_result", False) else self._status_doc(
            doc, name, status, details, start_time, self.clock.iso())
        if control.trace is not None:
            control.trace.add("ActionResult", status=status, result=result)
        if status != "SUCCEEDED" and state.get("ExceptionOnActionFailure", True):
            raise StateError("ActionFailedException",
                             f"State {name}: the action ended {status}: {_describe(details)}", output=result)
        data = store_result(data, state, result, "$", control.trace)
        code = "ActionCompleted" if status == "SUCCEEDED" else "ActionFailed"
        description = f"State {name} of type Action {'completed' if status == 'SUCCEEDED' else 'failed'}"
        if getattr(provider, "log_details", False) and isinstance(details, dict) and details.get("description"):
            description += f": {details['description']}"  # e.g. "email to a@b: subject"
        entry = self._entry(code, description, {"state_name": name, "state_type": "Action", "output": result})
        return data, self._next(state), [entry]


def _describe(details: t.Any) -> str:
    if isinstance(details, dict):
        for key in ("exception", "description", "error"):
            if details.get(key):
                text = str(details[key]).strip().splitlines()
                return text[-1] if text else str(details[key])
    return str(details)[:300]
