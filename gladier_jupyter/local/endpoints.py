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
    endpoints.statuses()                                # every endpoint, the default first
    folder, how = endpoints.export("cluster")           # ~/.globus_compute/cluster/config.yaml
    endpoints.remove("cluster")

or ``python -m gladier_jupyter.local endpoint add|list|show|status|remove|export``.
"""

from __future__ import annotations

import html
import os
import pathlib
import typing as t

from gladier_jupyter.local.compute import endpoints as _registry
from gladier_jupyter.local.compute.endpoints import Endpoint

__all__ = ["Endpoint", "EndpointStatus", "add", "export", "instructions", "list_endpoints", "remove",
           "show", "status", "statuses"]

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


class EndpointStatus(dict[str, t.Any]):
    """One endpoint's status as the service answers ``GET /v2/endpoints/{id}/status``
    (``{"status", "details"}``), with the figures people look at as attributes."""

    def __init__(self, doc: t.Mapping[str, t.Any], uuid: str) -> None:
        super().__init__(doc)
        self.uuid = uuid

    @property
    def details(self) -> dict[str, t.Any]:
        found = self.get("details")
        return found if isinstance(found, dict) else {}

    @property
    def name(self) -> str:
        return str(self.details.get("endpoint") or self.uuid)

    @property
    def state(self) -> str:
        """``running``, ``not started`` (its engine starts on its first task) or ``error``."""
        if self.get("status") != "online" or self.details.get("status_error"):
            return "error"
        return "not started" if self.details.get("started") is False else "running"

    @property
    def message(self) -> str:
        return str(self.details.get("status_error") or "")

    def _count(self, key: str) -> int | None:
        value = self.details.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    @property
    def total_workers(self) -> int | None:
        return self._count("total_workers")

    @property
    def busy_workers(self) -> int | None:
        total, idle = self.total_workers, self._count("idle_workers")
        if total is None:
            return None
        if idle is not None:
            return max(0, total - idle)
        running = self._count("running_tasks")  # pool engines report no idle count
        return None if running is None else min(total, running)

    @property
    def pending_tasks(self) -> int | None:
        return self._count("pending_tasks")

    @property
    def blocks(self) -> dict[str, str]:
        """Parsl block id -> provider job id (a Slurm or PBS job, a pid for LocalProvider)."""
        found = self.details.get("blocks")
        return {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else {}

    @property
    def job_ids(self) -> list[str]:
        """The provider jobs of its blocks and of its running tasks."""
        running = self.details.get("job_ids")
        return sorted({*self.blocks.values(), *(str(j) for j in running or [])})

    def summary(self) -> dict[str, t.Any]:
        """The row the runs panel's "Endpoints" section shows."""
        d = self.details
        return {
            "name": self.name, "uuid": self.uuid,
            "default": self.uuid == _registry.DEFAULT_ENDPOINT_ID,
            "engine": str(d.get("engine") or d.get("engine_type") or ""),
            "provider": str(d.get("provider") or ""),
            "state": self.state, "message": self.message,
            "busy_workers": self.busy_workers, "total_workers": self.total_workers,
            "pending_tasks": self.pending_tasks,
            "job_ids": self.job_ids, "blocks": self.blocks,
        }

    def _workers(self) -> str:
        busy, total = self.busy_workers, self.total_workers
        return "-" if total is None else f"{busy if busy is not None else '?'}/{total}"

    def __repr__(self) -> str:
        row = self.summary()
        jobs = f", jobs {','.join(row['job_ids'])}" if row["job_ids"] else ""
        return (f"<EndpointStatus {row['name']} {row['state']}: {self._workers()} workers busy, "
                f"{row['pending_tasks'] if row['pending_tasks'] is not None else '-'} pending{jobs}>")

    def _repr_html_(self) -> str:
        row = self.summary()
        cells = [
            ("Endpoint", row["name"]), ("UUID", row["uuid"]),
            ("Engine", " / ".join(x for x in (row["engine"], row["provider"]) if x) or "-"),
            ("State", row["state"] + (f": {row['message']}" if row["message"] else "")),
            ("Workers busy/total", self._workers()),
            ("Pending tasks", "-" if row["pending_tasks"] is None else str(row["pending_tasks"])),
            ("Provider jobs", ", ".join(row["job_ids"]) or "-"),
        ]
        body = "".join(f"<tr><th scope='row' style='text-align:left'>{html.escape(k)}</th>"
                       f"<td>{html.escape(v)}</td></tr>" for k, v in cells)
        return f"<table class='gj-endpoint-status'>{body}</table>"


def _status_of(info: t.Any, endpoint_id: str, name: str) -> EndpointStatus:
    from gladier_jupyter.local import _client

    try:
        code, body = _client.call(info, "GET", f"compute/v2/endpoints/{endpoint_id}/status")
    except OSError as exc:
        code, body = 0, {"description": f"the local service did not answer ({exc.__class__.__name__})"}
    if code != 200 or not isinstance(body, dict):
        said = body.get("description") if isinstance(body, dict) else None
        return EndpointStatus({"status": "error", "details": {
            "endpoint": name, "status_error": str(said or f"the local service answered {code}")[:200]}},
            endpoint_id)
    return EndpointStatus(body, endpoint_id)


def status(name: str | None = None, *, state_dir: StateDir = None) -> EndpointStatus:
    """The engine's status as the running service reports it (workers, pending tasks,
    provider job ids); ``name=None``: the embedded default. Starts the service if needed."""
    from gladier_jupyter.local import _get

    endpoint_id = show(name, state_dir=state_dir).uuid if name else _registry.DEFAULT_ENDPOINT_ID
    doc = _get(f"compute/v2/endpoints/{endpoint_id}/status", state_dir)
    return EndpointStatus(doc if isinstance(doc, dict) else {}, endpoint_id)


def statuses(*, state_dir: StateDir = None) -> list[EndpointStatus]:
    """The status of every endpoint, the embedded default first, then by name; one that
    cannot be read is in the list as ``state == "error"`` with the reason. Starts the
    service if needed."""
    from gladier_jupyter.local import ensure_running

    info = ensure_running(state_dir)
    found = [(_registry.DEFAULT_ENDPOINT_ID, "default")]
    found += [(e.uuid, e.name) for e in list_endpoints(state_dir=state_dir)]
    return [_status_of(info, eid, name) for eid, name in found]


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
