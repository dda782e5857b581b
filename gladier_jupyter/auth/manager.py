"""The login manager handed to gladier clients in Globus mode.

gladier 0.11's default ``UserAppLoginManager`` crashes with globus-sdk 4 and asks for a code
on stdin; this one is a ``CallbackLoginManager`` whose authorizers come from the session's
token sources, and whose callback shows the login (through the hook the widget layer
registers, :func:`gladier_jupyter.auth.set_login_display`) for a scope nobody holds.
"""

from __future__ import annotations

import logging
import typing as t

from gladier.managers.login_manager import CallbackLoginManager

from gladier_jupyter.auth.errors import HubLoginExpired, LoginRequired
from gladier_jupyter.auth.hooks import show_login
from gladier_jupyter.auth.state import HUB_SOURCES, AuthSession, session
from gladier_jupyter.auth.tokens import base_scope, iso, scope_label

__all__ = ["GladierLoginManager", "make_login_manager"]

log = logging.getLogger(__name__)


class GladierLoginManager(CallbackLoginManager):
    """Authorizers for every scope gladier asks for (Flows, Compute, a flow's own, Search).

    Each authorizer finds its token at request time, so stored tokens refresh and hub tokens
    are re-read from the hub API. A missing scope or a consent Globus asks for again
    (``MISSING_SCOPE`` / ``ConsentRequired``) shows the login widget with the link for it.
    """

    def __init__(self, auth_session: AuthSession | None = None,
                 show_widget: t.Callable[[list[str]], None] | None = None) -> None:
        super().__init__(authorizers={}, callback=self._login_callback)
        self.session = auth_session or session()
        self._show_widget = show_widget
        # scope -> the token Globus refused for lacking consent; a different token means
        # the user has logged in again since.
        self._stale: dict[str, str | None] = {}

    def add_scope_change(self, scopes: t.Iterable[object]) -> None:
        scopes = list(scopes)
        for scope in scopes:
            self._stale[base_scope(scope)] = self._current_token(scope)
        super().add_scope_change(scopes)

    def _current_token(self, scope: object) -> str | None:
        for ts in self.session.token_sets():
            tok = ts.for_scope(scope)
            if tok is not None and not tok.expired():
                return tok.access_token
        return None

    def __repr__(self) -> str:
        return f"GladierLoginManager(required={len(self.required_scopes)})"

    def get_authorizers(self) -> dict[str, t.Any]:
        out: dict[str, t.Any] = {}
        for scope in self.required_scopes:
            key = str(scope)
            if self.session.holds(scope):
                out[key] = self.session.authorizer_for(key)
        return out

    def _login_callback(self, scopes: t.Iterable[object]) -> dict[str, t.Any]:
        wanted = [str(s) for s in scopes]
        # Another cell (or the widget) may have logged in meanwhile.
        self.session.reload()
        changed = {
            str(s) for s in self.scope_changes
            if self._current_token(s) == self._stale.get(base_scope(s))
        }
        still = [s for s in wanted if s in changed or not self.session.holds(s)]
        if not still:
            return {s: self.session.authorizer_for(s) for s in wanted}
        sets = self.session.token_sets()
        hub_tokens = [
            tok for s in still if s not in changed for ts in sets
            if ts.source in HUB_SOURCES and (tok := ts.for_scope(s)) is not None
        ]
        only_expired_hub = all(
            s not in changed and any(ts.source in HUB_SOURCES and ts.for_scope(s) for ts in sets)
            for s in still
        )
        url = self.session.start_login(still)
        self._display(still)
        labels = ", ".join(sorted({scope_label(s).split(":")[0] for s in still}))
        if only_expired_hub:
            when = iso(min(tok.expires_at or 0 for tok in hub_tokens))
            raise HubLoginExpired(
                f"Your hub login expired at {when}; log in again: open the link in the login "
                "widget shown above, paste the code, then run this cell again (or restart "
                "your server from the hub's control panel)."
            )
        log.info("login needed for %s; authorize link %s", labels, url.split("?", 1)[0])
        raise LoginRequired(
            f"Globus needs you to log in for {labels}: open the link in the login widget shown "
            "above, paste the code it gives, then run this cell again.",
            still,
        )

    def _display(self, scopes: list[str]) -> None:
        if self._show_widget is not None:
            self._show_widget(scopes)
            return
        try:
            show_login([base_scope(s) for s in scopes], self.session)
        except Exception:  # without a front end the error message still says what to do
            log.debug("could not show the login widget", exc_info=True)

    def logout(self) -> int:
        return self.session.logout()


def make_login_manager(auth_session: AuthSession | None = None) -> GladierLoginManager:
    """A fresh login manager for one gladier client (each client adds its own scopes)."""
    return GladierLoginManager(auth_session)
