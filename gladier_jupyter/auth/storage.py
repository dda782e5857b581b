"""Tokens kept from an interactive login, in globus-sdk's JSON token storage (mode 0600).

The store holds one Globus identity's tokens. Saving goes through globus-sdk's
``ValidatingTokenStorage``, whose identity check refuses tokens of another identity
(``IdentityMismatchError``, as a ``GlobusApp`` does); switching identities means logging out.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import pathlib
import typing as t

from gladier_jupyter.auth.errors import StoredIdentityMismatch
from gladier_jupyter.auth.tokens import Token, TokenSet, state_dir

__all__ = ["TokenStore"]

_LOG_OUT = "log out (the login widget's 'Log out', or gladier_jupyter.auth.logout())"


@functools.cache
def _identity_validator() -> t.Any:
    """globus-sdk's unchanging-identity check, also accepting a first login without identity.

    Built on first use: globus-sdk is a heavy import and ``%load_ext`` must stay instant.
    """
    from globus_sdk.token_storage.validating_token_storage import UnchangingIdentityIDValidator

    class _SameIdentity(UnchangingIdentityIDValidator):
        def before_store(self, token_data_by_resource_server: t.Any, context: t.Any) -> None:
            # globus-sdk insists on an id_token for every grant; a store that knows no
            # identity yet may take tokens of an unknown one (the login had no userinfo).
            if context.token_data_identity_id is None and context.prior_identity_id is None:
                return
            super().before_store(token_data_by_resource_server, context)

    return _SameIdentity()


def _token(rs: str, data: t.Any) -> Token:
    return Token(resource_server=rs, scopes=data.scope.split(), access_token=data.access_token,
                 refresh_token=data.refresh_token, expires_at=float(data.expires_at_seconds),
                 token_type=data.token_type or "Bearer")


class TokenStore:
    """One JSON file under ``~/.gladier-jupyter`` (``GLADIER_JUPYTER_AUTH_DIR``), user-only.

    Namespaced by Globus Auth base URL so tokens of the local service's Auth and of the real
    Globus Auth never mix.
    """

    def __init__(self, path: pathlib.Path | None = None, namespace: str = "globus") -> None:
        self.path = path or (state_dir() / "tokens.json")
        self.namespace = namespace

    def __repr__(self) -> str:
        return f"TokenStore({str(self.path)!r}, namespace={self.namespace!r})"

    def _storage(self) -> t.Any:
        from globus_sdk.token_storage import JSONTokenStorage

        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        return JSONTokenStorage(self.path, namespace=self.namespace)

    def _validating(self) -> t.Any:
        """The storage behind globus-sdk's identity check; refuses a file mixing identities."""
        from globus_sdk.token_storage import ValidatingTokenStorage

        raw = self._storage()
        stored = self._identities(raw)
        if len(stored) > 1:
            # written by an older version, which merged logins without looking at whose
            raise StoredIdentityMismatch(
                f"The stored login in {str(self.path)!r} holds tokens of "
                f"{len(stored)} Globus identities ({', '.join(self._label(i) for i in stored)}); "
                f"{_LOG_OUT} to clear it, then log in again.",
                stored_id=None, new_id=None)
        return ValidatingTokenStorage(raw, validators=[_identity_validator()])

    @staticmethod
    def _identities(raw: t.Any) -> list[str]:
        return sorted({str(d.identity_id) for d in raw.get_token_data_by_resource_server().values()
                       if d.identity_id})

    def _label(self, identity_id: str | None, username: str = "") -> str:
        if not identity_id:
            return "an unknown identity"
        name = username or self._names().get(identity_id, "")
        return f"{name} ({identity_id})" if name else identity_id

    def _restrict(self) -> None:
        # globus-sdk creates the file under a user-only umask; make sure an older file is too.
        if self.path.exists():
            os.chmod(self.path, 0o600)

    def load(self) -> TokenSet | None:
        """The stored tokens, or None when nothing was stored."""
        if not self.path.exists():
            return None
        try:
            by_rs = self._storage().get_token_data_by_resource_server()
        except Exception as exc:  # noqa: BLE001 - a damaged file is the same as no login
            # the type only: a message could quote the file's tokens
            logging.getLogger(__name__).warning("The token file %s is unreadable (%s); no login "
                                                "is loaded from it.", self.path, type(exc).__name__)
            return None
        if not by_rs:
            return None
        if len({d.identity_id for d in by_rs.values() if d.identity_id}) > 1:
            return None  # two people's tokens (an older version's merge): no one's login
        tokens: dict[str, Token] = {}
        identity = ""
        for rs, data in by_rs.items():
            tokens[rs] = _token(rs, data)
            identity = identity or str(data.identity_id or "")
        identity = self._names().get(identity, identity)
        return TokenSet(source="stored login", tokens=tokens, identity=identity)

    # globus-sdk's token data keeps the identity id only; the username shown in the login
    # widget is kept beside it (same user-only mode).
    def _names(self) -> dict[str, str]:
        try:
            names = json.loads(self.path.with_name("identities.json").read_text())
        except (OSError, ValueError):
            return {}
        return {str(k): str(v) for k, v in names.items()} if isinstance(names, dict) else {}

    def _remember_name(self, identity_id: str, username: str) -> None:
        names = self._names()
        names[identity_id] = username
        path = self.path.with_name("identities.json")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(names, fh)

    def save(self, by_resource_server: t.Mapping[str, t.Mapping[str, t.Any]],
             identity_id: str | None = None, username: str = "") -> None:
        """Store a token response's ``by_resource_server``, added to the same identity's.

        Raises :class:`StoredIdentityMismatch` (and stores nothing) when the stored tokens
        belong to another identity than ``identity_id``.
        """
        from globus_sdk.token_storage import TokenStorageData
        from globus_sdk.token_storage.validating_token_storage import IdentityValidationError

        data = {
            rs: TokenStorageData(
                resource_server=rs,
                identity_id=identity_id,
                scope=str(tok.get("scope") or ""),
                access_token=str(tok["access_token"]),
                refresh_token=tok.get("refresh_token"),
                expires_at_seconds=int(tok["expires_at_seconds"]),
                token_type=tok.get("token_type"),
            )
            for rs, tok in by_resource_server.items()
        }
        storage = self._validating()
        try:
            storage.store_token_data_by_resource_server(data)
        except IdentityValidationError:  # its message is generic; say whose and what to do
            raise StoredIdentityMismatch(
                f"This login is Globus identity {self._label(identity_id, username)}, but the "
                f"stored login in {str(self.path)!r} belongs to "
                f"{self._label(storage.identity_id)}; {_LOG_OUT} first to switch identities, "
                f"or log in again as "
                f"{self._names().get(str(storage.identity_id)) or 'that identity'}.",
                stored_id=storage.identity_id, new_id=identity_id) from None
        self._restrict()
        if identity_id and username:
            self._remember_name(identity_id, username)

    def update_token(self, resource_server: str, tok: t.Mapping[str, t.Any]) -> None:
        """Replace one resource server's tokens (after a refresh), keeping whose they are."""
        old = self._storage().get_token_data(resource_server)
        self.save({resource_server: tok}, identity_id=old.identity_id if old else None)

    def clear(self) -> list[Token]:
        """Forget every stored token; returns what was removed so it can be revoked."""
        if not self.path.exists():
            return []
        storage = self._storage()
        try:
            # read without the identity check: a file mixing identities is cleared too
            by_rs = storage.get_token_data_by_resource_server()
        except Exception as exc:  # noqa: BLE001 - a damaged file holds nothing to revoke
            logging.getLogger(__name__).warning("The token file %s is unreadable (%s); nothing "
                                                "to revoke in it.", self.path, type(exc).__name__)
            return []
        removed = [_token(rs, data) for rs, data in by_rs.items()]
        for rs in by_rs:
            storage.remove_token_data(rs)
        self._restrict()
        return removed
