"""HTTP plumbing shared by the local service's APIs (Flows, Compute, Search, Auth).

Each API is a package under ``gladier_jupyter.local`` with ``routes.py`` (stateless Tornado
handlers built on :class:`ApiHandler`), a ``store.py`` (SQLite) and an ``errors.py`` whose
exceptions render the real service's JSON error body. The server mounts each API under
``/api/<name>/`` and clients are pointed there with ``GLOBUS_SDK_SERVICE_URL_<NAME>``.
"""

from __future__ import annotations

import dataclasses
import hmac
import json
import logging
import pathlib
import time
import typing as t

import tornado.httputil
import tornado.web

__all__ = ["DEFAULT_BODY_SIZE", "MAX_JSON_DEPTH", "RESOURCE_SERVERS", "MiB", "ApiError", "ApiHandler",
           "ServiceContext", "short_path"]

log = logging.getLogger("gladier_jupyter.local.http")

MiB = 1024 * 1024
#: The largest body a route reads unless it says otherwise (``ApiHandler.max_body_size``).
DEFAULT_BODY_SIZE = 1 * MiB
#: Deepest JSON a request body may nest: far beyond any flow definition, run input or
#: Search entry (Globus Search allows 20 levels, docs.globus.org/api/search/limits), and
#: well within what copying, validating and serialising a document can recurse through.
MAX_JSON_DEPTH = 128

#: The resource server whose access tokens each local API accepts besides the secret, as
#: Globus Auth names them in a token response's ``resource_server``
#: (docs.globus.org/api/auth/reference/#token_response). An API not listed here (Auth's own
#: routes check their tokens themselves) accepts only the secret.
RESOURCE_SERVERS = {
    "flows": "flows.globus.org",
    "compute": "funcx_service",
    "search": "search.api.globus.org",
    "transfer": "transfer.api.globus.org",
}


def short_path(path: str, limit: int = 80) -> str:
    """``path`` for a log line: printable characters only, at most ``limit`` of them."""
    clean = "".join(c if c.isprintable() and c.isascii() else "?" for c in path[: limit + 1])
    return clean if len(clean) <= limit else clean[: limit - 3] + "..."


def _json_depth_exceeds(doc: t.Any, limit: int) -> bool:
    stack: list[tuple[t.Any, int]] = [(doc, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: t.Iterable[t.Any] = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


@dataclasses.dataclass
class ServiceContext:
    """What every API of one running service shares.

    ``services`` holds each API's in-process service object by name (``"flows"``,
    ``"compute"``, ``"search"``, ``"transfer"``, ``"auth"``) so that, for example, the flow
    engine's compute action provider calls the compute service directly.
    """

    state_dir: pathlib.Path
    secret: str = dataclasses.field(repr=False)
    base_url: str = ""
    username: str = "local-user@localhost"
    identity_id: str = "00000000-0000-4000-8000-000000000001"
    services: dict[str, t.Any] = dataclasses.field(default_factory=dict)
    #: time.monotonic() of the last request answered (the idle shutdown watches it)
    last_request: float = dataclasses.field(default_factory=time.monotonic)

    def db_path(self, api: str) -> pathlib.Path:
        """The SQLite file of one API (each API owns its own database file)."""
        return self.state_dir / f"{api}.sqlite3"


class ApiError(Exception):
    """Base of every API's errors; ``body()`` is the service's own JSON error document."""

    http_status = 500
    code = "UNKNOWN_ERROR"

    def __init__(self, message: str, *, http_status: int | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        if http_status is not None:
            self.http_status = http_status
        if code is not None:
            self.code = code

    def body(self) -> dict[str, t.Any]:
        return {"code": self.code, "message": self.message, "status": self.http_status}


class ApiHandler(tornado.web.RequestHandler):
    """Base handler: per-user secret check, JSON in and out, errors in the service's shape.

    Subclasses (one per route) set ``error_class`` to their API's error base; an
    :class:`ApiError` raised anywhere in a handler is written as that API's JSON body.
    """

    ctx: ServiceContext
    error_class: type[ApiError] = ApiError
    #: The largest request body this route reads; checked on the headers, before any of it
    #: is read (a larger Content-Length is answered 413).
    max_body_size: int = DEFAULT_BODY_SIZE
    #: Set once the request passed the credential check: only such requests count as
    #: activity for the idle shutdown and are logged one by one.
    credentialed: bool = False

    def initialize(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def check_xsrf_cookie(self) -> None:  # API clients send bearer tokens, not cookies
        return None

    @classmethod
    def credential(cls, ctx: ServiceContext, headers: tornado.httputil.HTTPHeaders) -> str | None:
        """What a request with these headers may do, decided before its body is read:
        ``"secret"`` (it carries the service secret), ``"token"`` (an unexpired, unrevoked
        access token the local Auth API issued for this API's resource server), ``"open"``
        (a route that checks its own credentials in ``prepare()``) or ``None`` (refused with
        a 401 at once)."""
        scheme, _, token = headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return None
        token = token.strip()
        if hmac.compare_digest(token.encode(), ctx.secret.encode()):
            return "secret"
        resource_server = cls.resource_server()
        auth = ctx.services.get("auth")
        if token and resource_server and auth is not None:
            record = auth.lookup(token)
            if record is not None and hmac.compare_digest(record["resource_server"].encode(),
                                                          resource_server.encode()):
                return "token"
        return None

    @classmethod
    def resource_server(cls) -> str | None:
        """The resource server whose tokens this route accepts: its API's in
        :data:`RESOURCE_SERVERS` (the API is the package ``gladier_jupyter.local.<api>``
        the handler class is defined in), else None (the secret only)."""
        parts = cls.__module__.split(".")
        if len(parts) >= 3 and parts[:2] == ["gladier_jupyter", "local"]:
            return RESOURCE_SERVERS.get(parts[2])
        return None

    @classmethod
    def unauthenticated(cls) -> ApiError:
        """The 401 this route answers to a request without valid credentials."""
        return cls.error_class(
            "No valid credentials for the local Globus service were sent.",
            http_status=401,
            code="AUTHENTICATION_ERROR",
        )

    def prepare(self) -> t.Awaitable[None] | None:
        if self.credential(self.ctx, self.request.headers) not in ("secret", "token"):
            raise self.unauthenticated()
        self.credentialed = True
        from gladier_jupyter.local import faults  # off unless $GLADIER_JUPYTER_FAULTS is set

        return faults.inject(self)

    def json_body(self) -> t.Any:
        """The request body as JSON (``{}`` when empty); malformed or too deeply nested
        JSON is a 400."""
        if not self.request.body:
            return {}
        too_deep = self.error_class(
            f"The request body nests JSON deeper than {MAX_JSON_DEPTH} levels; "
            "send a flatter document.", http_status=400, code="BAD_REQUEST")
        try:
            doc = json.loads(self.request.body)
        except RecursionError:
            raise too_deep from None
        except ValueError as exc:
            raise self.error_class(
                f"The request body is not valid JSON: {exc}.", http_status=400, code="BAD_REQUEST"
            ) from None
        if _json_depth_exceeds(doc, MAX_JSON_DEPTH):
            raise too_deep
        return doc

    def write_json(self, doc: t.Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(doc))

    def write_error(self, status_code: int, **kwargs: t.Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, tornado.web.HTTPError) and not isinstance(exc, ApiError):
            exc = self.error_class(exc.log_message or self._reason, http_status=status_code)
        if not isinstance(exc, ApiError):
            exc = self.error_class("Internal error in the local service.", http_status=500)
        self.set_status(exc.http_status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(exc.body()))

    def log_exception(self, typ: t.Any, value: BaseException | None, tb: t.Any) -> None:
        # Tornado's own line quotes the whole URI; an HTTPError is answered in the API's
        # shape and the access line already says so.
        if isinstance(value, tornado.web.HTTPError):
            return
        log.error("Uncaught exception in %s %s", self.request.method, short_path(self.request.path),
                  exc_info=value)

    def _handle_request_exception(self, e: BaseException) -> None:
        if isinstance(e, ApiError):
            if self._finished:
                return
            self.set_status(e.http_status)
            self.set_header("Content-Type", "application/json")
            self.finish(json.dumps(e.body()))
            return
        super()._handle_request_exception(e)
