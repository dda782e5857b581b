"""HTTP routes of the server extension, under ``<base_url>/gladier-jupyter/api/``.

=========================================  ============================================
``GET  runs?flow_id=&status=``             runs of every source, newest first
``GET  runs/<id>?source=``                 the run monitor's view of one run
``GET  runs/<id>/log?offset=N``            event-log rows from row N on
``POST runs/<id>/cancel``                  cancel the run
``POST runs/<id>/choose``                  answer what it waits on: ``{"key": <choice key>}``
``POST runs/<id>/resume``                  resume an INACTIVE run
``GET  runs/<id>/changes?source=``         the run's pinned definition against its flow now
``GET  compare?a=<id>&b=<id>``             two runs side by side
``GET  flows/<id>?source=``                a flow's definition and graph model
``GET  flows/<id>/durations?last=N``       per-state durations over the flow's last N runs
``POST flowdef``                           graph and check of ``{"text"}`` (JSON/YAML) or
                                           ``{"definition"}`` (an object); never a file
``GET|POST collections``,                  the collections registry (see
``DELETE collections/<id>``                :mod:`gladier_jupyter.server.collection_routes`)
``GET  endpoints``                         local Compute endpoints' status (see
                                           :mod:`gladier_jupyter.server.endpoint_routes`)
=========================================  ============================================

Every method is ``@tornado.web.authenticated`` (without Jupyter's token or cookie the
answer is 403) and ``@authorized`` on the resource ``gladier_jupyter`` (the server's
authorizer decides; jupyter_server's default allows a logged-in user everything): reading
runs, flows and definition checks is ``read``, cancelling a run ``write``, resuming one or
answering its choice ``execute`` (the run goes on to run its actions). Globus calls block,
so they run on the server's thread pool; definition checks run on a pool of their own,
bounded in input, output and jobs waiting, so a hostile definition never stalls the server.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import threading
import typing as t

import tornado.web
from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join

from gladier_jupyter import flowtext
from gladier_jupyter.errors import GladierJupyterUsageError
from gladier_jupyter.server import history as _history
from gladier_jupyter.server.collection_routes import collection_handlers
from gladier_jupyter.server.endpoint_routes import endpoint_handlers
from gladier_jupyter.server.runs import (
    Registry,
    RunNotFound,
    http_status,
    short_error,
)
from gladier_jupyter.server.sources import SourceUnavailable

__all__ = ["setup_handlers", "check_definition", "FlowCheckRefused", "NAMESPACE", "AUTH_RESOURCE"]

NAMESPACE = "gladier-jupyter"
#: The resource name the handlers ask the server's authorizer about.
AUTH_RESOURCE = "gladier_jupyter"
#: Largest ``POST flowdef`` body (a definition text of ``flowtext.MAX_TEXT_CHARS``, escaped).
MAX_FLOWDEF_BODY = 8_000_000
#: Largest ``POST flowdef`` answer (the definition, its graph model and its problems).
MAX_FLOWDEF_REPLY = 16_000_000
#: Definition checks at once, and waiting: a page that floods the route gets 503s.
FLOWDEF_WORKERS = 2
MAX_FLOWDEF_JOBS = 8
_RUN_ID = r"(?P<run_id>[A-Za-z0-9_.:-]+)"
_FLOW_ID = r"(?P<flow_id>[A-Za-z0-9_.:-]+)"


class _Handler(APIHandler):
    auth_resource = AUTH_RESOURCE

    @property
    def registry(self) -> Registry:
        return self.settings["gladier_jupyter_registry"]

    async def blocking(self, fn: t.Callable[..., t.Any], *args: t.Any) -> t.Any:
        return await asyncio.get_running_loop().run_in_executor(None, fn, *args)

    def reply(self, doc: t.Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(doc))

    def fail(self, err: BaseException) -> None:
        """Turn a source error into a JSON answer with a message a person can act on."""
        if isinstance(err, RunNotFound):
            self.reply({"message": str(err)}, 404)
        elif isinstance(err, SourceUnavailable):
            self.reply({"message": str(err)}, 409)
        elif isinstance(err, GladierJupyterUsageError):
            self.reply({"message": str(err)}, 400)
        else:
            status = http_status(err)
            self.log.warning("gladier_jupyter: %s", short_error(err))
            # The service's own verdict on the request (not found, wrong state) passes
            # through; anything else is the service failing us: a bad gateway.
            self.reply({"message": short_error(err)},
                       status if status in (400, 404, 409, 422) else 502)

    def source_arg(self) -> str | None:
        return self.get_query_argument("source", None) or None


class RunsHandler(_Handler):
    @tornado.web.authenticated
    @authorized("read")
    async def get(self) -> None:
        flow_ids = [f for f in self.get_query_arguments("flow_id") if f]
        statuses = [s.upper() for s in self.get_query_arguments("status") if s]
        try:
            doc = await self.blocking(self.registry.list_runs, flow_ids, statuses)
        except Exception as err:  # noqa: BLE001
            return self.fail(err)
        self.reply(doc)


class RunHandler(_Handler):
    @tornado.web.authenticated
    @authorized("read")
    async def get(self, run_id: str) -> None:
        try:
            tracker = await self.blocking(self.registry.tracker, run_id, self.source_arg())
        except Exception as err:  # noqa: BLE001
            return self.fail(err)
        self.reply(tracker.snapshot())


class RunLogHandler(_Handler):
    @tornado.web.authenticated
    @authorized("read")
    async def get(self, run_id: str) -> None:
        try:
            offset = max(0, int(self.get_query_argument("offset", "0")))
        except ValueError:
            return self.reply({"message": "offset must be a whole number of log rows."}, 400)
        try:
            tracker = await self.blocking(self.registry.tracker, run_id, self.source_arg())
        except Exception as err:  # noqa: BLE001
            return self.fail(err)
        rows = tracker.log_rows(offset)
        self.reply({"offset": offset, "entries": rows, "total": offset + len(rows)})


class RunCancelHandler(_Handler):
    @tornado.web.authenticated
    @authorized("write", message=(
        "This Jupyter server's authorizer does not let you cancel runs ('write' on "
        f"'{AUTH_RESOURCE}'); ask the server's owner, or cancel it where you started it."))
    async def post(self, run_id: str) -> None:
        try:
            doc = await self.blocking(self.registry.cancel, run_id, self.source_arg())
        except Exception as err:  # noqa: BLE001
            return self.fail(err)
        self.reply({"run_id": run_id, "status": str(doc.get("status") or "")})


class RunResumeHandler(_Handler):
    @tornado.web.authenticated
    @authorized("execute", message=(
        "This Jupyter server's authorizer does not let you resume runs ('execute' on "
        f"'{AUTH_RESOURCE}'); ask the server's owner, or resume it where you started it."))
    async def post(self, run_id: str) -> None:
        try:
            doc = await self.blocking(self.registry.resume, run_id, self.source_arg())
        except Exception as err:  # noqa: BLE001
            return self.fail(err)
        self.reply({"run_id": run_id, "status": str(doc.get("status") or "")})


class RunChooseHandler(_Handler):
    @tornado.web.authenticated
    @authorized("execute", message=(
        "This Jupyter server's authorizer does not let you answer runs ('execute' on "
        f"'{AUTH_RESOURCE}'); ask the server's owner, or answer it where you started it."))
    async def post(self, run_id: str) -> None:
        try:
            body = json.loads(self.request.body or b"{}")
        except ValueError:
            body = None
        key = body.get("key") if isinstance(body, dict) else None
        if not isinstance(key, str) or not key:
            return self.reply({"message": "The body must be JSON {\"key\": <the choice's key>}, "
                                          "the key of one of the choices the run offers."}, 400)
        try:
            doc = await self.blocking(self.registry.choose, run_id, key, self.source_arg())
        except Exception as err:  # noqa: BLE001
            return self.fail(err)
        self.reply({"run_id": run_id, **doc})


class FlowHandler(_Handler):
    @tornado.web.authenticated
    @authorized("read")
    async def get(self, flow_id: str) -> None:
        try:
            doc = await self.blocking(self.registry.flow, flow_id, self.source_arg())
        except Exception as err:  # noqa: BLE001
            return self.fail(err)
        self.reply(doc)


class RunChangesHandler(_Handler):
    @tornado.web.authenticated
    @authorized("read")
    async def get(self, run_id: str) -> None:
        try:
            doc = await self.blocking(_history.run_changes, self.registry, run_id, self.source_arg())
        except Exception as err:  # noqa: BLE001
            return self.fail(err)
        self.reply(doc)


class CompareHandler(_Handler):
    @tornado.web.authenticated
    @authorized("read")
    async def get(self) -> None:
        a, b = self.get_query_argument("a", ""), self.get_query_argument("b", "")
        if not a or not b:
            return self.reply({"message": "compare needs two runs: compare?a=<run id>&b=<run id>."}, 400)
        try:
            doc = await self.blocking(_history.compare_runs, self.registry, a, b, self.source_arg())
        except Exception as err:  # noqa: BLE001
            return self.fail(err)
        self.reply(doc)


class FlowDurationsHandler(_Handler):
    @tornado.web.authenticated
    @authorized("read")
    async def get(self, flow_id: str) -> None:
        text = self.get_query_argument("last", "20")
        if not text.isdigit() or not 1 <= int(text) <= _history.MAX_HISTORY_RUNS:
            return self.reply({"message": f"last={text[:20]!r} is not a number of runs; use 1 to "
                                          f"{_history.MAX_HISTORY_RUNS}."}, 400)
        try:
            doc = await self.blocking(_history.flow_durations, self.registry, flow_id, int(text),
                                      self.source_arg())
        except Exception as err:  # noqa: BLE001
            return self.fail(err)
        self.reply(doc)


class _FlowCheckPool:
    """The threads definition checks run on, and how many jobs are in or waiting for them."""

    def __init__(self, workers: int, max_jobs: int) -> None:
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._workers = workers
        self._max_jobs = max_jobs
        self._jobs = 0
        self._lock = threading.Lock()

    def try_enter(self) -> bool:
        with self._lock:
            if self._jobs >= self._max_jobs:
                return False
            self._jobs += 1
            if self._executor is None:
                self._executor = concurrent.futures.ThreadPoolExecutor(
                    self._workers, thread_name_prefix="gladier-flowdef")
            return True

    async def run(self, fn: t.Callable[..., t.Any], *args: t.Any) -> t.Any:
        """Run ``fn`` on the pool (after :meth:`try_enter` said yes)."""
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)
        finally:
            with self._lock:
                self._jobs -= 1


class FlowCheckRefused(GladierJupyterUsageError):
    """A ``POST flowdef`` request refused outright (a 400): not a text or a definition."""


_FLOW_CHECKS = _FlowCheckPool(FLOWDEF_WORKERS, MAX_FLOWDEF_JOBS)


class FlowDefinitionHandler(_Handler):
    """The graph and the definition check of a JSON/YAML text (a file the user opened) or of
    a definition object (a saved flow output). Text only: no request names a file to read."""

    @tornado.web.authenticated
    @authorized("read")
    async def post(self) -> None:
        body = self.request.body or b"{}"
        if len(body) > MAX_FLOWDEF_BODY:
            return self.reply({"message": (
                f"The flow definition sent is {len(body) / 1e6:.1f} MB, over the "
                f"{MAX_FLOWDEF_BODY / 1e6:.0f} MB this route reads; a flow definition is far "
                "smaller, so open the right file.")}, 413)
        if not _FLOW_CHECKS.try_enter():
            self.set_header("Retry-After", "2")
            return self.reply({"message": (
                f"The server is already checking {MAX_FLOWDEF_JOBS} flow definitions; "
                "try again in a moment.")}, 503)
        status, answer = await _FLOW_CHECKS.run(flowdef_answer, body)
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(answer)


def flowdef_answer(body: bytes) -> tuple[int, str]:
    """``(status, JSON text)`` of ``POST flowdef`` for a request body; runs on the pool, so
    the parsing, the graph and the serialising of the answer all stay off the event loop."""
    def refuse(message: str, status: int = 400) -> tuple[int, str]:
        return status, json.dumps({"message": message, "definition": None, "graph": {},
                                   "problems": [], "is_flow": False})

    try:
        doc = json.loads(body)
    except RecursionError:
        return refuse(f"The request body nests deeper than {flowtext.MAX_DEPTH} levels; a "
                      "flow definition is a few levels deep.")
    except ValueError:
        return refuse("The request body is not JSON.")
    if not isinstance(doc, dict):
        return refuse("The request body must be a JSON object.")
    path = doc.get("path")
    try:
        answer = check_definition(doc.get("text"), doc.get("definition"),
                                  path if isinstance(path, str) else "")
    except (flowtext.UnsafeDefinitionError, FlowCheckRefused) as err:
        return refuse(str(err))
    text = json.dumps(answer)
    if len(text) > MAX_FLOWDEF_REPLY:
        return refuse(
            f"The check of {_display_name(path)} would answer {len(text) / 1e6:.1f} MB, over "
            f"the {MAX_FLOWDEF_REPLY / 1e6:.0f} MB this route sends; split the flow into "
            "smaller ones.")
    return 200, text


def _display_name(path: t.Any) -> str:
    name = path.rsplit("/", 1)[-1] if isinstance(path, str) and path else "flow"
    return name if len(name) <= 80 else name[:77] + "..."


def check_definition(text: t.Any, definition: t.Any, path: str = "") -> dict[str, t.Any]:
    """``{"definition", "graph", "problems", "inputs", "is_flow", "message"}`` of a text or a
    dict: what the FlowPreview widget shows for it.

    ``text`` is a file's JSON or YAML text, ``definition`` a definition object (or its JSON
    text); neither is ever taken for a file path, and ``path`` only names the result.
    Raises :class:`FlowCheckRefused` (or :class:`flowtext.UnsafeDefinitionError`: too large,
    too deep, YAML aliases) for a request refused outright; the mistakes of a file's text
    are answered in ``message``, as the view shows them while the file is edited.
    """
    from gladier_jupyter.flowgraph import FlowGraph

    name = _display_name(path)
    where = f"{name}: " if path else ""

    def not_drawn(message: str, given: t.Any = None) -> dict[str, t.Any]:
        return {"definition": given, "graph": {}, "problems": [], "is_flow": False,
                "message": message}

    if definition is None:
        if not isinstance(text, str):
            raise FlowCheckRefused("Send the file's text as 'text' or a definition object as "
                                   "'definition'.")
        try:
            definition = flowtext.parse_text(
                text, json_only=name.endswith(".json"),
                what="The text" if path else "The flow definition text")
        except flowtext.UnsafeDefinitionError:
            raise
        except GladierJupyterUsageError as err:
            # A file being edited: its mistakes are shown in the view, not refused.
            return not_drawn(where + str(err))
    elif isinstance(definition, str):
        # A definition object serialised as text: JSON only, never YAML, never a path.
        try:
            definition = flowtext.parse_text(definition, json_only=True,
                                             what="The definition sent")
        except GladierJupyterUsageError as err:
            raise FlowCheckRefused(str(err)) from None
    elif isinstance(definition, dict):
        flowtext.check_shape(definition, "The definition sent")
    else:
        raise FlowCheckRefused(f"The definition sent is a {type(definition).__name__}; send a "
                               "JSON object with 'StartAt' and 'States'.")
    is_flow = "States" in definition and "StartAt" in definition
    try:
        graph = FlowGraph.build(definition)
    except Exception as err:  # noqa: BLE001 - report, do not crash the route
        return {"definition": definition, "graph": {}, "problems": [], "is_flow": is_flow,
                "message": f"Could not draw {name}: {str(err).splitlines()[0][:200]}"}
    graph.model["name"] = name
    problems = [p.to_dict() for p in graph.problems]
    message = "" if is_flow else (
        f"{name} is not a flow definition: it needs 'StartAt' and 'States' at the top level.")
    return {"definition": definition, "graph": graph.model, "problems": problems,
            "inputs": list(graph.inputs), "is_flow": is_flow, "message": message}


def setup_handlers(web_app: t.Any, registry: Registry | None = None) -> None:
    """Add the routes to a jupyter_server web app."""
    web_app.settings["gladier_jupyter_registry"] = registry or Registry()
    base = url_path_join(web_app.settings.get("base_url", "/"), NAMESPACE, "api")
    handlers = [
        (url_path_join(base, "runs") + "/?", RunsHandler),
        (url_path_join(base, "runs", _RUN_ID) + "/?", RunHandler),
        (url_path_join(base, "runs", _RUN_ID, "log") + "/?", RunLogHandler),
        (url_path_join(base, "runs", _RUN_ID, "cancel") + "/?", RunCancelHandler),
        (url_path_join(base, "runs", _RUN_ID, "resume") + "/?", RunResumeHandler),
        (url_path_join(base, "runs", _RUN_ID, "choose") + "/?", RunChooseHandler),
        (url_path_join(base, "runs", _RUN_ID, "changes") + "/?", RunChangesHandler),
        (url_path_join(base, "compare") + "/?", CompareHandler),
        (url_path_join(base, "flows", _FLOW_ID) + "/?", FlowHandler),
        (url_path_join(base, "flows", _FLOW_ID, "durations") + "/?", FlowDurationsHandler),
        (url_path_join(base, "flowdef") + "/?", FlowDefinitionHandler),
        *collection_handlers(base),
        *endpoint_handlers(base),
    ]
    web_app.add_handlers(".*$", handlers)
