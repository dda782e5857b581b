"""A small local Transfer API over the folders that stand for collections.

Enough of Transfer's ``v0.10`` paths for globus-sdk's ``TransferClient`` to look at local
collections and move data between them: ``endpoint/<id>``, ``operation/endpoint/<id>/ls``
and ``/mkdir``, ``submission_id``, ``transfer`` (copied at once) and ``task/<id>``. A
collection id maps to a folder as for the Transfer action provider
(:func:`gladier_jupyter.local.actions.transfer.collection_root`).
"""

from __future__ import annotations

import datetime as dt
import json
import stat
import threading
import typing as t
import uuid

from gladier_jupyter.local._db import open_database
from gladier_jupyter.local._http import ApiError, ApiHandler, MiB, ServiceContext
from gladier_jupyter.local.actions import ActionUnableToRun, _fs
from gladier_jupyter.local.actions.transfer import (
    collection_root,
    copy_items,
    describe,
    nice_status,
    open_collection,
)

__all__ = ["TransferError", "error_class", "make_service", "routes"]


class TransferError(ApiError):
    code = "ClientError"
    not_found_code = "ClientError.NotFound"

    def body(self) -> dict[str, t.Any]:
        return {"code": self.code, "message": self.message, "request_id": uuid.uuid4().hex[:9],
                "resource": None}


error_class = TransferError


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+00:00")


class TransferService:
    def __init__(self, ctx: ServiceContext):
        self.ctx = ctx
        self._lock = threading.Lock()
        self._db = open_database(
            ctx.db_path("transfer"),
            "CREATE TABLE IF NOT EXISTS tasks (task_id TEXT PRIMARY KEY, doc TEXT NOT NULL)",
        )

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _root(self, collection_id: str) -> t.Any:
        try:
            return collection_root(self.ctx.state_dir, collection_id)
        except ActionUnableToRun as exc:
            raise TransferError(str(exc), http_status=400, code="ClientError.BadRequest") from None

    def endpoint(self, collection_id: str) -> dict[str, t.Any]:
        root = self._root(collection_id)
        return {
            "DATA_TYPE": "endpoint", "id": collection_id, "display_name": f"Local collection {collection_id}",
            "entity_type": "GCSv5_mapped_collection", "description": str(root), "owner_string": self.ctx.username,
            "activated": True, "is_globus_connect": False, "gcs_version": "5.4.0", "public": False,
            "local_user_info_available": True, "default_directory": "/", "https_server": None,
            "organization": "gladier-jupyter local service", "keywords": None, "contact_email": None,
        }

    def _parts(self, path: t.Any) -> list[str]:
        try:
            return _fs.split_path(path, "path")
        except ActionUnableToRun as exc:
            status, code = (403, "PermissionDenied") if "leaves its collection" in str(exc) else (
                400, "ClientError.BadRequest")
            raise TransferError(str(exc), http_status=status, code=code) from None

    def _open(self, collection_id: str) -> _fs.Collection:
        try:
            return open_collection(self.ctx.state_dir, collection_id)
        except ActionUnableToRun as exc:
            raise TransferError(str(exc), http_status=400, code="ClientError.BadRequest") from None

    def ls(self, collection_id: str, path: str) -> dict[str, t.Any]:
        parts = self._parts(path)
        try:
            with self._open(collection_id) as coll:
                found = _fs.listing(coll, parts)
        except _fs.LinkRefused as exc:
            raise TransferError(describe(exc), http_status=403, code="PermissionDenied") from None
        except (FileNotFoundError, NotADirectoryError):
            raise TransferError(f"Directory {_fs.show_path(path)} not found on collection {collection_id}.",
                                http_status=404, code="ClientError.NotFound") from None
        entries = []
        for name, info, link_target in found:
            entries.append({
                "DATA_TYPE": "file", "name": name,
                "type": "dir" if stat.S_ISDIR(info.st_mode) else "file",
                "size": info.st_size, "permissions": oct(stat.S_IMODE(info.st_mode))[2:].zfill(4),
                "last_modified": dt.datetime.fromtimestamp(info.st_mtime, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S+00:00"),
                "link_target": link_target, "user": None, "group": None,
            })
        shown = "/" + "/".join(parts)
        return {"DATA_TYPE": "file_list", "endpoint": collection_id, "path": shown.rstrip("/") + "/",
                "absolute_path": None, "length": len(entries), "total": len(entries), "DATA": entries,
                "rename_supported": True, "symlink_supported": False}

    def mkdir(self, collection_id: str, path: str) -> dict[str, t.Any]:
        parts = self._parts(path)
        try:
            with self._open(collection_id) as coll:
                _fs.make_dir(coll, parts)
        except FileExistsError:
            raise TransferError(f"Path {_fs.show_path(path)} already exists.", http_status=502,
                                code="ExternalError.MkdirFailed.Exists") from None
        except _fs.LinkRefused as exc:
            raise TransferError(describe(exc), http_status=403, code="PermissionDenied") from None
        except NotADirectoryError as exc:
            raise TransferError(describe(exc), http_status=409, code="ExternalError.MkdirFailed") from None
        return {"DATA_TYPE": "mkdir_result", "code": "DirectoryCreated", "message": "The directory was created successfully",
                "request_id": uuid.uuid4().hex[:9], "resource": f"/operation/endpoint/{collection_id}/mkdir"}

    def transfer(self, body: dict[str, t.Any]) -> dict[str, t.Any]:
        src, dst = body.get("source_endpoint"), body.get("destination_endpoint")
        if not src or not dst:
            raise TransferError("A transfer needs source_endpoint and destination_endpoint.", http_status=400,
                                code="ClientError.BadRequest")
        data = body.get("DATA")
        items = [i for i in (data if isinstance(data, list) else []) if isinstance(i, dict) and i.get("DATA_TYPE", "transfer_item") == "transfer_item"]
        task_id = str(uuid.uuid4())
        doc: dict[str, t.Any] = {
            "DATA_TYPE": "task", "task_id": task_id, "type": "TRANSFER", "label": body.get("label"),
            "source_endpoint_id": src, "destination_endpoint_id": dst, "request_time": _now(),
            "owner_id": self.ctx.identity_id, "deadline": None, "faults": 0, "subtasks_total": len(items),
            # Globus's default, and the only behaviour here: links met while walking are skipped.
            "recursive_symlinks": "ignore", "symlinks": 0,
        }
        try:
            result = copy_items(self.ctx.state_dir, str(src), str(dst), items)
            doc.update(status="SUCCEEDED", nice_status=None, files=result.files, files_transferred=result.files,
                       bytes_transferred=result.bytes, subtasks_succeeded=len(items), subtasks_failed=0,
                       completion_time=_now(), fatal_error=None, symlinks_skipped=result.symlinks_skipped,
                       warnings=result.warnings)
        except ActionUnableToRun as exc:
            raise TransferError(str(exc), http_status=400, code="ClientError.BadRequest") from None
        except OSError as exc:
            doc.update(status="FAILED", nice_status=nice_status(exc), files=0, files_transferred=0,
                       bytes_transferred=0, subtasks_succeeded=0, subtasks_failed=len(items),
                       completion_time=_now(), fatal_error={"code": nice_status(exc), "description": describe(exc)})
        with self._lock:
            self._db.execute("INSERT INTO tasks (task_id, doc) VALUES (?, ?)", (task_id, json.dumps(doc)))
        return {"DATA_TYPE": "transfer_result", "task_id": task_id, "submission_id": body.get("submission_id"),
                "code": "Accepted", "message": "The transfer has been accepted and a task has been created and queued for execution",
                "request_id": uuid.uuid4().hex[:9], "resource": "/transfer", "task_link": {
                    "DATA_TYPE": "link", "href": f"task/{task_id}?format=json", "rel": "related", "resource": "task", "title": "related task"}}

    def task(self, task_id: str) -> dict[str, t.Any]:
        with self._lock:
            row = self._db.execute("SELECT doc FROM tasks WHERE task_id=?", (task_id,)).fetchone()
        if row is None:
            raise TransferError(f"Task {task_id} not found.", http_status=404, code="TaskNotFound")
        return json.loads(row[0])


class _Handler(ApiHandler):
    error_class = TransferError

    @property
    def transfer(self) -> TransferService:
        return self.ctx.services["transfer"]


class EndpointHandler(_Handler):
    def get(self, collection_id: str) -> None:
        self.write_json(self.transfer.endpoint(collection_id))


class LsHandler(_Handler):
    def get(self, collection_id: str) -> None:
        self.write_json(self.transfer.ls(collection_id, self.get_query_argument("path", "/")))


class MkdirHandler(_Handler):
    def post(self, collection_id: str) -> None:
        body = self.json_body()
        if not isinstance(body, dict):
            raise TransferError("The body must be a JSON object.", http_status=400, code="ClientError.BadRequest")
        self.write_json(self.transfer.mkdir(collection_id, str(body.get("path", ""))), status=202)


class SubmissionIdHandler(_Handler):
    def get(self) -> None:
        self.write_json({"value": str(uuid.uuid4())})


class TransferHandler(_Handler):
    max_body_size = 10 * MiB

    def post(self) -> None:
        body = self.json_body()
        if not isinstance(body, dict):
            raise TransferError("The body must be a JSON object.", http_status=400, code="ClientError.BadRequest")
        self.write_json(self.transfer.transfer(body), status=202)


class TaskHandler(_Handler):
    def get(self, task_id: str) -> None:
        self.write_json(self.transfer.task(task_id))


def make_service(ctx: ServiceContext) -> TransferService:
    return TransferService(ctx)


def routes(ctx: ServiceContext) -> list[tuple[str, type[ApiHandler], dict[str, t.Any]]]:
    _id = r"([0-9A-Za-z._-]+)"
    return [
        (rf"v0\.10/endpoint/{_id}", EndpointHandler, {}),
        (rf"v0\.10/operation/endpoint/{_id}/ls", LsHandler, {}),
        (rf"v0\.10/operation/endpoint/{_id}/mkdir", MkdirHandler, {}),
        (r"v0\.10/submission_id", SubmissionIdHandler, {}),
        (r"v0\.10/transfer", TransferHandler, {}),
        (rf"v0\.10/task/{_id}", TaskHandler, {}),
    ]
