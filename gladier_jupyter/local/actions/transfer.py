"""The Transfer action provider as a local copy between folders standing for collections.

A collection id maps to ``<state dir>/collections/<id>/`` unless ``collections.json`` in the
state folder maps it to another folder (``{"<collection id>": "/some/folder"}``). Paths are
taken relative to the collection's folder and may not leave it.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import shutil
import typing as t
import uuid

from gladier_jupyter.local.actions import ActionHandle, ActionRequest, ActionUnableToRun, DoneHandle

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
    root.mkdir(parents=True, exist_ok=True)
    return root.resolve()


def _inside(root: pathlib.Path, path: str, what: str) -> pathlib.Path:
    rel = str(path).lstrip("/")
    if rel.startswith("~"):
        rel = rel.lstrip("~").lstrip("/")
    target = (root / rel).resolve()
    if target != root and root not in target.parents:
        raise ActionUnableToRun(f"The {what} {path!r} leaves its collection's folder.")
    return target


def copy_items(state_dir: pathlib.Path, src: str, dst: str, items: t.Any) -> tuple[int, int]:
    """Copy ``items`` (``source_path``/``destination_path``/``recursive``) from collection
    ``src`` to ``dst``; ``(files, bytes)``. Bad requests raise :class:`ActionUnableToRun`,
    missing files and permissions ``OSError``."""
    if not isinstance(items, list) or not items:
        raise ActionUnableToRun("The transfer needs a non-empty list of transfer items.")
    src_root = collection_root(state_dir, str(src))
    dst_root = collection_root(state_dir, str(dst))
    files = size = 0
    for item in items:
        if not isinstance(item, dict) or "source_path" not in item or "destination_path" not in item:
            raise ActionUnableToRun("Each transfer item needs source_path and destination_path.")
        s = _inside(src_root, item["source_path"], "source_path")
        d = _inside(dst_root, item["destination_path"], "destination_path")
        if s.is_dir():
            if not item.get("recursive", True):
                raise IsADirectoryError(f"{item['source_path']} is a folder and recursive is false")
            shutil.copytree(s, d, dirs_exist_ok=True)
            for p in d.rglob("*"):
                if p.is_file():
                    files += 1
                    size += p.stat().st_size
        else:
            d.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(s, d)
            files += 1
            size += os.path.getsize(d)
    return files, size


def nice_status(exc: OSError) -> str:
    return "FILE_NOT_FOUND" if isinstance(exc, FileNotFoundError) else "PERMISSION_DENIED"


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
            files, size = copy_items(request.ctx.state_dir, str(src), str(dst), items)
        except OSError as exc:
            return DoneHandle(
                "FAILED",
                {"task_id": task_id, "status": "FAILED", "nice_status": nice_status(exc),
                 "description": str(exc), "files": 0, "bytes_transferred": 0},
            )
        return DoneHandle(
            "SUCCEEDED",
            {"task_id": task_id, "status": "SUCCEEDED", "nice_status": None,
             "label": body.get("label"), "files": files, "files_transferred": files,
             "bytes_transferred": size, "source_endpoint_id": str(src),
             "destination_endpoint_id": str(dst)},
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
        root = collection_root(request.ctx.state_dir, str(body["endpoint_id"]))
        task_id = str(uuid.uuid4())
        deleted = 0
        try:
            for item in items:
                target = _inside(root, str(item), "item")
                if target == root:
                    raise ActionUnableToRun("A collection's root cannot be deleted.")
                if target.is_dir() and not target.is_symlink():
                    if not body.get("recursive", False):
                        raise IsADirectoryError(f"{item} is a folder and recursive is false")
                    shutil.rmtree(target)
                elif target.exists() or target.is_symlink():
                    target.unlink()
                elif not body.get("ignore_missing", False):
                    raise FileNotFoundError(f"{item} does not exist")
                else:
                    continue
                deleted += 1
        except OSError as exc:
            return DoneHandle("FAILED", {"task_id": task_id, "status": "FAILED", "nice_status": nice_status(exc),
                                         "description": str(exc), "deleted": deleted})
        return DoneHandle("SUCCEEDED", {"task_id": task_id, "status": "SUCCEEDED", "nice_status": None,
                                        "deleted": deleted, "label": body.get("label")})
