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
import pathlib
import time
import typing as t

import tornado.web

__all__ = ["ApiError", "ApiHandler", "ServiceContext"]


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

    def initialize(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def check_xsrf_cookie(self) -> None:  # API clients send bearer tokens, not cookies
        return None

    def prepare(self) -> t.Awaitable[None] | None:
        header = self.request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            token.strip().encode(), self.ctx.secret.encode()
        ):
            raise self.error_class(
                "No valid credentials for the local Globus service were sent.",
                http_status=401,
                code="AUTHENTICATION_ERROR",
            )
        from gladier_jupyter.local import faults  # off unless $GLADIER_JUPYTER_FAULTS is set

        return faults.inject(self)

    def json_body(self) -> t.Any:
        """The request body as JSON (``{}`` when empty); malformed JSON is a 400."""
        if not self.request.body:
            return {}
        try:
            return json.loads(self.request.body)
        except ValueError as exc:
            raise self.error_class(
                f"The request body is not valid JSON: {exc}.", http_status=400, code="BAD_REQUEST"
            ) from None

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

    def _handle_request_exception(self, e: BaseException) -> None:
        if isinstance(e, ApiError):
            if self._finished:
                return
            self.set_status(e.http_status)
            self.set_header("Content-Type", "application/json")
            self.finish(json.dumps(e.body()))
            return
        super()._handle_request_exception(e)
