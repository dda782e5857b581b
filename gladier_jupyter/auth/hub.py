"""Tokens JupyterHub hands to a single-user server.

Two ways, both fed by oauthenticator's ``GlobusOAuthenticator``:

* the hub API, ``$JUPYTERHUB_API_URL/user`` with ``Authorization: token
  $JUPYTERHUB_API_TOKEN``, which includes ``auth_state`` when the hub grants the server the
  ``admin:auth_state!user`` scope (fresh after the hub refreshes its tokens);
* ``GLOBUS_DATA``, set when the server was spawned: base64 of a pickled auth-state dict.
  It is decoded by an unpickler that refuses every global, so a crafted value can only
  build plain dicts, lists, strings and numbers and never runs code; and it is bounded: a
  pickle can share one part many times (its memo), so a few hundred bytes can stand for a
  tree that would take gigabytes once turned into text. The decoded value is walked as
  that tree, and refused past a few times the size of any hub's auth state.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import os
import pickle
import typing as t
import urllib.error
import urllib.parse
import urllib.request

from gladier_jupyter.auth.errors import GlobusDataError
from gladier_jupyter.auth.tokens import Token, TokenSet

__all__ = [
    "decode_globus_data",
    "fetch_hub_auth_state",
    "hub_api_available",
    "token_set_from_auth_state",
]

_NOT_TOKENS = (
    "GLOBUS_DATA is not a token dict as JupyterHub's GlobusOAuthenticator writes it "
    "(base64 of a pickled dict holding 'tokens')"
)


#: Longest GLOBUS_DATA read (a hub's auth state, groups included, is a few to a few
#: hundred KB of base64).
MAX_GLOBUS_DATA_CHARS = 2_000_000
#: Most values, deepest nesting and most characters of the auth state, counted as a tree
#: (a part the pickle shares is counted each time it is reached).
MAX_AUTH_STATE_VALUES = 200_000
MAX_AUTH_STATE_DEPTH = 32
MAX_AUTH_STATE_CHARS = 8_000_000
_MAX_INT_BITS = 256


class _NoGlobalsUnpickler(pickle.Unpickler):
    """Builds only pickle's primitive types; every class or function lookup is refused."""

    def find_class(self, module: str, name: str) -> t.NoReturn:
        raise pickle.UnpicklingError(f"global '{module}.{name}' is forbidden")


def decode_globus_data(value: str) -> dict[str, t.Any]:
    """The auth-state dict inside a ``GLOBUS_DATA`` value, decoded without running code."""
    if len(value) > MAX_GLOBUS_DATA_CHARS:
        raise GlobusDataError(f"{_NOT_TOKENS}: it is {len(value) / 1e6:.1f} MB long, over the "
                              f"{MAX_GLOBUS_DATA_CHARS / 1e6:.0f} MB a hub writes; it was "
                              "refused unread. Unset it or respawn your server from the hub.")
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise GlobusDataError(f"{_NOT_TOKENS}: it is not valid base64; unset it or "
                              "respawn your server from the hub.") from None
    try:
        data = _NoGlobalsUnpickler(io.BytesIO(raw)).load()
    except pickle.UnpicklingError as exc:
        reason = str(exc) if "forbidden" in str(exc) else "the pickle is damaged or truncated"
        raise GlobusDataError(f"{_NOT_TOKENS}: {reason}; it was refused without running it. "
                              "Unset it or respawn your server from the hub.") from None
    except Exception:  # noqa: BLE001 - any decoding failure of untrusted bytes
        raise GlobusDataError(f"{_NOT_TOKENS}: the pickle is damaged or truncated. "
                              "Unset it or respawn your server from the hub.") from None
    why = _unbounded(data)
    if why:
        raise GlobusDataError(f"{_NOT_TOKENS}: {why}; it was refused before any of it was "
                              "used. Unset it or respawn your server from the hub.")
    if not isinstance(data, dict) or not isinstance(data.get("tokens"), dict):
        raise GlobusDataError(f"{_NOT_TOKENS}: it decodes to a {type(data).__name__} without a "
                              "'tokens' dict. Unset it or respawn your server from the hub.")
    return data


def _unbounded(data: t.Any) -> str:
    """Why ``data`` is too big to use, or ``""``; never quotes any of its content.

    Walks the value as the tree that ``str()`` or ``json.dumps`` would expand (shared parts
    and cycles count every time they are reached) and stops at the first limit passed, so
    the walk itself costs at most :data:`MAX_AUTH_STATE_VALUES` steps.
    """
    stack: list[tuple[t.Any, int]] = [(data, 1)]
    values = chars = 0
    while stack:
        item, depth = stack.pop()
        values += 1
        if values > MAX_AUTH_STATE_VALUES:
            return (f"it holds more than {MAX_AUTH_STATE_VALUES:,} values once its shared "
                    "parts are counted out, far more than an auth state")
        if depth > MAX_AUTH_STATE_DEPTH:
            return f"it nests deeper than {MAX_AUTH_STATE_DEPTH} levels, unlike an auth state"
        if isinstance(item, dict):
            for key, sub in item.items():
                stack.append((key, depth + 1))
                stack.append((sub, depth + 1))
        elif isinstance(item, (list, tuple, set, frozenset)):
            stack.extend((sub, depth + 1) for sub in item)
        elif isinstance(item, (str, bytes, bytearray)):
            chars += len(item)
            if chars > MAX_AUTH_STATE_CHARS:
                return (f"it holds more than {MAX_AUTH_STATE_CHARS / 1e6:.0f} MB of text once "
                        "its shared parts are counted out, far more than an auth state")
        elif isinstance(item, int) and item.bit_length() > _MAX_INT_BITS:
            return f"it holds an integer of more than {_MAX_INT_BITS} bits, unlike an auth state"
    return ""


def token_set_from_auth_state(
    auth_state: t.Mapping[str, t.Any], source: str, seen_at: float | None = None
) -> TokenSet:
    """A :class:`TokenSet` from a GlobusOAuthenticator auth state (``tokens`` by resource server)."""
    tokens: dict[str, Token] = {}
    for rs, data in (auth_state.get("tokens") or {}).items():
        if not isinstance(data, dict):
            continue
        data = dict(data)
        data.setdefault("resource_server", rs)
        try:
            token = Token.from_globus_dict(data, seen_at=seen_at)
        except ValueError:
            continue
        # The hub's refresh tokens belong to its confidential client: useless without the
        # hub's secret, so they are not kept (the hub API gives refreshed tokens instead).
        token.refresh_token = None
        tokens[str(rs)] = token
    user = auth_state.get("globus_user") or {}
    identity = ""
    if isinstance(user, dict):
        identity = str(user.get("preferred_username") or user.get("username") or
                       user.get("name") or user.get("email") or "")
    return TokenSet(
        source=source,
        tokens=tokens,
        identity=identity,
        client_id=str(auth_state.get("client_id") or ""),
    )


def hub_api_available(environ: t.Mapping[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    return bool(env.get("JUPYTERHUB_API_URL") and env.get("JUPYTERHUB_API_TOKEN"))


def _get_json(url: str, api_token: str, timeout: float) -> tuple[t.Any, str]:
    request = urllib.request.Request(
        url, headers={"Authorization": f"token {api_token}", "Accept": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            return json.loads(resp.read() or b"{}"), ""
    except urllib.error.HTTPError as exc:
        return None, f"the hub API answered {exc.code} for {url}"
    except (OSError, ValueError) as exc:
        return None, f"the hub API at {url} could not be read ({type(exc).__name__})"


def fetch_hub_auth_state(
    environ: t.Mapping[str, str] | None = None, timeout: float = 5.0
) -> tuple[dict[str, t.Any] | None, str]:
    """``(auth_state, why_not)`` from the hub API.

    ``GET /user`` says who the server's token belongs to; JupyterHub (4 to 6 at least)
    leaves ``auth_state`` empty there and fills it in ``GET /users/<name>`` for a token
    holding ``admin:auth_state!user``, so that is asked next. ``auth_state`` is None when
    the hub does not share it or cannot be reached; ``why_not`` says why in one line.
    """
    env = os.environ if environ is None else environ
    url = env.get("JUPYTERHUB_API_URL", "").rstrip("/")
    api_token = env.get("JUPYTERHUB_API_TOKEN", "")
    if not (url and api_token):
        return None, "not running under JupyterHub"
    model, why = _get_json(f"{url}/user", api_token, timeout)
    if model is None:
        return None, why
    if not isinstance(model, dict):
        return None, "the hub API's /user answer is not a JSON object"
    state = model.get("auth_state")
    name = model.get("name") or env.get("JUPYTERHUB_USER", "")
    if not isinstance(state, dict) and name:
        user_url = f"{url}/users/{urllib.parse.quote(str(name), safe='')}"
        user_model, why = _get_json(user_url, api_token, timeout)
        if user_model is None:
            return None, why
        state = user_model.get("auth_state") if isinstance(user_model, dict) else None
    if not isinstance(state, dict) or not isinstance(state.get("tokens"), dict):
        return None, ("the hub does not share auth_state with this server "
                      "(it needs the admin:auth_state!user scope)")
    return state, ""
