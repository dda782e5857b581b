"""The registry of local endpoints: a name, a UUID and a ``config.yaml`` each.

Kept under the service's state folder, ``endpoints/NAME/{endpoint.json,config.yaml}``,
every folder 0700 and every file 0600, read without following links (the state folder's
rules, :mod:`gladier_jupyter.local.process`). A task submitted to a registered endpoint's
UUID runs on the engine its ``config.yaml`` describes; any other endpoint id (the
tutorial's among them) runs on the embedded default.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import pathlib
import re
import shutil
import stat
import typing as t
import uuid

from gladier_jupyter.errors import GladierJupyterUsageError
from gladier_jupyter.local.process import (
    _read_private,
    _write_private,
    check_private_dir,
    prepare_state_dir,
)

__all__ = ["DEFAULT_ENDPOINT_ID", "Endpoint", "add", "export", "get", "list_endpoints", "remove", "by_uuid"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
FOLDER = "endpoints"
#: The embedded default's endpoint id in its own status (any endpoint id that names no
#: registered local endpoint runs there).
DEFAULT_ENDPOINT_ID = "00000000-0000-4000-8000-00000000000d"


@dataclasses.dataclass(frozen=True)
class Endpoint:
    """A local endpoint: ``name``, ``uuid`` and its ``config.yaml`` text."""

    name: str
    uuid: str
    config: str

    def describe(self) -> dict[str, t.Any]:
        from .engines import describe

        return {"name": self.name, "uuid": self.uuid, **describe(self.config)}


def _check_name(name: object) -> str:
    text = str(name)
    if not _NAME.match(text) or text in (".", ".."):
        raise GladierJupyterUsageError(
            f"Endpoint name {text[:64]!r} is not valid: use letters, digits, '.', '-' and '_' "
            "(at most 64, starting with a letter or digit)."
        )
    return text


def _private_folder(path: pathlib.Path) -> pathlib.Path:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        path.mkdir(mode=0o700)
        os.chmod(path, 0o700)
        st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        raise GladierJupyterUsageError(
            f"{path} is a symbolic link; the local service never follows one: remove it."
        )
    check_private_dir(path)
    return path


def _root(state_dir: pathlib.Path) -> pathlib.Path:
    prepare_state_dir(state_dir)
    return _private_folder(state_dir / FOLDER)


def _load(folder: pathlib.Path, name: str) -> Endpoint:
    doc = json.loads(_read_private(folder / "endpoint.json"))
    return Endpoint(name=name, uuid=str(uuid.UUID(doc["uuid"])),
                    config=_read_private(folder / "config.yaml"))


def list_endpoints(state_dir: pathlib.Path) -> list[Endpoint]:
    """Every registered endpoint, by name (a damaged entry is left out)."""
    root = _root(state_dir)
    found = []
    for entry in sorted(os.listdir(root)):
        if not _NAME.match(entry):
            continue
        folder = root / entry
        with contextlib.suppress(OSError, ValueError, KeyError, GladierJupyterUsageError):
            if stat.S_ISDIR(os.lstat(folder).st_mode):
                found.append(_load(folder, entry))
    return found


def get(state_dir: pathlib.Path, name: str) -> Endpoint:
    """The endpoint called ``name`` (one-line error naming the known ones if none)."""
    name = _check_name(name)
    folder = _root(state_dir) / name
    try:
        if stat.S_ISLNK(os.lstat(folder).st_mode):
            raise GladierJupyterUsageError(
                f"{folder} is a symbolic link; the local service never follows one: remove it."
            )
        return _load(folder, name)
    except FileNotFoundError:
        known = ", ".join(e.name for e in list_endpoints(state_dir)) or "none yet"
        raise GladierJupyterUsageError(
            f"No local endpoint is called {name!r} (known: {known}); add it with "
            f"`python -m gladier_jupyter.local endpoint add {name}`."
        ) from None


def by_uuid(state_dir: pathlib.Path, endpoint_id: str) -> Endpoint | None:
    """The registered endpoint with this UUID, or ``None`` (the embedded default's)."""
    for endpoint in list_endpoints(state_dir):
        if endpoint.uuid == str(endpoint_id):
            return endpoint
    return None


def add(
    state_dir: pathlib.Path,
    name: str,
    config: str | None = None,
    *,
    endpoint_id: str | None = None,
    validate: bool = True,
    **options: t.Any,
) -> Endpoint:
    """Register endpoint ``name``: ``config`` (a config.yaml text) or one made from ``options``
    (:func:`.engines.config_text`: ``engine``, ``provider``, ``max_workers_per_node``, ...)."""
    from .engines import config_text, load_config

    name = _check_name(name)
    root = _root(state_dir)
    folder = root / name
    if os.path.lexists(folder):
        raise GladierJupyterUsageError(
            f"A local endpoint called {name!r} exists already; remove it first or pick "
            "another name."
        )
    text = config if config is not None else config_text(**options)
    if validate:
        engine = load_config(text, where=f"The config of endpoint {name!r}").engine
        with contextlib.suppress(Exception):  # built only to check it: nothing started
            engine.shutdown()
    eid = str(uuid.UUID(endpoint_id)) if endpoint_id else str(uuid.uuid4())
    _private_folder(folder)
    _write_private(folder / "config.yaml", text)
    _write_private(folder / "endpoint.json", json.dumps({"name": name, "uuid": eid}))
    return Endpoint(name=name, uuid=eid, config=text)


def remove(state_dir: pathlib.Path, name: str) -> Endpoint:
    """Forget endpoint ``name``; returns what it was."""
    endpoint = get(state_dir, name)
    shutil.rmtree(_root(state_dir) / endpoint.name)
    return endpoint


def export(state_dir: pathlib.Path, name: str, target: pathlib.Path | None = None) -> pathlib.Path:
    """Write endpoint ``name``'s config.yaml where a real ``globus-compute-endpoint`` reads it
    (``~/.globus_compute/NAME/`` unless ``target``); returns the folder."""
    endpoint = get(state_dir, name)
    folder = target or pathlib.Path.home() / ".globus_compute" / endpoint.name
    folder.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if folder.is_symlink():
        raise GladierJupyterUsageError(f"{folder} is a symbolic link; remove it first.")
    folder.mkdir(exist_ok=True, mode=0o700)
    config = folder / "config.yaml"
    if config.exists() and config.read_text() != endpoint.config:
        raise GladierJupyterUsageError(
            f"{config} exists with another config; move it away or export to another "
            "folder (--to DIR)."
        )
    _write_private(config, endpoint.config)
    return folder
