"""HTTP routes of the server extension, under ``<base_url>/gladier-jupyter/api/``.

=========================================  ============================================
``GET  runs?flow_id=&status=``             runs of every source, newest first
``GET  runs/<id>?source=``                 the run monitor's view of one run
``GET  runs/<id>/log?offset=N``            event-log rows from row N on
``POST runs/<id>/cancel``                  cancel the run
``POST runs/<id>/resume``                  resume an INACTIVE run
``GET  flows/<id>?source=``                a flow's definition and graph model
``POST flowdef``  ``{"text", "path"}``     a JSON/YAML definition's graph and check
=========================================  ============================================

Every method is ``@tornado.web.authenticated``: without Jupyter's token or cookie the
answer is 403. Globus calls block, so they run on the server's thread pool.
"""

from __future__ import annotations

import asyncio
import json
import typing as t

import tornado.web
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join

from gladier_jupyter.errors import GladierJupyterUsageError
from gladier_jupyter.server.runs import (
    Registry,
    RunNotFound,
    SourceUnavailable,
    http_status,
    short_error,
)

__all__ = ["setup_handlers", "NAMESPACE"]

NAMESPACE = "gladier-jupyter"
_RUN_ID = r"(?P<run_id>[A-Za-z0-9_.:-]+)"
_FLOW_ID = r"(?P<flow_id>[A-Za-z0-9_.:-]+)"


class _Handler(APIHandler):
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
    async def get(self, run_id: str) -> None:
        try:
            tracker = await self.blocking(self.registry.tracker, run_id, self.source_arg())
        except Exception as err:  # noqa: BLE001
            return self.fail(err)
        self.reply(tracker.snapshot())


class RunLogHandler(_Handler):
    @tornado.web.authenticated
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
    async def post(self, run_id: str) -> None:
        try:
            doc = await self.blocking(self.registry.cancel, run_id, self.source_arg())
        except Exception as err:  # noqa: BLE001
            return self.fail(err)
        self.reply({"run_id": run_id, "status": str(doc.get("status") or "")})


class RunResumeHandler(_Handler):
    @tornado.web.authenticated
    async def post(self, run_id: str) -> None:
        try:
            doc = await self.blocking(self.registry.resume, run_id, self.source_arg())
        except Exception as err:  # noqa: BLE001
            return self.fail(err)
        self.reply({"run_id": run_id, "status": str(doc.get("status") or "")})


class FlowHandler(_Handler):
    @tornado.web.authenticated
    async def get(self, flow_id: str) -> None:
        try:
            doc = await self.blocking(self.registry.flow, flow_id, self.source_arg())
        except Exception as err:  # noqa: BLE001
            return self.fail(err)
        self.reply(doc)


class FlowDefinitionHandler(_Handler):
    """The graph and the definition check of a JSON/YAML text (a file the user opened)."""

    @tornado.web.authenticated
    async def post(self) -> None:
        try:
            body = json.loads(self.request.body or b"{}")
        except ValueError:
            return self.reply({"message": "The request body is not JSON."}, 400)
        if not isinstance(body, dict):
            return self.reply({"message": "The request body must be a JSON object."}, 400)
        self.reply(check_definition(body.get("text"), body.get("definition"),
                                    str(body.get("path") or "")))


def check_definition(text: t.Any, definition: t.Any, path: str = "") -> dict[str, t.Any]:
    """``{"definition", "graph", "problems", "inputs", "is_flow", "message"}`` of a text or a
    dict: what the FlowPreview widget shows for it."""
    from gladier_jupyter.flowgraph import FlowGraph, load_definition

    name = path.rsplit("/", 1)[-1] if path else "flow"
    if definition is None:
        if not isinstance(text, str):
            return {"definition": None, "graph": {}, "problems": [], "is_flow": False,
                    "message": "Send the file's text as 'text' or a definition as 'definition'."}
        try:
            definition = load_definition(text)
        except GladierJupyterUsageError as err:
            where = f"{name}: " if path else ""
            return {"definition": None, "graph": {}, "problems": [], "is_flow": False,
                    "message": where + str(err)}
    is_flow = isinstance(definition, dict) and "States" in definition and "StartAt" in definition
    try:
        graph = FlowGraph.build(definition)
    except Exception as err:  # noqa: BLE001 - report, do not crash the route
        return {"definition": definition, "graph": {}, "problems": [], "is_flow": is_flow,
                "message": f"Could not draw {name}: {err}"}
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
        (url_path_join(base, "flows", _FLOW_ID) + "/?", FlowHandler),
        (url_path_join(base, "flowdef") + "/?", FlowDefinitionHandler),
    ]
    web_app.add_handlers(".*$", handlers)
