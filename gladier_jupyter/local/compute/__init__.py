"""The local Compute API: functions registered with globus-compute-sdk run in local workers.

The server mounts :func:`routes` under ``/api/compute/`` and keeps :func:`make_service`'s
object in ``ctx.services["compute"]``; the flow engine's compute action provider calls that
object directly (``submit``, ``get_task``, ``wait``, ``add_done_callback``, ``cancel``).
"""

from __future__ import annotations

import typing as t

from gladier_jupyter.local._http import ServiceContext

from .errors import ComputeError
from .routes import routes
from .service import ComputeService

__all__ = [
    "ComputeError",
    "ComputeService",
    "compute_client",
    "error_class",
    "make_service",
    "routes",
]

#: the error class the server uses for paths under ``/api/compute/`` that match no route
error_class = ComputeError


def make_service(ctx: ServiceContext) -> ComputeService:
    """Open the Compute store and start the worker pool."""
    return ComputeService(ctx)


def compute_client(base_url: str, secret: str, **kwargs: t.Any) -> t.Any:
    """A globus-compute-sdk ``Client`` whose requests go to the local Compute API.

    ``Client`` takes its URL from its own environment table and ignores
    ``GLOBUS_SDK_SERVICE_URL_*``; it does accept an authorizer. So the client is built as
    usual (no version check over the network) and its web client is rebuilt the way
    ``Client.__init__`` builds it, with ``base_url`` (e.g.
    ``http://127.0.0.1:PORT/api/compute``). Pass the result to gladier as its compute
    client. ``kwargs`` go to ``Client`` (e.g. ``code_serialization_strategy``).
    """
    import globus_sdk
    from globus_compute_sdk import Client
    from globus_compute_sdk.sdk.client import _ComputeWebClient

    authorizer = globus_sdk.AccessTokenAuthorizer(secret)
    client = Client(do_version_check=False, authorizer=authorizer, **kwargs)
    client.web_service_address = base_url
    client._compute_web_client = _ComputeWebClient(base_url=base_url, authorizer=authorizer)
    return client
