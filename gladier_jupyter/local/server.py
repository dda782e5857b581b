"""The local service's Tornado application: every API mounted under ``/api/<name>/``."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import os
import pathlib
import signal
import socket
import sys
import threading
import time
import typing as t

from gladier_jupyter.local import _children, _gate, process, tls
from gladier_jupyter.local._http import ApiError, ApiHandler, ServiceContext

__all__ = ["Lifetime", "build_context", "make_app", "serve"]

log = logging.getLogger("gladier_jupyter.local")

# APIs built as separate packages: each exposes ``make_service(ctx)`` and ``routes(ctx)``.
_PLUGGED_APIS = ("compute", "search", "auth", "transfer", "actions", "clock")


class HealthHandler(ApiHandler):
    def get(self) -> None:
        self.write_json(
            {"service": "gladier-jupyter-local", "pid": os.getpid(), "apis": sorted(self.ctx.services)}
        )


class NotFoundHandler(ApiHandler):
    """Anything under an API's root that no route matches: that API's own 404 body."""

    def initialize(self, ctx: ServiceContext, error_class: type[ApiError] = ApiError) -> None:
        super().initialize(ctx)
        self.error_class = error_class

    def _missing(self, *args: t.Any) -> None:
        raise self.error_class(
            f"The local service has no {self.request.method} {self.request.path}.",
            http_status=404,
            code=getattr(self.error_class, "not_found_code", "NOT_FOUND"),
        )

    get = post = put = patch = delete = _missing


def build_context(state_dir: pathlib.Path, port: int = 0) -> ServiceContext:
    """The context of a service on ``state_dir``, with a fresh secret (the caller holds
    the folder's serve lock, so no running service has its secret changed under it)."""
    process.prepare_state_dir(state_dir)
    return ServiceContext(state_dir=state_dir, secret=process.new_secret(state_dir))


def _routes_of(pkg: t.Any, ctx: ServiceContext) -> list[tuple[str, type, dict]]:
    routes = getattr(pkg, "routes", None)
    if routes is not None and not callable(routes):  # the ``routes`` submodule
        routes = routes.routes
    if routes is None:
        routes = importlib.import_module(f"{pkg.__name__}.routes").routes
    return list(routes(ctx))


def make_app(ctx: ServiceContext) -> _gate.GatedApplication:
    """Create every API's service object in ``ctx.services`` and the application routing to them."""
    from gladier_jupyter.local import flows as flows_api

    handlers: list[t.Any] = [(r"/api/health", HealthHandler, {"ctx": ctx})]

    def mount(api: str, routes: list[tuple[str, type, dict]], error_class: type[ApiError]) -> None:
        for path, handler, kwargs in routes:
            handlers.append((f"/api/{api}/{path.lstrip('/')}", handler, {"ctx": ctx, **kwargs}))
        handlers.append(
            (f"/api/{api}/.*", NotFoundHandler, {"ctx": ctx, "error_class": error_class})
        )

    ctx.services["flows"] = flows_api.make_service(ctx)
    mount("flows", flows_api.routes(ctx), flows_api.FlowsError)
    for name in _PLUGGED_APIS:
        pkg = importlib.import_module(f"gladier_jupyter.local.{name}")
        ctx.services[name] = pkg.make_service(ctx)
        mount(name, _routes_of(pkg, ctx), getattr(pkg, "error_class", ApiError))

    # Credentials and body caps are checked on the headers, before any body is read.
    return _gate.GatedApplication(ctx, handlers, compress_response=False)


def _seconds(name: str, default: float) -> float:
    raw = os.environ.get(name, "")
    try:
        return max(0.0, float(raw)) if raw else default
    except ValueError:
        return default


def idle_timeout() -> float:
    """Seconds without requests and without active runs after which the service exits
    (``$GLADIER_JUPYTER_IDLE_TIMEOUT``, default 12 h; 0 never). Kernels start it again on
    their next call, so a forgotten service does not stay on a shared node for ever."""
    return _seconds("GLADIER_JUPYTER_IDLE_TIMEOUT", 12 * 3600.0)


def ownerless_timeout() -> float:
    """Seconds the service waits, once its last owner (a Jupyter server or kernel that
    started or adopted it) has ended, before it exits with no run active
    (``$GLADIER_JUPYTER_OWNERLESS_TIMEOUT``, default 5): long enough for a kernel restart."""
    return _seconds("GLADIER_JUPYTER_OWNERLESS_TIMEOUT", 5.0)


def ownerless_run_limit() -> float:
    """Seconds active runs keep a service without owners alive
    (``$GLADIER_JUPYTER_OWNERLESS_RUN_LIMIT``, default 1 h; 0 until they end). After it, the
    service exits and the runs stay ACTIVE in its database: the next start resumes them."""
    return _seconds("GLADIER_JUPYTER_OWNERLESS_RUN_LIMIT", 3600.0)


def _busy(ctx: ServiceContext) -> bool:
    flows = ctx.services.get("flows")
    return bool(flows is not None and flows.store.run_ids_with_status("ACTIVE"))


class Lifetime:
    """When the service stops by itself: the idle timeout, and its owners.

    A service started for its owners (``serve --owned``, as :func:`process.ensure_running`
    starts it for a Jupyter server or kernel; they and the ones that adopt it later are
    recorded by :func:`process.register_owner`) stops ``ownerless`` seconds after the last
    owner has ended and nothing asked it anything, once no run is active; active runs keep
    it up to ``run_limit`` seconds more. Every service, started by hand too, stops after
    ``idle`` seconds without a request and without an active run.
    """

    def __init__(self, ctx: ServiceContext, *, idle: float, ownerless: float, run_limit: float,
                 for_owners: bool = True) -> None:
        self.ctx = ctx
        self.for_owners = for_owners
        self.idle = idle
        self.ownerless = ownerless
        self.run_limit = run_limit
        self.owner_seen = time.monotonic()

    @property
    def tick(self) -> float:
        """How often :meth:`why_stop` is asked."""
        shortest = min(x for x in (self.idle, self.ownerless, 4.0) if x)
        return min(1.0, max(shortest / 4, 0.05))

    def why_stop(self, now: float) -> str:
        """Why the service should stop now, or ``""``."""
        why = self._ownerless(now) if self.for_owners else ""
        if not why and self.idle and now - self.ctx.last_request > self.idle and not _busy(self.ctx):
            why = f"No request for {self.idle:.0f} s and no active run: exiting."
        return why

    def _ownerless(self, now: float) -> str:
        if process.live_owners(self.ctx.state_dir):
            self.owner_seen = now
            return ""
        if now - max(self.ctx.last_request, self.owner_seen) <= self.ownerless:
            return ""
        if not _busy(self.ctx):
            return "The last Jupyter server or kernel using the service has ended and no run is active: exiting."
        if self.run_limit and now - self.owner_seen > self.run_limit:
            return (f"No Jupyter server or kernel has used the service for {self.run_limit:.0f} s: exiting; "
                    "its active runs resume when the service starts again.")
        return ""


def _listen(port: int) -> tuple[socket.socket, int]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(128)
    sock.setblocking(False)
    return sock, sock.getsockname()[1]


def _warm_up(ctx: ServiceContext) -> None:
    # Import what the first run needs while nobody waits for it (the compute service
    # hands tasks to globus-compute-endpoint's engines: parsl and globus-compute-sdk, over
    # a second of imports), under the compute package's import lock.
    with contextlib.suppress(Exception):
        from gladier_jupyter.local.flows import engine

        engine.warm_up()
    if "compute" in ctx.services:
        with contextlib.suppress(Exception):
            from gladier_jupyter.local.compute.runner import import_engine_modules

            import_engine_modules()


def serve(state_dir: pathlib.Path, port: int = 0, owned: bool = False) -> None:
    """Run the service in this process until SIGTERM/SIGINT (``python -m ... serve``), the
    idle timeout, or (``owned``) soon after the last of its owners has ended."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    state_dir = pathlib.Path(state_dir)
    # jsonschema imports rfc3987_syntax (only for the "iri" format, which input schemas
    # are not checked for) if installed; building its grammar costs seconds at the first
    # run. Mark it absent in this process so jsonschema takes its documented fallback.
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
    os.umask(0o077)  # databases and logs hold run inputs: this user's only
    logging.getLogger("tornado.access").setLevel(logging.WARNING)
    process.prepare_state_dir(state_dir)
    # One service per state folder, whatever starts it: held until this process ends
    # (kill -9 included), so two services never move the same runs.
    lock = process.hold_serve_lock(state_dir)
    if lock is None:
        raise SystemExit(f"Another local Globus service already serves {state_dir}.")
    # The embedded Compute endpoint's forkserver and this process's import of the engines
    # (parsl, globus-compute-sdk: the longest part of a cold start) begin now, beside the
    # rest of the start-up, not when the Compute API is built.
    from gladier_jupyter.local.compute import slots

    slots.prestart()
    ctx = build_context(state_dir)
    tls.make_identity(state_dir)
    tls.write_bundle(state_dir)
    ssl_context = tls.server_context(state_dir)
    sock, port = _listen(port)
    ctx.base_url = f"https://127.0.0.1:{port}"

    async def main() -> None:
        app = make_app(ctx)
        server = _gate.LimitedHTTPServer(app, xheaders=False, ssl_options=ssl_context)
        server.add_sockets([sock])
        stop_event = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop_event.set)
        for svc in ctx.services.values():
            start = getattr(svc, "start", None)
            if callable(start):
                start()
        process.write_state(state_dir, port)
        ctx.last_request = time.monotonic()  # the idle clock starts when the service can answer
        log.info("Local Globus service listening on %s (state in %s)", ctx.base_url, state_dir)
        threading.Thread(target=_warm_up, args=(ctx,), name="warm-up", daemon=True).start()
        lifetime = Lifetime(ctx, idle=idle_timeout(), ownerless=ownerless_timeout(),
                            run_limit=ownerless_run_limit(), for_owners=owned)

        async def watch() -> None:
            while not stop_event.is_set():
                await asyncio.sleep(lifetime.tick)
                why = lifetime.why_stop(time.monotonic())
                if why:
                    log.info("%s", why)
                    stop_event.set()

        watch_task = asyncio.create_task(watch())  # noqa: F841 - kept alive until exit
        await stop_event.wait()
        log.info("Stopping.")
        server.stop()
        process.clear_state(state_dir)
        for svc in ctx.services.values():
            close = getattr(svc, "close", None)
            if callable(close):
                with contextlib.suppress(Exception):
                    close()
        _children.stop_all()

    try:
        asyncio.run(main())
    finally:
        _children.stop_all()
        process.clear_state(state_dir)
