"""The in-process Compute service: function registry, task lifecycle, waiting on tasks.

The HTTP routes and the flow engine's compute action provider both call this object.
A task moves ``pending`` -> ``running`` -> ``success`` | ``failed``; every move is written
to SQLite first, so a restart finds each task where it was (pending tasks run again,
tasks cut off while running end ``failed`` saying why).
"""

from __future__ import annotations

import json
import logging
import os
import pathlib
import threading
import time
import typing as t
import uuid

from gladier_jupyter.local._http import ServiceContext

from .arguments import pack_arguments
from .endpoints import DEFAULT_ENDPOINT_ID
from .errors import BadRequest, FunctionNotFound, TaskNotFound
from .runner import EngineRunner, Job, Outcome, import_engine_modules
from .slots import SlotPool
from .store import TERMINAL_STATUSES, ComputeStore

__all__ = ["ComputeService", "DoneCallback"]

DoneCallback = t.Callable[[dict[str, t.Any]], None]

API_VERSION = "1.23.0"

#: how many registered functions submissions keep in memory (the oldest read goes first)
_FUNCTIONS_KEPT = 256


def _default_pool_size() -> int:
    env = os.environ.get("GLADIER_JUPYTER_COMPUTE_WORKERS")
    if env and env.isdigit() and int(env) > 0:
        return int(env)
    return max(2, min(4, os.cpu_count() or 2))


class ComputeService:
    """Registers functions and runs tasks: on the embedded default, or on the engine of the
    registered local endpoint (:mod:`.endpoints`) the task was submitted to."""

    def __init__(self, ctx: ServiceContext, *, workers: int | None = None):
        self.ctx = ctx
        self.store = ComputeStore(ctx.db_path("compute"))
        self._serializer: t.Any = None
        self._cond = threading.Condition()
        self._callbacks: dict[str, list[DoneCallback]] = {}
        #: tasks handed to an engine that have not ended (guarded by ``_cond``): a waiter
        #: reads the store only once its task is not among them
        self._live: set[str] = set()
        #: how many in-process waiters each task has, and the rows of those that ended (as
        #: stored: a waiter reads its task's end from here, not from the store again)
        self._waiting: dict[str, int] = {}
        self._ended: dict[str, dict[str, t.Any]] = {}
        self._runners: dict[str, EngineRunner] = {}
        self._runners_lock = threading.Lock()
        self._closed = False
        self._registry: tuple[int | None, dict[str, t.Any]] = (None, {})
        # registered functions tasks were submitted to, read once (a function never
        # changes; a delete drops it, and bumps the generation so a read that raced with
        # the delete is not kept)
        self._functions: dict[str, dict[str, t.Any]] = {}
        self._functions_lock = threading.Lock()
        self._functions_generation = 0
        #: the embedded default (started with the service: its workers are warm)
        self.pool = SlotPool(
            workers or _default_pool_size(),
            endpoint_id=DEFAULT_ENDPOINT_ID,
            run_dir=str(self._run_dir("default")),
            start=self._on_start,
            done=self._on_done,
        )
        self._recover()

    # ---- functions

    def register_function(self, doc: dict[str, t.Any]) -> str:
        """Store a function registration document (``POST /v3/functions`` body)."""
        name = doc.get("function_name")
        code = doc.get("function_code")
        if not isinstance(name, str) or not name:
            raise BadRequest("The function registration has no 'function_name'; send one.")
        if not isinstance(code, str) or not code:
            raise BadRequest(
                f"The registration of function {name!r} has no 'function_code'; send the "
                "code packed by globus-compute-sdk's ComputeSerializer."
            )
        metadata = doc.get("meta") or doc.get("metadata") or {}
        if not isinstance(metadata, dict):
            raise BadRequest("The function registration's 'meta' must be an object.")
        metadata = {**metadata, "serialized": bool(doc.get("serialized", True))}
        return self.store.add_function(
            function_name=name,
            function_code=code,
            description=doc.get("description"),
            metadata=metadata,
            public=bool(doc.get("public", False)),
            group=doc.get("group"),
        )

    def get_function(self, function_id: str) -> dict[str, t.Any]:
        fn = self.store.get_function(str(function_id))
        if fn is None:
            raise FunctionNotFound(str(function_id))
        return fn

    def delete_function(self, function_id: str) -> None:
        try:
            if not self.store.delete_function(str(function_id)):
                raise FunctionNotFound(str(function_id))
        finally:
            with self._functions_lock:
                self._functions.pop(str(function_id), None)
                self._functions_generation += 1

    def _function_of_tasks(self, function_id: str) -> dict[str, t.Any]:
        # get_function for submissions, kept in memory: the function's code and metadata
        # as they were registered (callers only read it)
        with self._functions_lock:
            fn = self._functions.get(function_id)
            generation = self._functions_generation
        if fn is not None:
            return fn
        fn = self.get_function(function_id)
        with self._functions_lock:
            if generation == self._functions_generation:
                if len(self._functions) >= _FUNCTIONS_KEPT:
                    self._functions.pop(next(iter(self._functions)))
                self._functions[function_id] = fn
        return fn

    # ---- tasks

    def submit(
        self,
        endpoint_id: str,
        function_id: str,
        args: list[t.Any] | tuple[t.Any, ...] | None = None,
        kwargs: dict[str, t.Any] | None = None,
        *,
        timeout: float | None = None,
        task_group_id: str | None = None,
    ) -> str:
        """Run ``function_id(*args, **kwargs)`` on the pool; return the new task id.

        ``timeout`` (seconds) stops the task's worker when it runs longer, failing it.
        """
        serializer = self._get_serializer()
        payload = pack_arguments(serializer, tuple(args or ()), dict(kwargs or {}))
        _group, ids = self.submit_packed(
            str(endpoint_id),
            {str(function_id): [payload]},
            task_group_id=task_group_id,
            timeout=timeout,
        )
        return ids[str(function_id)][0]

    def submit_packed(
        self,
        endpoint_id: str,
        tasks: dict[str, list[str]],
        *,
        task_group_id: str | None = None,
        timeout: float | None = None,
    ) -> tuple[str, dict[str, list[str]]]:
        """Queue already-serialized payloads (the v3 submit ``tasks`` map).

        Returns the task group id and, per function id, the new task ids in order.
        """
        functions = {}
        for fid in tasks:
            functions[fid] = self._function_of_tasks(str(fid))
        group = str(task_group_id or uuid.uuid4())
        rows: list[dict[str, t.Any]] = []
        ids: dict[str, list[str]] = {}
        for fid, payloads in tasks.items():
            if not isinstance(payloads, list) or not all(isinstance(p, str) for p in payloads):
                raise BadRequest(
                    f"The tasks for function {fid!r} must be a list of serialized payloads."
                )
            for payload in payloads:
                tid = str(uuid.uuid4())
                ids.setdefault(fid, []).append(tid)
                rows.append(
                    {
                        "task_id": tid,
                        "function_uuid": fid,
                        "endpoint_id": str(endpoint_id),
                        "task_group_id": group,
                        "payload": payload,
                        "timeout": timeout,
                    }
                )
        runner = self._runner(str(endpoint_id))
        # tasks for idle workers of the embedded default are recorded as running at once
        reserved = runner.reserve(len(rows)) if isinstance(runner, SlotPool) else []
        for row in rows[: len(reserved)]:
            row["status"] = "running"
        try:
            self.store.add_tasks(rows)
        except BaseException:
            self.pool.unreserve(reserved)
            raise
        for k, row in enumerate(rows):
            job = self._job(row, functions[row["function_uuid"]])
            self._hand_off(job, runner, reserved[k] if k < len(reserved) else None)
        return group, ids

    def get_task(self, task_id: str) -> dict[str, t.Any]:
        """The task as the flow engine wants it: status, result (a Python value), exception."""
        row = self.store.get_task(str(task_id))
        if row is None:
            raise TaskNotFound(str(task_id))
        return self._public(row)

    def get_task_row(self, task_id: str) -> dict[str, t.Any]:
        row = self.store.get_task(str(task_id))
        if row is None:
            raise TaskNotFound(str(task_id))
        return row

    def wait(self, task_id: str, timeout: float | None = None) -> dict[str, t.Any]:
        """Block until the task ends (or ``timeout`` passes); return :meth:`get_task`."""
        deadline = None if timeout is None else time.monotonic() + timeout
        task_id = str(task_id)
        with self._cond:
            self._waiting[task_id] = self._waiting.get(task_id, 0) + 1
            try:
                while True:
                    row = self._ended.get(task_id)
                    if row is not None:  # ended while this waited: as it was stored
                        return self._public({**row, "details": json.loads(row["details"])})
                    doc = None
                    if task_id not in self._live:  # ended (or not run here): read it
                        doc = self.get_task(task_id)
                        if doc["status"] in TERMINAL_STATUSES:
                            return doc
                    remaining = None if deadline is None else deadline - time.monotonic()
                    if remaining is not None and remaining <= 0:
                        return self.get_task(task_id) if doc is None else doc
                    self._cond.wait(remaining)
            finally:
                left = self._waiting.pop(task_id) - 1
                if left:
                    self._waiting[task_id] = left
                else:
                    self._ended.pop(task_id, None)

    def add_done_callback(self, task_id: str, callback: DoneCallback) -> None:
        """Call ``callback(task_doc)`` once the task has ended (at once if it already has).

        Callbacks run on a pool thread: hand work to your own loop from there
        (e.g. ``IOLoop.add_callback``).
        """
        with self._cond:
            doc = self.get_task(task_id)
            if doc["status"] not in TERMINAL_STATUSES:
                self._callbacks.setdefault(str(task_id), []).append(callback)
                return
        callback(doc)

    def cancel(self, task_id: str) -> bool:
        """Cancel a task that has not ended; True if it was pending or running."""
        row = self.get_task_row(task_id)
        if row["status"] == "pending" and self.store.cancel_pending(
            row["task_id"],
            f"gladier_jupyter.local.compute.TaskCancelled: Task {row['task_id']} "
            "was cancelled before it started.\n",
        ):
            self._notify(row["task_id"])
            return True
        # started meanwhile, or running: stop its worker
        return self._runner(row["endpoint_id"]).cancel_running(row["task_id"])

    def endpoint_status(self, endpoint_id: str) -> dict[str, t.Any]:
        """What ``GET /v2/endpoints/{id}/status`` answers: the engine's workers and tasks."""
        endpoint = self._endpoint(endpoint_id)
        if endpoint is None:
            details = {"endpoint": "default", **self.pool.status()}
        else:
            with self._runners_lock:
                runner = self._runners.get(endpoint.uuid)
            details = {**endpoint.describe(),
                       **(runner.status() if runner else {"started": False})}
            details["endpoint"] = details.pop("name")
        return {"status": "online", "details": details}

    def close(self) -> None:
        """Stop every engine and its processes (the default's workers, Parsl's interchange
        and managers, provider blocks), then the store."""
        self._closed = True
        with self._runners_lock:
            runners = list(self._runners.values())
            self._runners.clear()
        for runner in runners:
            runner.close()
        self.pool.close()
        self.store.close()

    # ---- engines

    def _run_dir(self, name: str) -> pathlib.Path:
        root = self.ctx.state_dir / "compute-run"
        for folder in (root, root / name):
            folder.mkdir(mode=0o700, exist_ok=True)
            if folder.is_symlink():
                raise RuntimeError(f"{folder} is a symbolic link; remove it.")
        return root / name

    def _endpoint(self, endpoint_id: str) -> t.Any:
        from . import endpoints

        # read again only when an endpoint was added or removed (the folder's mtime)
        try:
            stamp = os.stat(self.ctx.state_dir / endpoints.FOLDER).st_mtime_ns
        except OSError:
            stamp = None
        if self._registry[0] != stamp or stamp is None:
            try:
                found = {e.uuid: e for e in endpoints.list_endpoints(self.ctx.state_dir)}
            except Exception:
                logging.getLogger(__name__).exception("the local endpoint registry is unreadable")
                found = {}
            self._registry = (stamp, found)
        return self._registry[1].get(str(endpoint_id))

    def _runner(self, endpoint_id: str) -> SlotPool | EngineRunner:
        if endpoint_id == DEFAULT_ENDPOINT_ID:
            return self.pool
        endpoint = self._endpoint(endpoint_id)
        if endpoint is None:
            return self.pool
        with self._runners_lock:
            runner = self._runners.get(endpoint.uuid)
            if runner is None:
                from .engines import build_engine

                config = endpoint.config
                runner = EngineRunner(
                    lambda: build_engine(config, where=f"The config of endpoint {endpoint.name!r}"),
                    endpoint_id=endpoint.uuid,
                    run_dir=str(self._run_dir(endpoint.name)),
                    start=self._on_start,
                    done=self._on_done,
                )
                self._runners[endpoint.uuid] = runner
        return runner

    def _hand_off(
        self, job: Job, runner: SlotPool | EngineRunner, reserved: int | None = None
    ) -> None:
        """Give ``job`` to its endpoint's ``runner``; ``reserved``: the embedded default's
        slot that :meth:`SlotPool.reserve` took for it."""
        with self._cond:
            self._live.add(job.task_id)  # _notify takes it out
        if reserved is not None and isinstance(runner, SlotPool):
            runner.submit(job, reserved)
        else:
            runner.submit(job)

    # ---- internals

    def _get_serializer(self) -> t.Any:
        if self._serializer is None:
            import_engine_modules()
            from globus_compute_sdk.serialize import ComputeSerializer

            self._serializer = ComputeSerializer()
        return self._serializer

    def _job(self, row: dict[str, t.Any], fn: dict[str, t.Any]) -> Job:
        return Job(
            task_id=row["task_id"],
            function_uuid=fn["function_uuid"],
            function_code=fn["function_code"],
            function_name=fn["function_name"],
            serialized=bool(fn["metadata"].get("serialized", True)),
            payload=row["payload"],
            timeout=row.get("timeout"),
            endpoint_id=row["endpoint_id"],
            task_group_id=row.get("task_group_id"),
        )

    def _recover(self) -> None:
        for row in self.store.unfinished():
            if row["status"] == "running":
                self.store.finish(
                    row["task_id"],
                    status="failed",
                    exception="gladier_jupyter.local.compute.ServiceStopped: The local Compute "
                    f"service stopped while task {row['task_id']} was running (handed to "
                    "its endpoint's engine); it did not finish and is not run again, as it "
                    "may have run in part. Submit it again.\n",
                )
                continue
            fn = self.store.get_function(row["function_uuid"])
            if fn is None:
                self.store.finish(
                    row["task_id"],
                    status="failed",
                    exception="gladier_jupyter.local.compute.FunctionNotFound: Function "
                    f"{row['function_uuid']} was deleted before task {row['task_id']} ran.\n",
                )
                continue
            self._hand_off(self._job(row, fn), self._runner(row["endpoint_id"]))

    def _on_start(self, job: Job) -> bool:
        return self.store.mark_running(job.task_id)

    def _on_done(self, job: Job, outcome: Outcome) -> None:
        details = json.dumps(outcome.details or {})
        completed = self.store.finish(
            job.task_id,
            status=outcome.status,
            result=outcome.result,
            result_json=outcome.result_json,
            exception=outcome.exception,
            details_json=details,
        )
        row = None
        if completed is not None:  # this call ended it: the row as stored
            row = {
                "task_id": job.task_id,
                "status": outcome.status,
                "result": outcome.result,
                "result_json": outcome.result_json,
                "exception": outcome.exception,
                "completion_t": completed,
                "function_uuid": job.function_uuid,
                "endpoint_id": job.endpoint_id,
                "task_group_id": job.task_group_id,
                "details": details,
            }
        self._notify(job.task_id, row)

    def _notify(self, task_id: str, row: dict[str, t.Any] | None = None) -> None:
        with self._cond:
            self._live.discard(task_id)
            if row is not None and task_id in self._waiting:
                self._ended[task_id] = row
            callbacks = self._callbacks.pop(task_id, [])
            self._cond.notify_all()
        if callbacks:
            doc = self.get_task(task_id)
            for callback in callbacks:
                try:
                    callback(doc)
                except Exception:  # a caller's bug must not stop the pool
                    logging.getLogger(__name__).exception("a Compute task callback failed")

    def _public(self, row: dict[str, t.Any]) -> dict[str, t.Any]:
        result: t.Any = None
        if row["status"] == "success":
            if row["result_json"] is not None:
                result = json.loads(row["result_json"])
            elif row["result"] is not None:
                result = self._get_serializer().deserialize(row["result"])
        return {
            "task_id": row["task_id"],
            "status": row["status"],
            "result": result,
            "exception": row["exception"],
            "completion_t": None if row["completion_t"] is None else str(row["completion_t"]),
            "function_id": row["function_uuid"],
            "endpoint_id": row["endpoint_id"],
            "task_group_id": row["task_group_id"],
            "details": row["details"],
        }
