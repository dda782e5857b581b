"""The local Transfer service: collections are folders; tasks and access rules in SQLite.

Every operation answers with Transfer's own document (:mod:`.documents`) or raises
:class:`~.errors.TransferError` with Transfer's code; both the API routes and the Transfer
action providers (:mod:`gladier_jupyter.local.actions.transfer`) call it, as Globus's action
providers call the Transfer API. Copies and deletes run at once, inside the request.
"""

from __future__ import annotations

import fnmatch
import json
import re
import threading
import typing as t
import uuid

from gladier_jupyter.local._db import open_database
from gladier_jupyter.local._http import ServiceContext
from gladier_jupyter.local.actions import ActionUnableToRun, _fs
from gladier_jupyter.local.transfer import documents
from gladier_jupyter.local.transfer.collections import (
    collection_root,
    copy_items,
    describe,
    nice_status,
    open_collection,
)
from gladier_jupyter.local.transfer.errors import TransferError, bad_request

__all__ = ["TransferService"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tasks (task_id TEXT PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS acl (rule_id TEXT PRIMARY KEY, collection_id TEXT NOT NULL, doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS acl_by_collection ON acl (collection_id);
"""

PRINCIPAL_TYPES = ("identity", "group", "all_authenticated_users", "anonymous")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
MAX_LIST = 100_000


def _link(task_id: str) -> dict[str, str]:
    return {"DATA_TYPE": "link", "href": f"/v0.10/task/{task_id}?format=json", "rel": "related",
            "resource": "task", "title": "related task"}


class TransferService:
    def __init__(self, ctx: ServiceContext):
        self.ctx = ctx
        self._lock = threading.Lock()
        self._db = open_database(ctx.db_path("transfer"), _SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- collections and paths -----------------------------------------------------------------
    def _root(self, collection_id: str) -> t.Any:
        try:
            return collection_root(self.ctx.state_dir, str(collection_id))
        except ActionUnableToRun as exc:
            raise bad_request(str(exc)) from None

    def _open(self, collection_id: str) -> _fs.Collection:
        try:
            return open_collection(self.ctx.state_dir, str(collection_id))
        except ActionUnableToRun as exc:
            raise bad_request(str(exc)) from None

    @staticmethod
    def _parts(path: t.Any, what: str = "path") -> list[str]:
        try:
            return _fs.split_path(path, what)
        except ActionUnableToRun as exc:
            status, code = (403, "PermissionDenied") if "leaves its collection" in str(exc) else (
                400, "ClientError.BadRequest")
            raise TransferError(str(exc), http_status=status, code=code) from None

    def endpoint(self, collection_id: str) -> dict[str, t.Any]:
        root = self._root(collection_id)
        return documents.endpoint_doc(collection_id, str(root), self.ctx.username, self.ctx.identity_id)

    # -- file operations -----------------------------------------------------------------------
    def ls(self, collection_id: str, path: str, *, limit: int | None = None, offset: int = 0,
           show_hidden: bool = True, filter: str | None = None) -> dict[str, t.Any]:
        resource = f"/operation/endpoint/{collection_id}/ls"
        parts = self._parts(path)
        keep = _ls_filter(filter)
        try:
            with self._open(collection_id) as coll:
                found = _fs.listing(coll, parts)
        except _fs.LinkRefused as exc:
            raise TransferError(describe(exc), http_status=403, code="EndpointPermissionDenied",
                                resource=resource) from None
        except (FileNotFoundError, NotADirectoryError):
            raise TransferError(f"Directory {_fs.show_path(path)} not found on collection {collection_id}.",
                                http_status=404, code="ClientError.NotFound", resource=resource) from None
        entries = [documents.file_doc(name, info, target) for name, info, target in found
                   if show_hidden or not name.startswith(".")]
        entries = [e for e in entries if keep(e)]
        total = len(entries)
        page = entries[offset:offset + limit if limit is not None else None]
        shown = "/" + "/".join(parts)
        return {"DATA_TYPE": "file_list", "endpoint": collection_id, "path": shown.rstrip("/") + "/",
                "absolute_path": None, "length": len(page), "total": total, "DATA": page,
                "rename_supported": True, "symlink_supported": False}

    def stat(self, collection_id: str, path: str) -> dict[str, t.Any]:
        resource = f"/operation/endpoint/{collection_id}/stat"
        parts = self._parts(path)
        try:
            with self._open(collection_id) as coll:
                name, info, target = _fs.entry(coll, parts)
        except _fs.LinkRefused as exc:
            raise TransferError(describe(exc), http_status=403, code="EndpointPermissionDenied",
                                resource=resource) from None
        except (FileNotFoundError, NotADirectoryError):
            raise TransferError(f"Path not found: {_fs.show_path(path)} does not exist on collection "
                                f"{collection_id}.", http_status=404, code="NotFound", resource=resource) from None
        return documents.file_doc(name, info, target)

    def mkdir(self, collection_id: str, path: str) -> dict[str, t.Any]:
        resource = f"/operation/endpoint/{collection_id}/mkdir"
        parts = self._parts(path)
        try:
            with self._open(collection_id) as coll:
                _fs.make_dir(coll, parts)
        except FileExistsError:
            raise TransferError(f"Path {_fs.show_path(path)} already exists.", http_status=502,
                                code="ExternalError.MkdirFailed.Exists", resource=resource) from None
        except _fs.LinkRefused as exc:
            raise TransferError(describe(exc), http_status=403, code="EndpointPermissionDenied",
                                resource=resource) from None
        except NotADirectoryError as exc:
            raise TransferError(describe(exc), http_status=409, code="ExternalError.MkdirFailed",
                                resource=resource) from None
        return {"DATA_TYPE": "mkdir_result", "code": "DirectoryCreated",
                "message": "The directory was created successfully", "request_id": uuid.uuid4().hex[:9],
                "resource": resource}

    def rename(self, collection_id: str, old_path: t.Any, new_path: t.Any) -> dict[str, t.Any]:
        resource = f"/operation/endpoint/{collection_id}/rename"
        old, new = self._parts(old_path, "old_path"), self._parts(new_path, "new_path")
        try:
            with self._open(collection_id) as coll:
                _fs.rename(coll, old, new)
        except FileNotFoundError as exc:
            raise TransferError(describe(exc), http_status=404, code="ClientError.NotFound",
                                resource=resource) from None
        except FileExistsError as exc:
            raise TransferError(describe(exc), http_status=409, code="ExternalError.RenameFailed.Exists",
                                resource=resource) from None
        except OSError as exc:
            raise TransferError(describe(exc), http_status=403, code="EndpointPermissionDenied",
                                resource=resource) from None
        return {"DATA_TYPE": "result", "code": "FileRenamed", "message": "File or directory renamed successfully",
                "request_id": uuid.uuid4().hex[:9], "resource": resource}

    # -- tasks ---------------------------------------------------------------------------------
    def _record(self, doc: dict[str, t.Any]) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO tasks (task_id, doc) VALUES (?, ?)",
                             (doc["task_id"], json.dumps(doc)))

    def submit_transfer(self, body: dict[str, t.Any]) -> dict[str, t.Any]:
        """``POST /transfer`` (a ``TransferData`` document): copied at once; the task recorded."""
        src, dst = body.get("source_endpoint"), body.get("destination_endpoint")
        if not src or not dst:
            raise bad_request("A transfer needs source_endpoint and destination_endpoint.")
        data = body.get("DATA")
        if not isinstance(data, list) or not data:
            raise bad_request("A transfer needs a non-empty DATA list of transfer_item documents.")
        items = [i for i in data if isinstance(i, dict) and i.get("DATA_TYPE", "transfer_item") == "transfer_item"]
        doc = documents.task_doc(str(uuid.uuid4()), "TRANSFER", body, self.ctx.identity_id, self.ctx.username,
                                 str(src), str(dst), len(items))
        try:
            result = copy_items(self.ctx.state_dir, str(src), str(dst), items)
        except ActionUnableToRun as exc:
            raise bad_request(str(exc)) from None
        except OSError as exc:
            documents.finish(doc, False, nice_status=nice_status(exc), description=describe(exc))
        else:
            doc.update(files=result.files, files_transferred=result.files, bytes_transferred=result.bytes,
                       symlinks_skipped=result.symlinks_skipped, warnings=result.warnings)
            documents.finish(doc, True)
        self._record(doc)
        return {"DATA_TYPE": "transfer_result", "task_id": doc["task_id"], "submission_id": body.get("submission_id"),
                "code": "Accepted",
                "message": "The transfer has been accepted and a task has been created and queued for execution",
                "request_id": uuid.uuid4().hex[:9], "resource": "/transfer", "task_link": _link(doc["task_id"])}

    def submit_delete(self, body: dict[str, t.Any]) -> dict[str, t.Any]:
        """``POST /delete`` (a ``DeleteData`` document): removed at once; the task recorded."""
        endpoint = body.get("endpoint")
        if not endpoint:
            raise bad_request("A delete needs endpoint, the collection to delete from.")
        data = body.get("DATA")
        if not isinstance(data, list) or not data:
            raise bad_request("A delete needs a non-empty DATA list of delete_item documents.")
        paths = []
        for i, item in enumerate(data):
            if not isinstance(item, dict) or "path" not in item:
                raise bad_request(f"DATA[{i}] of the delete needs a path.")
            parts = self._parts(item["path"])
            if not parts:
                raise bad_request(f"DATA[{i}].path is the collection's root folder, which cannot be deleted.")
            paths.append((str(item["path"]), parts))
        doc = documents.task_doc(str(uuid.uuid4()), "DELETE", body, self.ctx.identity_id, self.ctx.username,
                                 str(endpoint), None, len(paths))
        recursive, ignore_missing = bool(body.get("recursive", False)), bool(body.get("ignore_missing", False))
        deleted = 0
        try:
            with self._open(str(endpoint)) as coll:
                for shown, parts in paths:
                    if _fs.delete(coll, parts, recursive=recursive):
                        deleted += 1
                    elif not ignore_missing:
                        raise FileNotFoundError(f"{shown} does not exist")
        except OSError as exc:
            documents.finish(doc, False, nice_status=nice_status(exc), description=describe(exc))
        else:
            documents.finish(doc, True)
        doc.update(files=deleted, deleted=deleted)
        self._record(doc)
        return {"DATA_TYPE": "delete_result", "task_id": doc["task_id"], "submission_id": body.get("submission_id"),
                "code": "Accepted",
                "message": "The delete has been accepted and a task has been created and queued for execution",
                "request_id": uuid.uuid4().hex[:9], "resource": "/delete", "task_link": _link(doc["task_id"])}

    def task(self, task_id: str) -> dict[str, t.Any]:
        with self._lock:
            row = self._db.execute("SELECT doc FROM tasks WHERE task_id=?", (task_id,)).fetchone()
        if row is None:
            raise TransferError(f"Task {task_id} not found.", http_status=404, code="TaskNotFound",
                                resource=f"/task/{task_id}")
        return json.loads(row[0])

    def task_list(self, *, limit: int = 1000, offset: int = 0, filter: str | None = None) -> dict[str, t.Any]:
        """``GET /task_list``: newest first; ``filter`` as Transfer's (``status:ACTIVE,SUCCEEDED/type:TRANSFER``)."""
        wanted = _task_filter(filter)
        with self._lock:
            rows = self._db.execute("SELECT doc FROM tasks ORDER BY rowid DESC LIMIT ?", (MAX_LIST,)).fetchall()
        docs = [d for d in (json.loads(r[0]) for r in rows) if wanted(d)]
        page = docs[offset:offset + limit]
        return {"DATA_TYPE": "task_list", "DATA": page, "length": len(page), "limit": limit,
                "offset": offset, "total": len(docs)}

    # -- access rules (guest collection permissions) --------------------------------------------
    def _rule_row(self, collection_id: str, rule_id: str) -> dict[str, t.Any]:
        with self._lock:
            row = self._db.execute("SELECT doc FROM acl WHERE rule_id=? AND collection_id=?",
                                   (str(rule_id), str(collection_id))).fetchone()
        if row is None:
            raise TransferError(f"Access rule {str(rule_id)[:80]!r} not found on collection {collection_id}.",
                                http_status=404, code="AccessRuleNotFound",
                                resource=f"/endpoint/{collection_id}/access/{rule_id}")
        return json.loads(row[0])

    def acl_list(self, collection_id: str) -> dict[str, t.Any]:
        self._root(collection_id)
        with self._lock:
            rows = self._db.execute("SELECT doc FROM acl WHERE collection_id=? ORDER BY rowid",
                                    (str(collection_id),)).fetchall()
        rules = [json.loads(r[0]) for r in rows]
        return {"DATA_TYPE": "access_list", "endpoint": collection_id, "DATA": rules, "length": len(rules),
                "total": len(rules), "offset": 0, "limit": len(rules)}

    def acl_get(self, collection_id: str, rule_id: str) -> dict[str, t.Any]:
        return self._rule_row(collection_id, rule_id)

    def acl_create(self, collection_id: str, rule: t.Any) -> dict[str, t.Any]:
        resource = f"/endpoint/{collection_id}/access"
        self._root(collection_id)
        if not isinstance(rule, dict):
            raise bad_request("An access rule must be a JSON object.")
        principal_type, principal = rule.get("principal_type"), rule.get("principal", "")
        if principal_type not in PRINCIPAL_TYPES:
            raise bad_request(f"principal_type {str(principal_type)[:40]!r} is not one of {', '.join(PRINCIPAL_TYPES)}.")
        if principal_type in ("identity", "group"):
            if not isinstance(principal, str) or not _UUID.match(principal):
                raise bad_request(f"principal {str(principal)[:60]!r} must be the UUID of the {principal_type}.")
        elif principal not in ("", None):
            raise bad_request(f"principal must be empty for principal_type {principal_type!r}, "
                              f"not {str(principal)[:60]!r}.")
        permissions = rule.get("permissions")
        if permissions not in ("r", "rw"):
            raise bad_request(f"permissions {str(permissions)[:20]!r} must be 'r' or 'rw'.")
        path = rule.get("path")
        self._parts(path)  # a string, or a 400
        assert isinstance(path, str)
        path = path if path.endswith("/") else path + "/"  # rules apply to folders
        with self._lock:
            rows = self._db.execute("SELECT doc FROM acl WHERE collection_id=?", (str(collection_id),)).fetchall()
        for row in rows:
            other = json.loads(row[0])
            if (other["path"], other["principal_type"], other["principal"]) == (path, principal_type, principal or ""):
                raise TransferError(f"An access rule for this principal on {path!r} already exists "
                                    f"({other['id']}); update it instead.", http_status=409, code="Exists",
                                    resource=resource)
        doc = {"DATA_TYPE": "access", "id": str(uuid.uuid4()), "path": path, "permissions": permissions,
               "principal_type": principal_type, "principal": principal or "", "role_id": None,
               "role_type": None, "create_time": documents.now(), "expiration_date": rule.get("expiration_date"),
               "notify_email": rule.get("notify_email")}
        with self._lock:
            self._db.execute("INSERT INTO acl (rule_id, collection_id, doc) VALUES (?, ?, ?)",
                             (doc["id"], str(collection_id), json.dumps(doc)))
        return {"DATA_TYPE": "access_create_result", "code": "Created", "message": "Access rule created successfully.",
                "access_id": doc["id"], "resource": resource, "request_id": uuid.uuid4().hex[:9]}

    def acl_update(self, collection_id: str, rule_id: str, change: t.Any) -> dict[str, t.Any]:
        doc = self._rule_row(collection_id, rule_id)
        permissions = change.get("permissions") if isinstance(change, dict) else None
        if permissions not in ("r", "rw"):
            raise bad_request(f"permissions {str(permissions)[:20]!r} must be 'r' or 'rw'.")
        doc["permissions"] = permissions
        if isinstance(change, dict) and "expiration_date" in change:
            doc["expiration_date"] = change["expiration_date"]
        with self._lock:
            self._db.execute("UPDATE acl SET doc=? WHERE rule_id=?", (json.dumps(doc), doc["id"]))
        return {"DATA_TYPE": "result", "code": "Updated", "message": f"Updated access rule {doc['id']}",
                "resource": f"/endpoint/{collection_id}/access/{doc['id']}", "request_id": uuid.uuid4().hex[:9]}

    def acl_delete(self, collection_id: str, rule_id: str) -> dict[str, t.Any]:
        doc = self._rule_row(collection_id, rule_id)
        with self._lock:
            self._db.execute("DELETE FROM acl WHERE rule_id=?", (doc["id"],))
        return {"DATA_TYPE": "result", "code": "Deleted", "message": f"Access rule '{doc['id']}' deleted successfully",
                "resource": f"/endpoint/{collection_id}/access/{doc['id']}", "request_id": uuid.uuid4().hex[:9]}


def _ls_filter(spec: t.Any) -> t.Callable[[dict[str, t.Any]], bool]:
    """Transfer's ls ``filter``: ``/``-separated ``name:``/``type:`` rules, ``~`` for a glob,
    ``!`` to negate, ``,`` for alternatives (https://docs.globus.org/api/transfer/file_operations/)."""
    if spec in (None, ""):
        return lambda entry: True
    if not isinstance(spec, str) or len(spec) > 1000:
        raise bad_request("filter must be a string of at most 1000 characters.")
    rules = []
    for part in spec.split("/"):
        field, sep, value = part.partition(":")
        if not sep or field not in ("name", "type"):
            raise bad_request(f"filter {spec[:80]!r} is not understood: use name:NAME, name:~GLOB or type:file,dir.")
        neg, glob = value.startswith("!"), False
        value = value[1:] if neg else value
        if value.startswith("~"):
            glob, value = True, value[1:]
        rules.append((field, neg, glob, value.split(",") if field == "type" or not glob else [value]))

    def keep(entry: dict[str, t.Any]) -> bool:
        for field, neg, glob, values in rules:
            hit = any(fnmatch.fnmatchcase(entry[field], v) if glob else entry[field] == v for v in values)
            if hit == neg:
                return False
        return True

    return keep


def _task_filter(spec: t.Any) -> t.Callable[[dict[str, t.Any]], bool]:
    if spec in (None, ""):
        return lambda doc: True
    if not isinstance(spec, str) or len(spec) > 1000:
        raise bad_request("filter must be a string of at most 1000 characters.")
    wanted: dict[str, set[str]] = {}
    for part in spec.split("/"):
        field, sep, values = part.partition(":")
        if not sep or field not in ("status", "type", "task_id", "label"):
            raise bad_request(f"filter {spec[:80]!r} is not understood: use status:, type:, task_id: or label:.")
        wanted[field] = set(values.split(","))
    return lambda doc: all(str(doc.get(f)) in vs for f, vs in wanted.items())


