"""Task hand-off to a ``globus-compute-endpoint`` engine, and back.

A :class:`Job` (a stored task and its function) becomes the messagepack ``Task`` a real
endpoint receives (``task_buffer`` = the registered function's packed buffer followed by
the submission's packed arguments); the engine runs it through
``globus_compute_endpoint.engines.helper.execute_task``, and the packed ``Result`` it
returns becomes an :class:`Outcome` for the store. :class:`EngineRunner` drives any engine
built from an endpoint's ``config.yaml`` (GlobusComputeEngine on a Parsl provider,
ProcessPoolEngine, ThreadPoolEngine); the embedded default has its own runner
(:mod:`.slots`), which adds what a pool cannot do by itself.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
import time
import typing as t
import uuid

from . import enginewatch
from ._lifecycle import placement as _placement
from ._lifecycle import record as _record
from ._lifecycle import stop_engine as _stop_engine

__all__ = [
    "EngineRunner",
    "Job",
    "Outcome",
    "failed",
    "import_engine_modules",
    "outcome_from_result",
    "pack_task",
    "remote_error",
]

log = logging.getLogger("gladier_jupyter.local.compute")

Start = t.Callable[["Job"], bool]
Done = t.Callable[["Job", "Outcome"], None]


@dataclasses.dataclass
class Job:
    """One task handed to an engine."""

    task_id: str
    function_uuid: str
    function_code: str
    function_name: str
    serialized: bool
    payload: str
    timeout: float | None = None
    endpoint_id: str | None = None
    task_group_id: str | None = None
    cancelled: bool = False


@dataclasses.dataclass
class Outcome:
    """How a task ended: ``result`` (serialized) or ``exception`` (remote traceback text)."""

    status: str  # "success" | "failed"
    result: str | None = None
    result_json: str | None = None
    exception: str | None = None
    details: dict[str, t.Any] = dataclasses.field(default_factory=dict)


_import_lock = threading.Lock()
_imported = False


def import_engine_modules() -> None:
    """Import globus-compute-endpoint's engines (and so the SDK, parsl) once, under a lock.

    Threads of the service (the default's slots warming up, a flow's compute action
    serializing arguments) would otherwise import overlapping parts of these packages at
    the same time in different orders, which Python's import locks report as a deadlock.
    """
    global _imported
    if _imported:
        return
    with _import_lock:
        if not _imported:
            import globus_compute_common.messagepack  # noqa: F401
            import globus_compute_endpoint.engines  # noqa: F401
            import globus_compute_sdk.serialize  # noqa: F401

            _imported = True


def remote_error(kind: str, message: str) -> str:
    """The exception text of a task the local service itself failed."""
    return f"gladier_jupyter.local.compute.{kind}: {message}\n"


def failed(kind: str, message: str, details: dict[str, t.Any] | None = None) -> Outcome:
    return Outcome("failed", exception=remote_error(kind, message), details=dict(details or {}))


def _function_buffer(job: Job) -> str:
    if job.serialized:
        return job.function_code
    # a function registered as plain source: globus-compute-sdk's source strategy
    # (PureSourceTextInspect, "st\n" + name + ":" + source) carries it the same way
    from globus_compute_sdk.serialize.utils import pack_buffers

    return pack_buffers([f"st\n{job.function_name}:{job.function_code}"])


def pack_task(job: Job) -> bytes:
    """The messagepack ``Task`` an endpoint receives for ``job``."""
    from globus_compute_common import messagepack
    from globus_compute_common.messagepack.message_types import Task

    task = Task(task_id=uuid.UUID(job.task_id), task_buffer=_function_buffer(job) + job.payload)
    return messagepack.pack(task)


_serializer: t.Any = None


def outcome_from_result(packed: bytes, extra: dict[str, t.Any] | None = None) -> Outcome:
    """An :class:`Outcome` from the packed ``Result`` ``execute_task`` (or the engine) made."""
    global _serializer
    from globus_compute_common import messagepack

    result: t.Any = messagepack.unpack(packed)  # a Result (unpack is typed as any Message)
    details = dict(result.details or {})
    details.pop("endpoint_id", None)  # the task document adds the endpoint id itself
    if result.task_statuses:
        details["task_transitions"] = {
            str(s.state.value if hasattr(s.state, "value") else s.state): s.timestamp / 1e9
            for s in result.task_statuses
        }
    details.update(extra or {})
    if result.is_error:
        return Outcome("failed", exception=result.data, details=details)
    as_json: str | None = None
    try:
        if _serializer is None:
            from globus_compute_sdk.serialize import ComputeSerializer

            _serializer = ComputeSerializer()
        as_json = json.dumps(_serializer.deserialize(result.data))
    except Exception:  # noqa: BLE001 - not JSON: readers deserialize ``result``
        as_json = None
    return Outcome("success", result=result.data, result_json=as_json, details=details)


class EngineRunner:
    """Runs jobs on one engine built from an endpoint's ``config.yaml``, started lazily.

    ``build()`` returns the engine (not started); ``start(job)`` is called when a job is
    handed over (False: skip it, it was cancelled); ``done(job, outcome)`` when it ended.
    A task past its time limit, or cancelled, is failed at once; on a GlobusComputeEngine
    the :class:`~.watchdog.Watchdog` then stops it where it runs (and fails the tasks a
    dead worker lost); a late result is logged and dropped.
    """

    def __init__(
        self,
        build: t.Callable[[], t.Any],
        *,
        endpoint_id: str,
        run_dir: str,
        start: Start,
        done: Done,
    ):
        self._build = build
        self.endpoint_id = endpoint_id
        self.run_dir = run_dir
        self._start = start
        self._done = done
        self._lock = threading.Lock()
        self.engine: t.Any = None
        self._running: dict[str, tuple[Job, t.Any]] = {}
        self._owner: dict[str, t.Any] = {}  # task id -> the engine it was given to
        self._watchdog: t.Any = None
        self._ended: set[str] = set()
        self.tasks_run = 0
        self._reaper: t.Any = None
        self._tracker: threading.Thread | None = None

    def _engine(self) -> t.Any:
        if self.engine is not None:
            self._drop_broken(self.engine)
        with self._lock:
            if self.engine is None:
                from ._reaper import Reaper

                engine = self._build()
                if self._reaper is None:
                    self._reaper = Reaper()
                # monitored: GlobusComputeEngine then tells each task its block and job id
                engine.start(endpoint_id=uuid.UUID(self.endpoint_id), run_dir=self.run_dir,
                             monitored=True)
                self.engine = engine
                _record(engine, self._reaper)  # at once: the service may be killed any time
                watchdog = None
                if callable(getattr(getattr(engine, "executor", None), "connected_managers", None)):
                    from .watchdog import Watchdog

                    watchdog = Watchdog(engine, endpoint_id=self.endpoint_id,
                                        jobs=lambda: self._jobs_of(engine), fail=self._fail_lost)
                self._watchdog = watchdog
                self._tracker = threading.Thread(target=self._track, args=(engine, watchdog),
                                                 daemon=True, name="compute-engine-tracker")
                self._tracker.start()
            return self.engine

    def _track(self, engine: t.Any, watchdog: t.Any) -> None:
        # Tell the reaper about the interchange and every block as Parsl starts them, so
        # they end with the service even if it is killed (Parsl's children outlive it);
        # notice an interchange that died, which Parsl itself does not report; and let
        # the watchdog look at the managers.
        while self.engine is engine:
            _record(engine, self._reaper)
            why = enginewatch.lost_reason(engine)
            if why is not None:
                self._lost(engine, why)
                return
            if watchdog is not None:
                try:
                    watchdog.tick()
                except Exception:
                    log.exception("The watchdog of endpoint %s failed", self.endpoint_id)
            time.sleep(1.0)

    def _jobs_of(self, engine: t.Any) -> list[tuple[Job, t.Any]]:
        with self._lock:
            return [(job, future) for tid, (job, future) in self._running.items()
                    if self._owner.get(tid) is engine]

    def _fail_lost(self, job: Job, kind: str, message: str) -> None:
        self._end(job, failed(kind, message))

    def _lost(self, engine: t.Any, why: str) -> None:
        with self._lock:
            if self.engine is not engine:
                return
            self.engine = None
            running = [job for job, _future in self._running.values()]
        log.warning("The engine of endpoint %s stopped: %s; its %d running tasks fail, a new "
                    "engine starts with the next task.", self.endpoint_id, why, len(running))
        enginewatch.release(engine, why)  # its futures fail with the reason, here
        for job in running:
            if job.task_id not in self._ended:  # one the engine did not hold yet
                self._end(job, failed("EngineLost", f"Task {job.task_id} failed because the "
                                      f"endpoint's engine stopped: {why}."))
        threading.Thread(target=_stop_engine, args=(engine, self._reaper), daemon=True,
                         name="compute-engine-stop").start()

    def _drop_broken(self, engine: t.Any, force: bool = False) -> None:
        # an engine whose executor is in a bad state (its interchange died, a block could
        # not start) takes no more tasks: the next task gets a new one
        executor = getattr(engine, "executor", None)
        if executor is None or not (force or getattr(executor, "bad_state_is_set", False)):
            return
        with self._lock:
            if self.engine is not engine:
                return
            self.engine = None
        log.warning("The engine of endpoint %s lost a manager or is in a bad state (%s); a new "
                    "one starts with the next task.", self.endpoint_id,
                    str(getattr(executor, "executor_exception", ""))[:200])
        # not on this thread: it may be one of the engine's own (a future's callback),
        # which the engine's shutdown joins
        threading.Thread(target=_stop_engine, args=(engine, self._reaper), daemon=True,
                         name="compute-engine-stop").start()

    def submit(self, job: Job) -> None:
        # called from the service's thread: the engine's own threads do the waiting
        threading.Thread(target=self._submit, args=(job,), daemon=True,
                         name=f"compute-submit-{job.task_id[:8]}").start()

    def _submit(self, job: Job) -> None:
        import_engine_modules()
        from globus_compute_endpoint.engines.base import GCFuture

        if not self._start(job):
            return
        try:
            engine = self._engine()
            future = GCFuture(job.task_id, function_id=job.function_uuid)
            with self._lock:
                self._running[job.task_id] = (job, future)
                self._owner[job.task_id] = engine
            engine.submit(future, pack_task(job), resource_specification={})
        except Exception as exc:  # noqa: BLE001 - the engine could not take it
            self._end(job, failed("EngineError", f"The endpoint's engine could not run task "
                                  f"{job.task_id}: {str(exc).splitlines()[0][:300]}"))
            return
        future.add_done_callback(lambda f: self._finished(job, f))
        if job.timeout:
            timer = threading.Timer(job.timeout, self._overran, args=(job,))
            timer.daemon = True
            timer.start()

    def _finished(self, job: Job, future: t.Any) -> None:
        try:
            outcome = outcome_from_result(future.result(), _placement(future))
        except Exception as exc:  # noqa: BLE001
            outcome = failed("EngineError", f"Task {job.task_id}: {exc}")
        if self._end(job, outcome) and outcome.status == "failed" and self.engine is not None:
            # a lost Parsl manager takes its block with it, and Parsl does not always start
            # another one (it may mark the executor bad only later): a new engine serves
            # the next task
            self._drop_broken(self.engine, force="ManagerLost" in (outcome.exception or ""))

    def _overran(self, job: Job) -> None:
        self._stop(job, failed("TaskTimeout", f"Task {job.task_id} ran longer than its time "
                               f"limit of {job.timeout:g} s; it was stopped."))

    def _stop(self, job: Job, outcome: Outcome) -> bool:
        # fail it now, then let the watchdog stop it where it runs
        with self._lock:
            entry = self._running.get(job.task_id)
            engine = self._owner.get(job.task_id)
            watchdog = self._watchdog if engine is self.engine else None
        if entry is None or not self._end(job, outcome):
            return False
        if watchdog is not None:
            watchdog.stop(job, entry[1])
        return True

    def _end(self, job: Job, outcome: Outcome) -> bool:
        with self._lock:
            if job.task_id in self._ended:
                log.warning("Task %s ended again after it was failed (%s); this result "
                            "is dropped.", job.task_id, outcome.status)
                return False
            self._ended.add(job.task_id)
            entry = self._running.pop(job.task_id, None)
            self._owner.pop(job.task_id, None)
            self.tasks_run += 1
        if entry is not None:
            outcome.details.update(_placement(entry[1]))
        self._done(job, outcome)
        return True

    def cancel_running(self, task_id: str) -> bool:
        with self._lock:
            entry = self._running.get(task_id)
        if entry is None:
            return False
        job = entry[0]
        job.cancelled = True
        return self._stop(job, failed("TaskCancelled", f"Task {task_id} was cancelled."))

    def status(self) -> dict[str, t.Any]:
        with self._lock:
            running = list(self._running.values())
            engine = self.engine
        doc: dict[str, t.Any] = {"started": engine is not None, "outstanding_tasks": len(running)}
        if engine is None:
            return doc
        try:
            report = engine.get_status_report()
            doc.update({k: v for k, v in report.global_state.items()
                        if isinstance(v, (int, float, str, bool, list, dict)) or v is None})
        except Exception as exc:  # noqa: BLE001 - status is best effort
            doc["status_error"] = str(exc)[:200]
        # the pool engines' own report says 0 outstanding, always: count the tasks given out
        doc["running_tasks"] = len(running)
        doc["job_ids"] = sorted({str(f.job_id) for _j, f in running if f.job_id is not None})
        # Parsl's blocks and the provider job each runs as (a Slurm/PBS job id; a pid for
        # LocalProvider), running tasks or not: what squeue/qstat would list.
        blocks = getattr(getattr(engine, "executor", None), "blocks_to_job_id", None)
        if isinstance(blocks, dict):
            doc["blocks"] = {str(b): str(j) for b, j in list(blocks.items()) if j is not None}
        return doc

    def close(self) -> None:
        """Cancel the engine's blocks, stop its interchange, and whatever is left of them."""
        with self._lock:
            engine, self.engine = self.engine, None
            reaper, self._reaper = self._reaper, None
            self._watchdog = None
        if engine is not None:
            _stop_engine(engine, reaper)
        if reaper is not None:
            reaper.close()
