"""What the local service decides on a request's headers, before it reads any of the body,
and how many connections it keeps.

Tornado reads a request's whole body (up to 100 MB by default) before a handler's
``prepare()`` runs, so a secret checked only there lets anyone on the node make the service
hold memory with uploads it will refuse. :class:`GatedApplication` checks the credential and
the route's body cap when the headers arrive: a request without the secret is answered 401
and its connection closed without a byte of its body read; a body larger than the route
reads is answered 413 the same way (from the secret's holder, once the body was read and
dropped, so its client sees the answer). :class:`LimitedHTTPServer` caps the connections held
(shedding the oldest that never carried the secret), and times out idle connections, slow
headers and slow bodies. Refused requests are logged as a few short lines a minute and a
count, never with a header, and do not count as activity for the idle shutdown.
"""

from __future__ import annotations

import contextlib
import json
import logging
import resource
import threading
import time
import typing as t

import tornado.httpserver
import tornado.httputil
import tornado.ioloop
import tornado.iostream
import tornado.web

from gladier_jupyter.local._http import ApiError, ApiHandler, ServiceContext, short_path

__all__ = ["BODY_TIMEOUT", "IDLE_CONNECTION_TIMEOUT", "GatedApplication", "LimitedHTTPServer",
           "RefusalLog"]

log = logging.getLogger("gladier_jupyter.local.http")

#: Seconds a request's body may take to arrive (Globus Search aborts any request after
#: 60 s, docs.globus.org/api/search/limits).
BODY_TIMEOUT = 60.0
#: Seconds a connection may sit idle, or take to send a request's headers.
IDLE_CONNECTION_TIMEOUT = 60.0
#: Most connections held at once (lower when the descriptor limit is low).
MAX_CONNECTIONS = 128
#: Bodies no route reads (tornado refuses them before any route is chosen).
LARGEST_BODY = 64 * 1024 * 1024
#: An oversized body from the user's own client is read and dropped (never kept) up to
#: this size so the client sees the 413; a larger one is answered at once.
DRAIN_LIMIT = 256 * 1024 * 1024
#: A request without the secret announcing at most this many bytes is read to its end (and
#: thrown away, never kept) before its 401: over TLS, a client still sending when the server
#: closes sees a broken connection instead of the answer (a kernel holding a secret from
#: before a restart must see the 401 and look the service up again). Larger ones are
#: answered at once and closed.
UNAUTHENTICATED_DRAIN_LIMIT = 4 * 1024 * 1024
UNAUTHENTICATED_BODY_TIMEOUT = 10.0


def _connection_limit() -> int:
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return MAX_CONNECTIONS
    # Databases, worker pipes and logs need descriptors too: connections get a quarter.
    return max(8, min(MAX_CONNECTIONS, soft // 4))


class RefusalLog:
    """At most ``burst`` short lines per ``window`` seconds, then one line counting the rest.

    Called on the IOLoop's thread (request handling, tornado's own log records)."""

    def __init__(self, burst: int = 5, window: float = 60.0) -> None:
        self.burst, self.window = burst, window
        self._start = time.monotonic()
        self._lines = 0
        self._suppressed = 0
        self._flush_pending = False
        self._lock = threading.Lock()

    def note(self, what: str) -> None:
        """Record one refusal; ``what`` is short and holds no header."""
        now = time.monotonic()
        with self._lock:
            if now - self._start >= self.window:
                self._flush_locked(now)
            if self._lines < self.burst:
                self._lines += 1
                line = what
            else:
                self._suppressed += 1
                line = None
                if not self._flush_pending:
                    self._flush_pending = self._schedule_flush(self.window - (now - self._start))
        if line is not None:
            log.warning("refused: %s", line)

    def _schedule_flush(self, delay: float) -> bool:
        loop = tornado.ioloop.IOLoop.current(instance=False)
        if loop is None:
            return False
        loop.call_later(max(delay, 0.0), self.flush)
        return True

    def flush(self) -> None:
        with self._lock:
            self._flush_pending = False
            self._flush_locked(time.monotonic())

    def _flush_locked(self, now: float) -> None:
        if self._suppressed:
            log.warning("refused %d more requests or connections in the last %.0f s "
                        "(not logged one by one).", self._suppressed, now - self._start)
        self._start, self._lines, self._suppressed = now, 0, 0


class _TornadoNoise(logging.Filter):
    """Tornado's own notes on bad input (``Malformed HTTP message from ...: Invalid header
    value 'Bearer ...'``, body timeouts, oversized headers) quote what the client sent,
    headers included: count them as refusals instead, by their template only."""

    def __init__(self, refusals: RefusalLog) -> None:
        super().__init__()
        self.refusals = refusals

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR:
            return True
        template = str(record.msg).split("%", 1)[0].strip(" :").removesuffix(" from")
        self.refusals.note(f"tornado: {short_path(template, 60)}")
        return False


def _install_log_filter(refusals: RefusalLog) -> None:
    general = logging.getLogger("tornado.general")
    for old in [f for f in general.filters if isinstance(f, _TornadoNoise)]:
        general.removeFilter(old)
    general.addFilter(_TornadoNoise(refusals))


class ConnectionCap:
    """The connections the server holds, least recently used first, each marked once it
    carried the secret. A connection past the cap sheds the oldest one that never did (a
    flood from another user cannot push out the user's own clients), or, when all of them
    did, the one whose last request is the oldest (an idle keep-alive its client reopens)."""

    def __init__(self, limit: int | None = None) -> None:
        self.limit = limit or _connection_limit()
        self._open: dict[tornado.iostream.IOStream, bool] = {}

    def admit(self, stream: tornado.iostream.IOStream) -> None:
        for closed in [s for s in self._open if s.closed()]:
            del self._open[closed]
        if len(self._open) >= self.limit:
            victim = next((s for s, trusted in self._open.items() if not trusted), None)
            if victim is None:
                victim = next(iter(self._open))
            del self._open[victim]
            victim.close()
        self._open[stream] = False

    def trust(self, stream: tornado.iostream.IOStream | None) -> None:
        """A request with the secret started on ``stream``: mark it, and most recently used."""
        if stream is not None and self._open.pop(stream, None) is not None:
            self._open[stream] = True

    def __len__(self) -> int:
        return sum(1 for s in self._open if not s.closed())


class _Refusal(tornado.httputil.HTTPMessageDelegate):
    """Answers ``error`` as soon as the headers are in, then closes the connection: the
    body, if any was announced, is never read into memory. With ``drain`` (an oversized
    body from the user's own client, which sends it whole before it reads an answer) the
    body is read and dropped first, so the client sees the 413 rather than a broken pipe."""

    def __init__(self, connection: tornado.httputil.HTTPConnection, error: ApiError,
                 drain: bool = False) -> None:
        self.connection = connection
        self.error = error
        self.drain = drain

    def headers_received(self, start_line: t.Any, headers: tornado.httputil.HTTPHeaders) -> None:
        if not self.drain:
            self._answer()

    def _answer(self) -> None:
        body = json.dumps(self.error.body()).encode()
        status = self.error.http_status
        out = tornado.httputil.HTTPHeaders({
            "Content-Type": "application/json", "Content-Length": str(len(body)), "Connection": "close"})
        if status == 401:
            out["WWW-Authenticate"] = "Bearer"
        reason = tornado.httputil.responses.get(status, "Unknown")
        self.connection.write_headers(tornado.httputil.ResponseStartLine("HTTP/1.1", status, reason), out, body)
        self.connection.finish()

    def data_received(self, chunk: bytes) -> None:
        return None  # dropped: tornado closes the connection once the answer is written

    def finish(self) -> None:
        if self.drain:
            self._answer()

    def on_connection_close(self) -> None:
        return None


def _content_length(request: tornado.httputil.HTTPServerRequest) -> int:
    try:
        return max(0, int(request.headers.get("Content-Length", "0")))
    except ValueError:
        return 0


class GatedApplication(tornado.web.Application):
    """The service's application: credentials and body caps checked on the headers."""

    def __init__(self, ctx: ServiceContext, handlers: list[t.Any], **settings: t.Any) -> None:
        self.ctx = ctx
        self.connections = ConnectionCap()
        self.refusals = RefusalLog()
        _install_log_filter(self.refusals)
        settings.setdefault("log_function", self.log_request)
        super().__init__(handlers, **settings)

    def get_handler_delegate(self, request: tornado.httputil.HTTPServerRequest,
                             target_class: type[tornado.web.RequestHandler],
                             target_kwargs: dict[str, t.Any] | None = None,
                             path_args: list[bytes] | None = None,
                             path_kwargs: dict[str, bytes] | None = None) -> t.Any:
        api = target_class if issubclass(target_class, ApiHandler) else ApiHandler
        ctx = (target_kwargs or {}).get("ctx", self.ctx)
        connection = request.connection
        credential = api.credential(ctx, request.headers)
        error: ApiError | None = None
        drain = False
        if credential is None:
            error = api.unauthenticated()
            length = _content_length(request)
            if 0 < length <= UNAUTHENTICATED_DRAIN_LIMIT:
                drain = True
                with contextlib.suppress(AttributeError):
                    connection.set_max_body_size(length)  # type: ignore[union-attr]
                    connection.set_body_timeout(UNAUTHENTICATED_BODY_TIMEOUT)  # type: ignore[union-attr]
        else:
            error, length = self._too_large(request, api)
            if error is not None and credential == "secret" and length <= DRAIN_LIMIT:
                drain = True
                with contextlib.suppress(AttributeError):
                    connection.set_max_body_size(length)  # type: ignore[union-attr]
                    connection.set_body_timeout(BODY_TIMEOUT)  # type: ignore[union-attr]
        if error is not None:
            self.refusals.note(f"{error.http_status} {short_path(request.method or '-', 8)} "
                               f"{short_path(request.path)}")
            return _Refusal(connection, error, drain=drain)  # type: ignore[arg-type]
        if credential == "secret":
            self.connections.trust(getattr(connection, "stream", None))
        with contextlib.suppress(AttributeError):  # an HTTP/1 connection
            connection.set_max_body_size(api.max_body_size)  # type: ignore[union-attr]
            connection.set_body_timeout(BODY_TIMEOUT)  # type: ignore[union-attr]
        return super().get_handler_delegate(request, target_class, target_kwargs, path_args, path_kwargs)

    @staticmethod
    def _too_large(request: tornado.httputil.HTTPServerRequest,
                   api: type[ApiHandler]) -> tuple[ApiError | None, int]:
        try:
            length = int(request.headers.get("Content-Length", "0"))
        except ValueError:
            return None, 0  # tornado answers a malformed Content-Length itself
        if length <= api.max_body_size:
            return None, length
        cap = api.max_body_size
        size = f"{cap // (1024 * 1024)} MiB" if cap >= 1024 * 1024 else f"{cap // 1024} KiB"
        return api.error_class(
            f"The request body of {length} bytes is larger than the {size} that "
            f"{short_path(request.method or '-', 8)} {short_path(request.path, 60)} accepts; "
            "send a smaller body.", http_status=413, code="REQUEST_TOO_LARGE"), length

    def log_request(self, handler: tornado.web.RequestHandler) -> None:
        """Activity for the idle shutdown, and one bounded line per failed request that
        carried credentials; refusals go to the rate-limited :class:`RefusalLog`."""
        credentialed = bool(getattr(handler, "credentialed", False))
        if credentialed:
            self.ctx.last_request = time.monotonic()
        status = handler.get_status()
        if status < 400:
            return
        method = short_path(handler.request.method or "-", 8)
        if credentialed:
            log.warning("%d %s %s %.0fms", status, method, short_path(handler.request.path),
                        1000.0 * handler.request.request_time())
        else:
            self.refusals.note(f"{status} {method} {short_path(handler.request.path)}")


class LimitedHTTPServer(tornado.httpserver.HTTPServer):
    """An HTTPServer with the service's timeouts and its application's connection cap."""

    def initialize(self, request_callback: t.Any, **kwargs: t.Any) -> None:  # type: ignore[override]
        kwargs.setdefault("idle_connection_timeout", IDLE_CONNECTION_TIMEOUT)
        kwargs.setdefault("body_timeout", BODY_TIMEOUT)
        kwargs.setdefault("max_body_size", LARGEST_BODY)
        super().initialize(request_callback, **kwargs)
        # The application marks the connections that carried the secret in this same cap.
        connections = getattr(request_callback, "connections", None)
        refusals = getattr(request_callback, "refusals", None)
        self.connections = connections if isinstance(connections, ConnectionCap) else ConnectionCap()
        self.refusals = refusals if isinstance(refusals, RefusalLog) else RefusalLog()

    def handle_stream(self, stream: tornado.iostream.IOStream, address: t.Any) -> None:
        if len(self.connections) >= self.connections.limit:
            self.refusals.note("a connection shed (over the cap)")
        self.connections.admit(stream)
        super().handle_stream(stream, address)
