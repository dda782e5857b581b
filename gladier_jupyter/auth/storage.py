"""Tokens kept from an interactive login, in globus-sdk's JSON token storage (mode 0600)."""

from __future__ import annotations

import json
import os
import pathlib
import typing as t

from gladier_jupyter.auth.tokens import Token, TokenSet, state_dir

__all__ = ["TokenStore"]


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
        except Exception:  # noqa: BLE001 - a damaged file is the same as no login
            return None
        if not by_rs:
            return None
        tokens: dict[str, Token] = {}
        identity = ""
        for rs, data in by_rs.items():
            tokens[rs] = Token(
                resource_server=rs,
                scopes=data.scope.split(),
                access_token=data.access_token,
                refresh_token=data.refresh_token,
                expires_at=float(data.expires_at_seconds),
                token_type=data.token_type or "Bearer",
            )
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
        """Store a token response's ``by_resource_server`` (merged with what is there)."""
        from globus_sdk.token_storage import TokenStorageData

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
        storage = self._storage()
        storage.store_token_data_by_resource_server(data)
        self._restrict()
        if identity_id and username:
            self._remember_name(identity_id, username)

    def update_token(self, resource_server: str, tok: t.Mapping[str, t.Any]) -> None:
        """Replace one resource server's tokens (after a refresh), keeping whose they are."""
        old = self._storage().get_token_data(resource_server)
        self.save({resource_server: tok}, identity_id=old.identity_id if old else None)

    def clear(self) -> list[Token]:
        """Forget every stored token; returns what was removed so it can be revoked."""
        current = self.load()
        if current is None:
            return []
        storage = self._storage()
        for rs in list(current.tokens):
            storage.remove_token_data(rs)
        self._restrict()
        return list(current.tokens.values())
