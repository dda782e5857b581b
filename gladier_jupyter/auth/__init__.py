"""Where Globus tokens come from, and the login manager gladier clients use.

This layer knows nothing of widgets: when a login is needed it calls the hook set with
:func:`set_login_display` (``gladier_jupyter`` connects the Login widget there), and
``gladier_jupyter.login()`` / ``%gladier_login`` live in :mod:`gladier_jupyter.widgets.login`.
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
from gladier_jupyter.auth.hooks import set_login_display

if t.TYPE_CHECKING:
    from gladier_jupyter.auth.manager import GladierLoginManager
    from gladier_jupyter.auth.state import AuthSession

__all__ = [
    "GlobusDataError",
    "HubLoginExpired",
    "LoginCodeRejected",
    "LoginRequired",
    "StoredIdentityMismatch",
    "ask_consent",
    "authorizer_for",
    "login_manager",
    "logout",
    "session",
    "set_login_display",
]


def session() -> AuthSession:
    """The kernel's login state (token sources, pending interactive login)."""
    from gladier_jupyter.auth.state import session as _session

    return _session()


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
