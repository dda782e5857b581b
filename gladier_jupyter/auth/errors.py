"""Errors of the login layer. Messages never carry a token."""

from __future__ import annotations

from gladier_jupyter.errors import GladierJupyterUsageError

__all__ = [
    "GlobusDataError",
    "HubLoginExpired",
    "LoginCodeRejected",
    "LoginRequired",
    "StoredIdentityMismatch",
]


class GlobusDataError(GladierJupyterUsageError):
    """``GLOBUS_DATA`` holds something other than the token dict a Globus hub writes."""


class HubLoginExpired(GladierJupyterUsageError):
    """The tokens the hub handed over have expired and the hub API has no fresher ones.

    A usage error: the user must act (log in again), and the magics show it as one line.
    """


class LoginRequired(GladierJupyterUsageError):
    """A scope is needed that no token source holds; the login widget asks the user for it."""

    def __init__(self, message: str, scopes: list[str] | None = None) -> None:
        super().__init__(message)
        self.scopes = list(scopes or [])


class LoginCodeRejected(GladierJupyterUsageError):
    """The code pasted into the login widget was refused by Globus Auth (wrong or expired)."""


class StoredIdentityMismatch(GladierJupyterUsageError):
    """A login's tokens belong to another Globus identity than the tokens already stored.

    globus-sdk's ``ValidatingTokenStorage`` refuses the same way (``IdentityMismatchError``):
    one store holds one person's tokens; switching identities means logging out first.
    """

    def __init__(self, message: str, stored_id: str | None, new_id: str | None) -> None:
        super().__init__(message)
        self.stored_id = stored_id
        self.new_id = new_id
