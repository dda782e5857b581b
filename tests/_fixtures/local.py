"""Fixtures for the local Globus-compatible service.

- ``local_service`` (session): the service started through ``gladier_jupyter.backend.use_local()``
  with the state folder from ``$GLADIER_JUPYTER_STATE_DIR`` (set by the root conftest), so
  every globus-sdk client built in this process talks to it; stopped at the session's end.
  Its value is the :class:`gladier_jupyter.local.ServiceInfo` (``base_url``, ``secret``,
  ``service_url(api)``).
- ``flows_client`` / ``search_client``: globus-sdk clients on it.
- ``gladier_kwargs``: ``gladier_client_kwargs()`` for one gladier client on it.
"""

from __future__ import annotations

import typing as t

import pytest


@pytest.fixture(scope="session")
def local_service() -> t.Iterator[t.Any]:
    from gladier_jupyter import backend, local

    info = backend.use_local()
    try:
        yield info
    finally:
        local.stop(info.state_dir)


@pytest.fixture
def flows_client(local_service: t.Any) -> t.Any:
    from gladier_jupyter import backend

    backend.use_local(local_service.state_dir)
    return backend.flows_client()


@pytest.fixture
def search_client(local_service: t.Any) -> t.Any:
    from gladier_jupyter import backend

    backend.use_local(local_service.state_dir)
    return backend.search_client()


@pytest.fixture
def gladier_kwargs(local_service: t.Any) -> dict[str, t.Any]:
    from gladier_jupyter import backend

    backend.use_local(local_service.state_dir)
    return backend.gladier_client_kwargs()
