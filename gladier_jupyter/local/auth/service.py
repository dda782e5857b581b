"""The local Auth API's state: authorization codes (PKCE) and the tokens issued for them.

Codes and tokens are stored as SHA-256 hashes in SQLite, never in clear. Tokens issued here
are accepted by this API's ``userinfo`` / ``introspect``; the other local APIs keep accepting
only the per-user secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import sqlite3
import threading
import time
import typing as t

from gladier_jupyter.local._http import ServiceContext
from gladier_jupyter.local.auth.errors import AuthError, OAuthError

__all__ = ["AuthService", "resource_server_of"]

ACCESS_TOKEN_LIFETIME = 172800
CODE_LIFETIME = 600

_KNOWN_RESOURCE_SERVERS = {
    "eec9b274-0c81-4334-bdc2-54e90e689b9a": "flows.globus.org",
    "facd7ccc-c5f4-42aa-916b-a0e270e2c2a9": "funcx_service",
}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS codes (
    code_hash TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    challenge TEXT NOT NULL,
    scopes TEXT NOT NULL,
    offline INTEGER NOT NULL,
    expires_at REAL NOT NULL,
    used INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS tokens (
    token_hash TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    client_id TEXT NOT NULL,
    resource_server TEXT NOT NULL,
    scopes TEXT NOT NULL,
    expires_at REAL,
    revoked INTEGER NOT NULL DEFAULT 0
);
"""


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def resource_server_of(scope: str) -> str:
    """The resource server a scope string belongs to, as Globus Auth groups tokens."""
    scope = scope.split("[", 1)[0]
    if scope in ("openid", "profile", "email"):
        return "auth.globus.org"
    if scope.startswith("urn:globus:auth:scope:"):
        return scope[len("urn:globus:auth:scope:"):].rsplit(":", 1)[0]
    if scope.startswith("https://auth.globus.org/scopes/"):
        rs = scope[len("https://auth.globus.org/scopes/"):].split("/", 1)[0]
        return _KNOWN_RESOURCE_SERVERS.get(rs, rs)
    return scope


class AuthService:
    """Issues PKCE authorization codes and trades them (once, before expiry) for tokens."""

    def __init__(self, ctx: ServiceContext, clock: t.Callable[[], float] = time.time,
                 code_lifetime: float = CODE_LIFETIME) -> None:
        self.ctx = ctx
        self.clock = clock
        self.code_lifetime = code_lifetime
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(ctx.db_path("auth")), check_same_thread=False)
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    # -- authorize ---------------------------------------------------------------------------
    def authorize(self, *, client_id: str, redirect_uri: str, scope: str, challenge: str,
                  challenge_method: str, response_type: str, offline: bool) -> str:
        """A fresh one-time code bound to the PKCE challenge, the client and redirect URI."""
        if response_type != "code":
            raise AuthError(f"response_type {response_type!r} is not supported; use 'code'.",
                            code="UNSUPPORTED_RESPONSE_TYPE")
        if not client_id:
            raise AuthError("client_id is required.", code="INVALID_REQUEST")
        if challenge_method != "S256" or not challenge:
            raise AuthError("A PKCE code_challenge with code_challenge_method S256 is required.",
                            code="INVALID_REQUEST")
        scopes = " ".join(scope.split())
        if not scopes:
            raise AuthError("scope is required.", code="INVALID_SCOPE")
        code = secrets.token_urlsafe(24)
        with self._lock, self._db:
            self._db.execute(
                "INSERT INTO codes VALUES (?, ?, ?, ?, ?, ?, ?, 0)",
                (_hash(code), client_id, redirect_uri, challenge, scopes, int(offline),
                 self.clock() + self.code_lifetime),
            )
        return code

    # -- token -------------------------------------------------------------------------------
    def exchange_code(self, *, code: str, client_id: str, redirect_uri: str,
                      verifier: str) -> dict[str, t.Any]:
        """Trade a code for tokens: it must exist, be unused and unexpired, and match PKCE."""
        with self._lock, self._db:
            row = self._db.execute(
                "SELECT client_id, redirect_uri, challenge, scopes, offline, expires_at, used "
                "FROM codes WHERE code_hash = ?", (_hash(code),)
            ).fetchone()
            if row is None:
                raise OAuthError("The authorization code is not valid.")
            c_client, c_redirect, challenge, scopes, offline, expires_at, used = row
            if used:
                raise OAuthError("The authorization code was already used.")
            # Spend the code whatever happens next: a code is good for one attempt.
            self._db.execute("UPDATE codes SET used = 1 WHERE code_hash = ?", (_hash(code),))
        if self.clock() >= expires_at:
            raise OAuthError("The authorization code has expired.")
        if client_id != c_client or redirect_uri != c_redirect:
            raise OAuthError("The authorization code was issued to another client or redirect.")
        digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        if not hmac.compare_digest(digest.rstrip(b"=").decode(), challenge):
            raise OAuthError("The code_verifier does not match the code_challenge.")
        return self._issue(client_id, scopes.split(), bool(offline))

    def refresh(self, *, refresh_token: str, client_id: str) -> dict[str, t.Any]:
        with self._lock:
            row = self._db.execute(
                "SELECT client_id, resource_server, scopes, revoked FROM tokens "
                "WHERE token_hash = ? AND kind = 'refresh'", (_hash(refresh_token),)
            ).fetchone()
        if row is None or row[3] or row[0] != client_id:
            raise OAuthError("The refresh token is not valid.")
        doc = self._issue(client_id, row[2].split(), offline=False)
        doc["refresh_token"] = refresh_token
        return doc

    def _issue(self, client_id: str, scopes: list[str], offline: bool) -> dict[str, t.Any]:
        by_rs: dict[str, list[str]] = {}
        for scope in scopes:
            by_rs.setdefault(resource_server_of(scope), []).append(scope)
        now = self.clock()
        docs = []
        with self._lock, self._db:
            for rs, rs_scopes in by_rs.items():
                access = secrets.token_urlsafe(32)
                doc: dict[str, t.Any] = {
                    "access_token": access,
                    "scope": " ".join(rs_scopes),
                    "expires_in": ACCESS_TOKEN_LIFETIME,
                    "token_type": "Bearer",
                    "resource_server": rs,
                    "state": "_default",
                }
                self._db.execute(
                    "INSERT INTO tokens VALUES (?, 'access', ?, ?, ?, ?, 0)",
                    (_hash(access), client_id, rs, doc["scope"], now + ACCESS_TOKEN_LIFETIME),
                )
                if offline:
                    refresh = secrets.token_urlsafe(32)
                    doc["refresh_token"] = refresh
                    self._db.execute(
                        "INSERT INTO tokens VALUES (?, 'refresh', ?, ?, ?, NULL, 0)",
                        (_hash(refresh), client_id, rs, doc["scope"]),
                    )
                docs.append(doc)
        # Globus puts the Auth token (when asked for) at the top, the rest in other_tokens.
        docs.sort(key=lambda d: d["resource_server"] != "auth.globus.org")
        top = dict(docs[0])
        top["other_tokens"] = docs[1:]
        return top

    # -- introspect / revoke -------------------------------------------------------------------
    def lookup(self, token: str) -> dict[str, t.Any] | None:
        """An issued, unrevoked, unexpired access token's record, else None."""
        with self._lock:
            row = self._db.execute(
                "SELECT client_id, resource_server, scopes, expires_at, revoked FROM tokens "
                "WHERE token_hash = ? AND kind = 'access'", (_hash(token),)
            ).fetchone()
        if row is None or row[4] or (row[3] is not None and self.clock() >= row[3]):
            return None
        return {"client_id": row[0], "resource_server": row[1], "scope": row[2], "exp": row[3]}

    def revoke(self, token: str) -> None:
        with self._lock, self._db:
            self._db.execute("UPDATE tokens SET revoked = 1 WHERE token_hash = ?", (_hash(token),))
