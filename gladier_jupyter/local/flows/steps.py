"""What each state type does in one step of a run: Pass, ExpressionEval, Choice, Wait, Fail, Action.

A step is a generator: it returns the run data, the next state and the log entries the
state wrote, and where the state must wait (a Wait's timer, an action's start or its
status) it yields a pause (:mod:`.control`) for the scheduler. What a state does to the run
data (InputPath, Parameters, ResultPath, Choice rules) is :mod:`.processing`'s; when a
state runs, and what becomes of its error, is the run loop's (:mod:`.engine`). A state
test runs the same step with a dry :class:`.RunControl`: nothing stored, a Wait not
waited, an action waited for at most ``TEST_WAIT_MAX`` seconds.

An action is started on the start pool (a long start, such as a Transfer's copy, holds up
no other run) with a copy of its body; then the run waits for it with no thread until its
handle wakes it (or a poll timer, for a provider that cannot tell), a cancel, a stop or
its ``WaitTime``. A Wait past the run's duration limit ends the run at once, saying why.
"""

from __future__ import annotations

import copy
import datetime as dt
import logging
import typing as t

from gladier_jupyter.local import actions
from gladier_jupyter.local.clock.service import ServiceClock
from gladier_jupyter.local.flows import limits, paths, secrets
from gladier_jupyter.local.flows.control import (
    AwaitAction,
    Call,
    Canceled,
    Inactive,
    LimitReached,
    Pause,
    RunControl,
    Sleep,
    Stepped,
    Stopping,
)
from gladier_jupyter.local.flows.processing import (
    StateError,
    choose,
    input_for,
    is_num,
    resolve_parameters,
    store_result,
    timestamp,
)
from gladier_jupyter.local.flows.records import Recorder
from gladier_jupyter.local.flows.scheduler import Scheduler

__all__ = ["Stepper", "TERMINAL", "TEST_WAIT_MAX"]

log = logging.getLogger("gladier_jupyter.local.flows")

TERMINAL = ("SUCCEEDED", "FAILED", "ENDED")
DEFAULT_WAIT_TIME = 300.0
#: Seconds a state test waits at most for its action (it answers one HTTP request).
TEST_WAIT_MAX = 45.0


class Stepper:
    """Runs one state of a run. ``service`` gives the context and the INACTIVE document."""

    def __init__(self, service: t.Any, clock: ServiceClock, recorder: Recorder, scheduler: Scheduler):
        self.service, self.store = service, service.store
        self.clock, self.recorder, self.scheduler = clock, recorder, scheduler

    def _next(self, state: dict[str, t.Any]) -> str | None:
        if state.get("End"):
            return None
        return state.get("Next")

    def step(self, name: str, state: dict[str, t.Any], data: t.Any, names: dict[str, t.Any],
              doc: dict[str, t.Any], control: RunControl) -> t.Generator[Pause, t.Any, Stepped]:
        """One state (a generator: a Wait or an Action pauses the run where it waits)."""
        stype = state.get("Type")
        if stype == "Pass":
            # Pass States: "Pass states may contain a ResultPath, a JSONPath expression
            # indicating where the input should be placed in the output from the state";
            # a Result is the state's output whatever InputPath and Parameters say (ASL).
            started = self.recorder.started(name, stype, {k: v for k, v in names.items() if k != "_context"})
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
            return data, self._next(state), [started, self.recorder.completed(name, stype, data)]
        if stype == "ExpressionEval":
            template = state.get("Parameters", {})
            started = self.recorder.started(name, stype, secrets.without_private(template))
            value = resolve_parameters(template, names, "States.Runtime")
            if control.trace is not None:
                control.trace.add("Parameters", template=secrets.without_private(template),
                                  value=secrets.without_private(template, value))
            self._hide_private(control, doc, template, value)
            data = store_result(data, state, value, "$", control.trace, owned=True)
            return data, self._next(state), [started, self.recorder.completed(name, stype, data)]
        if stype == "Choice":
            started = self.recorder.started(name, stype, {k: v for k, v in names.items() if k != "_context"})
            target = choose(state, name, names, control.trace)
            return data, target, [started, self.recorder.completed(name, stype, {"next_state": target})]
        if stype == "Wait":
            until = control.wait_until
            if until is None:
                # A Wait resumed after a restart keeps its original end time.
                seconds = self._wait_seconds(name, state, names)
                until = self.clock.now() + seconds
                if control.deadline is not None and until > control.deadline:
                    # Waiting would only end in the limit: end the run now, saying why.
                    end = dt.datetime.fromtimestamp(until, dt.timezone.utc).isoformat()
                    raise LimitReached(limits.duration_cause(name, f"Wait state {name} would end at {end}, past"))
                started = self.recorder.started(name, stype, {"seconds": seconds})
                if control.dry:  # a state test shows the wait, and does not wait
                    assert control.trace is not None
                    control.trace.add("Wait", seconds=seconds, waited=False)
                    return data, self._next(state), [started]
                cursor = {"state": name, "data": data, "wait_until": until}
                if not self.recorder.commit(control, doc, cursor, [started]):
                    raise Canceled()
            control.wait_until = None
            while self.clock.now() < until:
                if control.cancel.is_set():
                    raise Canceled()
                if self.scheduler.stopping.is_set():
                    raise Stopping()
                yield Sleep(until)  # a loop timer, no thread
            return data, self._next(state), [self.recorder.completed(
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

    def _hide_private(self, control: RunControl, doc: dict[str, t.Any], template: t.Any,
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
                doc: dict[str, t.Any], control: RunControl) -> t.Generator[Pause, t.Any, Stepped]:
        url = state.get("ActionUrl")
        stype = state.get("Type", "Action")
        wait_time = float(state.get("WaitTime", DEFAULT_WAIT_TIME))
        if control.dry:  # a state test answers one HTTP request: it waits less
            wait_time = min(wait_time, TEST_WAIT_MAX)
        body = input_for(state, names, "ActionUnableToRun", control.trace)
        self._hide_private(control, doc, state.get("Parameters"), body)
        started = self.recorder.started(name, stype, secrets.without_private(state.get("Parameters"), body)
                                if isinstance(state.get("Parameters"), dict) else body)
        # Record the start so the log shows it while the action runs.
        if not self.recorder.commit(control, doc, {"state": name, "data": data}, [started]):
            raise Canceled()
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
        started_ok, value = yield Call(provider.start, copy.deepcopy(body), request)
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
            entry = self.recorder.entry("ActionInactive", f"State {name} of type Action is inactive: "
                                f"{details.get('description', 'it waits for the user')}",
                                {"state_name": name, "state_type": "Action", "output": details})
            cursor = {"state": name, "data": data, "granted_scopes": list(control.granted)}
            self.store.record(inactive, cursor, [*self.recorder.take_pending(control, []), entry])
            raise Inactive()
        while status not in TERMINAL:
            if control.cancel.is_set():
                handle.cancel()
                raise Canceled()
            if self.scheduler.stopping.is_set():
                raise Stopping()
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
                told = handle.notify(lambda: self.scheduler.poke(control))
            except Exception:  # the next poll says what went wrong
                log.debug("The handle of state %s could not register a wake-up.", name, exc_info=True)
                told = False
            yield AwaitAction(deadline, told, getattr(handle, "ready_at", None))
            status, details = handle.poll()
        if self.scheduler.stopping.is_set():
            raise Stopping()  # the end may come from the shutdown itself (workers stopped)
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
        entry = self.recorder.entry(code, description, {"state_name": name, "state_type": "Action", "output": result})
        return data, self._next(state), [entry]


def _describe(details: t.Any) -> str:
    if isinstance(details, dict):
        for key in ("exception", "description", "error"):
            if details.get(key):
                text = str(details[key]).strip().splitlines()
                return text[-1] if text else str(details[key])
    return str(details)[:300]
