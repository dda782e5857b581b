"""Jupyter server authorizers for the server-extension security tests.

Loaded by a real Jupyter server through ``--ServerApp.authorizer_class``, so this module
imports nothing but jupyter_server.
"""

from __future__ import annotations

import typing as t

from jupyter_server.auth.authorizer import Authorizer

__all__ = ["ReadOnlyAuthorizer"]


class ReadOnlyAuthorizer(Authorizer):
    """Allows every ``read`` and refuses ``write`` and ``execute`` on every resource."""

    def is_authorized(self, handler: t.Any, user: t.Any, action: str, resource: str) -> bool:
        return action == "read"
