"""Local collections: a collection id stands for a folder, walked without following links.

A collection id maps to ``<state dir>/collections/<id>/`` unless ``collections.json`` in the
state folder maps it to another folder (``{"<collection id>": "/some/folder"}``, written by
:func:`gladier_jupyter.local.map_collection`). Paths are taken relative to the collection's
folder and may not leave it, and no link is ever followed
(:mod:`gladier_jupyter.local.actions._fs` says how, and what Globus documents).
"""

from __future__ import annotations

import json
import logging
import pathlib
import re
import typing as t

from gladier_jupyter.local.actions import ActionUnableToRun, _fs

__all__ = ["collection_root", "copy_items", "describe", "nice_status", "open_collection"]

log = logging.getLogger("gladier_jupyter.local.actions.transfer")

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


_warned: set[str] = set()


def _warn_once(warning: str | None, result: _fs.CopyResult) -> None:
    if warning is None:
        return
    result.warnings.append(warning)
    if warning not in _warned:
        _warned.add(warning)
        log.warning(warning)


def copy_items(state_dir: pathlib.Path, src: str, dst: str, items: t.Any) -> _fs.CopyResult:
    """Copy ``items`` (``source_path``/``destination_path``/``recursive``) from collection
    ``src`` to ``dst`` without following any link. Bad requests raise
    :class:`ActionUnableToRun`; missing files, permissions and links on a named path ``OSError``.

    ``recursive`` left out (or ``null``) is detected from the source, as Transfer does
    (globus-sdk ``TransferData.add_item``: "If unset, the service will use the type of the
    source path").
    """
    if not isinstance(items, list) or not items:
        raise ActionUnableToRun("The transfer needs a non-empty list of transfer items (DATA).")
    paths = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or "source_path" not in item or "destination_path" not in item:
            raise ActionUnableToRun(f"DATA[{i}] needs source_path and destination_path.")
        paths.append((_fs.split_path(item["source_path"], "source_path"),
                      _fs.split_path(item["destination_path"], "destination_path")))
    result = _fs.CopyResult()
    with open_collection(state_dir, str(src)) as source, open_collection(state_dir, str(dst)) as dest:
        for coll in (source, dest) if str(src) != str(dst) else (source,):
            _warn_once(coll.writable_by_others(), result)
        for item, (sparts, dparts) in zip(items, paths, strict=True):
            recursive = item.get("recursive")
            _fs.copy_file(source, sparts, dest, dparts, result, True if recursive is None else bool(recursive),
                          str(item["source_path"]))
    return result


def nice_status(exc: OSError) -> str:
    return "FILE_NOT_FOUND" if isinstance(exc, FileNotFoundError) else "PERMISSION_DENIED"


def describe(exc: OSError) -> str:
    """The one-line description of a failed operation: the message alone when there is one."""
    return exc.strerror if exc.strerror and exc.filename is None and len(exc.args) == 2 else str(exc)
