"""A ``GLOBUS_DATA`` of local-service tokens, of the shape JupyterHub's GlobusOAuthenticator
writes, for code written for a hub (the Gladier tutorial's Search cell) run with no hub."""

from __future__ import annotations

import base64
import logging
import os
import pickle
import typing as t

from gladier_jupyter.backend import _local_info, _set_plain_client_env, _state, current
from gladier_jupyter.errors import GladierJupyterUsageError

if t.TYPE_CHECKING:
    from gladier_jupyter.local import ServiceInfo

__all__ = [
    "LOCAL_GLOBUS_DATA_CLIENT",
    "LOCAL_GLOBUS_DATA_ENV",
    "LOCAL_GLOBUS_DATA_SCOPES",
    "local_auth_state",
    "provide_globus_data",
    "revoke_local_tokens",
    "withdraw_globus_data",
]

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
