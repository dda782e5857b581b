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
