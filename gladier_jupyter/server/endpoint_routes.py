"""Route of the runs panel's "Endpoints" section: the local Compute endpoints' status.

=========================================  ============================================
``GET    endpoints``                       one row per local endpoint, the embedded
                                           default first: engine, provider, state,
                                           workers, pending tasks, provider job ids
=========================================  ============================================

Read through :func:`gladier_jupyter.local.endpoints.statuses`, the notebook's own path to
the service (its certificate pinned, its secret kept in this server process): the page
gets the rows, never an address or a secret. Listing is ``read`` on ``gladier_jupyter``.
"""

from __future__ import annotations

import asyncio
import json
import typing as t

import tornado.web
from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join

from gladier_jupyter.errors import GladierJupyterError

__all__ = ["endpoint_handlers", "endpoint_rows"]


def endpoint_rows(state_dir: str | None) -> dict[str, t.Any]:
    """What ``GET endpoints`` answers (blocks: it starts the service if needed)."""
    from gladier_jupyter.local import endpoints

    return {"endpoints": [s.summary() for s in endpoints.statuses(state_dir=state_dir)]}


class EndpointsHandler(APIHandler):
    auth_resource = "gladier_jupyter"

    def reply(self, doc: t.Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(doc))

    @tornado.web.authenticated
    @authorized("read")
    async def get(self) -> None:
        state_dir = self.settings.get("gladier_jupyter_state_dir")
        try:
            doc = await asyncio.get_running_loop().run_in_executor(None, endpoint_rows, state_dir)
        except (GladierJupyterError, OSError) as exc:
            # The service cannot be started or reached: say so in one line, no stack.
            text = str(exc).splitlines()[0][:300] if str(exc) else exc.__class__.__name__
            self.log.warning("gladier_jupyter: endpoint status: %s", text)
            return self.reply({"message": f"Could not read the local endpoints' status: {text}"}, 502)
        self.reply(doc)


def endpoint_handlers(base: str) -> list[tuple[str, type[APIHandler]]]:
    """The routes, under ``base`` (``<base_url>/gladier-jupyter/api``)."""
    return [(url_path_join(base, "endpoints") + "/?", EndpointsHandler)]
