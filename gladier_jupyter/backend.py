"""Which Globus this kernel talks to: the local service (the default) or the real one.

Local mode points plain globus-sdk clients at the local service through
``GLOBUS_SDK_SERVICE_URL_*`` (read when a client is built) and hands gladier a login
manager that answers every scope with the service's secret, and a compute manager whose
globus-compute-sdk client talks to the local Compute API. Nothing of gladier or
globus-sdk is patched.

gladier keeps flow and function ids per client class in ``~/.gladier/<client_id>.cfg``.
In local mode the managers from :func:`gladier_client_kwargs` store theirs under keys
prefixed with the local store's instance id (``local_<id>_flow_id``...), in the same
file and section, so an id from the local service is never used against Globus (and a
Globus id never against the local service), and a wiped local state folder starts fresh.
"""

from __future__ import annotations

import dataclasses
import os
import typing as t

from gladier_jupyter.errors import GladierJupyterUsageError

if t.TYPE_CHECKING:
    import globus_sdk

    from gladier_jupyter.local import ServiceInfo

__all__ = [
    "Backend",
    "authorizer_for",
    "compute_client",
    "current",
    "flows_client",
    "gladier_client_kwargs",
    "search_client",
    "set_globus_login_manager",
    "transfer_client",
    "use_globus",
    "use_local",
]

#: globus-sdk service name -> local API name
_SERVICE_ENV = {
    "FLOWS": "flows",
    "SEARCH": "search",
    "TRANSFER": "transfer",
    "AUTH": "auth",
    "COMPUTE": "compute",
}


@dataclasses.dataclass(frozen=True)
class Backend:
    """``name`` is ``"local"`` or ``"globus"``; ``info`` the local service when local."""

    name: str
    info: ServiceInfo | None = None


_state: dict[str, t.Any] = {"name": None, "info": None, "login_manager": None}


def use_local(state_dir: os.PathLike[str] | str | None = None) -> ServiceInfo:
    """Make the local service this process's backend (starting it if needed)."""
    from gladier_jupyter import local

    info = local.ensure_running(state_dir)
    for env, api in _SERVICE_ENV.items():
        os.environ[f"GLOBUS_SDK_SERVICE_URL_{env}"] = info.service_url(api)
    _state.update(name="local", info=info)
    return info


def use_globus() -> None:
    """Talk to the real Globus services from now on (clients built afterwards)."""
    for env in _SERVICE_ENV:
        os.environ.pop(f"GLOBUS_SDK_SERVICE_URL_{env}", None)
    _state.update(name="globus", info=None)


def current() -> Backend:
    """The backend in use; local unless :func:`use_globus` chose otherwise."""
    if _state["name"] == "globus":
        return Backend("globus", None)
    return Backend("local", _state["info"])


def _local_info() -> ServiceInfo:
    # Checked (one ping) each time a client is made: a service that was stopped or
    # restarted (on a new port) since use_local() is found or started again.
    info = _state["info"]
    return use_local(info.state_dir if info is not None else None)


def set_globus_login_manager(login_manager: t.Any) -> None:
    """Register the gladier login manager used in Globus mode (the login layer calls this)."""
    _state["login_manager"] = login_manager


def authorizer_for(scope_or_resource: str) -> globus_sdk.authorizers.GlobusAuthorizer:
    """An authorizer for a scope or resource server on the current backend."""
    import globus_sdk

    if current().name == "local":
        return globus_sdk.AccessTokenAuthorizer(_local_info().secret)
    try:
        from gladier_jupyter import auth
    except ImportError:  # pragma: no cover - the login layer ships with the package
        raise GladierJupyterUsageError(
            "No Globus login is available in this kernel; log in with %gladier_login, or use the local service with gladier_jupyter.use_local()."
        ) from None
    return auth.authorizer_for(scope_or_resource)


def _client(cls_name: str, api: str, scope: str) -> t.Any:
    import globus_sdk

    cls = getattr(globus_sdk, cls_name)
    if current().name == "local":
        info = _local_info()
        return cls(base_url=info.service_url(api), authorizer=globus_sdk.AccessTokenAuthorizer(info.secret))
    return cls(authorizer=authorizer_for(scope))


def flows_client() -> globus_sdk.FlowsClient:
    """A globus-sdk ``FlowsClient`` on the current backend."""
    import globus_sdk

    return _client("FlowsClient", "flows", str(globus_sdk.FlowsClient.scopes.all))


def search_client() -> globus_sdk.SearchClient:
    """A globus-sdk ``SearchClient`` on the current backend."""
    import globus_sdk

    return _client("SearchClient", "search", str(globus_sdk.SearchClient.scopes.all))


def transfer_client() -> globus_sdk.TransferClient:
    """A globus-sdk ``TransferClient`` on the current backend."""
    import globus_sdk

    return _client("TransferClient", "transfer", str(globus_sdk.TransferClient.scopes.all))


def compute_client(**kwargs: t.Any) -> t.Any:
    """A globus-compute-sdk ``Client`` on the current backend (no network version check locally)."""
    if current().name == "local":
        from gladier_jupyter.local.compute import compute_client as local_compute_client

        info = _local_info()
        return local_compute_client(info.service_url("compute").rstrip("/"), info.secret, **kwargs)
    import globus_sdk
    from globus_compute_sdk import Client

    return Client(authorizer=authorizer_for(str(globus_sdk.ComputeClientV3.scopes.all)), **kwargs)


# ----------------------------------------------------------------------------- gladier


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
    secret = info.secret

    def grant(scopes: t.Iterable[t.Any]) -> dict[str, t.Any]:
        return {str(s): globus_sdk.AccessTokenAuthorizer(secret) for s in scopes}

    class LocalFlowsManager(FlowsManager):
        """Flows manager whose ids live under the local store's key prefix."""

        def set_storage(self, storage: t.Any, replace: bool = True) -> None:
            if storage is not None and not isinstance(storage, _NamespacedStorage):
                storage = _NamespacedStorage(storage, prefix)
            super().set_storage(storage, replace=replace)

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
        from gladier_jupyter.auth import login_manager as make_login_manager

        login_manager = make_login_manager()
    return {"login_manager": login_manager}
