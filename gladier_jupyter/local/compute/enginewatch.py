"""What Parsl does not watch: the interchange process of a ``GlobusComputeEngine``.

Parsl's HighThroughputExecutor starts its interchange as a child process and never looks
at it again. Once it is killed the executor's futures never end, and ``shutdown()`` blocks
for good: its job-status poller is stuck sending a command to the dead interchange (a ZMQ
REQ socket with no peer) and shutdown joins it. :func:`lost_reason` notices the exit (the
runner polls it); :func:`release` then ends the engine the way Parsl ends an executor it
knows is broken (``set_bad_state_and_fail_all``), so that

- every task the engine holds fails at once with the reason (a GlobusComputeEngine retry,
  ``max_retries_on_system_failure``, fails too: a bad executor takes no task), and no task
  runs again without the task document saying so;
- ``shutdown()`` returns: the poller's blocked command is interrupted (its ZMQ context is
  terminated), a bad executor skips its scale-in, unsent task messages are dropped.

A real endpoint does the same with a bad executor: its ``BadStateWatcher`` thread
(``globus_compute_endpoint/endpoint/interchange.py``) stops the endpoint process, whose
tasks are not re-sent (they were acknowledged once handed to the engine), and the next
task starts a new endpoint process; here the next task starts a new engine.
"""

from __future__ import annotations

import logging
import signal
import threading
import typing as t

__all__ = ["InterchangeExited", "lost_reason", "release"]

log = logging.getLogger("gladier_jupyter.local.compute")


class InterchangeExited(RuntimeError):
    """The reason every task of an engine whose Parsl interchange exited fails with."""


def lost_reason(engine: t.Any) -> str | None:
    """Why ``engine`` can no longer run tasks (its interchange exited), or ``None``.

    Engines without an interchange (ProcessPoolEngine, ThreadPoolEngine) are never lost.
    """
    executor = getattr(engine, "executor", None)
    proc = getattr(executor, "interchange_proc", None)
    if proc is None:
        return None
    code = proc.poll()
    if code is None:
        return None
    how = f"code {code}"
    if code < 0:
        try:
            how = f"signal {signal.Signals(-code).name}"
        except ValueError:
            how = f"signal {-code}"
    return f"its Parsl interchange (pid {proc.pid}) exited ({how})"


def release(engine: t.Any, why: str) -> None:
    """Fail every task ``engine`` holds with ``why`` and make its ``shutdown()`` return.

    Call it once the interchange is gone (:func:`lost_reason`); the engine takes no more
    tasks. Its futures end on this thread (their callbacks run here).
    """
    executor = getattr(engine, "executor", None)
    if executor is None or getattr(executor, "interchange_proc", None) is None:
        return
    reason = InterchangeExited(
        f"The endpoint's engine stopped: {why}. A task it held was not finished and is not "
        "run again (one already on a worker may have run in part); the endpoint starts a "
        "new engine for the next task.")
    if not executor.bad_state_is_set:
        try:
            executor.set_bad_state_and_fail_all(reason)
        except Exception:  # a future's callback failed: the rest still ends
            log.exception("Failing the tasks of a lost engine raised")
    _unblock_commands(executor)


def _unblock_commands(executor: t.Any) -> None:
    # The poller (and a status request) block in the command channel's send or receive
    # to the dead interchange: terminating the channel's ZMQ context makes them raise
    # ContextTerminated. ``term()`` returns once the channel's socket is closed, which the
    # executor's shutdown does (on another thread: so not on this one). The channel's own
    # close() would terminate the context a second time, concurrently, which libzmq does
    # not allow (it hangs or aborts): for this one channel, close() closes the socket only.
    import zmq

    outgoing = getattr(executor, "outgoing_q", None)
    sock = getattr(outgoing, "zmq_socket", None)
    if sock is not None:
        # tasks queued for the dead interchange: dropped, so closing it does not wait
        try:
            sock.setsockopt(zmq.LINGER, 0)
        except zmq.ZMQError:
            pass
    channel: t.Any = getattr(executor, "command_client", None)
    context = getattr(channel, "zmq_context", None)
    if channel is None or context is None or getattr(channel, "_released", False):
        return
    channel._released = True
    channel.close = channel.zmq_socket.close
    threading.Thread(target=_term, args=(context,), daemon=True,
                     name="compute-engine-unblock").start()


def _term(context: t.Any) -> None:
    try:
        context.term()
    except Exception:  # nothing more to stop
        log.debug("Terminating a lost engine's command channel raised", exc_info=True)
