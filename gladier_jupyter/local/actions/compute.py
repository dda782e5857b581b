"""The Globus Compute action provider, run against the local Compute service.

Accepts both bodies the real provider does:

- v2: ``{"tasks": [{"endpoint", "function", "payload" | "args"/"kwargs"}]}`` (what gladier
  generates; a dict ``payload`` becomes the function's keyword arguments), or one such task
  at the top level;
- v3: ``{"endpoint_id", "function_id", "args", "kwargs"}`` or
  ``{"endpoint_id", "tasks": [{"function_id", "args", "kwargs"}]}``.

Like the real provider, ``details.result`` lists each task's return value in order and
``details.results`` each task's ``{task_id, status, output}``; a failed task fails the
action with the compute service's remote ``exception`` under ``details.exception``.
"""

from __future__ import annotations

import json
import threading
import typing as t

from gladier_jupyter.local.actions import ActionHandle, ActionRequest, ActionUnableToRun
from gladier_jupyter.local.compute.errors import TaskNotFound

SCOPE = "https://auth.globus.org/scopes/facd7ccc-c5f4-42aa-916b-a0e270e2c2a9/all"
TERMINAL = ("success", "failed")


def task_list(body: t.Any, v3: bool) -> list[tuple[str, str, list[t.Any], dict[str, t.Any]]]:
    """``(endpoint, function, args, kwargs)`` of each task of a compute action body, v2 or
    v3 (a dict ``payload`` is the keyword arguments): what the function is called with."""
    if not isinstance(body, dict):
        raise ActionUnableToRun(f"The compute action needs an object body, not {type(body).__name__}.")
    out = []
    if "tasks" in body:
        tasks = body["tasks"]
        if not isinstance(tasks, list) or not tasks:
            raise ActionUnableToRun("The compute action's 'tasks' must be a non-empty list.")
    else:
        tasks = [body]
    for i, task in enumerate(tasks):
        if not isinstance(task, dict):
            raise ActionUnableToRun(f"tasks[{i}] of the compute action is not an object.")
        endpoint = task.get("endpoint_id", task.get("endpoint", body.get("endpoint_id")))
        function = task.get("function_id", task.get("function"))
        if not endpoint:
            raise ActionUnableToRun(f"tasks[{i}] of the compute action has no endpoint (endpoint / endpoint_id).")
        if not function:
            raise ActionUnableToRun(f"tasks[{i}] of the compute action has no function (function / function_id).")
        args = task.get("args", [])
        kwargs = task.get("kwargs", {})
        if "payload" in task:
            payload = task["payload"]
            if isinstance(payload, dict):
                kwargs = {**payload, **(kwargs or {})}
            else:
                args = [payload]
        if not isinstance(args, list):
            args = [args]
        if not isinstance(kwargs, dict):
            raise ActionUnableToRun(f"tasks[{i}].kwargs of the compute action must be an object.")
        out.append((str(endpoint), str(function), args, kwargs))
    return out


def _json_default(value: t.Any) -> t.Any:
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    isoformat = getattr(value, "isoformat", None)
    if callable(isoformat):
        return isoformat()
    return repr(value)


def jsonable(value: t.Any) -> t.Any:
    """A function's return value as the JSON the flow document can hold (sets and tuples
    become lists, dates ISO strings, anything else its repr)."""
    return json.loads(json.dumps(value, default=_json_default))


class ComputeHandle(ActionHandle):
    def __init__(self, service: t.Any, task_ids: list[str]):
        self.service = service
        self.task_ids = task_ids
        self._lock = threading.Lock()
        self._callback: t.Callable[[], None] | None = None
        self._left: int | None = None  # tasks not yet ended, once notify has registered

    def poll(self) -> tuple[str, dict[str, t.Any]]:
        docs = [self.service.get_task(tid) for tid in self.task_ids]
        if any(d["status"] not in TERMINAL for d in docs):
            running = sum(d["status"] == "running" for d in docs)
            return "ACTIVE", {
                "task_ids": list(self.task_ids),
                "status": "running" if running else "pending",
                "results": [{"task_id": d["task_id"], "status": d["status"]} for d in docs],
            }
        results = [
            {
                "task_id": d["task_id"],
                "status": d["status"],
                "output": jsonable(d.get("result")) if d["status"] == "success" else None,
                **({"exception": d.get("exception")} if d["status"] != "success" else {}),
            }
            for d in docs
        ]
        details: dict[str, t.Any] = {
            "task_id": self.task_ids[0],
            "task_ids": list(self.task_ids),
            "result": [r["output"] for r in results],
            "results": results,
        }
        failed = [d for d in docs if d["status"] != "success"]
        if failed:
            details["exception"] = failed[0].get("exception")
            details["status"] = "failed"
            return "FAILED", details
        details["status"] = "success"
        return "SUCCEEDED", details

    def wait(self, timeout: float) -> None:
        for tid in self.task_ids:
            doc = self.service.wait(tid, timeout=timeout)
            if doc["status"] not in TERMINAL:
                return

    def notify(self, callback: t.Callable[[], None]) -> bool:
        """Call ``callback()`` when every task has ended: the compute service calls back
        as each one ends, so nothing polls its store meanwhile."""
        with self._lock:
            self._callback = callback
            if self._left is not None:  # registered already: the latest callback is told
                if self._left > 0:
                    return True
                ended = True
            else:
                self._left = len(self.task_ids)
                ended = False
        if ended:
            callback()
            return True
        try:
            for tid in self.task_ids:
                self.service.add_done_callback(tid, self._one_ended)
        except Exception:
            with self._lock:
                self._left = None  # not all registered: the engine polls, which says why
            raise
        return True

    def _one_ended(self, _doc: dict[str, t.Any]) -> None:
        with self._lock:
            self._left = (self._left or 1) - 1
            callback = self._callback if self._left == 0 else None
        if callback is not None:
            callback()

    def cancel(self) -> None:
        for tid in self.task_ids:
            try:
                self.service.cancel(tid)
            except TaskNotFound:  # gone (an ended task just answers False)
                pass


class ComputeProvider:
    scope = SCOPE

    def __init__(self, v3: bool = False):
        self.v3 = v3

    def start(self, body: t.Any, request: ActionRequest) -> ActionHandle:
        service = request.ctx.services.get("compute")
        if service is None:
            raise ActionUnableToRun("The local Compute service is not available in this build.")
        tasks = task_list(body, self.v3)
        ids = []
        for endpoint, function, args, kwargs in tasks:
            try:
                ids.append(service.submit(endpoint, function, args, kwargs, timeout=request.timeout))
            except Exception as exc:  # noqa: BLE001 - the service's reason goes to the run
                raise ActionUnableToRun(
                    f"The compute service refused function {function!r}: {getattr(exc, 'message', exc)}"
                ) from None
        return ComputeHandle(service, ids)
