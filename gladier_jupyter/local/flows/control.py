"""What a moving run carries between its steps, and the pauses a step yields.

A run is a generator of its states (:mod:`.engine`); each time it must wait it yields one
of the pauses below, and :mod:`.scheduler` holds it there with no thread. Its
:class:`RunControl` is the one object the scheduler, the state steps (:mod:`.steps`) and
the run records (:mod:`.records`) share: the scheduler's pause token and timer, the
cancel and done events, the log entries and start data not yet committed, the run's
limits. The signals (:class:`Canceled`, :class:`Inactive`, :class:`Stopping`,
:class:`LimitReached`) are how a step tells the run loop to leave the state machine.
"""

from __future__ import annotations

import asyncio
import threading
import time
import typing as t

from gladier_jupyter.local.flows.processing import Trace

__all__ = [
    "AwaitAction", "Call", "Canceled", "Inactive", "LimitReached", "Outcome", "POLL_MIN", "Pause",
    "RunControl", "RunSteps", "Sleep", "Stepped", "Stopping", "TURN", "Turn", "outcome",
]

POLL_MIN, POLL_MAX = 0.05, 1.0  # polling of an action whose provider cannot say it changed


class Canceled(Exception):
    """The run was canceled (or released) while it moved."""


class Inactive(Exception):
    """The run waits (INACTIVE) for the user, e.g. a consent; resume_run starts it again."""


class Stopping(Exception):
    """The service is shutting down: leave the run ACTIVE at its cursor for the next start."""


class LimitReached(Exception):
    """The run passed one of its limits: it ends FAILED whatever its Catch says."""


class Turn:
    """A pause: the run has held a pool worker for a while; let the other runs move."""


class Sleep:
    """A pause: a Wait state until ``until`` (epoch seconds of the service clock)."""

    def __init__(self, until: float):
        self.until = until


class AwaitAction:
    """A pause: the run waits for its action to change, at most until ``deadline``
    (service clock); ``told``: the action's handle wakes the run, else the driver polls;
    ``ready``: when the action says it will have changed (hello_world's sleep), if it does."""

    def __init__(self, deadline: float, told: bool, ready: float | None = None):
        self.deadline, self.told, self.ready = deadline, told, ready


class Call:
    """A pause: ``fn(*args)`` runs on the start pool; the run gets ``(True, value)`` or
    ``(False, exception)`` back."""

    def __init__(self, fn: t.Callable[..., t.Any], *args: t.Any):
        self.fn, self.args = fn, args


TURN = Turn()
Pause = Turn | Sleep | AwaitAction | Call
Outcome = tuple[bool, t.Any]
RunSteps = t.Generator[Pause, t.Any, None]
Stepped = tuple[t.Any, str | None, list[dict[str, t.Any]]]  # data, next state, log entries


def outcome(fn: t.Callable[..., t.Any], args: tuple[t.Any, ...]) -> Outcome:
    """``fn(*args)`` as the ``(ok, value or exception)`` a :class:`Call` pause gets back."""
    try:
        return True, fn(*args)
    except Exception as exc:  # noqa: BLE001 - handed back to the run
        return False, exc


class RunControl:
    """One moving run (or one state test): its pause, its wake-ups and its uncommitted work."""

    def __init__(self, run_id: str, loop: asyncio.AbstractEventLoop) -> None:
        self.run_id = run_id
        self.loop = loop  # keeps the run's timers
        self.steps: RunSteps | None = None
        self.reply: Outcome | None = None  # what the run's next step receives
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
        self.poll_every = POLL_MIN
        #: state name -> the run data its latest visit since the last commit started
        #: with, not yet stored; serialized only at the commit, once per state (a loop
        #: visits a state many times a group, and the data can be large). Held as it is,
        #: not copied: the run data is never changed in place (ResultPath writes copy
        #: the objects on their path, :func:`.paths.set_path`).
        self.starts: dict[str, t.Any] = {}
        #: state name -> the run data object last stored as its start data: a loop whose
        #: data does not change (a Choice polling a flag) rewrites nothing
        self.stored: dict[str, t.Any] = {}
        #: a state test (:meth:`.Engine.test_state`): nothing is stored, a Wait does not
        #: wait, and ``trace`` gathers every step the state takes
        self.dry = False
        self.trace: Trace | None = None
        self.private: list[t.Any] = []  # a state test's private values, kept from its answer

    def poll_later(self) -> float:
        """Seconds until the next poll of an action that cannot tell it changed (doubling)."""
        every = self.poll_every
        self.poll_every = min(self.poll_every * 2, POLL_MAX)
        return every
