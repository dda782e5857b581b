"""What the layers above plug into the login layer: how to show a login to the user.

Kept apart (and free of heavy imports) so ``gladier_jupyter`` can connect the Login widget
at import time without loading gladier or globus-sdk.
"""

from __future__ import annotations

import typing as t

if t.TYPE_CHECKING:
    from gladier_jupyter.auth.state import AuthSession

__all__ = ["login_display", "set_login_display", "show_login"]

#: What shows the login for scopes nobody holds: ``[show(scopes, session)]`` or empty.
login_display: list[t.Callable[[list[str], AuthSession], None]] = []


def set_login_display(show: t.Callable[[list[str], AuthSession], None] | None) -> None:
    """Register what shows the login (scopes still needed, the session) when Globus asks for it."""
    login_display[:] = [show] if show is not None else []


def show_login(scopes: list[str], auth_session: AuthSession) -> bool:
    """Show the login through the registered hook; False when none is registered."""
    if not login_display:
        return False
    login_display[0](scopes, auth_session)
    return True
