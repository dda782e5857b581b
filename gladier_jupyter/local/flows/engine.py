"""The flow engine: moves runs through a flow definition without a thread per run.

This module is the run loop: from a run's cursor, state after state until an end, a Fail,
an uncaught error, a cancel or a limit, and what a Catch makes of an error. Its parts:

- :mod:`.scheduler` moves runs on two small worker pools and parks them on the event
  loop's timers while they wait (a run holds no thread while paused);
- :mod:`.steps` is what each state type does in one step (Pass, ExpressionEval, Choice,
  Wait, Fail, Action), and :mod:`.processing` what a state does to the run data;
- :mod:`.records` commits the log entries, the cursor and the start data together;
- :mod:`.control` is what a moving run carries between steps, and the pauses it yields.

:meth:`Engine.test_state` runs one state through the same step a run takes, storing
nothing, with a trace of each step.

Time is the service clock's (:mod:`gladier_jupyter.local.clock`): Wait ends, WaitTime
deadlines, the run limits and every log time follow it.

Lifecycle of a run: ``ACTIVE`` -> ``SUCCEEDED`` | ``FAILED`` (a Fail state, an uncaught
error, a cancel: ``FlowCanceled``). A service killed mid-run resumes every ACTIVE run at
its last commit (:mod:`.records`). A run that keeps a worker busy hands it on every
``_SLICE_SECONDS`` (at a commit) so others move too.

A run lives within :mod:`.limits`: one that has written 25,000 log entries (a loop that
never takes its exit) or passes one year from its start ends FAILED with
``States.Runtime`` and the reason, before its next state. No Catch applies to a limit,
and the count is the stored log's, so a restart resumes such a run only to end it.
"""

from __future__ import annotations

import copy
import logging
import time
import typing as t

from gladier_jupyter.local import expressions
from gladier_jupyter.local.clock.service import ServiceClock, clock_of
from gladier_jupyter.local.flows import limits, paths, secrets
from gladier_jupyter.local.flows.control import (
    TURN,
    AwaitAction,
    Call,
    Canceled,
    Inactive,
    LimitReached,
    RunControl,
    RunSteps,
    Stopping,
    outcome,
)
from gladier_jupyter.local.flows.processing import (
    StateError,
    Trace,
    catcher,
    caught_value,
    store_result,
)
from gladier_jupyter.local.flows.records import Recorder, clock_note, now_iso
from gladier_jupyter.local.flows.scheduler import POOL_SIZE, START_POOL_SIZE, Scheduler
from gladier_jupyter.local.flows.steps import Stepper

__all__ = ["Engine", "POOL_SIZE", "START_POOL_SIZE", "clock_note", "now_iso", "StateError", "warm_up"]

log = logging.getLogger("gladier_jupyter.local.flows")

_PURE = frozenset({"Pass", "Choice", "ExpressionEval"})
_SLICE_SECONDS = 0.05  # a run holding a pool worker longer hands it on at its next commit


def warm_up() -> None:
    """Import and build what the first run would otherwise pay for."""
    paths.warm_up()
    expressions.warm_up()
    import jsonschema  # noqa: F401


class Engine:
    """Runs flows. ``service`` gives the store, the context and run document building."""

    def __init__(self, service: t.Any):
        self.service = service
        self.store = service.store
        self.clock: ServiceClock = clock_of(service.ctx)
        self.scheduler = Scheduler(self.clock)
        self.recorder = Recorder(self.store, self.clock)
        self.stepper = Stepper(service, self.clock, self.recorder, self.scheduler)

    # -- lifecycle -------------------------------------------------------------------
    def launch(self, run_id: str) -> None:
        self.scheduler.launch(run_id, lambda control: self._execute(run_id, control))

    def recover(self) -> None:
        """Resume every run the last service process left ACTIVE."""
        for run_id in self.store.run_ids_with_status("ACTIVE"):
            log.info("Resuming run %s after a service restart.", run_id)
            self.launch(run_id)

    def request_cancel(self, run_id: str) -> None:
        """Tell the run (if it moves) to stop at once; the caller records the cancel."""
        self.scheduler.request_cancel(run_id)

    def wait_idle(self, run_id: str, timeout: float | None = None) -> None:
        self.scheduler.wait_idle(run_id, timeout)

    def stop(self) -> None:
        self.scheduler.stop()

    # -- the run loop ----------------------------------------------------------------
    def _execute(self, run_id: str, control: RunControl) -> RunSteps:
        try:
            yield from self._run(run_id, control)
        except Canceled:
            self.recorder.store_starts(control)
            self.service.finish_canceled(run_id)
        except (Stopping, Inactive):
            self.recorder.store_starts(control)
        except Exception as exc:  # a bug here ends the run, not the service
            log.exception("Run %s failed inside the engine.", run_id)
            state = self.store.get_run_state(run_id)
            if state is not None and state[0]["status"] == "ACTIVE":
                cursor = state[2] or {}
                self._fail(state[0], cursor.get("data", {}), cursor.get("state"),
                           "States.Runtime", f"The local flow engine failed: {type(exc).__name__}: {exc}")
        else:
            self.recorder.store_starts(control)

    def _run(self, run_id: str, control: RunControl) -> RunSteps:
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
                raise Canceled()
            if self.scheduler.stopping.is_set():
                return  # the service is going down; the cursor resumes it next time
            cause = self._over_limit(name, control)
            if cause:
                self._fail(doc, data, name, "States.Runtime", cause, self.recorder.take_pending(control, []))
                return
            state = states[name]
            stype = state.get("Type", "?")
            # What "re-run from here" starts this state with (its latest visit).
            control.starts[name] = data
            names = dict(data) if isinstance(data, dict) else {}
            names["_context"] = context
            entries: list[dict[str, t.Any]] = []
            try:
                data, next_name, entries = yield from self.stepper.step(name, state, data, names, doc, control)
            except LimitReached as limit:
                self._fail(doc, data, name, "States.Runtime", str(limit), self.recorder.take_pending(control, []))
                return
            except StateError as err:
                handler = catcher(state, err.error)
                failed_entry = self.recorder.entry(
                    f"{stype}Failed",
                    f"State {name} of type {stype} failed",
                    {"state_name": name, "state_type": stype,
                     "error": {"Error": err.error, "Cause": err.cause},
                     **({"output": err.output} if err.output is not None else {})},
                )
                if handler is None:
                    self._fail(doc, data, name, err.error, err.cause, self.recorder.take_pending(
                        control, [] if stype == "Fail" else [failed_entry]), output=err.output)
                    return
                entries = [failed_entry]
                try:
                    data = store_result(data, handler, caught_value(err), "$")
                except StateError as err2:
                    self._fail(doc, data, name, err2.error, err2.cause, self.recorder.take_pending(control, entries))
                    return
                next_name = handler["Next"]
            if next_name is None:
                self.service.finish_succeeded(doc, data, self.recorder.take_pending(control, entries))
                return
            name = next_name
            nxt = states[name]
            doc = self.service.active_doc(doc, name, nxt.get("Type", "?"), data)
            # States without side effects (Pass, Choice, ExpressionEval) are committed in
            # small groups: after a crash they are simply run again from the last commit.
            force = stype not in _PURE or nxt.get("Type") not in _PURE
            if not self.recorder.commit(control, doc, {"state": name, "data": data}, entries, force):
                return  # canceled (or released) meanwhile
            if not control.pending and time.monotonic() - control.slice_start >= _SLICE_SECONDS:
                yield TURN  # committed: let the other runs have the pool worker

    def test_state(self, doc: dict[str, t.Any], states: dict[str, t.Any], name: str,
                   data: t.Any) -> dict[str, t.Any]:
        """Run state ``name`` once against the run data ``data``, the way a run would (the
        same :meth:`.Stepper.step`), storing nothing and not waiting in a Wait state; the answer holds
        each step taken (``steps``), the output data, the next state, or the error and what
        a Catch made of it. Blocks until the state ends (an action: at most
        ``TEST_WAIT_MAX`` seconds): call it off the service's event loop."""
        control = RunControl(doc["run_id"], self.scheduler.timer_loop())
        control.dry, control.trace = True, Trace()
        state = states[name]
        stype = state.get("Type", "?")
        names = dict(data) if isinstance(data, dict) else {}
        names["_context"] = self.service.run_context(doc)
        answer: dict[str, t.Any] = {"state_name": name, "state_type": stype, "input": copy.deepcopy(data)}
        steps = self.stepper.step(name, state, data, names, doc, control)
        reply: t.Any = None
        try:
            while True:
                pause = steps.send(reply)
                reply = None
                if isinstance(pause, Call):
                    reply = outcome(pause.fn, pause.args)
                elif isinstance(pause, AwaitAction):
                    due = pause.deadline if pause.ready is None else min(pause.deadline, pause.ready)
                    time.sleep(max(0.0, min(control.poll_later(), self.clock.delay(due))))
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

    def _over_limit(self, name: str, control: RunControl) -> str | None:
        """Why the run must stop before state ``name``, if it passed a limit."""
        if control.logged >= limits.MAX_LOG_ENTRIES:
            return limits.entries_cause(name)
        if control.deadline is not None and self.clock.now() >= control.deadline:
            return limits.duration_cause(name)
        return None

    def _fail(self, doc: dict[str, t.Any], data: t.Any, state: str | None, error: str, cause: str,
              entries: list[dict[str, t.Any]] | None = None, output: t.Any = None) -> None:
        self.service.finish_failed(doc, data, state, error, cause, entries or [])
