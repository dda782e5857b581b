"""Routes of the runs panel's "Collections" section: the local collections registry.

=========================================  ============================================
``GET    collections``                     the collection ids mapped to folders
``POST   collections``                     map ``{"id", "folder"}``; the folder must exist,
                                           under the server's root_dir or the user's home
``DELETE collections/<id>``                forget a mapping (the folder stays)
=========================================  ============================================

The registry is the one :func:`gladier_jupyter.local.map_collection` writes, so a mapping
made here is the one a notebook's ``local.collections()`` lists, and the reverse. Listing
is ``read`` on ``gladier_jupyter``; mapping and removing are ``write``. A folder sent is
never created: a path that is not an existing folder is refused in one line.
"""

from __future__ import annotations

import json
import os
import pathlib
import typing as t
import warnings

import tornado.web
from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join

from gladier_jupyter import local
from gladier_jupyter.errors import GladierJupyterUsageError

__all__ = ["CollectionsRefused", "collection_handlers", "resolve_folder"]

#: Largest ``POST collections`` body: an id and a path are far smaller.
MAX_BODY = 64_000
MAX_PATH_CHARS = 4096
_ID = r"(?P<collection_id>[^/]+)"


class CollectionsRefused(GladierJupyterUsageError):
    """A mapping request refused (a 400): a bad id, or a folder that cannot be used."""


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _within(path: pathlib.Path, base: pathlib.Path) -> bool:
    return path == base or base in path.parents


def resolve_folder(text: t.Any, root_dir: pathlib.Path, home: pathlib.Path) -> pathlib.Path:
    """The existing folder ``text`` names: relative to ``root_dir``, ``~/...`` in ``home``, or
    absolute; after links are resolved it must lie under ``root_dir`` or ``home``."""
    if not isinstance(text, str) or not text.strip():
        raise CollectionsRefused("Give the folder as 'folder': a path relative to the Jupyter "
                                 "root, '~/...' in your home, or an absolute path.")
    text = text.strip()
    if len(text) > MAX_PATH_CHARS or "\x00" in text:
        raise CollectionsRefused(f"Folder {_short(text)!r} is not a usable path: at most "
                                 f"{MAX_PATH_CHARS} characters and no NUL.")
    if text == "~" or text.startswith("~/"):
        path = home / text[2:]
    elif text.startswith("~"):
        raise CollectionsRefused(f"Folder {_short(text)!r} is in another user's home; use "
                                 "'~/...' for yours, or a path under the Jupyter root.")
    else:
        path = root_dir / text  # an absolute text replaces root_dir
    root, own = root_dir.resolve(), home.resolve()
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError) as err:  # a link loop
        raise CollectionsRefused(f"Folder {_short(text)!r} cannot be resolved ({err}); "
                                 "give the folder's real path.") from None
    if not (_within(resolved, root) or _within(resolved, own)):
        raise CollectionsRefused(
            f"Folder {_short(text)!r} is outside the Jupyter root ({_short(str(root), 60)}) and "
            f"your home ({_short(str(own), 60)}); pick a folder under one of them.")
    if not resolved.is_dir():
        what = "is a file" if resolved.exists() else "does not exist"
        raise CollectionsRefused(
            f"Folder {_short(text)!r} {what}, so it cannot hold a collection; create the "
            "folder first, or give an existing one.")
    return resolved


def _shown(folder: pathlib.Path, root_dir: pathlib.Path, home: pathlib.Path) -> str:
    """How the panel shows a folder: relative to the Jupyter root, else ``~/...``."""
    for base, prefix in ((root_dir.resolve(), ""), (home.resolve(), "~/")):
        if _within(folder, base):
            rel = folder.relative_to(base).as_posix()
            return (prefix + rel) if rel != "." else (prefix.rstrip("/") or ".")
    return str(folder)


class _CollectionsHandler(APIHandler):
    auth_resource = "gladier_jupyter"

    @property
    def state_dir(self) -> str | None:
        return self.settings.get("gladier_jupyter_state_dir")

    @property
    def root_dir(self) -> pathlib.Path:
        return pathlib.Path(self.settings.get("server_root_dir") or os.getcwd()).expanduser()

    def reply(self, doc: t.Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(doc))

    def listing(self) -> dict[str, t.Any]:
        home = pathlib.Path.home()
        rows = [{"id": cid, "folder": str(folder), "shown": _shown(folder, self.root_dir, home)}
                for cid, folder in local.collections(self.state_dir).items()]
        return {"collections": rows}


class CollectionsHandler(_CollectionsHandler):
    @tornado.web.authenticated
    @authorized("read")
    def get(self) -> None:
        self.reply(self.listing())

    @tornado.web.authenticated
    @authorized("write", message=(
        "This Jupyter server's authorizer does not let you map collections ('write' on "
        "'gladier_jupyter'); ask the server's owner, or use local.map_collection() in a notebook."))
    def post(self) -> None:
        body = self.request.body or b"{}"
        if len(body) > MAX_BODY:
            return self.reply({"message": f"The request is {len(body) // 1000} kB, over the "
                               f"{MAX_BODY // 1000} kB a collection mapping takes."}, 413)
        try:
            doc = json.loads(body)
        except ValueError:
            return self.reply({"message": "The request body is not JSON."}, 400)
        if not isinstance(doc, dict):
            return self.reply({"message": "Send a JSON object {\"id\", \"folder\"}."}, 400)
        cid = doc.get("id")
        try:
            if not isinstance(cid, str) or not cid.strip():
                raise CollectionsRefused("Give the Globus collection id as 'id' (a UUID).")
            folder = resolve_folder(doc.get("folder"), self.root_dir, pathlib.Path.home())
            # Quick file work on the event loop: catch_warnings is not thread-safe.
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                target = local.map_collection(cid.strip(), folder, self.state_dir)
        except GladierJupyterUsageError as err:
            return self.reply({"message": str(err)}, 400)
        answer = self.listing()
        answer["mapped"] = {"id": cid.strip(), "folder": str(target)}
        answer["warning"] = str(caught[0].message) if caught else ""
        self.reply(answer)


class CollectionHandler(_CollectionsHandler):
    @tornado.web.authenticated
    @authorized("write", message=(
        "This Jupyter server's authorizer does not let you remove collections ('write' on "
        "'gladier_jupyter'); ask the server's owner, or use local.unmap_collection() in a notebook."))
    def delete(self, collection_id: str) -> None:
        try:
            removed = local.unmap_collection(collection_id, self.state_dir)
        except GladierJupyterUsageError as err:
            return self.reply({"message": str(err)}, 400)
        if not removed:
            return self.reply({"message": f"Collection {_short(collection_id)!r} is not mapped to a "
                               "folder; nothing to remove."}, 404)
        self.reply(self.listing())


def collection_handlers(base: str) -> list[tuple[str, type[APIHandler]]]:
    """The routes, under ``base`` (``<base_url>/gladier-jupyter/api``)."""
    return [
        (url_path_join(base, "collections") + "/?", CollectionsHandler),
        (url_path_join(base, "collections", _ID) + "/?", CollectionHandler),
    ]
