"""The local Compute API: functions registered with globus-compute-sdk run in local workers.

The server mounts :func:`routes` under ``/api/compute/`` and keeps :func:`make_service`'s
object in ``ctx.services["compute"]``; the flow engine's compute action provider calls that
object directly (``submit``, ``get_task``, ``wait``, ``add_done_callback``, ``cancel``).
"""

from __future__ import annotations

import typing as t

if t.TYPE_CHECKING:
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

# Imported on first use: worker processes (which preload ``._worker``) and kernels
# that only build a client (:func:`compute_client`) need neither Tornado nor the store.
_LAZY = {
    "ComputeError": (".errors", "ComputeError"),
    # the error class the server uses for paths under ``/api/compute/`` that match no route
    "error_class": (".errors", "ComputeError"),
    "ComputeService": (".service", "ComputeService"),
    "routes": (".routes", "routes"),
}


def __getattr__(name: str) -> t.Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    module, attr = _LAZY[name]
    value = getattr(importlib.import_module(module, __name__), attr)
    # importing ``.routes`` set the package attribute ``routes`` to the submodule: the
    # function is what this package exports under that name
    globals()[name] = value
    return value


def make_service(ctx: ServiceContext) -> ComputeService:
    """Open the Compute store and start the embedded default endpoint."""
    from .service import ComputeService

    return ComputeService(ctx)


def compute_client(base_url: str, secret: str, ca_file: t.Any = None, **kwargs: t.Any) -> t.Any:
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
    extra: dict[str, t.Any] = {}
    if ca_file is not None:  # the service's pinned certificate (``ServiceInfo.ca_file``)
        from globus_sdk.transport import RequestsTransport

        extra["transport"] = RequestsTransport(verify_ssl=str(ca_file))
    client._compute_web_client = _ComputeWebClient(base_url=base_url, authorizer=authorizer, **extra)
    return client
