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
    "authorizer_for",
    "note_real_tokens",
    "compute_client",
    "current",
    "flows_client",
    "gladier_client_kwargs",
    "local_client",
    "search_client",
    "set_globus_auth",
    "set_globus_login_manager",
    "specific_flow_client",
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


def use_local(state_dir: os.PathLike[str] | str | None = None) -> ServiceInfo:
    """Make the local service this process's backend (starting it if needed)."""
    from gladier_jupyter import local

    info = local.ensure_running(state_dir)
    _set_plain_client_env(info)
    _state.update(name="local", info=info)
    return info


def use_globus() -> None:
    """Talk to the real Globus services from now on (clients built afterwards); a
    ``GLOBUS_DATA`` of local-service tokens (:func:`provide_globus_data`) is withdrawn, so
    none of them is ever sent to Globus."""
    withdraw_globus_data()
    _set_plain_client_env(None)
    _state.update(name="globus", info=None)


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


# ----------------------------------------------------------------------------- GLOBUS_DATA

#: Set (to "1") next to a GLOBUS_DATA this module provided: its tokens are the local
#: service's, not a hub's (:func:`_plain_clients_may_follow`, the login layer).
LOCAL_GLOBUS_DATA_ENV = "GLADIER_JUPYTER_LOCAL_GLOBUS_DATA"
#: The native client the provided tokens are issued to (the local Auth API records it).
LOCAL_GLOBUS_DATA_CLIENT = "gladier-jupyter-local-globus-data"
#: What the provided GLOBUS_DATA holds a token for, one per resource server, as
#: oauthenticator's GlobusOAuthenticator asks for them by default (Transfer, Search,
#: Flows, Compute; docs.globus.org/api/auth/reference/#token_response).
LOCAL_GLOBUS_DATA_SCOPES = (
    "openid", "profile", "email",
    "urn:globus:auth:scope:transfer.api.globus.org:all",
    "urn:globus:auth:scope:search.api.globus.org:all",
    "https://auth.globus.org/scopes/eec9b274-0c81-4334-bdc2-54e90e689b9a/manage_flows",
    "https://auth.globus.org/scopes/eec9b274-0c81-4334-bdc2-54e90e689b9a/view_flows",
    "https://auth.globus.org/scopes/eec9b274-0c81-4334-bdc2-54e90e689b9a/run_status",
    "https://auth.globus.org/scopes/facd7ccc-c5f4-42aa-916b-a0e270e2c2a9/all",
)
#: oauthenticator leaves these out of ``tokens`` by default (``exclude_tokens``).
_EXCLUDED_RESOURCE_SERVERS = ("auth.globus.org", "groups.api.globus.org")
_TOKEN_ATTRS = ("expires_in", "resource_server", "scope", "token_type", "refresh_token", "access_token")


def _mint_local_tokens(info: ServiceInfo, scopes: t.Sequence[str]) -> dict[str, t.Any]:
    """A token response of the local Auth API for ``scopes``: the native-app PKCE grant
    (authorize with the service secret, which only this user holds, then trade the code)."""
    import base64
    import hashlib
    import secrets

    from gladier_jupyter.local import _client

    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    redirect = info.service_url("auth") + "/v2/web/auth-code"
    status, doc = _client.call(info, "GET", "auth/v2/oauth2/authorize", query={
        "client_id": LOCAL_GLOBUS_DATA_CLIENT, "redirect_uri": redirect, "scope": " ".join(scopes),
        "code_challenge": challenge, "code_challenge_method": "S256", "response_type": "code",
        "access_type": "offline", "state": "_default",
    })
    if status != 200 or not isinstance(doc, dict) or not doc.get("code"):
        raise GladierJupyterUsageError(
            f"The local service did not issue tokens for GLOBUS_DATA (authorize answered {status}); "
            "restart it with `python -m gladier_jupyter.local stop` and run the cell again.")
    status, tokens = _client.call(info, "POST", "auth/v2/oauth2/token", form={
        "grant_type": "authorization_code", "code": doc["code"], "client_id": LOCAL_GLOBUS_DATA_CLIENT,
        "redirect_uri": redirect, "code_verifier": verifier,
    })
    if status != 200 or not isinstance(tokens, dict) or not tokens.get("access_token"):
        raise GladierJupyterUsageError(
            f"The local service did not issue tokens for GLOBUS_DATA (token answered {status}); "
            "restart it with `python -m gladier_jupyter.local stop` and run the cell again.")
    return tokens


def local_auth_state(info: ServiceInfo) -> dict[str, t.Any]:
    """An auth state as oauthenticator's GlobusOAuthenticator builds it
    (``client_id``, ``tokens`` by resource server, ``token_response``, ``globus_user``,
    ``globus_groups``), holding fresh local-service tokens, one per resource server."""
    response = _mint_local_tokens(info, LOCAL_GLOBUS_DATA_SCOPES)
    every = [response, *response.get("other_tokens", [])]
    tokens = {
        doc["resource_server"]: {attr: doc.get(attr) for attr in _TOKEN_ATTRS}
        for doc in every if doc.get("resource_server") not in _EXCLUDED_RESOURCE_SERVERS
    }
    from gladier_jupyter.local import _client

    status, user = _client.call(info, "GET", "auth/v2/oauth2/userinfo")
    return {
        "client_id": LOCAL_GLOBUS_DATA_CLIENT,
        "tokens": tokens,
        "token_response": response,
        "globus_user": user if status == 200 and isinstance(user, dict) else {},
        "globus_groups": [],
    }


def _issued_tokens(auth_state: t.Mapping[str, t.Any]) -> list[str]:
    response = auth_state.get("token_response") or {}
    every = [response, *response.get("other_tokens", [])]
    return [doc[k] for doc in every for k in ("access_token", "refresh_token") if doc.get(k)]


def provide_globus_data() -> bool:
    """Set ``GLOBUS_DATA`` (and :data:`LOCAL_GLOBUS_DATA_ENV`) to local-service tokens when
    this kernel has none and the backend is local; True if it did. A hub's ``GLOBUS_DATA``
    is never replaced; one provided before is replaced by fresh tokens (the old ones are
    revoked)."""
    import base64
    import pickle

    if os.environ.get("GLOBUS_DATA") and not os.environ.get(LOCAL_GLOBUS_DATA_ENV):
        return False
    if current().name != "local":
        return False
    withdraw_globus_data()
    info = _local_info()
    state = local_auth_state(info)
    os.environ["GLOBUS_DATA"] = base64.b64encode(pickle.dumps(state)).decode()
    os.environ[LOCAL_GLOBUS_DATA_ENV] = "1"
    _state["globus_data"] = (info, _issued_tokens(state))
    _set_plain_client_env(info)
    return True


def withdraw_globus_data() -> bool:
    """Remove a ``GLOBUS_DATA`` :func:`provide_globus_data` set and revoke its tokens; True
    if there was one. A hub's is left alone."""
    provided = _state.pop("globus_data", None)
    if not os.environ.get(LOCAL_GLOBUS_DATA_ENV):
        return False
    os.environ.pop("GLOBUS_DATA", None)
    os.environ.pop(LOCAL_GLOBUS_DATA_ENV, None)
    if provided is not None:
        info, issued = provided
        revoke_local_tokens(info, issued)
    return True


def revoke_local_tokens(info: ServiceInfo, tokens: t.Iterable[str]) -> None:
    """Revoke tokens the local Auth API issued (``POST v2/oauth2/token/revoke``,
    docs.globus.org/api/auth/reference/#token_revocation); a failure is logged, not raised."""
    from gladier_jupyter import local
    from gladier_jupyter.local import _client

    try:
        found = local.status(info.state_dir) or info
        for token in tokens:
            _client.call(found, "POST", "auth/v2/oauth2/token/revoke", form={"token": token})
    except Exception as exc:  # noqa: BLE001 - unloading the extension must not fail
        logging.getLogger(__name__).warning("local GLOBUS_DATA tokens not revoked (%s)", type(exc).__name__)
