"""Errors of the local Auth API, in Globus Auth's shapes.

The OAuth2 token endpoint answers ``{"error": "invalid_grant"}`` (RFC 6749, as Globus Auth
does); the other endpoints answer Auth's ``errors`` array.
"""

from __future__ import annotations

import typing as t

from gladier_jupyter.local._http import ApiError

__all__ = ["AuthError", "OAuthError"]


class AuthError(ApiError):
    """Base of the Auth API's errors (``errors`` array plus the OAuth2 fields)."""

    http_status = 400
    code = "BAD_REQUEST"

    def body(self) -> dict[str, t.Any]:
        return {
            "errors": [{"status": str(self.http_status), "code": self.code, "detail": self.message}],
            "error": self.code.lower(),
            "error_description": self.message,
        }


class OAuthError(AuthError):
    """An OAuth2 token-endpoint error: ``{"error": code, "error_description": ...}``."""

    http_status = 401
    code = "invalid_grant"

    def body(self) -> dict[str, t.Any]:
        return {"error": self.code, "error_description": self.message}
