"""The Transfer action provider as a local copy between folders standing for collections.

A collection id maps to ``<state dir>/collections/<id>/`` unless ``collections.json`` in the
state folder maps it to another folder (``{"<collection id>": "/some/folder"}``). Paths are
taken relative to the collection's folder and may not leave it, and no link is ever
followed (:mod:`gladier_jupyter.local.actions._fs` says how, and what Globus documents).
"""

from __future__ import annotations

import json
import logging
import pathlib
import re
import typing as t
import uuid

from gladier_jupyter.local.actions import (
    ActionHandle,
    ActionRequest,
    ActionUnableToRun,
    DoneHandle,
    _fs,
)

log = logging.getLogger(__name__)

SCOPE = "https://auth.globus.org/scopes/actions.globus.org/transfer/transfer"


_COLLECTION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")


def collection_root(state_dir: pathlib.Path, collection_id: str) -> pathlib.Path:
    if not _COLLECTION_ID.match(str(collection_id)):
        raise ActionUnableToRun(
            f"Collection id {str(collection_id)[:80]!r} is not valid: use letters, digits, '-' and '_' (a UUID)."
        )
    mapping: dict[str, str] = {}
    try:
        mapping = json.loads((state_dir / "collections.json").read_text())
    except (OSError, ValueError):
        pass
    root = pathlib.Path(mapping[collection_id]).expanduser() if collection_id in mapping else (
        state_dir / "collections" / collection_id
    )
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ActionUnableToRun(f"Collection {collection_id}'s folder {str(root)!r} cannot be used: "
                                f"{exc.strerror or exc}.") from None
    # Not resolved: the folder was resolved when it was mapped, so a link there now was
    # planted since, and opening it with O_NOFOLLOW refuses it (see _fs.Collection).
    return root.absolute()


def open_collection(state_dir: pathlib.Path, collection_id: str) -> _fs.Collection:
    """The collection's folder, held open for link-safe walking (see :mod:`._fs`)."""
    return _fs.Collection(collection_root(state_dir, collection_id), collection_id)


def _warn_once(warning: str | None, result: _fs.CopyResult) -> None:
    if warning is None:
        return
    result.warnings.append(warning)
    if warning not in _warned:
        _warned.add(warning)
        log.warning(warning)


_warned: set[str] = set()


def copy_items(state_dir: pathlib.Path, src: str, dst: str, items: t.Any) -> _fs.CopyResult:
    """Copy ``items`` (``source_path``/``destination_path``/``recursive``) from collection
    ``src`` to ``dst`` without following any link. Bad requests raise
    :class:`ActionUnableToRun`; missing files, permissions and links on a named path ``OSError``."""
    if not isinstance(items, list) or not items:
        raise ActionUnableToRun("The transfer needs a non-empty list of transfer items.")
    paths = []
    for item in items:
        if not isinstance(item, dict) or "source_path" not in item or "destination_path" not in item:
            raise ActionUnableToRun("Each transfer item needs source_path and destination_path.")
        paths.append((_fs.split_path(item["source_path"], "source_path"),
                      _fs.split_path(item["destination_path"], "destination_path")))
    result = _fs.CopyResult()
    with open_collection(state_dir, str(src)) as source, open_collection(state_dir, str(dst)) as dest:
        for coll in (source, dest) if str(src) != str(dst) else (source,):
            _warn_once(coll.writable_by_others(), result)
        for item, (sparts, dparts) in zip(items, paths, strict=True):
            _fs.copy_file(source, sparts, dest, dparts, result, bool(item.get("recursive", True)),
                          str(item["source_path"]))
    return result


def nice_status(exc: OSError) -> str:
    return "FILE_NOT_FOUND" if isinstance(exc, FileNotFoundError) else "PERMISSION_DENIED"


def describe(exc: OSError) -> str:
    """The one-line description of a failed copy: the message alone when there is one."""
    return exc.strerror if exc.strerror and exc.filename is None and len(exc.args) == 2 else str(exc)


class TransferProvider:
    scope = SCOPE

    def start(self, body: t.Any, request: ActionRequest) -> ActionHandle:
        if not isinstance(body, dict):
            raise ActionUnableToRun("The transfer action needs an object body.")
        src = body.get("source_endpoint_id", body.get("source_endpoint"))
        dst = body.get("destination_endpoint_id", body.get("destination_endpoint"))
        items = body.get("transfer_items", body.get("DATA"))
        if not src or not dst:
            raise ActionUnableToRun("The transfer body needs source_endpoint_id and destination_endpoint_id.")
        task_id = str(uuid.uuid4())
        try:
            result = copy_items(request.ctx.state_dir, str(src), str(dst), items)
        except OSError as exc:
            return DoneHandle(
                "FAILED",
                {"task_id": task_id, "status": "FAILED", "nice_status": nice_status(exc),
                 "description": describe(exc), "files": 0, "bytes_transferred": 0},
            )
        return DoneHandle(
            "SUCCEEDED",
            {"task_id": task_id, "status": "SUCCEEDED", "nice_status": None,
             "label": body.get("label"), "files": result.files, "files_transferred": result.files,
             "bytes_transferred": result.bytes, "source_endpoint_id": str(src),
             "destination_endpoint_id": str(dst), "recursive_symlinks": "ignore",
             "symlinks_skipped": result.symlinks_skipped, "warnings": result.warnings},
        )


class TransferDeleteProvider:
    """``https://actions.globus.org/transfer/delete``: remove ``items`` from a collection."""

    scope = "https://auth.globus.org/scopes/actions.globus.org/transfer/delete"

    def start(self, body: t.Any, request: ActionRequest) -> ActionHandle:
        if not isinstance(body, dict) or not body.get("endpoint_id"):
            raise ActionUnableToRun("The transfer delete body needs 'endpoint_id'.")
        items = body.get("items")
        if isinstance(items, str):
            items = [items]
        if not isinstance(items, list) or not items:
            raise ActionUnableToRun("The transfer delete body needs a non-empty 'items' list.")
        parts = [_fs.split_path(item, "item") for item in items]
        if any(not p for p in parts):
            raise ActionUnableToRun("A collection's root cannot be deleted.")
        task_id = str(uuid.uuid4())
        deleted = 0
        try:
            with open_collection(request.ctx.state_dir, str(body["endpoint_id"])) as coll:
                for item, p in zip(items, parts, strict=True):
                    if _fs.delete(coll, p, recursive=bool(body.get("recursive", False))):
                        deleted += 1
                    elif not body.get("ignore_missing", False):
                        raise FileNotFoundError(f"{item} does not exist")
        except OSError as exc:
            return DoneHandle("FAILED", {"task_id": task_id, "status": "FAILED", "nice_status": nice_status(exc),
                                         "description": describe(exc), "deleted": deleted})
        return DoneHandle("SUCCEEDED", {"task_id": task_id, "status": "SUCCEEDED", "nice_status": None,
                                        "deleted": deleted, "label": body.get("label")})
