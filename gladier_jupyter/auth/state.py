"""The kernel's login state: token sources in order, authorizers, interactive login, logout.

Sources, first match wins per scope:

1. local mode — the local service's own secret (handled by ``gladier_jupyter.backend``);
2. the hub API's ``auth_state`` (fresh after the hub refreshes);
3. ``GLOBUS_DATA`` from the spawner environment;
4. tokens stored by an earlier interactive login;
5. the interactive login widget (PKCE), for whatever the others do not hold.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import typing as t

from globus_sdk.authorizers import GlobusAuthorizer

from gladier_jupyter import backend
from gladier_jupyter.auth import hub
from gladier_jupyter.auth.errors import (
    GlobusDataError,
    HubLoginExpired,
    LoginRequired,
    StoredIdentityMismatch,
)
from gladier_jupyter.auth.storage import TokenStore
from gladier_jupyter.auth.tokens import Token, TokenSet, base_scope, iso, scope_label

__all__ = ["AuthSession", "SessionAuthorizer", "gladier_scopes", "session"]

log = logging.getLogger(__name__)

SOURCE_LOCAL = "local service"
SOURCE_HUB_API = "hub API"
SOURCE_GLOBUS_DATA = "GLOBUS_DATA"
SOURCE_STORED = "stored login"
HUB_SOURCES = (SOURCE_HUB_API, SOURCE_GLOBUS_DATA)


IDENTITY_SCOPES = ["openid", "profile", "email"]


def gladier_scopes() -> list[str]:
    """The scopes a gladier client asks for before any flow is deployed, plus Search/Transfer."""
    import globus_sdk

    flows = globus_sdk.FlowsClient.scopes
    return [
        str(flows.manage_flows), str(flows.view_flows), str(flows.run),
        str(flows.run_status), str(flows.run_manage),
        str(globus_sdk.ComputeClientV3.scopes.all),
        str(globus_sdk.SearchClient.scopes.all),
        str(globus_sdk.TransferClient.scopes.all),
    ]


def backend_mode() -> str:
    """``"local"`` or ``"globus"``, as ``gladier_jupyter.backend`` says (globus if absent)."""
    current = backend.current()
    for attr in ("mode", "name", "kind"):
        value = getattr(current, attr, None)
        if isinstance(value, str):
            return value
    return str(current)


def _local_identity() -> str:
    """The local service's one user, from its Auth API's userinfo."""
    try:
        import globus_sdk

        info = backend.current().info
        if info is None:
            return "local user"
        client = backend.local_client(globus_sdk.AuthClient, info, "auth")
        return str(client.userinfo().get("preferred_username") or "local user")
    except Exception as exc:  # noqa: BLE001 - the name is decoration; never fail the widget on it
        log.debug("the local user's name is unavailable (%s)", type(exc).__name__)
        return "local user"


class SessionAuthorizer(GlobusAuthorizer):
    """A globus-sdk authorizer that looks its token up in the session at every request.

    So a hub refresh, a widget login or a token refresh is picked up without rebuilding the
    client, and an expired hub login becomes one clear error instead of a 401 stack.
    """

    def __init__(self, session: AuthSession, scope: str) -> None:
        self._session = session
        self.scope = base_scope(scope)

    def __repr__(self) -> str:
        return f"SessionAuthorizer({self.scope!r})"

    def get_authorization_header(self) -> str:
        token = self._session.token_for(self.scope)
        return f"Bearer {token.access_token}"

    def handle_missing_authorization(self) -> bool:
        # Globus answered 401: the token may be revoked or expired early. Try the hub for a
        # fresher one, else say plainly that the login must be renewed.
        return self._session.token_rejected(self.scope)


class AuthSession:
    """Login state of one kernel. Thread-safe; holds tokens only in memory and the store."""

    def __init__(self, environ: t.MutableMapping[str, str] | None = None,
                 store: TokenStore | None = None, mode: str | None = None) -> None:
        self._environ = environ
        self._mode = mode  # None: follow gladier_jupyter.backend
        self.store = store or TokenStore()
        self._lock = threading.RLock()
        self._sets: list[TokenSet] | None = None
        self.problems: list[str] = []
        self.pending: t.Any = None  # PkceLogin in progress
        self.pending_scopes: list[str] = []
        self._listeners: list[t.Callable[[], bool | None]] = []

    def __repr__(self) -> str:
        sources = [s.source for s in (self._sets or [])]
        return f"AuthSession(sources={sources!r})"

    @property
    def mode(self) -> str:
        """``"local"`` or ``"globus"``."""
        return self._mode or backend_mode()

    @property
    def environ(self) -> t.Mapping[str, str]:
        return os.environ if self._environ is None else self._environ

    # -- listeners (the login widget redraws on change) -------------------------------
    def on_change(self, callback: t.Callable[[], bool | None]) -> None:
        """Call ``callback`` after the login changed; it returns False once it is obsolete."""
        self._listeners.append(callback)

    def _changed(self) -> None:
        for cb in list(self._listeners):
            try:
                alive = cb()
            except Exception:  # a closed widget must not break login
                log.debug("login listener failed", exc_info=True)
                continue
            if alive is False:  # its widget is gone
                self._listeners.remove(cb)

    # -- sources -------------------------------------------------------------------------
    def _read_sources(self) -> list[TokenSet]:
        sets: list[TokenSet] = []
        problems: list[str] = []
        if hub.hub_api_available(self.environ):
            state, why = hub.fetch_hub_auth_state(self.environ)
            if state is not None:
                sets.append(hub.token_set_from_auth_state(state, SOURCE_HUB_API))
                sets[-1].refreshable_by_hub = True
            else:
                problems.append(f"hub API: {why}")
        raw = self.environ.get("GLOBUS_DATA")
        # The extension's own stand-in (local-service tokens, gladier_jupyter.backend) is
        # no Globus login: its tokens are never sent to Globus.
        if raw and not self.environ.get("GLADIER_JUPYTER_LOCAL_GLOBUS_DATA"):
            try:
                state = hub.decode_globus_data(raw)
            except GlobusDataError as exc:
                problems.append(str(exc))
            else:
                sets.append(hub.token_set_from_auth_state(state, SOURCE_GLOBUS_DATA))
        stored = self.store.load()
        if stored is not None:
            sets.append(stored)
        self.problems = problems
        found = [s for s in sets if len(s)]
        if self._environ is None and any(s.source in HUB_SOURCES for s in found):
            # Real Globus tokens are in this kernel's environment: plain globus-sdk clients
            # must not follow the local service's URLs with them.
            backend.note_real_tokens()
        return found

    def reload(self) -> list[TokenSet]:
        """Read every token source again."""
        with self._lock:
            self._sets = self._read_sources()
        self._changed()
        return self._sets

    def token_sets(self) -> list[TokenSet]:
        with self._lock:
            if self._sets is None:
                self._sets = self._read_sources()
            return list(self._sets)

    # -- lookup ----------------------------------------------------------------------------
    def _candidates(self, scope: object) -> list[tuple[TokenSet, Token]]:
        return [(ts, tok) for ts in self.token_sets() if (tok := ts.for_scope(scope))]

    def holds(self, scope: object) -> bool:
        """True when some source holds a usable (unexpired or refreshable) token for scope."""
        return any(
            not tok.expired() or tok.refresh_token or ts.refreshable_by_hub
            for ts, tok in self._candidates(scope)
        )

    def token_for(self, scope: object) -> Token:
        """The live token for ``scope``; refreshes stored tokens, re-reads the hub, or raises."""
        with self._lock:
            cands = self._candidates(scope)
            for _ts, tok in cands:
                if not tok.expired():
                    return tok
            for ts, tok in cands:
                if tok.refresh_token and ts.source == SOURCE_STORED:
                    refreshed = self._refresh_stored(tok)
                    if refreshed is not None:
                        return refreshed
            if any(ts.source in HUB_SOURCES for ts, _ in cands):
                fresh = self._fresh_from_hub(scope)
                if fresh is not None:
                    return fresh
                expired_at = min(
                    tok.expires_at or 0 for ts, tok in cands if ts.source in HUB_SOURCES
                )
                raise HubLoginExpired(
                    f"Your hub login expired at {iso(expired_at)}; log in again: run "
                    "%gladier_login and use 'Log in', or restart your server from the hub's "
                    "control panel."
                )
            if cands:
                raise LoginRequired(
                    f"Your Globus login for {scope_label(str(scope))} expired at "
                    f"{iso(cands[0][1].expires_at)}; log in again with %gladier_login.",
                    [str(scope)],
                )
            raise LoginRequired(
                f"No token holds the scope {scope_label(str(scope))} ({base_scope(scope)}); "
                "log in with %gladier_login (the widget shows a link and a box for the code).",
                [str(scope)],
            )

    def token_rejected(self, scope: object) -> bool:
        """Globus refused our token (401): refresh or re-read; True means retry the request."""
        with self._lock:
            before = {tok.access_token for _, tok in self._candidates(scope)}
            for ts, tok in self._candidates(scope):
                if ts.source == SOURCE_STORED and tok.refresh_token:
                    if self._refresh_stored(tok) is not None:
                        self._changed()
                        return True
            self._sets = self._read_sources()
            after = {tok.access_token for _, tok in self._candidates(scope) if not tok.expired()}
        if after - before:
            self._changed()
            return True
        cands = self._candidates(scope)
        hub_cands = [tok for ts, tok in cands if ts.source in HUB_SOURCES]
        if hub_cands:
            until = min(tok.expires_at or time.time() for tok in hub_cands)
            raise HubLoginExpired(
                f"Globus refused the hub's token for {scope_label(str(scope))} (valid until "
                f"{iso(until)} by its own clock): your hub login has expired or was revoked; "
                "log in again (run %gladier_login, or restart your server from the hub's "
                "control panel)."
            )
        raise LoginRequired(
            f"Globus refused the stored token for {scope_label(str(scope))}; it was revoked "
            "or expired. Log in again with %gladier_login.",
            [str(scope)],
        )

    def _fresh_from_hub(self, scope: object) -> Token | None:
        if not hub.hub_api_available(self.environ):
            return None
        self._sets = self._read_sources()
        for ts, tok in self._candidates(scope):
            if ts.source == SOURCE_HUB_API and not tok.expired():
                self._changed()
                return tok
        return None

    def _refresh_stored(self, tok: Token) -> Token | None:
        import globus_sdk

        from gladier_jupyter.auth.pkce import PkceLogin

        if not tok.refresh_token:  # nothing to refresh with: never ask Globus with None
            return None
        try:
            client = PkceLogin([], client_id=self._stored_client_id()).client
            resp = client.oauth2_refresh_token(tok.refresh_token)
        except globus_sdk.GlobusError:
            return None
        for rs, data in resp.by_resource_server.items():
            data = dict(data)
            data.setdefault("refresh_token", tok.refresh_token)
            self.store.update_token(rs, data)
        self._sets = self._read_sources()
        for ts in self._sets:
            if ts.source == SOURCE_STORED and tok.resource_server in ts.tokens:
                return ts.tokens[tok.resource_server]
        return None

    def _stored_client_id(self) -> str | None:
        return self.environ.get("GLADIER_JUPYTER_CLIENT_ID")

    def authorizer_for(self, scope: object) -> SessionAuthorizer:
        """An authorizer for ``scope`` (Globus mode), which finds its token at each request."""
        return SessionAuthorizer(self, str(scope))

    # -- interactive login -----------------------------------------------------------------
    def start_login(self, scopes: t.Iterable[object] = (), client_id: str | None = None) -> str:
        """Begin a PKCE login for ``scopes`` plus gladier's usual ones; returns the link."""
        from gladier_jupyter.auth.pkce import PkceLogin

        wanted = set(IDENTITY_SCOPES) | set(gladier_scopes()) | {str(s) for s in scopes}
        where: dict[str, t.Any] = {}
        info = backend.current().info if self.mode == "local" else None
        if info is not None:
            # Local mode logs in to the local service's Auth API, by its URL and pinned
            # certificate (plain clients may not follow it: the kernel can hold hub tokens).
            where = {"base_url": info.service_url("auth"), "transport": backend.local_transport(info)}
        flow = PkceLogin(sorted(wanted), client_id=client_id or self._stored_client_id(), **where)
        url = flow.start()
        with self._lock:
            self.pending = flow
            self.pending_scopes = sorted({str(s) for s in scopes})
        self._changed()
        return url

    def finish_login(self, code: str) -> TokenSet:
        """Trade the pasted code for tokens, store them (0600) and make them current."""
        with self._lock:
            flow = self.pending
        if flow is None:
            raise LoginRequired(
                "No login is in progress; click 'Log in' in the login widget first, then paste "
                "the code Globus shows."
            )
        response = flow.finish(code)
        by_rs = {rs: dict(data) for rs, data in response.by_resource_server.items()}
        username, identity_id = self._whoami(flow, by_rs)
        try:
            self.store.save(by_rs, identity_id=identity_id, username=username)
        except StoredIdentityMismatch:
            self.cancel_login()  # its code is spent; the stored login stays as it was
            raise
        with self._lock:
            self.pending = None
            self.pending_scopes = []
        self.reload()
        stored = self.store.load()
        assert stored is not None
        return stored

    @staticmethod
    def _whoami(flow: t.Any, by_rs: t.Mapping[str, t.Mapping[str, t.Any]]) -> tuple[str, str | None]:
        import globus_sdk

        auth = by_rs.get("auth.globus.org")
        if not auth:
            return "", None
        try:
            client = globus_sdk.AuthClient(
                authorizer=globus_sdk.AccessTokenAuthorizer(auth["access_token"]),
                base_url=str(flow.client.base_url),
            )
            info = client.userinfo()
            return str(info.get("preferred_username") or ""), info.get("sub")
        except globus_sdk.GlobusError:
            return "", None

    def cancel_login(self) -> None:
        with self._lock:
            self.pending = None
            self.pending_scopes = []
        self._changed()

    def logout(self) -> int:
        """Revoke and forget the stored tokens (hub tokens stay with the hub). Returns count."""
        import globus_sdk

        from gladier_jupyter.auth.pkce import PkceLogin

        removed = self.store.clear()
        if removed:
            client = PkceLogin([], client_id=self._stored_client_id()).client
            for tok in removed:
                for secret in (tok.refresh_token, tok.access_token):
                    if not secret:
                        continue
                    try:
                        client.oauth2_revoke_token(secret)
                    except globus_sdk.GlobusError:
                        log.info("could not revoke a stored %s token", tok.resource_server)
        self.reload()
        return len(removed)

    # -- description (for the widget; never a token) ----------------------------------------
    @staticmethod
    def _hub_expiry_problem(sets: list[TokenSet], mode: str) -> list[str]:
        if mode == "local":
            return []
        expired = [tok.expires_at for ts in sets if ts.source in HUB_SOURCES
                   and not ts.refreshable_by_hub for tok in ts.tokens.values()
                   if tok.expired() and tok.expires_at is not None]
        if not expired:
            return []
        return [f"Your hub login expired at {iso(min(expired))}; log in again (Log in below, "
                "or restart your server from the hub's control panel)."]

    def describe(self, needed: t.Iterable[object] = ()) -> dict[str, t.Any]:
        """Who, from where, which scopes are held and needed, expiry — no token strings."""
        mode = self.mode
        sets = self.token_sets()
        needed_list = gladier_scopes()
        for extra in [str(s) for s in needed] + list(self.pending_scopes):
            if base_scope(extra) not in {base_scope(s) for s in needed_list}:
                needed_list.append(extra)
        groups: dict[str, list[dict[str, t.Any]]] = {}
        for scope in needed_list:
            cands = [(ts, tok) for ts in sets if (tok := ts.for_scope(scope))]
            live = [(ts, tok) for ts, tok in cands if not tok.expired()]
            pick = live or cands
            ts, tok = pick[0] if pick else (None, None)
            held = mode == "local" or bool(live) or bool(
                tok and (tok.refresh_token or (ts and ts.refreshable_by_hub))
            )
            groups.setdefault(scope_label(scope).split(":")[0], []).append({
                "scope": base_scope(scope),
                "held": held,
                "source": SOURCE_LOCAL if mode == "local" else (ts.source if ts else ""),
                "expires_at": None if mode == "local" or tok is None else tok.expires_at,
                "expired": bool(mode != "local" and tok is not None and not live and
                                not tok.refresh_token),
            })
        rows = []
        for label, items in groups.items():
            sources = sorted({i["source"] for i in items if i["held"] and i["source"]})
            times = [i["expires_at"] for i in items if i["expires_at"] is not None]
            rows.append({
                "label": label,
                "scopes": [i["scope"] for i in items],
                "held": all(i["held"] for i in items),
                "missing": [i["scope"] for i in items if not i["held"]],
                "source": ", ".join(sources),
                "expires_at": iso(min(times)) if times else "",
                "expired": any(i["expired"] for i in items),
            })
        identity = next((ts.identity for ts in sets if ts.identity), "")
        if mode == "local":
            identity = _local_identity()
        expiries = [ts.expires_at for ts in sets if ts.expires_at is not None]
        return {
            "mode": mode,
            "identity": identity,
            "sources": [SOURCE_LOCAL] if mode == "local" else [ts.source for ts in sets],
            "scopes": rows,
            "expires_at": "" if mode == "local" or not expiries else iso(min(expiries)),
            "problems": list(self.problems) + self._hub_expiry_problem(sets, mode),
            "login_pending": self.pending is not None,
            "authorize_url": getattr(self.pending, "authorize_url", "") if self.pending else "",
        }


_SESSION: AuthSession | None = None
_SESSION_LOCK = threading.Lock()


def session() -> AuthSession:
    """The kernel's one :class:`AuthSession`."""
    global _SESSION
    with _SESSION_LOCK:
        if _SESSION is None:
            _SESSION = AuthSession()
        return _SESSION


def reset_session(new: AuthSession | None = None) -> AuthSession:
    """Replace the kernel's session (tests, or after the environment changed)."""
    global _SESSION
    with _SESSION_LOCK:
        _SESSION = new or AuthSession()
        return _SESSION
