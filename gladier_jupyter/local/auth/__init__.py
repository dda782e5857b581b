"""The local service's Auth API: the native-app PKCE login, token refresh and revoke.

Same contract as the other local APIs: ``make_service(ctx)`` and ``routes(ctx)``.
"""

from __future__ import annotations

from gladier_jupyter.local._http import ServiceContext
from gladier_jupyter.local.auth.errors import AuthError, OAuthError
from gladier_jupyter.local.auth.routes import routes
from gladier_jupyter.local.auth.service import AuthService

__all__ = ["AuthError", "AuthService", "OAuthError", "error_class", "make_service", "routes"]

error_class = AuthError


def make_service(ctx: ServiceContext) -> AuthService:
    """The Auth API's service object (``ctx.services["auth"]``)."""
    return AuthService(ctx)
