"""Globus's native-app login (authorization code + PKCE) without a redirect to the notebook.

Hub users' server URLs cannot be registered as redirect URLs, so the flow uses Globus's
"copy this code" page: the user opens the authorize link, logs in, and pastes the code
back into the login widget. Nothing here reads stdin.
"""

from __future__ import annotations

import os
import time
import typing as t

from gladier_jupyter.auth.errors import LoginCodeRejected
from gladier_jupyter.auth.tokens import base_scope

__all__ = ["DEFAULT_CLIENT_ID", "PkceLogin", "auth_base_url"]

#: gladier's registered native-app client (``GladierBaseClient.client_id``).
DEFAULT_CLIENT_ID = "f1631610-d9e4-4db2-81ba-7f93ad4414e3"


def auth_base_url() -> str:
    """Globus Auth's base URL as globus-sdk resolves it (follows ``GLOBUS_SDK_SERVICE_URL_AUTH``)."""
    import globus_sdk

    return str(globus_sdk.NativeAppAuthClient(DEFAULT_CLIENT_ID).base_url)


class PkceLogin:
    """One interactive login: :meth:`start` gives the link, :meth:`finish` trades the code.

    >>> flow = PkceLogin(["urn:globus:auth:scope:search.api.globus.org:all"])
    >>> flow.start()              # the link to open
    >>> response = flow.finish(pasted_code)
    """

    def __init__(
        self,
        scopes: t.Iterable[object],
        client_id: str | None = None,
        base_url: str | None = None,
        transport: t.Any = None,
    ) -> None:
        import globus_sdk

        self.client_id = client_id or os.environ.get("GLADIER_JUPYTER_CLIENT_ID") or DEFAULT_CLIENT_ID
        self.scopes = sorted({str(s) for s in scopes})
        self.client = globus_sdk.NativeAppAuthClient(self.client_id, base_url=base_url, transport=transport)
        self.authorize_url = ""
        self.started_at = 0.0

    def __repr__(self) -> str:
        return f"PkceLogin(client_id={self.client_id!r}, scopes={len(self.scopes)})"

    def start(self) -> str:
        """Begin the flow (a fresh PKCE verifier) and return the authorize link."""
        self.client.oauth2_start_flow(self.scopes, refresh_tokens=True)
        self.authorize_url = str(self.client.oauth2_get_authorize_url())
        self.started_at = time.time()
        return self.authorize_url

    def finish(self, code: str) -> t.Any:
        """Trade the pasted code for tokens (an ``OAuthTokenResponse``).

        A wrong, used or expired code raises :class:`LoginCodeRejected` with the fix; the
        code itself never appears in the message.
        """
        import globus_sdk

        if not self.authorize_url:
            self.start()
            raise LoginCodeRejected(
                "No login was started for this code; open the new link in the login widget, "
                "log in, and paste the code it shows."
            )
        code = (code or "").strip()
        if not code:
            raise LoginCodeRejected(
                "The login code is empty; paste the code Globus shows after you log in."
            )
        try:
            return self.client.oauth2_exchange_code_for_tokens(code)
        except globus_sdk.GlobusAPIError as exc:
            reason = exc.code if exc.code and exc.code != "Error" else f"HTTP {exc.http_status}"
            raw = exc.raw_json if isinstance(exc.raw_json, dict) else {}
            if raw.get("error"):
                reason = str(raw["error"])
            if isinstance(raw.get("error_description"), str):
                reason = f"{reason}: {raw['error_description'].rstrip('.')}"
            raise LoginCodeRejected(
                f"The login code was not accepted by Globus Auth ({reason}): a code works once, "
                "for a few minutes, with the link it came from; paste the whole code the link "
                "showed, or click 'Log in' for a new link."
            ) from None
        except globus_sdk.GlobusConnectionError:
            raise LoginCodeRejected(
                f"Globus Auth at {self.client.base_url} could not be reached to trade the login "
                "code; check the network and try again."
            ) from None

    def wanted(self, scope: object) -> bool:
        return base_scope(scope) in {base_scope(s) for s in self.scopes}
