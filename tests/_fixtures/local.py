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

import os
import typing as t

import pytest

# the run helpers, here too for the tests that import them from this module
from tests._fixtures.runs import run_log as run_log
from tests._fixtures.runs import wait_for_run as wait_for_run

# The session's service must not idle out while tests that need no service run (the Slurm
# files take minutes): an hour. A service that something (a JupyterLab server's runs panel,
# a kernel) starts again after the session fixture stopped it is owned by that process and
# exits soon after it ends; pytest_unconfigure stops the session's own.
os.environ.setdefault("GLADIER_JUPYTER_IDLE_TIMEOUT", "3600")


def pytest_unconfigure(config: pytest.Config) -> None:
    """Last thing of the session: stop the session's service if anything restarted it."""
    from gladier_jupyter import local

    if os.environ.get("GLADIER_JUPYTER_STATE_DIR"):
        local.stop(local.default_state_dir())


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


@pytest.fixture
def run_definition(flows_client: t.Any) -> t.Callable[..., dict[str, t.Any]]:
    """``run_definition(definition, flow_input, input_schema=None, wait=True)``: deploy the
    definition as a new flow, start a run and (by default) wait for its end; the run doc."""
    import globus_sdk

    def run(definition: dict[str, t.Any], flow_input: dict[str, t.Any] | None = None,
            input_schema: dict[str, t.Any] | None = None, wait: bool = True,
            label: str = "test run") -> dict[str, t.Any]:
        flow = flows_client.create_flow("test flow", definition, input_schema or {}).data
        specific = globus_sdk.SpecificFlowClient(flow["id"], authorizer=flows_client.authorizer)
        started = specific.run_flow(flow_input or {}, label=label).data
        return wait_for_run(flows_client, started["run_id"]) if wait else started

    return run
