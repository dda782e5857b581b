"""Tokens as the login layer holds them: one :class:`Token` per resource server.

A :class:`TokenSet` knows where its tokens came from (its ``source``) and answers which of
them covers a scope. Reprs and ``describe()`` never include a token string.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import os
import pathlib
import time
import typing as t

__all__ = [
    "Token", "TokenSet", "base_scope", "first_seen", "resource_server_of", "scope_label",
    "state_dir",
]

#: Labels for the scopes gladier asks for, shown in the login widget.
_KNOWN_SCOPES = {
    "https://auth.globus.org/scopes/eec9b274-0c81-4334-bdc2-54e90e689b9a/": "Flows",
    "https://auth.globus.org/scopes/facd7ccc-c5f4-42aa-916b-a0e270e2c2a9/all": "Compute",
    "urn:globus:auth:scope:search.api.globus.org:": "Search",
    "urn:globus:auth:scope:transfer.api.globus.org:": "Transfer",
    "urn:globus:auth:scope:auth.globus.org:": "Auth",
    "openid": "Identity",
    "profile": "Identity",
    "email": "Identity",
}


def state_dir() -> pathlib.Path:
    """Per-user folder for stored tokens and first-seen times (``~/.gladier-jupyter``)."""
    override = os.environ.get("GLADIER_JUPYTER_AUTH_DIR")
    return pathlib.Path(override) if override else pathlib.Path.home() / ".gladier-jupyter"


def base_scope(scope: object) -> str:
    """The scope string without dependent scopes: ``a[b c]`` -> ``a``."""
    text = str(scope).strip()
    return text.split("[", 1)[0].strip()


def scope_label(scope: str) -> str:
    """A short human name for a scope (``Flows: run``, ``Flow 1a2b…``, ``Search``)."""
    scope = base_scope(scope)
    if "/flow_" in scope and scope.endswith("_user"):
        flow_id = scope.rsplit("/", 2)[-2]
        return f"Flow {flow_id[:8]}"
    for prefix, label in _KNOWN_SCOPES.items():
        if scope == prefix or scope.startswith(prefix):
            rest = scope[len(prefix):]
            return f"{label}: {rest}" if rest and label == "Flows" else label
    return scope


_RESOURCE_SERVERS = {
    "eec9b274-0c81-4334-bdc2-54e90e689b9a": "flows.globus.org",
    "facd7ccc-c5f4-42aa-916b-a0e270e2c2a9": "funcx_service",
}


def resource_server_of(scope: object) -> str:
    """The resource server Globus Auth files a scope's token under."""
    text = base_scope(scope)
    if text in ("openid", "profile", "email"):
        return "auth.globus.org"
    if text.startswith("urn:globus:auth:scope:"):
        return text[len("urn:globus:auth:scope:"):].rsplit(":", 1)[0]
    if text.startswith("https://auth.globus.org/scopes/"):
        rs = text[len("https://auth.globus.org/scopes/"):].split("/", 1)[0]
        return _RESOURCE_SERVERS.get(rs, rs)
    return text


def _fingerprint(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()[:24]


def first_seen(access_token: str, now: float | None = None) -> float:
    """When this process's user first saw ``access_token`` (stored as a hash, never the token).

    Hubs hand over ``expires_in`` (relative) without saying when the token was issued; the
    first time the server saw a token is the best lower bound, and it survives kernel restarts.
    """
    now = time.time() if now is None else now
    path = state_dir() / "first-seen.json"
    key = _fingerprint(access_token)
    try:
        seen = json.loads(path.read_text())
        if not isinstance(seen, dict):
            seen = {}
    except (OSError, ValueError):
        seen = {}
    if key in seen and isinstance(seen[key], (int, float)):
        return float(seen[key])
    seen[key] = now
    # Keep the file small: drop entries older than a week.
    seen = {k: v for k, v in seen.items() if isinstance(v, (int, float)) and v > now - 7 * 86400}
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(seen, fh)
        os.replace(tmp, path)
    except OSError:
        pass
    return now


@dataclasses.dataclass
class Token:
    """One resource server's tokens. ``repr`` shows the scopes and expiry, never a token."""

    resource_server: str
    scopes: list[str]
    access_token: str = dataclasses.field(repr=False)
    refresh_token: str | None = dataclasses.field(default=None, repr=False)
    expires_at: float | None = None
    token_type: str = "Bearer"

    def covers(self, scope: object) -> bool:
        wanted = base_scope(scope)
        return any(base_scope(s) == wanted for s in self.scopes)

    def expired(self, now: float | None = None, leeway: float = 30.0) -> bool:
        if self.expires_at is None:
            return False
        return (time.time() if now is None else now) + leeway >= self.expires_at

    @classmethod
    def from_globus_dict(
        cls, data: t.Mapping[str, t.Any], seen_at: float | None = None
    ) -> Token:
        """From a Globus token dict (``expires_in`` relative or ``expires_at_seconds``)."""
        access = data.get("access_token")
        if not isinstance(access, str) or not access:
            raise ValueError("token dict has no access_token")
        expires_at: float | None = None
        if isinstance(data.get("expires_at_seconds"), (int, float)):
            expires_at = float(data["expires_at_seconds"])
        elif isinstance(data.get("expires_in"), (int, float)):
            start = first_seen(access) if seen_at is None else seen_at
            expires_at = start + float(data["expires_in"])
        scope = data.get("scope") or ""
        refresh = data.get("refresh_token")
        return cls(
            resource_server=str(data.get("resource_server") or ""),
            scopes=str(scope).split(),
            access_token=access,
            refresh_token=refresh if isinstance(refresh, str) and refresh else None,
            expires_at=expires_at,
            token_type=str(data.get("token_type") or "Bearer"),
        )


def iso(ts: float | None) -> str:
    """UTC ISO time for a timestamp, ``""`` for none."""
    if ts is None:
        return ""
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime(
        "%Y-%m-%d %H:%M:%S UTC"
    )


@dataclasses.dataclass
class TokenSet:
    """Tokens from one source, by resource server, plus who they belong to when known."""

    source: str
    tokens: dict[str, Token] = dataclasses.field(default_factory=dict)
    identity: str = ""
    client_id: str = ""
    refreshable_by_hub: bool = False

    def for_scope(self, scope: object) -> Token | None:
        """The token covering ``scope`` (dependent scopes ignored), or None."""
        for token in self.tokens.values():
            if token.covers(scope):
                return token
        # An umbrella scope ("…/all", "…:all") asked by a plain globus-sdk client: the service's
        # token (hub logins ask for the narrower Flows scopes) serves what its scopes allow.
        text = base_scope(scope)
        if text.endswith(("/all", ":all")):
            return self.tokens.get(resource_server_of(text))
        return None

    @property
    def scopes(self) -> list[str]:
        return sorted({s for tok in self.tokens.values() for s in tok.scopes})

    @property
    def expires_at(self) -> float | None:
        """The earliest expiry among tokens that cannot refresh themselves."""
        times = [
            tok.expires_at
            for tok in self.tokens.values()
            if tok.expires_at is not None and not tok.refresh_token
        ]
        return min(times) if times else None

    def secrets(self) -> list[str]:
        """Every token string held (for tests that scan output for leaks)."""
        out = []
        for tok in self.tokens.values():
            out.append(tok.access_token)
            if tok.refresh_token:
                out.append(tok.refresh_token)
        return out

    def __len__(self) -> int:
        return len(self.tokens)
