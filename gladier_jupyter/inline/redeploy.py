"""What a client's next run would re-deploy: its flow against the deployed one, its compute
functions against the checksums gladier stored when it registered them."""

from __future__ import annotations

import dataclasses
import typing as t

from gladier_jupyter.inline.cells import _usage
from gladier_jupyter.inline.clients import _unwrap

__all__ = ["Redeploy", "pending_redeploy", "client_instance"]


@dataclasses.dataclass
class Redeploy:
    """The deployed definition (None before the first deploy) and the one a run would send."""

    flow_id: str | None
    deployed: dict[str, t.Any] | None
    current: dict[str, t.Any]
    #: input key (``<name>_function_id``) → checksum gladier stored / checksum of the source now
    stored_functions: dict[str, str]
    current_functions: dict[str, str]

    @property
    def definition_changed(self) -> bool:
        return self.deployed != self.current

    @property
    def functions_changed(self) -> list[str]:
        return sorted(k for k, v in self.current_functions.items()
                      if k in self.stored_functions and self.stored_functions[k] != v)

    @property
    def pending(self) -> bool:
        """Whether the next run changes what is deployed (flow or a function)."""
        return self.deployed is not None and (self.definition_changed or bool(self.functions_changed))


def client_instance(client: t.Any) -> t.Any:
    """A gladier client instance on the current backend (a class is instantiated)."""
    if isinstance(_unwrap(client), type):
        from gladier_jupyter import backend

        return client(**backend.gladier_client_kwargs())
    return client


def _functions(instance: t.Any) -> tuple[dict[str, str], dict[str, str]]:
    from gladier.utils.name_generation import (
        get_compute_function_checksum_name,
        get_compute_function_name,
    )

    manager = instance.compute_manager
    stored: dict[str, str] = {}
    current: dict[str, str] = {}
    for tool in instance.tools:
        for fn in list(getattr(tool, "compute_functions", []) or []) + list(
                getattr(tool, "funcx_functions", []) or []):
            key = get_compute_function_name(fn)
            current[key] = manager.get_compute_function_checksum(fn)
            saved = manager.storage.get_value(get_compute_function_checksum_name(fn))
            if saved:
                stored[key] = saved
    return stored, current


def pending_redeploy(client: t.Any) -> Redeploy:
    """Compare a client's flow and functions with what is deployed, changing nothing.

    The deployed definition comes from the flows service (``FlowsClient.get_flow``) of the
    current backend, local or Globus; a flow id gladier stored that the service no longer
    knows counts as not deployed (gladier deploys a new flow then).
    """
    from globus_sdk import GlobusAPIError

    instance = client_instance(client)
    current = instance.get_flow_definition()
    stored, now = _functions(instance)
    manager = instance.flows_manager
    flow_id = manager.get_flow_id()
    deployed = None
    if flow_id:
        try:
            deployed = dict(manager.flows_client.get_flow(flow_id).data.get("definition") or {})
        except GlobusAPIError as err:
            if err.http_status != 404:
                raise _usage(
                    f"The flows service refused to show the deployed flow {flow_id}: "
                    f"{err.http_status} {err.code}: {err.message}"
                ) from None
            flow_id = None
    return Redeploy(flow_id, deployed, current, stored, now)
