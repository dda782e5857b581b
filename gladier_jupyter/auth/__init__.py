"""Where Globus tokens come from, and the login manager gladier clients use.

``login()`` (or ``%gladier_login``) shows the Login widget: who is logged in, where the
tokens came from (the local service, the hub API, ``GLOBUS_DATA``, a stored login), which
scopes are held and which are needed, and buttons to log in, log out or switch to local.
"""

from __future__ import annotations

import typing as t

from gladier_jupyter.auth.errors import (
    GlobusDataError,
    HubLoginExpired,
    LoginCodeRejected,
    LoginRequired,
    StoredIdentityMismatch,
)

if t.TYPE_CHECKING:
    from gladier_jupyter.auth.manager import GladierLoginManager
    from gladier_jupyter.auth.state import AuthSession
    from gladier_jupyter.widgets.login import Login

__all__ = [
    "GlobusDataError",
    "HubLoginExpired",
    "LoginCodeRejected",
    "LoginRequired",
    "StoredIdentityMismatch",
    "ask_consent",
    "authorizer_for",
    "login",
    "login_magic",
    "login_manager",
    "logout",
    "session",
]


def session() -> AuthSession:
    """The kernel's login state (token sources, pending interactive login)."""
    from gladier_jupyter.auth.state import session as _session

    return _session()


def login(needed: t.Iterable[object] = (), *, reload: bool = True) -> Login:
    """Show who is logged in and from where, and offer to log in, log out or switch to local.

    In [1]: import gladier_jupyter; gladier_jupyter.login()
    """
    from gladier_jupyter.widgets.login import Login

    if reload:
        session().reload()
    return Login(needed=[str(s) for s in needed], auth_session=session())


def login_magic(line: str = "", shell: t.Any = None) -> Login:
    """``%gladier_login [--local | --globus] [SCOPE ...]``: the Login widget for this kernel."""
    words = line.split()
    if "--local" in words and "--globus" in words:
        from gladier_jupyter.errors import GladierJupyterUsageError

        raise GladierJupyterUsageError(
            "%gladier_login takes --local or --globus, not both; pick the backend this kernel uses."
        )
    if "--local" in words or "--globus" in words:
        from gladier_jupyter import backend

        backend.use_local() if "--local" in words else backend.use_globus()
    scopes = [w for w in words if not w.startswith("--")]
    return login(scopes)


def authorizer_for(scope: object) -> t.Any:
    """An authorizer for ``scope`` from the Globus-mode token sources (hub, stored, widget)."""
    return session().authorizer_for(scope)


def login_manager() -> GladierLoginManager:
    """A fresh gladier login manager on this kernel's token sources."""
    from gladier_jupyter.auth.manager import make_login_manager

    return make_login_manager(session())


def logout() -> int:
    """Revoke and forget tokens stored by an interactive login; returns how many."""
    return session().logout()


def ask_consent(error: Exception, auth_session: AuthSession | None = None) -> t.NoReturn:
    """Turn a Globus ``ConsentRequired`` / ``MISSING_SCOPE`` error into the login widget.

    Shows the Login widget with a link asking for the scopes Globus named, then raises
    :class:`LoginRequired` (one line, no stack) telling the user to paste the code and rerun.
    Errors of another kind are re-raised unchanged.
    """
    from gladier_jupyter.auth.manager import GladierLoginManager

    info = getattr(error, "info", None)
    consent = getattr(info, "consent_required", None)
    scopes = list(getattr(consent, "required_scopes", None) or [])
    code = getattr(error, "code", "")
    if not scopes and code not in ("ConsentRequired", "MISSING_SCOPE"):
        raise error
    manager = GladierLoginManager(auth_session or session())
    wanted = scopes or [str(s) for s in manager.session.pending_scopes] or ["openid"]
    manager.add_scope_change(wanted)
    manager._login_callback(wanted)  # shows the widget and raises LoginRequired
    raise LoginRequired("Globus asked for consent; log in again with %gladier_login.", wanted)
