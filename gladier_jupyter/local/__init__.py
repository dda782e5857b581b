"""The local Globus-compatible service: Flows, Compute, Search (and a little Auth/Transfer).

One service per user, started on demand and found again by later kernels through a state
file in :func:`default_state_dir`. It binds 127.0.0.1 only, speaks HTTPS with a certificate
made at each start (clients pin it: :mod:`gladier_jupyter.local.tls`), and answers only
requests that carry the per-user secret kept (mode 0600) in that folder.

Usage::

    python -m gladier_jupyter.local serve [--port N] [--state-dir DIR]   # in the foreground
    python -m gladier_jupyter.local start | status | stop [--state-dir DIR]

    from gladier_jupyter import local
    info = local.ensure_running()          # started detached on first use, found again later
    info.service_url("flows")              # https://127.0.0.1:PORT/api/flows/
    info.ca_file                           # the certificate to verify it with
    local.map_collection(collection_id, "~/data")   # a local Transfer collection -> a folder
    local.collections(); local.unmap_collection(collection_id)   # the mappings, kept in collections.json
    local.outbox()                         # the emails flows "sent" (nothing leaves the machine)
    local.waiting_options(); local.select_option("https://actions.globus.org/weboption/option/...")
    from gladier_jupyter.local import clock
    clock.next_timer(); clock.advance(86400)    # the service's time, for flows that wait long

The state folder (``$GLADIER_JUPYTER_STATE_DIR``, else ``~/.local/state/gladier-jupyter``)
holds the secret and TLS key (0600), ``service.json`` (pid, port), ``service.log``,
``clock.json`` (how far the service clock was moved ahead), and one SQLite
database per API (flows, compute, search, transfer, auth); unmapped Transfer collections
are folders under ``collections/``. Deleting the folder (service stopped) starts afresh.

This module stays import-light (no tornado, no globus-sdk): kernels import it to find or
start the service; the server itself lives in :mod:`gladier_jupyter.local.server`.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib

__all__ = ["ServiceInfo", "collections", "default_state_dir", "dois", "ensure_running", "map_collection", "outbox",
           "select_option", "stop", "status", "unmap_collection", "waiting_options"]

APIS = ("flows", "search", "compute", "transfer", "auth", "actions", "clock")


@dataclasses.dataclass
class ServiceInfo:
    """Where a running local service answers, the secret it wants (never printed) and the
    certificate that proves it is this user's service (``ca_file``: pass it as ``verify=``)."""

    base_url: str
    secret: str = dataclasses.field(repr=False)
    pid: int
    state_dir: pathlib.Path
    instance_id: str = ""
    ca_file: pathlib.Path | None = None

    def _repr_pretty_(self, printer: object, cycle: bool) -> None:
        # Pretty printers (IPython's, hypothesis's) list dataclass fields themselves and
        # ignore repr=False: give them the repr, which leaves the secret out.
        printer.text(repr(self))  # type: ignore[attr-defined]

    def service_url(self, api: str) -> str:
        """The root URL of one API, e.g. ``service_url("flows")`` -> ``.../api/flows/``."""
        if api not in APIS:
            raise ValueError(f"Unknown local API {api!r}; expected one of {', '.join(APIS)}.")
        return f"{self.base_url}/api/{api}/"


def default_state_dir() -> pathlib.Path:
    """``$GLADIER_JUPYTER_STATE_DIR``, else ``$XDG_STATE_HOME/gladier-jupyter``
    (``~/.local/state/gladier-jupyter`` when XDG_STATE_HOME is unset)."""
    explicit = os.environ.get("GLADIER_JUPYTER_STATE_DIR")
    if explicit:
        return pathlib.Path(explicit).expanduser()
    xdg = os.environ.get("XDG_STATE_HOME")
    base = pathlib.Path(xdg).expanduser() if xdg else pathlib.Path.home() / ".local" / "state"
    return base / "gladier-jupyter"


def ensure_running(state_dir: os.PathLike[str] | str | None = None, *, owner: bool = True) -> ServiceInfo:
    """Return the running service for ``state_dir``, starting it (detached) if needed.

    With ``owner`` (the default) this process becomes one of the service's owners: the
    service stops soon after its last owner has ended and no run is active (a Jupyter
    server and its kernels, on a hub or a laptop, leave nothing behind). A service that
    nobody owns (``python -m gladier_jupyter.local serve`` or ``start``) stops after
    ``$GLADIER_JUPYTER_IDLE_TIMEOUT`` without requests.
    """
    from gladier_jupyter.local import process

    return process.ensure_running(pathlib.Path(state_dir) if state_dir else default_state_dir(),
                                  owner=os.getpid() if owner else None)


def stop(state_dir: os.PathLike[str] | str | None = None) -> bool:
    """Stop the service of ``state_dir``; ``True`` if one was running."""
    from gladier_jupyter.local import process

    return process.stop(pathlib.Path(state_dir) if state_dir else default_state_dir())


def status(state_dir: os.PathLike[str] | str | None = None) -> ServiceInfo | None:
    """The running service of ``state_dir``, or ``None`` (starts nothing)."""
    from gladier_jupyter.local import process

    return process.find_running(pathlib.Path(state_dir) if state_dir else default_state_dir())


_COLLECTION_ID = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$"


def _check_collection_id(collection_id: object) -> str:
    import re

    text = str(collection_id)
    if not re.match(_COLLECTION_ID, text):
        from gladier_jupyter.errors import GladierJupyterUsageError

        raise GladierJupyterUsageError(
            f"Collection id {text[:80]!r} is not valid: use letters, digits, '-' and '_' (a UUID)."
        )
    return text


def _read_collections(state: pathlib.Path) -> dict[str, str]:
    import json

    try:
        mapping = json.loads((state / "collections.json").read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(mapping, dict):
        return {}
    return {str(k): str(v) for k, v in mapping.items() if isinstance(v, str)}


class _CollectionsLock:
    """Holds ``collections.json.lock`` so two writers (a kernel, the Jupyter server) never
    lose each other's mapping between read and write."""

    def __init__(self, state: pathlib.Path) -> None:
        self._path = state / ".collections.json.lock"
        self._fd = -1

    def __enter__(self) -> None:
        import fcntl

        self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX)

    def __exit__(self, *exc: object) -> None:
        os.close(self._fd)  # closing releases the lock


def collections(state_dir: os.PathLike[str] | str | None = None) -> dict[str, pathlib.Path]:
    """The collection ids mapped to folders by :func:`map_collection`, sorted by id.

    Other collection ids stand for folders under ``<state dir>/collections/``.
    """
    state = pathlib.Path(state_dir) if state_dir else default_state_dir()
    return {cid: pathlib.Path(folder) for cid, folder in sorted(_read_collections(state).items())}


def map_collection(
    collection_id: str, folder: os.PathLike[str] | str, state_dir: os.PathLike[str] | str | None = None
) -> pathlib.Path:
    """Make the local Transfer (API and action) use ``folder`` for ``collection_id``.

    Unmapped collections are folders under ``<state dir>/collections/``. Takes effect for
    the next transfer and stays until :func:`unmap_collection`; returns the folder. Warns
    when other users can write the folder.
    """
    import json

    cid = _check_collection_id(collection_id)
    state = pathlib.Path(state_dir) if state_dir else default_state_dir()
    from gladier_jupyter.local import process

    process.prepare_state_dir(state)
    target = pathlib.Path(folder).expanduser().resolve()
    target.mkdir(parents=True, exist_ok=True)
    with _CollectionsLock(state):
        mapping = _read_collections(state)
        mapping[cid] = str(target)
        process._write_private(state / "collections.json", json.dumps(mapping, indent=1))
    info = target.stat()
    if info.st_mode & 0o002 or info.st_uid != os.geteuid():
        import warnings

        # Transfers never follow links there, but what others put in it is theirs.
        warnings.warn(f"Collection {cid}'s folder {target} is writable by other users "
                      f"(mode {info.st_mode & 0o7777:04o}): they can plant links and files in it.", stacklevel=2)
    return target


def unmap_collection(collection_id: str, state_dir: os.PathLike[str] | str | None = None) -> bool:
    """Forget the folder of ``collection_id`` (the folder and its files stay); ``True`` if it
    was mapped. The id then stands for ``<state dir>/collections/<id>/`` again."""
    import json

    cid = _check_collection_id(collection_id)
    state = pathlib.Path(state_dir) if state_dir else default_state_dir()
    from gladier_jupyter.local import process

    process.prepare_state_dir(state)
    with _CollectionsLock(state):
        mapping = _read_collections(state)
        if mapping.pop(cid, None) is None:
            return False
        process._write_private(state / "collections.json", json.dumps(mapping, indent=1))
    return True


def _get(path: str, state_dir: os.PathLike[str] | str | None, **query: object) -> object:
    from gladier_jupyter.local import _client

    status, body = _client.call(ensure_running(state_dir), "GET", path, query)
    if status != 200:
        from gladier_jupyter.errors import GladierJupyterUsageError

        detail = (body or {}).get("description") if isinstance(body, dict) else None
        raise GladierJupyterUsageError(detail or f"The local service answered {status} to GET {path[:80]}.")
    return body


def outbox(run_id: str | None = None, state_dir: os.PathLike[str] | str | None = None,
           limit: int = 100) -> list[dict[str, object]]:
    """The emails the Send Notification Email action "sent" (of one run), newest first:
    ``time``, ``run_id``, ``state_name``, ``sender``, ``destination``, ``subject``,
    ``mimetype``, ``body``. Nothing ever leaves the machine."""
    return _get("actions/outbox", state_dir, run_id=run_id, limit=limit)["messages"]  # type: ignore[index]


def dois(state_dir: os.PathLike[str] | str | None = None, limit: int = 100) -> list[dict[str, object]]:
    """The DOIs the DataCite Mint action minted (under the test prefix 10.5072), newest
    first, as DataCite documents: ``{"data": {"id", "type", "attributes"}}``."""
    return _get("actions/dois", state_dir, limit=limit)["dois"]  # type: ignore[index]


def waiting_options(run_id: str | None = None, state_dir: os.PathLike[str] | str | None = None) -> list[dict[str, object]]:
    """The Wait For User Selection actions still waiting (of one run): ``run_id``,
    ``state_name``, ``options`` (``name``, ``url_suffix``, ``url``)."""
    return _get("actions/weboption/waiting", state_dir, run_id=run_id)["waiting"]  # type: ignore[index]


def select_option(url_or_suffix: str, state_dir: os.PathLike[str] | str | None = None) -> dict[str, object]:
    """Select a waiting option, by the address a flow mailed
    (``https://actions.globus.org/weboption/option/<url_suffix>``) or its ``url_suffix``;
    the run then goes on. What the option's address answers (``name``, ``message``)."""
    import re
    import urllib.parse

    text = str(url_or_suffix).strip()
    found = re.match(r"^https://actions(?:\.automate)?\.globus\.org/weboption/option/([^/?#]+)", text)
    suffix = found.group(1) if found else text
    if not re.match(r"^[A-Za-z0-9_.~-]{1,256}$", suffix):
        from gladier_jupyter.errors import GladierJupyterUsageError

        raise GladierJupyterUsageError(
            f"{text[:80]!r} is not a weboption address nor a url_suffix; pass "
            "https://actions.globus.org/weboption/option/<url_suffix> or the suffix itself.")
    return _get(f"actions/actions.globus.org/weboption/option/{urllib.parse.quote(suffix)}", state_dir)  # type: ignore[return-value]
