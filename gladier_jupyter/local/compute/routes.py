"""HTTP routes of the local Compute API (the paths globus-compute-sdk's ``Client`` calls).

Stateless: parse the request, call the :class:`ComputeService`, serialise its answer in
the Compute service's documented shape.
"""

from __future__ import annotations

import typing as t
import uuid

from gladier_jupyter.local._http import ApiHandler, MiB, ServiceContext

from .errors import BadRequest, ComputeError
from .service import API_VERSION, ComputeService

__all__ = ["routes", "task_document"]

#: Function registrations and task submissions. Globus Compute limits a submission's data
#: to 5 MB (its docs' "Limits" page, funcx.readthedocs.io/en/latest/limits.html); the
#: local service takes twice that.
SUBMIT_BODY_SIZE = 10 * MiB

_MIN_SDK_VERSION = "1.0.0a6"
_MIN_ENDPOINT_VERSION = "1.0.0a0"


def task_document(row: dict[str, t.Any]) -> dict[str, t.Any]:
    """A task as ``GET /v2/tasks/{id}`` returns it."""
    status = row["status"]
    if status == "pending":
        return {"task_id": row["task_id"], "status": "waiting-for-ep", "details": None}
    if status == "running":
        return {"task_id": row["task_id"], "status": "running", "details": None}
    doc: dict[str, t.Any] = {
        "task_id": row["task_id"],
        "status": status,
        "completion_t": str(row["completion_t"]),
        "details": {**(row["details"] or {}), "endpoint_id": row["endpoint_id"]},
    }
    if status == "success":
        doc["result"] = row["result"]
    else:
        doc["exception"] = row["exception"]
    return doc


class _Handler(ApiHandler):
    error_class = ComputeError

    @property
    def service(self) -> ComputeService:
        return self.ctx.services["compute"]

    def body_object(self) -> dict[str, t.Any]:
        body = self.json_body()
        if not isinstance(body, dict):
            raise BadRequest("The request body must be a JSON object.")
        return body


class VersionHandler(_Handler):
    def get(self) -> None:
        service = self.get_query_argument("service", None)
        if service is None:
            self.write_json(API_VERSION)
            return
        self.write_json(
            {
                "api": API_VERSION,
                "min_sdk_version": _MIN_SDK_VERSION,
                "min_endpoint_version": _MIN_ENDPOINT_VERSION,
                # what globus-compute-sdk's Client.version_check reads
                "min_ep_version": _MIN_ENDPOINT_VERSION,
                "git_sha": "local",
            }
        )


class FunctionsHandler(_Handler):
    max_body_size = SUBMIT_BODY_SIZE

    def post(self) -> None:
        function_uuid = self.service.register_function(self.body_object())
        self.write_json({"function_uuid": function_uuid})


class FunctionHandler(_Handler):
    def get(self, function_id: str) -> None:
        fn = self.service.get_function(function_id)
        metadata = {k: v for k, v in fn["metadata"].items() if k != "serialized"}
        self.write_json(
            {
                "function_uuid": fn["function_uuid"],
                "function_name": fn["function_name"],
                "function_code": fn["function_code"],
                "description": fn["description"],
                "metadata": metadata,
            }
        )

    def delete(self, function_id: str) -> None:
        self.service.delete_function(function_id)
        self.write_json({"result": 302})


def _check_uuid(value: str, what: str) -> str:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise BadRequest(f"The {what} {value!r} is not a UUID.") from None


class SubmitV3Handler(_Handler):
    max_body_size = SUBMIT_BODY_SIZE

    def post(self, endpoint_id: str) -> None:
        endpoint_id = _check_uuid(endpoint_id, "endpoint id")
        body = self.body_object()
        tasks = body.get("tasks")
        if not isinstance(tasks, dict) or not tasks:
            raise BadRequest(
                "The submission has no 'tasks'; send a map of function id to a list of "
                "serialized payloads."
            )
        group, ids = self.service.submit_packed(
            endpoint_id, tasks, task_group_id=body.get("task_group_id")
        )
        self.write_json(
            {
                "request_id": str(uuid.uuid4()),
                "task_group_id": group,
                "endpoint_id": endpoint_id,
                "tasks": ids,
            }
        )


class SubmitV2Handler(_Handler):
    """The older batch form: ``tasks`` is a list of ``[function, endpoint, payload]``."""
    max_body_size = SUBMIT_BODY_SIZE


    def post(self) -> None:
        body = self.body_object()
        tasks = body.get("tasks")
        if not isinstance(tasks, list) or not tasks:
            raise BadRequest(
                "The submission has no 'tasks'; send a list of "
                "[function_uuid, endpoint_uuid, payload] triples."
            )
        group = str(body.get("task_group_id") or uuid.uuid4())
        results = []
        for item in tasks:
            if not (isinstance(item, list) and len(item) == 3):
                raise BadRequest(
                    f"The task {item!r} is not a [function_uuid, endpoint_uuid, payload] triple."
                )
            fid, eid, payload = item
            eid = _check_uuid(eid, "endpoint id")
            _group, ids = self.service.submit_packed(
                eid, {str(fid): [payload]}, task_group_id=group
            )
            results.append(
                {
                    "status": "success",
                    "task_uuid": ids[str(fid)][0],
                    "http_status_code": 200,
                    "reason": None,
                }
            )
        self.write_json({"response": "success", "task_group_id": group, "results": results})


class TaskHandler(_Handler):
    def get(self, task_id: str) -> None:
        self.write_json(task_document(self.service.get_task_row(task_id)))


class BatchStatusHandler(_Handler):
    def post(self) -> None:
        body = self.body_object()
        task_ids = body.get("task_ids")
        if not isinstance(task_ids, list):
            raise BadRequest("The batch status request needs 'task_ids', a list of task ids.")
        rows = self.service.store.get_tasks(str(tid) for tid in task_ids)
        self.write_json(
            {"response": "batch", "results": {tid: task_document(r) for tid, r in rows.items()}}
        )


class TaskGroupHandler(_Handler):
    def get(self, task_group_id: str) -> None:
        tasks = self.service.store.task_group(task_group_id)
        if not tasks:
            raise ComputeError(
                f"Task group {task_group_id!r} is not known to the local Compute service.",
                http_status=404,
                code="TASK_GROUP_NOT_FOUND",
            )
        self.write_json(
            {
                "taskgroup_id": task_group_id,
                "create_websockets_queue": False,
                "tasks": [
                    {"id": task["task_id"], "created_at": _iso(task["created"])} for task in tasks
                ],
            }
        )


def endpoint_document(ctx: ServiceContext, endpoint_id: str) -> dict[str, t.Any]:
    """A registered local endpoint (its config.yaml), or the embedded default, which every
    other endpoint id names. ``python_version`` / ``sdk_version`` are its workers' (what
    the notebook's pre-flight check compares); ``None`` where ``worker_init`` may change them."""
    import platform
    import socket

    from globus_compute_sdk.version import __version__ as sdk_version

    from .engines import worker_python

    endpoint = ctx.services["compute"]._endpoint(endpoint_id) if "compute" in ctx.services else None
    python_version: str | None = platform.python_version()
    name, config = "local", "engine:\n  type: ProcessPoolEngine\n"
    running_sdk = None
    if endpoint is not None:
        name, config = endpoint.name, endpoint.config
        python_version = worker_python(config)
        # once its workers have connected, a GlobusComputeEngine says what they run
        nodes = ctx.services["compute"].endpoint_status(endpoint_id)["details"].get("node_info")
        for workers in (nodes or {}).values():
            for worker in workers if isinstance(workers, list) else []:
                python_version = worker.get("python_version") or python_version
                running_sdk = worker.get("sdk_version")
    return {
        "uuid": endpoint_id,
        "name": name,
        "display_name": "Local workers (gladier-jupyter)" if endpoint is None else name,
        "multi_user": False,
        "public": False,
        "endpoint_config": config,
        "user_config_template": "",
        "user_config_schema": {},
        "description": "Runs functions in worker subprocesses of the local Globus service.",
        "hostname": socket.gethostname(),
        "local_user": ctx.username,
        "ip_address": "127.0.0.1",
        "endpoint_version": sdk_version,
        "sdk_version": running_sdk or (sdk_version if python_version else None),
        "subscription_uuid": None,
        "python_version": python_version,
    }


class EndpointHandler(_Handler):
    def get(self, endpoint_id: str) -> None:
        self.write_json(endpoint_document(self.ctx, _check_uuid(endpoint_id, "endpoint id")))


class EndpointsHandler(_Handler):
    def get(self) -> None:
        self.write_json(
            [
                {
                    "uuid": eid,
                    "name": "local",
                    "display_name": "Local workers (gladier-jupyter)",
                    "owner": self.ctx.identity_id,
                }
                for eid in self.service.store.endpoint_ids()
            ]
        )


class EndpointStatusHandler(_Handler):
    def get(self, endpoint_id: str) -> None:
        self.write_json(self.service.endpoint_status(_check_uuid(endpoint_id, "endpoint id")))


def _iso(ts: float) -> str:
    import datetime

    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S.%f"
    )


def routes(ctx: ServiceContext) -> list[tuple[str, type[ApiHandler], dict[str, t.Any]]]:
    """The Compute API's routes, relative to its root (mounted at ``/api/compute/``)."""
    kw = {"ctx": ctx}
    uid = r"([^/]+)"
    return [
        (r"v2/version", VersionHandler, kw),
        (r"v[23]/functions", FunctionsHandler, kw),
        (rf"v2/functions/{uid}", FunctionHandler, kw),
        (rf"v3/endpoints/{uid}/submit", SubmitV3Handler, kw),
        (r"v2/submit", SubmitV2Handler, kw),
        (rf"v2/tasks/{uid}", TaskHandler, kw),
        (r"v2/batch_status", BatchStatusHandler, kw),
        (rf"v2/taskgroup/{uid}", TaskGroupHandler, kw),
        (rf"v2/endpoints/{uid}/status", EndpointStatusHandler, kw),
        (rf"v2/endpoints/{uid}", EndpointHandler, kw),
        (r"v2/endpoints", EndpointsHandler, kw),
    ]
