"""Expressions evaluated in small, resource-limited worker processes.

A worker (``python -m gladier_jupyter.local.expressions._sandbox``) lives as long as the
service and evaluates one expression at a time. It runs under ``RLIMIT_AS`` (its whole
address space, so a ``'a'.ljust(10**9)`` gets a MemoryError instead of gigabytes) and, for
each evaluation, ``RLIMIT_CPU`` set a few seconds past the CPU it has used so far (a
runaway dies of SIGXCPU even if the service is gone). The service waits for the answer at
most the evaluation's wall-clock limit, then kills the worker and starts a fresh one on the
next evaluation. Inputs and answers cross the pipe as JSON (never pickle), the answer capped
in size. Evaluating off the service process also keeps a long big-int operation, which holds
its interpreter's lock, from stopping the service's HTTP loop.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import threading
import typing as t
from multiprocessing.connection import Connection

from gladier_jupyter.local import _children
from gladier_jupyter.local.expressions._core import ExpressionError, ExpressionLimitError, shown

__all__ = ["Limits", "Sandbox"]


def _env_number(name: str, default: float) -> float:
    try:
        value = float(os.environ.get(name, ""))
    except ValueError:
        return default
    return value if value > 0 else default


class Limits:
    """Per-evaluation bounds, from ``$GLADIER_JUPYTER_EXPRESSION_SECONDS`` (default 5),
    ``$GLADIER_JUPYTER_EXPRESSION_MEMORY_MB`` (a worker's address space, default 512) and
    ``$GLADIER_JUPYTER_EXPRESSION_RESULT_MB`` (a result's JSON, default 8)."""

    def __init__(self) -> None:
        self.seconds = _env_number("GLADIER_JUPYTER_EXPRESSION_SECONDS", 5.0)
        self.memory_mb = int(_env_number("GLADIER_JUPYTER_EXPRESSION_MEMORY_MB", 512))
        self.result_mb = _env_number("GLADIER_JUPYTER_EXPRESSION_RESULT_MB", 8.0)

    @property
    def result_bytes(self) -> int:
        return int(self.result_mb * 1024 * 1024)


_READY_TIMEOUT = 60.0
# What the worker needs to start the same interpreter and package; nothing else of the
# service's environment (no secret can be read by an expression that escaped).
_WORKER_ENV = ("PATH", "PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "HOME", "LANG", "LC_ALL", "TMPDIR")


class _Worker:
    def __init__(self, limits: Limits):
        p2c_r, p2c_w = os.pipe()
        c2p_r, c2p_w = os.pipe()
        try:
            # its own process group, killed with the service (kill -9 included)
            self.proc = _children.spawn(
                [sys.executable, "-m", __name__, str(p2c_r), str(c2p_w), str(limits.memory_mb),
                 str(limits.result_bytes)],
                pass_fds=(p2c_r, c2p_w), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env={k: v for k, v in os.environ.items() if k in _WORKER_ENV},
            )
        finally:
            os.close(p2c_r)
            os.close(c2p_w)
        self._to = Connection(p2c_w, readable=False)
        self._from = Connection(c2p_r, writable=False)
        if not self._from.poll(_READY_TIMEOUT) or self._from.recv_bytes(64) != b"ready":
            self.close()
            raise ExpressionError("The expression worker of the local service did not start.")

    def evaluate(self, expression: str, names_json: str, limits: Limits) -> t.Any:
        cpu = math.ceil(limits.seconds) + 1
        self._to.send_bytes(json.dumps([expression, cpu]).encode() + b"\n" + names_json.encode())
        if not self._from.poll(limits.seconds):
            self.close()
            raise ExpressionLimitError(
                f"The expression {shown(expression)} ran longer than the {limits.seconds:g} s an "
                "expression may take and was stopped; keep expressions to small computations "
                "over the state input (a compute function can do the heavy work).")
        try:
            reply = self._from.recv_bytes(limits.result_bytes + 4096)
        except (EOFError, OSError):
            reason = self._exit_reason()
            self.close()
            if "SIGXCPU" in reason:
                raise ExpressionLimitError(
                    f"The expression {shown(expression)} used more than the {cpu} s of CPU an "
                    "expression may use and was stopped.") from None
            raise ExpressionError(f"The expression {shown(expression)} stopped its worker "
                                  f"({reason}).") from None
        kind, _, body = reply.partition(b"\n")
        if kind == b"ok":
            return json.loads(body)
        message = body.decode("utf-8", "replace")
        if kind == b"memory":
            self.close()  # a worker that ran out of memory is not trusted for the next one
            raise ExpressionLimitError(
                f"The expression {shown(expression)} needed more than the {limits.memory_mb} MB "
                "an expression may use and was stopped; keep expressions to small values "
                "(a compute function can build big ones).")
        if kind == b"limit":
            raise ExpressionLimitError(message)
        raise ExpressionError(message)

    def _exit_reason(self) -> str:
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return "it stopped answering"
        if code < 0:
            try:
                return f"killed by {signal.Signals(-code).name}"
            except ValueError:
                return f"killed by signal {-code}"
        return f"exit code {code}"

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        for conn in (self._to, self._from):
            try:
                conn.close()
            except OSError:
                pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass


class Sandbox:
    """Up to ``size`` workers shared by the run threads; one evaluation per worker at a time."""

    def __init__(self, size: int = 2, limits: Limits | None = None):
        self.size = size
        self.limits = limits or Limits()
        self._idle: list[_Worker] = []
        self._count = 0
        self._cond = threading.Condition()

    def evaluate(self, expression: str, names: dict[str, t.Any]) -> t.Any:
        names_json = json.dumps(names, default=repr)
        worker = self._take()
        try:
            value = worker.evaluate(expression, names_json, self.limits)
        except BaseException:
            self._give(worker)
            raise
        self._give(worker)
        return value

    def warm_up(self) -> None:
        self._give(self._take())

    def close(self) -> None:
        with self._cond:
            idle, self._idle = self._idle, []
            self._count -= len(idle)
        for worker in idle:
            worker.close()

    def _take(self) -> _Worker:
        with self._cond:
            while True:
                while self._idle:
                    worker = self._idle.pop()
                    if worker.alive:
                        return worker
                    worker.close()
                    self._count -= 1
                if self._count < self.size:
                    self._count += 1
                    break
                self._cond.wait()
        try:
            return _Worker(self.limits)
        except BaseException:
            with self._cond:
                self._count -= 1
                self._cond.notify()
            raise

    def _give(self, worker: _Worker) -> None:
        with self._cond:
            if worker.alive:
                self._idle.append(worker)
            else:
                self._count -= 1
            self._cond.notify()


# ----------------------------------------------------------------------------- the worker


def _json_default(value: t.Any) -> t.Any:
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=repr)
    return repr(value)


def _limit_memory(megabytes: int) -> None:
    import resource

    limit = megabytes * 1024 * 1024
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _limit_cpu(seconds: int) -> None:
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = math.ceil(usage.ru_utime + usage.ru_stime) + seconds
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def _serve(read_fd: int, write_fd: int, memory_mb: int, result_bytes: int) -> None:
    from gladier_jupyter.local.expressions._core import evaluate_unbounded

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C of the service's terminal
    evaluate_unbounded("1 + 1", {})  # import and build the evaluator before the limits
    _limit_memory(memory_mb)
    inbox = Connection(read_fd, writable=False)
    outbox = Connection(write_fd, readable=False)
    outbox.send_bytes(b"ready")
    while True:
        try:
            message = inbox.recv_bytes()
        except (EOFError, OSError):
            return  # the service is gone
        try:
            head, _, names_json = message.partition(b"\n")
            expression, cpu = json.loads(head)
            _limit_cpu(int(cpu))
            value = evaluate_unbounded(expression, json.loads(names_json))
            out = json.dumps(value, default=_json_default).encode()
            del value
            if len(out) > result_bytes:
                size = len(out)
                del out
                outbox.send_bytes(b"limit\n" + (
                    f"The expression {shown(expression)} built a result of {size / 1e6:.1f} MB; "
                    f"at most {result_bytes / 1e6:.1f} MB are allowed.").encode())
                continue
            outbox.send_bytes(b"ok\n" + out)
            del out
        except MemoryError:
            message = names_json = b""  # let go of what can be let go before answering
            outbox.send_bytes(b"memory\n")
            return
        except ExpressionError as exc:
            outbox.send_bytes(b"error\n" + str(exc).encode())
        except Exception as exc:  # noqa: BLE001 - e.g. a result json cannot encode
            text = " ".join(str(exc).split())[:200]
            outbox.send_bytes(b"error\n" + f"The expression failed: {type(exc).__name__}: {text}".encode())


if __name__ == "__main__":
    _serve(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
