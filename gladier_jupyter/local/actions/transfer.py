"""Globus's Transfer action providers, answered by the local Transfer service.

``https://transfer.actions.globus.org/<op>`` and the older ``https://actions.globus.org/transfer/<op>``
(https://docs.globus.org/api/transfer/action-providers/): ``transfer``, ``delete``, ``ls``,
``stat``, ``mkdir``, ``manage_permission`` (``set_permission``) and ``collection_info``. Each
checks its body against the input schema Globus documents (:mod:`._transfer_schemas`; a body
that breaks it is ``ActionUnableToRun`` naming the field), then calls the local Transfer service
as Globus's providers call the Transfer API, and returns that API's document as ``details``:
the task document for ``transfer`` and ``delete``, ``operation/ls``'s ``file_list`` for ``ls``...
An error of the Transfer API ends the action FAILED with Transfer's error body as ``details``,
except ``stat`` of a path that does not exist, which SUCCEEDS with that ``NotFound`` body:
Globus's own example flows ("Move", "Two Stage Transfer") test ``details.code`` for it.
"""

from __future__ import annotations

import typing as t

from gladier_jupyter.local._http import ServiceContext
from gladier_jupyter.local.actions import (
    ActionHandle,
    ActionRequest,
    ActionUnableToRun,
    DoneHandle,
    _fs,
    check_body,
)
from gladier_jupyter.local.actions._transfer_schemas import SCHEMAS
from gladier_jupyter.local.transfer.collections import collection_root, copy_items, open_collection
from gladier_jupyter.local.transfer.errors import TransferError
from gladier_jupyter.local.transfer.service import TransferService

__all__ = ["TransferAction", "TransferDeleteProvider", "TransferProvider", "collection_root", "copy_items",
           "open_collection", "provider"]

SCOPE = "https://auth.globus.org/scopes/actions.globus.org/transfer/transfer"
#: transfer.actions.globus.org uses the Transfer API's own scope (the migration page).
TRANSFER_API_SCOPE = "urn:globus:auth:scope:transfer.api.globus.org:all"

_HINTS = {
    "source_endpoint": "the source collection id; source_endpoint_id in the older spelling",
    "destination_endpoint": "the destination collection id; destination_endpoint_id in the older spelling",
    "DATA": "the list of items; transfer_items or items in the older spelling",
    "endpoint": "the collection id; endpoint_id in the older spelling",
}


def transfer_service(ctx: ServiceContext) -> TransferService:
    """The service's Transfer API object (one made for ``ctx`` when the API is not mounted)."""
    service = ctx.services.get("transfer")
    if service is None:
        service = ctx.services.setdefault("transfer", TransferService(ctx))
    return service


def _rename(body: dict[str, t.Any], old: str, new: str) -> None:
    if old in body and new not in body:
        body[new] = body.pop(old)


class TransferAction:
    """One Transfer action provider; subclasses set ``op`` and implement :meth:`run`."""

    op = ""
    title = ""
    synchronous = True

    def __init__(self, legacy: bool = True):
        self.legacy = legacy
        old = "set_permission" if self.op == "manage_permission" else self.op
        self.scope = f"https://auth.globus.org/scopes/actions.globus.org/transfer/{old}" if legacy else TRANSFER_API_SCOPE
        self.input_schema = SCHEMAS[self.op]

    def normalize(self, body: dict[str, t.Any]) -> dict[str, t.Any]:
        return body

    def paths(self, body: dict[str, t.Any]) -> t.Iterator[tuple[str, t.Any]]:
        """``(field name, path)`` of each path in the body, checked before anything runs."""
        if "path" in body:
            yield "path", body["path"]

    def start(self, body: t.Any, request: ActionRequest) -> ActionHandle:
        what = f"Transfer {self.op}"
        if not isinstance(body, dict):
            raise ActionUnableToRun(f"The {what} action needs an object body, not {type(body).__name__}.")
        body = self.normalize(dict(body))
        check_body(body, self.input_schema, what, _HINTS)
        for field, path in self.paths(body):
            _fs.split_path(path, field)
        service = transfer_service(request.ctx)
        try:
            status, details = self.run(service, body, request)
        except TransferError as exc:
            if exc.http_status == 400:
                raise ActionUnableToRun(f"Transfer refused the {self.op}: {exc.message}") from None
            return DoneHandle("FAILED", {**exc.body(), "description": exc.message})
        return DoneHandle(status, details)

    def run(self, service: TransferService, body: dict[str, t.Any],
            request: ActionRequest) -> tuple[str, dict[str, t.Any]]:
        raise NotImplementedError


class TransferProvider(TransferAction):
    """``transfer``: copy ``DATA`` items between collections; ``details`` is the task document."""

    op, title, synchronous = "transfer", "Transfer - Transfer Task", False

    def normalize(self, body: dict[str, t.Any]) -> dict[str, t.Any]:
        _rename(body, "source_endpoint_id", "source_endpoint")
        _rename(body, "destination_endpoint_id", "destination_endpoint")
        _rename(body, "transfer_items", "DATA")
        return body

    def paths(self, body: dict[str, t.Any]) -> t.Iterator[tuple[str, t.Any]]:
        for i, item in enumerate(body.get("DATA") or []):
            if isinstance(item, dict):
                yield f"DATA[{i}].source_path", item.get("source_path")
                yield f"DATA[{i}].destination_path", item.get("destination_path")

    def run(self, service: TransferService, body: dict[str, t.Any],
            request: ActionRequest) -> tuple[str, dict[str, t.Any]]:
        doc = service.task(service.submit_transfer(body)["task_id"])
        return doc["status"], doc


class TransferDeleteProvider(TransferAction):
    """``delete``: remove ``DATA`` paths (a link itself, never its target); the task document."""

    op, title, synchronous = "delete", "Transfer - Delete Task", False

    def normalize(self, body: dict[str, t.Any]) -> dict[str, t.Any]:
        _rename(body, "endpoint_id", "endpoint")
        if "DATA" not in body and "items" in body:
            items = body.pop("items")
            items = [items] if isinstance(items, str) else items
            body["DATA"] = [{"path": p} for p in items] if isinstance(items, list) else items
        return body

    def paths(self, body: dict[str, t.Any]) -> t.Iterator[tuple[str, t.Any]]:
        for i, item in enumerate(body.get("DATA") or []):
            if isinstance(item, dict):
                yield f"DATA[{i}].path", item.get("path")

    def run(self, service: TransferService, body: dict[str, t.Any],
            request: ActionRequest) -> tuple[str, dict[str, t.Any]]:
        doc = service.task(service.submit_delete(body)["task_id"])
        return doc["status"], doc


class LsProvider(TransferAction):
    """``ls``: Transfer's ``operation/ls`` document; ``path_only`` describes the path itself."""

    op, title = "ls", "Transfer - List Directory Contents"

    def run(self, service: TransferService, body: dict[str, t.Any],
            request: ActionRequest) -> tuple[str, dict[str, t.Any]]:
        endpoint, path = str(body["endpoint_id"]), body.get("path", "/~/")
        if body.get("path_only"):
            # The older provider's option: the path's own entry, in a listing of its folder.
            entry = service.stat(endpoint, path)
            entry["is_folder"] = entry["type"] == "dir"
            parts = _fs.split_path(path, "path")
            folder = "/" + "/".join(parts[:-1])
            return "SUCCEEDED", {"DATA_TYPE": "file_list", "endpoint": endpoint,
                                 "path": folder.rstrip("/") + "/", "absolute_path": None, "length": 1,
                                 "total": 1, "DATA": [entry], "rename_supported": True, "symlink_supported": False}
        return "SUCCEEDED", service.ls(endpoint, path, limit=body.get("limit"), offset=body.get("offset", 0),
                                       show_hidden=body.get("show_hidden", True), filter=body.get("filter"))


class StatProvider(TransferAction):
    """``stat``: Transfer's ``operation/stat`` document, or its ``NotFound`` body (SUCCEEDED)."""

    op, title = "stat", "Transfer - Stat File or Directory"

    def run(self, service: TransferService, body: dict[str, t.Any],
            request: ActionRequest) -> tuple[str, dict[str, t.Any]]:
        try:
            return "SUCCEEDED", service.stat(str(body["endpoint_id"]), body["path"])
        except TransferError as exc:
            if exc.code == "NotFound":
                return "SUCCEEDED", exc.body()
            raise


class MkdirProvider(TransferAction):
    op, title = "mkdir", "Transfer - Make Directory"

    def run(self, service: TransferService, body: dict[str, t.Any],
            request: ActionRequest) -> tuple[str, dict[str, t.Any]]:
        return "SUCCEEDED", service.mkdir(str(body["endpoint_id"]), body["path"])


class CollectionInfoProvider(TransferAction):
    """``collection_info``: Transfer's ``endpoint`` document of the collection."""

    op, title = "collection_info", "Transfer - Get Collection Information"

    def paths(self, body: dict[str, t.Any]) -> t.Iterator[tuple[str, t.Any]]:
        return iter(())

    def run(self, service: TransferService, body: dict[str, t.Any],
            request: ActionRequest) -> tuple[str, dict[str, t.Any]]:
        return "SUCCEEDED", service.endpoint(str(body["endpoint_id"]))


class ManagePermissionProvider(TransferAction):
    """``manage_permission`` (``set_permission``): CREATE, UPDATE or DELETE an access rule of
    the collection, recorded by the local Transfer service, or LIST them (Transfer's
    ``access_list`` document, as ``endpoint_acl_list`` answers)."""

    op, title = "manage_permission", "Transfer - Manage Permission"

    def run(self, service: TransferService, body: dict[str, t.Any],
            request: ActionRequest) -> tuple[str, dict[str, t.Any]]:
        endpoint, operation = str(body["endpoint_id"]), body["operation"]
        if operation == "CREATE":
            rule = {k: body[k] for k in ("path", "principal_type", "principal", "permissions", "expiration_date",
                                         "notify_email") if k in body}
            return "SUCCEEDED", service.acl_create(endpoint, rule)
        if operation == "LIST":
            # Globus's "Transfer After Approval" example flow reads details.DATA of a LIST.
            return "SUCCEEDED", service.acl_list(endpoint)
        if operation == "UPDATE":
            return "SUCCEEDED", service.acl_update(endpoint, str(body["rule_id"]), {"permissions": body["permissions"]})
        return "SUCCEEDED", service.acl_delete(endpoint, str(body["rule_id"]))


_PROVIDERS: dict[str, type[TransferAction]] = {
    cls.op: cls for cls in (TransferProvider, TransferDeleteProvider, LsProvider, StatProvider, MkdirProvider,
                            CollectionInfoProvider, ManagePermissionProvider)
}


def provider(op: str, legacy: bool) -> TransferAction:
    """The provider of one Transfer operation (``legacy``: at ``actions.globus.org/transfer/``)."""
    return _PROVIDERS[op](legacy)
