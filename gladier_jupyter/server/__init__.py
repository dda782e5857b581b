"""The jupyter_server extension behind the JupyterLab plugin: runs and flow definitions.

Routes live under ``/gladier-jupyter/api/`` (see :mod:`gladier_jupyter.server.handlers`).
Every one needs Jupyter's own login; Globus tokens and the local service's secret stay in
this server process and never reach the browser.
"""

from __future__ import annotations

import typing as t

__all__ = ["_jupyter_server_extension_points", "_load_jupyter_server_extension"]


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "gladier_jupyter.server"}]


def _load_jupyter_server_extension(serverapp: t.Any) -> None:
    """Register the API handlers on the server's web app."""
    from gladier_jupyter.server.handlers import setup_handlers

    setup_handlers(serverapp.web_app)
    serverapp.log.info("gladier_jupyter: API at /gladier-jupyter/api/")


# Older jupyter_server / notebook look the loader up under this name.
load_jupyter_server_extension = _load_jupyter_server_extension
