"""Local Globus Compute endpoints: each a name, a UUID and an endpoint ``config.yaml``.

A task submitted to a local endpoint's UUID (the flow input's ``compute_endpoint``) runs on
the engine its config describes (``GlobusComputeEngine`` on a Parsl ``LocalProvider`` /
``SlurmProvider`` / ``PBSProProvider``, ``ProcessPoolEngine``, ``ThreadPoolEngine``),
started on its first task and stopped with the service. Every other endpoint id, the
tutorial's among them, runs on the embedded default.

Usage::

    from gladier_jupyter.local import endpoints
    ep = endpoints.add("cluster", provider="SlurmProvider", partition="debug",
                       max_workers_per_node=2)          # or endpoints.add("x", config=text)
    ep.uuid                                             # put it in flow_input["compute_endpoint"]
    endpoints.list_endpoints(); endpoints.show("cluster"); endpoints.status("cluster")
    folder, how = endpoints.export("cluster")           # ~/.globus_compute/cluster/config.yaml
    endpoints.remove("cluster")

or ``python -m gladier_jupyter.local endpoint add|list|show|status|remove|export``.
"""

from __future__ import annotations

import os
import pathlib
import typing as t

from gladier_jupyter.local.compute import endpoints as _registry
from gladier_jupyter.local.compute.endpoints import Endpoint

__all__ = ["Endpoint", "add", "export", "instructions", "list_endpoints", "remove", "show",
           "status"]

StateDir = os.PathLike | str | None


def _state(state_dir: StateDir) -> pathlib.Path:
    from gladier_jupyter.local import default_state_dir

    return pathlib.Path(state_dir) if state_dir else default_state_dir()


def add(name: str, config: str | None = None, *, state_dir: StateDir = None,
        endpoint_id: str | None = None, **options: t.Any) -> Endpoint:
    """Register a local endpoint from a ``config.yaml`` text, or from ``options``:
    ``engine``, ``provider``, ``max_workers_per_node``, ``nodes_per_block``, ``init_blocks``,
    ``min_blocks``, ``max_blocks``, ``worker_init``, ``partition``, ``account``, ``walltime``."""
    return _registry.add(_state(state_dir), name, config, endpoint_id=endpoint_id, **options)


def list_endpoints(*, state_dir: StateDir = None) -> list[Endpoint]:
    """The registered local endpoints, by name."""
    return _registry.list_endpoints(_state(state_dir))


def show(name: str, *, state_dir: StateDir = None) -> Endpoint:
    """The local endpoint called ``name`` (its ``config`` is the config.yaml text)."""
    return _registry.get(_state(state_dir), name)


def remove(name: str, *, state_dir: StateDir = None) -> Endpoint:
    """Forget the local endpoint ``name`` (its engine stops with the service)."""
    return _registry.remove(_state(state_dir), name)


def status(name: str | None = None, *, state_dir: StateDir = None) -> dict[str, t.Any]:
    """The engine's status as the running service reports it (workers, pending tasks,
    provider job ids); ``name=None``: the embedded default. Starts the service if needed."""
    from gladier_jupyter.local import _get

    endpoint_id = show(name, state_dir=state_dir).uuid if name else _registry.DEFAULT_ENDPOINT_ID
    return _get(f"compute/v2/endpoints/{endpoint_id}/status", state_dir)  # type: ignore[return-value]


def instructions(endpoint: Endpoint, folder: pathlib.Path) -> str:
    """How to run the exported endpoint for real, and what to put in the notebook."""
    return (
        f"Wrote {folder / 'config.yaml'}.\n"
        f"Start it on the machine that should run the tasks (with globus-compute-endpoint "
        f"installed and a Globus login):\n"
        f"    globus-compute-endpoint start {endpoint.name}\n"
        f"It prints the endpoint's Globus UUID (also: globus-compute-endpoint list). In the "
        f"notebook, switch to Globus (gladier_jupyter.use_globus() / %gladier_login) and set\n"
        f"    flow_input['input']['compute_endpoint'] = '<that UUID>'\n"
        f"(locally this endpoint is {endpoint.uuid}; the Globus one gets its own UUID)."
    )


def export(name: str, to: os.PathLike | str | None = None, *,
           state_dir: StateDir = None) -> tuple[pathlib.Path, str]:
    """Write ``name``'s config.yaml where ``globus-compute-endpoint`` reads it
    (``~/.globus_compute/NAME/`` unless ``to``); returns the folder and :func:`instructions`."""
    folder = _registry.export(_state(state_dir), name, pathlib.Path(to).expanduser() if to else None)
    return folder, instructions(show(name, state_dir=state_dir), folder)
