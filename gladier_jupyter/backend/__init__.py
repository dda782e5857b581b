"""Which Globus this kernel talks to: the local service (the default) or the real one.

Local mode builds the product's own clients (and gladier's, through the managers of
:func:`gladier_client_kwargs`) with the local service's URL, its secret and its pinned
certificate, and a compute manager whose globus-compute-sdk client talks to the local
Compute API. Nothing of gladier or globus-sdk is patched.

Plain globus-sdk clients a user builds in the kernel follow ``GLOBUS_SDK_SERVICE_URL_*``
(read when a client is built). Local mode sets those, with ``GLOBUS_SDK_VERIFY_SSL``
pointing at a bundle that adds the service's certificate to the system CAs, only while
the kernel holds no real Globus token: with a hub's ``GLOBUS_DATA`` in the environment, or
once the login layer reports real tokens (:func:`note_real_tokens`), they are left unset,
so a client built with a real token always goes to Globus, never to a local port.

The product's local clients follow the service: on a connection error, or a 401 after a
restart (the secret is new at each start), they look the service up again
(:func:`gladier_jupyter.local.ensure_running`: it may be on another port now) and send the
request once more there; they never retry a stale URL with the secret.

gladier keeps flow and function ids per client class in ``~/.gladier/<client_id>.cfg``.
In local mode the managers from :func:`gladier_client_kwargs` store theirs under keys
prefixed with the local store's instance id (``local_<id>_flow_id``...), in the same
file and section, so an id from the local service is never used against Globus (and a
Globus id never against the local service), and a wiped local state folder starts fresh.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import typing as t

from gladier_jupyter.errors import GladierJupyterUsageError

if t.TYPE_CHECKING:
    import globus_sdk

    from gladier_jupyter.local import ServiceInfo

__all__ = [
    "Backend",
    "LOCAL_GLOBUS_DATA_CLIENT",
    "LOCAL_GLOBUS_DATA_ENV",
    "LOCAL_GLOBUS_DATA_SCOPES",
    "authorizer_for",
    "compute_client",
    "current",
    "flows_client",
    "gladier_client_kwargs",
    "local_auth_state",
    "local_client",
    "note_real_tokens",
    "on_switch",
    "provide_globus_data",
    "revoke_local_tokens",
    "search_client",
    "set_globus_auth",
    "set_globus_login_manager",
    "specific_flow_client",
    "transfer_client",
    "use_globus",
    "use_local",
    "withdraw_globus_data",
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


_VERIFY_ENV = "GLOBUS_SDK_VERIFY_SSL"

_state: dict[str, t.Any] = {
    "name": None, "info": None, "login_manager": None, "real_tokens": False,
    # Globus-mode tokens come from the login layer above; it registers itself here
    # (set_globus_auth) so this module never imports it.
    "authorizer_for": None, "make_login_manager": None,
}


def _plain_clients_may_follow() -> bool:
    # A hub's GLOBUS_DATA means real tokens in this kernel (the extension's own stand-in
    # for offline use says so in its marker variable).
    hub_tokens = bool(os.environ.get("GLOBUS_DATA")) and not os.environ.get("GLADIER_JUPYTER_LOCAL_GLOBUS_DATA")
    return not (hub_tokens or _state["real_tokens"])


def _set_plain_client_env(info: ServiceInfo | None) -> None:
    """Point plain globus-sdk clients at ``info`` (or nowhere: ``None``)."""
    from gladier_jupyter.local import tls

    ours = {
        str(p / tls.BUNDLE_FILE)
        for p in {i.state_dir for i in (_state["info"], info) if i is not None}
    }
    if info is None or not _plain_clients_may_follow():
        for env in _SERVICE_ENV:
            os.environ.pop(f"GLOBUS_SDK_SERVICE_URL_{env}", None)
        if os.environ.get(_VERIFY_ENV) in ours:
            os.environ.pop(_VERIFY_ENV, None)
        return
    for env, api in _SERVICE_ENV.items():
        os.environ[f"GLOBUS_SDK_SERVICE_URL_{env}"] = info.service_url(api)
    bundle = info.state_dir / tls.BUNDLE_FILE
    if bundle.is_file() and os.environ.get(_VERIFY_ENV, "") in ours | {""}:
        os.environ[_VERIFY_ENV] = str(bundle)


_switch_listeners: list[t.Callable[[], bool | None]] = []


def on_switch(callback: t.Callable[[], bool | None]) -> None:
    """Call ``callback`` after :func:`use_local` / :func:`use_globus`; it returns False once
    it is obsolete (a closed widget)."""
    _switch_listeners.append(callback)


def _switched() -> None:
    for callback in list(_switch_listeners):
        try:
            alive = callback()
        except Exception:  # a broken view must not break the switch
            logging.getLogger(__name__).debug("backend switch listener failed", exc_info=True)
            continue
        if alive is False:
            _switch_listeners.remove(callback)


def use_local(state_dir: os.PathLike[str] | str | None = None) -> ServiceInfo:
    """Make the local service this process's backend (starting it if needed)."""
    from gladier_jupyter import local

    info = local.ensure_running(state_dir)
    _set_plain_client_env(info)
    _state.update(name="local", info=info)
    _switched()
    return info


def use_globus() -> None:
    """Talk to the real Globus services from now on (clients built afterwards); a
    ``GLOBUS_DATA`` of local-service tokens (:func:`provide_globus_data`) is withdrawn, so
    none of them is ever sent to Globus."""
    withdraw_globus_data()
    _set_plain_client_env(None)
    _state.update(name="globus", info=None)
    _switched()


def note_real_tokens() -> None:
    """The login layer found real Globus tokens in this kernel: plain globus-sdk clients
    stop following the local service, so none of them sends a real token to a local port."""
    _state["real_tokens"] = True
    if _state["info"] is not None:
        _set_plain_client_env(_state["info"])


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
    """Use one gladier login manager for every client in Globus mode (``None``: a fresh one each)."""
    _state["login_manager"] = login_manager


def set_globus_auth(
    authorizer_for: t.Callable[[str], t.Any] | None,
    make_login_manager: t.Callable[[], t.Any] | None,
) -> None:
    """Register where Globus-mode authorizers and login managers come from (the login layer).

    ``gladier_jupyter`` connects ``gladier_jupyter.auth`` here when it is imported.
    """
    _state["authorizer_for"] = authorizer_for
    _state["make_login_manager"] = make_login_manager


def _no_globus_login() -> GladierJupyterUsageError:
    return GladierJupyterUsageError(
        "No Globus login is available in this kernel; log in with %gladier_login, or use the local service with gladier_jupyter.use_local()."
    )


def authorizer_for(scope_or_resource: str) -> globus_sdk.authorizers.GlobusAuthorizer:
    """An authorizer for a scope or resource server on the current backend."""
    if current().name == "local":
        return _LocalServiceAuthorizer(_local_info())
    provider = _state["authorizer_for"]
    if provider is None:
        raise _no_globus_login()
    return provider(scope_or_resource)


class _LocalServiceAuthorizerMixin:
    """The local service's secret, read again when the service answers 401 (it restarted)."""

    def __init__(self, info: ServiceInfo) -> None:
        self.info = info

    def get_authorization_header(self) -> str:
        return f"Bearer {self.info.secret}"

    def handle_missing_authorization(self) -> bool:
        from gladier_jupyter import local

        try:
            found = local.status(self.info.state_dir)
        except Exception as exc:  # noqa: BLE001 - a 401 stays a 401 when the service is gone
            logging.getLogger(__name__).debug("local service status unknown (%s)", type(exc).__name__)
            return False
        if found is None or found.secret == self.info.secret:
            return False
        self.info = found
        return True


_AUTHORIZER_CLASS: list[type] = []


def _LocalServiceAuthorizer(info: ServiceInfo) -> t.Any:  # used as a class
    """A globus-sdk authorizer of the local service ``info`` (built lazily: globus-sdk is
    imported on first use, so ``%load_ext`` stays instant)."""
    if not _AUTHORIZER_CLASS:
        from globus_sdk.authorizers import GlobusAuthorizer

        _AUTHORIZER_CLASS.append(
            type("LocalServiceAuthorizer", (_LocalServiceAuthorizerMixin, GlobusAuthorizer), {"__module__": __name__})
        )
    return _AUTHORIZER_CLASS[0](info)


def _local_client_class(cls: type[globus_sdk.BaseClient]) -> type:
    """``cls`` with a ``request`` that follows the local service to its new port."""
    import globus_sdk

    cached = _LOCAL_CLASSES.get(cls)
    if cached is not None:
        return cached

    def request(self: t.Any, method: str, path: str, **kwargs: t.Any) -> t.Any:
        try:
            return cls.request(self, method, path, **kwargs)
        except globus_sdk.NetworkError:
            if not _relocate(self):
                raise
        return cls.request(self, method, path, **kwargs)

    local_cls = type(f"Local{cls.__name__}", (cls,), {"request": request, "__module__": __name__,
                                                      "__doc__": f"{cls.__name__} on the local service."})
    _LOCAL_CLASSES[cls] = local_cls
    return local_cls


_LOCAL_CLASSES: dict[type, type] = {}


def _relocate(client: t.Any) -> bool:
    """Find (or start) the client's service again; True if it moved and the client follows."""
    from gladier_jupyter import local

    info, api, suffix = client._gj_local
    try:
        found = local.ensure_running(info.state_dir)
    except Exception as exc:  # noqa: BLE001 - the original network error is what the caller sees
        logging.getLogger(__name__).debug("local service restart failed (%s)", type(exc).__name__)
        return False
    if found.base_url == info.base_url and found.secret == info.secret:
        return False
    client._gj_local = (found, api, suffix)
    client.base_url = found.service_url(api) + suffix
    if isinstance(client.authorizer, _LocalServiceAuthorizerMixin):
        client.authorizer.info = found
    if _state["info"] is not None and _state["info"].state_dir == found.state_dir:
        _set_plain_client_env(found)
        _state["info"] = found
    return True


def local_transport(info: ServiceInfo) -> t.Any:
    """A globus-sdk transport that trusts only the local service's certificate."""
    from globus_sdk.transport import RequestsTransport

    return RequestsTransport(verify_ssl=str(info.ca_file) if info.ca_file else None)


def local_client(cls: type, info: ServiceInfo, api: str, *args: t.Any, suffix: str = "", **kwargs: t.Any) -> t.Any:
    """A globus-sdk client of class ``cls`` on the local service ``info`` (its URL, its
    secret, its pinned certificate), following the service when it restarts elsewhere."""
    client = _local_client_class(cls)(
        *args, authorizer=_LocalServiceAuthorizer(info), transport=local_transport(info), **kwargs
    )
    client.base_url = info.service_url(api) + suffix
    client._gj_local = (info, api, suffix)
    return client


def _client(cls_name: str, api: str, scope: str) -> t.Any:
    import globus_sdk

    cls = getattr(globus_sdk, cls_name)
    if current().name == "local":
        return local_client(cls, _local_info(), api)
    return cls(authorizer=authorizer_for(scope))


def flows_client() -> globus_sdk.FlowsClient:
    """A globus-sdk ``FlowsClient`` on the current backend."""
    import globus_sdk

    return _client("FlowsClient", "flows", str(globus_sdk.FlowsClient.scopes.all))


def specific_flow_client(flow_id: str, authorizer: t.Any = None) -> globus_sdk.SpecificFlowClient:
    """A globus-sdk ``SpecificFlowClient`` for ``flow_id`` on the current backend."""
    import globus_sdk

    if current().name == "local":
        return local_client(globus_sdk.SpecificFlowClient, _local_info(), "flows", flow_id)
    return globus_sdk.SpecificFlowClient(flow_id, authorizer=authorizer)


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
        import globus_sdk

        from gladier_jupyter.local.compute import compute_client as local_compute_client

        info = _local_info()
        client = local_compute_client(info.service_url("compute"), info.secret, **kwargs)
        web = client._compute_web_client
        web.v2 = local_client(globus_sdk.ComputeClientV2, info, "compute")
        web.v3 = local_client(globus_sdk.ComputeClientV3, info, "compute")
        return client
    import globus_sdk
    from globus_compute_sdk import Client

    return Client(authorizer=authorizer_for(str(globus_sdk.ComputeClientV3.scopes.all)), **kwargs)


# The parts in modules of their own (imported last: they use the names above).
from gladier_jupyter.backend.gladier import gladier_client_kwargs  # noqa: E402
from gladier_jupyter.backend.globus_data import (  # noqa: E402
    LOCAL_GLOBUS_DATA_CLIENT,
    LOCAL_GLOBUS_DATA_ENV,
    LOCAL_GLOBUS_DATA_SCOPES,
    local_auth_state,
    provide_globus_data,
    revoke_local_tokens,
    withdraw_globus_data,
)
