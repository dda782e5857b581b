"""Login: who is logged in to Globus, from where, which scopes are held, and buttons to change it.

The widget's synced state never holds a token: only the identity, source names, scope
names, expiry times and the authorize link (which carries a PKCE challenge, not a secret).
The code pasted into it travels in a widget message and is traded at once, never stored.
"""

from __future__ import annotations

import logging
import typing as t
import weakref

import traitlets

from gladier_jupyter import auth, backend
from gladier_jupyter.errors import GladierJupyterError, GladierJupyterUsageError
from gladier_jupyter.widgets._base import GladierWidget

if t.TYPE_CHECKING:
    from gladier_jupyter.auth.state import AuthSession

__all__ = ["Login", "display_login", "login", "login_magic"]

log = logging.getLogger(__name__)


class Login(GladierWidget):
    """The kernel's Globus login: identity, token source, scopes held vs needed, expiry."""

    _entry = "login"

    mode = traitlets.Unicode("globus").tag(sync=True)
    status = traitlets.Unicode("logged_out").tag(sync=True)
    identity = traitlets.Unicode("").tag(sync=True)
    sources = traitlets.List(traitlets.Unicode()).tag(sync=True)
    scopes = traitlets.List(traitlets.Dict()).tag(sync=True)
    expires_at = traitlets.Unicode("").tag(sync=True)
    problems = traitlets.List(traitlets.Unicode()).tag(sync=True)
    login_pending = traitlets.Bool(False).tag(sync=True)
    authorize_url = traitlets.Unicode("").tag(sync=True)
    message = traitlets.Unicode("").tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)
    needed = traitlets.List(traitlets.Unicode()).tag(sync=True)

    def __init__(self, needed: t.Iterable[str] = (), auth_session: AuthSession | None = None,
                 **kwargs: t.Any) -> None:
        super().__init__(needed=[str(s) for s in needed], **kwargs)
        if auth_session is None:
            auth_session = auth.session()
        self._session = auth_session
        ref = weakref.ref(self)

        def _on_change() -> bool:
            widget = ref()
            if widget is None or widget.comm is None:  # closed: stop listening
                return False
            widget.refresh()
            return True

        auth_session.on_change(_on_change)
        # use_local()/use_globus() from any cell: the widget shows the new backend at once
        backend.on_switch(_on_change)
        self.on_msg(self._on_view_msg)
        self.refresh()

    def __repr__(self) -> str:
        return f"Login(mode={self.mode!r}, status={self.status!r}, identity={self.identity!r})"

    # -- state --------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Redraw from the session (sources are not re-read; see :meth:`reload`)."""
        info = self._session.describe(self.needed)
        held = [row for row in info["scopes"] if row["held"]]
        if info["mode"] == "local":
            status = "local"
        elif not held:
            status = "expired" if any(r["expired"] for r in info["scopes"]) else "logged_out"
        elif len(held) < len(info["scopes"]):
            status = "partial"
        else:
            status = "logged_in"
        local = info["mode"] == "local"
        with self.hold_sync():
            self.mode = info["mode"]
            self.identity = info["identity"]
            self.sources = info["sources"]
            self.scopes = info["scopes"]
            self.expires_at = info["expires_at"]
            # Where Globus tokens come from (the hub's auth_state, GLOBUS_DATA) is no problem
            # of the local service, and a Globus login started earlier waits for Globus mode.
            self.problems = [] if local else info["problems"]
            self.login_pending = info["login_pending"] and not local
            self.authorize_url = "" if local else info["authorize_url"]
            self.status = status

    def reload(self) -> None:
        """Read every token source again (hub API, GLOBUS_DATA, stored) and redraw."""
        self._session.reload()
        self.refresh()

    # -- actions (buttons call these through widget messages; Python can call them too) ------
    def start_login(self) -> str:
        """Start a Globus login for the scopes not held; returns the authorize link."""
        if self.mode == "local":
            self.error = ("This kernel uses the local service, which needs no Globus login; "
                          "switch to Globus first (gladier_jupyter.use_globus()).")
            return ""
        missing = [scope for row in self.scopes for scope in row["missing"]]
        return self._do(lambda: self._session.start_login(missing or self.needed),
                        "Open the link, log in, then paste the code shown below.")

    def submit_code(self, code: str) -> None:
        """Trade the code Globus showed after login for tokens, and store them (0600)."""
        self._do(lambda: self._session.finish_login(code), "Logged in; tokens stored for later.")

    def cancel_login(self) -> None:
        self._do(self._session.cancel_login, "")

    def logout(self) -> int:
        """Revoke and forget stored tokens (hub tokens stay with the hub)."""
        def run() -> int:
            return self._session.logout()

        count = self._do(run, "")
        self.message = (f"Logged out: {count} stored token set(s) revoked and removed."
                        if count else "No stored login to remove; hub tokens stay with the hub.")
        return count or 0

    def use_local(self) -> None:
        """Switch this kernel to the local service (no Globus account needed)."""
        self._do(backend.use_local, "Switched to the local service.")

    def use_globus(self) -> None:
        """Switch this kernel to Globus."""
        self._do(backend.use_globus, "Switched to Globus.")

    def _do(self, action: t.Callable[[], t.Any], done: str) -> t.Any:
        self.error = ""
        try:
            result = action()
        except GladierJupyterError as exc:
            self.error = str(exc)
            self.message = ""
            self.refresh()
            return None
        except Exception as exc:  # noqa: BLE001 - show a one-liner; the log gets the type only
            log.warning("login action failed: %s", type(exc).__name__)
            self.error = f"The login action failed ({type(exc).__name__}); see the kernel log."
            self.message = ""
            self.refresh()
            return None
        self.message = done
        self.refresh()
        return result

    def _on_view_msg(self, _widget: t.Any, content: t.Any, _buffers: t.Any) -> None:
        if not isinstance(content, dict):
            return
        action = content.get("action")
        if action == "login":
            self.start_login()
        elif action == "submit_code":
            self.submit_code(str(content.get("code") or ""))
        elif action == "cancel":
            self.cancel_login()
        elif action == "logout":
            self.logout()
        elif action == "use_local":
            self.use_local()
        elif action == "use_globus":
            self.use_globus()
        elif action == "reload":
            self._do(self.reload, "")

    # -- plain-text fallback -------------------------------------------------------------------
    def summary(self) -> str:
        """One line: who, from where, scopes held, expiry (no token)."""
        if self.mode == "local":
            return f"Local service as {self.identity or 'local user'}; no Globus login needed"
        held = sum(1 for row in self.scopes if row["held"])
        who = f" as {self.identity}" if self.identity else ""
        via = f" via {', '.join(self.sources)}" if self.sources else ""
        exp = f"; expires {self.expires_at}" if self.expires_at else ""
        return f"Globus login: {self.status}{who}{via}; {held}/{len(self.scopes)} scopes held{exp}"

    def _repr_mimebundle_(self, **kwargs: t.Any):
        bundle = super()._repr_mimebundle_(**kwargs)
        data, metadata = bundle if isinstance(bundle, tuple) else (bundle or {}, {})
        data = dict(data)
        data["text/plain"] = self.summary()
        return data, metadata


def login(needed: t.Iterable[object] = (), *, reload: bool = True) -> Login:
    """Show who is logged in and from where, and offer to log in, log out or switch to local.

    In [1]: import gladier_jupyter; gladier_jupyter.login()
    """
    if reload:
        auth.session().reload()
    return Login(needed=[str(s) for s in needed], auth_session=auth.session())


def login_magic(line: str = "", shell: t.Any = None) -> Login:
    """``%gladier_login [--local | --globus] [SCOPE ...]``: the Login widget for this kernel."""
    words = line.split()
    if "--local" in words and "--globus" in words:
        raise GladierJupyterUsageError(
            "%gladier_login takes --local or --globus, not both; pick the backend this kernel uses."
        )
    if "--local" in words or "--globus" in words:
        backend.use_local() if "--local" in words else backend.use_globus()
    scopes = [w for w in words if not w.startswith("--")]
    return login(scopes)


def display_login(scopes: list[str], auth_session: AuthSession) -> None:
    """Show the Login widget for ``scopes`` in the running notebook (the login layer's hook)."""
    from IPython import get_ipython

    if get_ipython() is None:
        return
    from IPython.display import display

    display(Login(needed=scopes, auth_session=auth_session))
