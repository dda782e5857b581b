"""Handlers of the local Auth API (mounted at ``/api/auth/``).

``v2/oauth2/token`` and ``v2/oauth2/token/revoke`` take no bearer secret (a native app has
none: PKCE's verifier is the proof); ``authorize`` requires the per-user secret so nobody
else on the machine can mint codes; ``userinfo`` and ``introspect`` accept the secret or a
token issued here.
"""

from __future__ import annotations

import hmac
import html
import typing as t
import urllib.parse

from gladier_jupyter.local._http import ApiHandler, ServiceContext
from gladier_jupyter.local.auth.errors import AuthError, OAuthError
from gladier_jupyter.local.auth.service import AuthService

__all__ = ["routes"]


class _AuthHandler(ApiHandler):
    error_class = AuthError
    max_body_size = 64 * 1024  # OAuth2 forms: a code, a verifier, a token

    @property
    def service(self) -> AuthService:
        return self.ctx.services["auth"]

    def arg(self, name: str, default: str = "") -> str:
        return self.get_argument(name, default) or default

    def _bearer(self) -> str:
        scheme, _, token = self.request.headers.get("Authorization", "").partition(" ")
        return token.strip() if scheme.lower() == "bearer" else ""

    def _is_secret(self, token: str) -> bool:
        return bool(token) and hmac.compare_digest(token.encode(), self.ctx.secret.encode())


class _OpenHandler(_AuthHandler):
    """A route that needs no service secret (it checks its own proof, or has none)."""

    @classmethod
    def credential(cls, ctx: ServiceContext, headers: t.Any) -> str | None:
        return "open"

    def prepare(self) -> None:
        return None


class AuthorizeHandler(_AuthHandler):
    """``GET v2/oauth2/authorize``: the consent step, auto-approved for the local user."""

    def get(self) -> None:
        code = self.service.authorize(
            client_id=self.arg("client_id"),
            redirect_uri=self.arg("redirect_uri"),
            scope=self.arg("scope"),
            challenge=self.arg("code_challenge"),
            challenge_method=self.arg("code_challenge_method"),
            response_type=self.arg("response_type"),
            offline=self.arg("access_type") == "offline",
        )
        if "application/json" in self.request.headers.get("Accept", ""):
            self.write_json({"code": code, "state": self.arg("state")})
            return
        query = urllib.parse.urlencode({"code": code, "state": self.arg("state")})
        redirect = self.arg("redirect_uri")
        sep = "&" if "?" in redirect else "?"
        self.redirect(f"{redirect}{sep}{query}")


class AuthCodePageHandler(_OpenHandler):
    """``GET v2/web/auth-code``: shows the code to paste, like Globus's native-app page
    (it shows what its URL carries; nothing to protect)."""

    def get(self) -> None:
        code = html.escape(self.arg("code"))
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(
            "<!doctype html><title>Native App Authorization Code</title>"
            "<p>Copy this code and paste it into the login widget:</p>"
            f"<pre id='auth-code'>{code}</pre>"
        )


class TokenHandler(_OpenHandler):
    """``POST v2/oauth2/token``: authorization_code (PKCE) and refresh_token grants
    (native apps hold no secret; PKCE is the proof)."""

    error_class = OAuthError

    def post(self) -> None:
        grant = self.arg("grant_type")
        client_id = self.arg("client_id")
        if grant == "authorization_code":
            doc = self.service.exchange_code(
                code=self.arg("code"), client_id=client_id,
                redirect_uri=self.arg("redirect_uri"), verifier=self.arg("code_verifier"),
            )
        elif grant == "refresh_token":
            doc = self.service.refresh(refresh_token=self.arg("refresh_token"), client_id=client_id)
        else:
            raise OAuthError(f"grant_type {grant!r} is not supported.", http_status=400,
                             code="unsupported_grant_type")
        self.set_header("Cache-Control", "no-store")
        self.write_json(doc)


class RevokeHandler(_OpenHandler):
    """``POST v2/oauth2/token/revoke``: always ``{"active": false}``, as Globus answers."""

    def post(self) -> None:
        token = self.arg("token")
        if token:
            self.service.revoke(token)
        self.write_json({"active": False})


class IntrospectHandler(_AuthHandler):
    """``POST v2/oauth2/token/introspect``: the service secret (always active, every scope)
    or a token issued by this API's token endpoint."""

    def post(self) -> None:
        token = self.arg("token")
        if self._is_secret(token):
            self.write_json({
                "active": True, "token_type": "Bearer", "scope": "openid profile email",
                "client_id": "gladier-jupyter-local", "sub": self.ctx.identity_id,
                "username": self.ctx.username, "name": "Local User", "email": None,
                "aud": ["gladier-jupyter-local"], "iss": self.ctx.base_url + "/api/auth/",
                "exp": 4102444800, "iat": 0, "nbf": 0, "identity_set": [self.ctx.identity_id],
            })
            return
        record = self.service.lookup(token)
        if record is None:
            self.write_json({"active": False})
            return
        self.write_json({
            "active": True,
            "token_type": "Bearer",
            "scope": record["scope"],
            "client_id": record["client_id"],
            "username": self.ctx.username,
            "sub": self.ctx.identity_id,
            "exp": int(record["exp"]) if record["exp"] else None,
            "aud": [record["resource_server"], record["client_id"]],
            "iss": self.ctx.base_url + "/api/auth/",
            "identity_set": [self.ctx.identity_id],
        })


class IdentitiesHandler(_AuthHandler):
    """``GET v2/api/identities``: only the local user exists."""

    def get(self) -> None:
        me = {
            "id": self.ctx.identity_id, "username": self.ctx.username, "name": "Local User",
            "email": None, "organization": "gladier-jupyter local service", "status": "used",
            "identity_provider": "00000000-0000-4000-8000-000000000000",
            "identity_type": "login",
        }
        ids = {i for v in self.get_query_arguments("ids") for i in v.split(",") if i}
        names = {n for v in self.get_query_arguments("usernames") for n in v.split(",") if n}
        match = (not ids and not names) or self.ctx.identity_id in ids or self.ctx.username in names
        self.write_json({"identities": [me] if match else []})


class UserinfoHandler(_OpenHandler):
    """``GET v2/oauth2/userinfo``: the one local identity (secret or an issued Auth token)."""

    def prepare(self) -> None:
        token = self._bearer()
        if not self._is_secret(token):
            record = self.service.lookup(token) if token else None
            if record is None or record["resource_server"] != "auth.globus.org":
                raise AuthError("No valid credentials for the local Globus service were sent.",
                                http_status=401, code="UNAUTHORIZED")
        self.credentialed = True

    def get(self) -> None:
        ident = {"sub": self.ctx.identity_id, "username": self.ctx.username,
                 "name": "Local User", "email": None}
        self.write_json({
            "sub": self.ctx.identity_id,
            "preferred_username": self.ctx.username,
            "name": "Local User",
            "email": None,
            "organization": "gladier-jupyter local service",
            "identity_provider": "00000000-0000-4000-8000-000000000000",
            "identity_provider_display_name": "Local",
            "last_authentication": 0,
            "identity_set": [ident],
        })

    post = get


def routes(ctx: ServiceContext) -> list[tuple[str, type, dict[str, t.Any]]]:
    """The Auth API's routes, relative to ``/api/auth/``."""
    return [
        (r"v2/oauth2/authorize", AuthorizeHandler, {}),
        (r"v2/web/auth-code", AuthCodePageHandler, {}),
        (r"v2/oauth2/token", TokenHandler, {}),
        (r"v2/oauth2/token/revoke", RevokeHandler, {}),
        (r"v2/oauth2/token/introspect", IntrospectHandler, {}),
        (r"v2/oauth2/userinfo", UserinfoHandler, {}),
        (r"v2/api/identities", IdentitiesHandler, {}),
    ]
