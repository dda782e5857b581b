"""gladier's managers on the current backend: ``gladier_client_kwargs()``.

In local mode the flows and compute managers keep their ids under keys prefixed with the
local store's instance id (``local_<id>_flow_id``...), so an id from the local service is
never used against Globus (and the reverse), and their clients are the local service's own.
"""

from __future__ import annotations

import typing as t

if t.TYPE_CHECKING:
    import globus_sdk

    from gladier_jupyter.local import ServiceInfo

from gladier_jupyter.backend import (
    _local_info,
    _LocalServiceAuthorizer,
    _no_globus_login,
    _state,
    compute_client,
    current,
    local_client,
)

__all__ = ["gladier_client_kwargs"]


class _NamespacedStorage:
    """A gladier storage whose keys carry a prefix (local ids never mix with Globus ids)."""

    def __init__(self, storage: t.Any, prefix: str):
        self._storage = storage
        self._prefix = prefix

    def __getattr__(self, name: str) -> t.Any:
        return getattr(self._storage, name)

    def get_value(self, key: str) -> t.Any:
        return self._storage.get_value(self._prefix + key)

    def set_value(self, key: str, value: t.Any) -> t.Any:
        return self._storage.set_value(self._prefix + key, value)

    def del_value(self, key: str) -> t.Any:
        return self._storage.del_value(self._prefix + key)


def _local_managers(info: ServiceInfo) -> dict[str, t.Any]:
    import globus_sdk
    from gladier.managers import ComputeManager, FlowsManager
    from gladier.managers.login_manager import CallbackLoginManager

    prefix = f"local_{(info.instance_id or 'default')[:12]}_"
    authorizer = _LocalServiceAuthorizer(info)

    def grant(scopes: t.Iterable[t.Any]) -> dict[str, t.Any]:
        return {str(s): authorizer for s in scopes}

    class LocalFlowsManager(FlowsManager):
        """Flows manager whose ids live under the local store's key prefix and whose
        clients are the local service's own (URL, secret, pinned certificate)."""

        def set_storage(self, storage: t.Any, replace: bool = True) -> None:
            if storage is not None and not isinstance(storage, _NamespacedStorage):
                storage = _NamespacedStorage(storage, prefix)
            super().set_storage(storage, replace=replace)

        @property
        def flows_client(self) -> globus_sdk.FlowsClient:
            if getattr(self, "_flows_client", None) is None:
                self._flows_client = local_client(globus_sdk.FlowsClient, authorizer.info, "flows")
            return self._flows_client

        @property
        def specific_flow_client(self) -> globus_sdk.SpecificFlowClient:
            if getattr(self, "_specific_flow_client", None) is None:
                self._specific_flow_client = local_client(
                    globus_sdk.SpecificFlowClient, authorizer.info, "flows", self.get_flow_id()
                )
            return self._specific_flow_client

    class LocalComputeManager(ComputeManager):
        """Compute manager whose client talks to the local Compute API."""

        def set_storage(self, storage: t.Any, replace: bool = True) -> None:
            if storage is not None and not isinstance(storage, _NamespacedStorage):
                storage = _NamespacedStorage(storage, prefix)
            super().set_storage(storage, replace=replace)

        @property
        def compute_client(self) -> t.Any:
            client = self.__dict__.get("_local_compute_client")
            if client is None:
                client = compute_client(code_serialization_strategy=self.get_serialization_strategy())
                self.__dict__["_local_compute_client"] = client
            return client

    login_manager = CallbackLoginManager({}, callback=grant)
    return {
        "login_manager": login_manager,
        "flows_manager": LocalFlowsManager(),
        "compute_manager": LocalComputeManager(),
    }


def gladier_client_kwargs() -> dict[str, t.Any]:
    """Keyword arguments that make any ``GladierBaseClient`` subclass run on this backend.

    ``MyGladierClient(**gladier_client_kwargs()).run_flow(flow_input=...)``
    """
    if current().name == "local":
        return _local_managers(_local_info())
    login_manager = _state["login_manager"]
    if login_manager is None:
        # One manager per client: each client adds its own flow scope to what it requires.
        make_login_manager = _state["make_login_manager"]
        if make_login_manager is None:
            raise _no_globus_login()
        login_manager = make_login_manager()
    return {"login_manager": login_manager}


