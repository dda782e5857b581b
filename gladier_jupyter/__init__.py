"""gladier-jupyter: build, see, test and run Globus flows from a notebook.

``%load_ext gladier_jupyter`` registers the magics. Everything heavy (gladier,
globus-sdk, globus-compute-sdk, the widgets) is imported on first use, so loading
the extension stays instant.
"""

from __future__ import annotations

import importlib
import typing as t

from gladier_jupyter._version import __version__
from gladier_jupyter.errors import GladierJupyterError, GladierJupyterUsageError

__all__ = [
    "__version__",
    "GladierJupyterError",
    "GladierJupyterUsageError",
    "FlowPreview",
    "RunMonitor",
    "RunsPanel",
    "Login",
    "login",
    "compare_runs",
    "flow_history",
    "use_local",
    "use_globus",
    "flows_client",
    "search_client",
    "transfer_client",
    "load_ipython_extension",
    "unload_ipython_extension",
]

# Public name -> module that defines it; imported on first attribute access.
_LAZY: dict[str, str] = {
    "FlowPreview": "gladier_jupyter.widgets.preview",
    "RunMonitor": "gladier_jupyter.widgets.monitor",
    "RunsPanel": "gladier_jupyter.widgets.runs",
    "Login": "gladier_jupyter.widgets.login",
    "login": "gladier_jupyter.widgets.login",
    "compare_runs": "gladier_jupyter.widgets.history",
    "flow_history": "gladier_jupyter.widgets.history",
    "use_local": "gladier_jupyter.backend",
    "use_globus": "gladier_jupyter.backend",
    "flows_client": "gladier_jupyter.backend",
    "search_client": "gladier_jupyter.backend",
    "transfer_client": "gladier_jupyter.backend",
}


def __getattr__(name: str) -> t.Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'gladier_jupyter' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


def _connect_layers() -> None:
    # Each layer imports only the ones below it (DESIGN.md; checked by lint-imports); the
    # upward calls go through hooks, connected here, at the top: the backend asks the login
    # layer for Globus-mode authorizers, and the login layer shows the Login widget.
    from gladier_jupyter import auth, backend

    backend.set_globus_auth(auth.authorizer_for, auth.login_manager)
    auth.set_login_display(_display_login)


def _display_login(scopes: list[str], auth_session: t.Any) -> None:
    from gladier_jupyter.widgets.login import display_login

    display_login(scopes, auth_session)


_connect_layers()


def load_ipython_extension(ipython: t.Any) -> None:
    """Register the gladier magics (``%load_ext gladier_jupyter``) and give plain gladier
    clients (``MyGladierClient()``) this backend's managers while the extension is loaded."""
    from gladier_jupyter.magics import GladierMagics, install_plain_client_defaults
    from gladier_jupyter.plain_clients import start_background_import

    ipython.register_magics(GladierMagics)
    install_plain_client_defaults(ipython)
    # gladier and globus-compute-sdk take ~0.7 s to import: the first %%gladier_tool cell
    # would pay for it; a daemon thread does instead, while the user types that cell.
    start_background_import(ipython)


def unload_ipython_extension(ipython: t.Any) -> None:
    """Give plain gladier clients back their own managers and remove a ``GLOBUS_DATA`` the
    extension provided (its tokens are revoked); magics stay registered until the kernel
    restarts."""
    from gladier_jupyter.magics import remove_plain_client_defaults

    remove_plain_client_defaults(ipython)


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """Where the prebuilt JupyterLab extension sits (``jupyter labextension develop``)."""
    return [{"src": "labextension", "dest": "gladier-jupyter"}]


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    """The server extension behind the JupyterLab plugin (runs, flow files)."""
    return [{"module": "gladier_jupyter.server"}]
