"""Flows API routes (stateless): parse the request, call the service, write its document."""

from __future__ import annotations

import asyncio
import typing as t

from gladier_jupyter.local import actions
from gladier_jupyter.local._http import ApiHandler, MiB, ServiceContext
from gladier_jupyter.local.actions.web_inputs import web_inputs_for
from gladier_jupyter.local.flows import input_schema, run_filters
from gladier_jupyter.local.flows.debugging import FlowsDebugging
from gladier_jupyter.local.flows.definitions import validate_definition
from gladier_jupyter.local.flows.errors import BadRequest, FlowsError, Unprocessable
from gladier_jupyter.local.flows.service import FlowsService

__all__ = ["routes"]

_ID = r"([0-9A-Za-z-]+)"
#: Bodies holding a definition, an input schema or a run's input. Globus Flows keeps a run's
#: state under 200 KB (docs.globus.org/api/flows/limits); the local service takes more on
#: purpose (a 10 MB run input runs intact here) and stops at 16 MiB.
RUN_BODY_SIZE = 16 * MiB


class _FlowsHandler(ApiHandler):
    error_class = FlowsError

    @property
    def flows(self) -> FlowsService:
        return self.ctx.services["flows"]

    @property
    def debugging(self) -> FlowsDebugging:
        """The debug loop's entry points (routes of this service's own)."""
        return FlowsDebugging(self.flows)

    def int_arg(self, name: str, default: int, low: int = 1, high: int = 100) -> int:
        raw = self.get_query_argument(name, None)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise Unprocessable([(["query", name], f"{name} must be an integer, not {raw!r}.", "type_error.integer")]) from None
        if not low <= value <= high:
            raise Unprocessable([(["query", name], f"{name} must be between {low} and {high}.", "value_error.number")])
        return value

    def marker_arg(self) -> int:
        raw = self.get_query_argument("marker", None)
        if not raw:
            return 0
        try:
            return int(raw.removeprefix("m"))
        except ValueError:
            raise BadRequest(f"The marker {raw!r} is not one this service gave out.") from None

    def list_arg(self, name: str) -> list[str]:
        out: list[str] = []
        for raw in self.get_query_arguments(name):
            out.extend(v.strip() for v in raw.split(",") if v.strip())
        return out


class FlowsHandler(_FlowsHandler):
    max_body_size = RUN_BODY_SIZE

    def get(self) -> None:
        limit = self.int_arg("per_page", self.int_arg("limit", 20), high=50)
        after = self.marker_arg()
        text = (self.get_query_argument("filter_fulltext", "") or "").lower()
        docs, last = self.flows.store.list_flows(after, limit if not text else 10_000)
        if text:
            docs = [d for d in docs if text in " ".join(
                [d.get("title") or "", d.get("subtitle") or "", d.get("description") or "", *d.get("keywords", [])]
            ).lower()]
            last = None
        orderby = self.get_query_argument("orderby", "")
        if orderby:
            field, _, direction = orderby.partition(" ")
            if field in ("updated_at", "created_at", "title", "id"):
                docs.sort(key=lambda d: d.get(field) or "", reverse=direction.upper() == "DESC")
        self.write_json({"flows": docs, "limit": limit, "has_next_page": last is not None,
                         "marker": f"m{last}" if last is not None else None})

    def post(self) -> None:
        self.write_json(self.flows.create_flow(self.json_body()), status=201)


class ValidateFlowHandler(_FlowsHandler):
    max_body_size = RUN_BODY_SIZE

    def post(self) -> None:
        body = self.json_body()
        if not isinstance(body, dict) or "definition" not in body:
            raise Unprocessable([(["definition"], "field required", "value_error.missing")])
        problems = validate_definition(body["definition"])
        if body.get("input_schema") is not None:
            problems.extend(input_schema.schema_problems(body["input_schema"]))
        if problems:
            raise Unprocessable(problems)
        scopes = set()
        for state in (body["definition"].get("States") or {}).values():
            if isinstance(state, dict) and state.get("Type") == "Action":
                scope = state.get("ActionScope") or actions.scope_for(state.get("ActionUrl", ""))
                if scope:
                    scopes.add(scope)
        self.write_json({"scopes": {"User": sorted(scopes)}})


class FlowHandler(_FlowsHandler):
    max_body_size = RUN_BODY_SIZE

    def get(self, flow_id: str) -> None:
        self.write_json(self.flows.get_flow(flow_id))

    def put(self, flow_id: str) -> None:
        self.write_json(self.flows.update_flow(flow_id, self.json_body()))

    def delete(self, flow_id: str) -> None:
        self.write_json(self.flows.delete_flow(flow_id))


class RunFlowHandler(_FlowsHandler):
    max_body_size = RUN_BODY_SIZE

    def post(self, flow_id: str) -> None:
        self.write_json(self.flows.run_flow(flow_id, self.json_body()), status=201)


class ValidateRunHandler(_FlowsHandler):
    max_body_size = RUN_BODY_SIZE

    def post(self, flow_id: str) -> None:
        body = self.json_body()
        flow = self.flows.get_flow(flow_id)
        self.flows.check_input(flow, body.get("body", {}) if isinstance(body, dict) else body)
        self.write_json({"message": "validation successful"})


class RunsHandler(_FlowsHandler):
    """``GET /runs`` with the Flows API's filters (filter_flow_id, filter_status,
    filter_label, filter_roles, filter_start_time, filter_completion_time, filter_fulltext,
    filter_run_id) and ``orderby`` ("FIELD ASC|DESC", comma separated)."""

    def get(self) -> None:
        limit = self.int_arg("per_page", self.int_arg("limit", 20), high=50)
        flow_ids = self.list_arg("filter_flow_id")
        statuses = self.list_arg("filter_status")
        label = self.get_query_argument("filter_label", None)
        selected = {name: self.get_query_argument(name, None) for name in run_filters.QUERY_FILTERS}
        roles = self.list_arg("filter_roles") + self.list_arg("filter_role")
        orderby = self.get_query_argument("orderby", None)
        if not any(selected.values()) and not roles and not orderby:
            after = self.marker_arg()
            docs, last = self.flows.store.list_runs(flow_ids, statuses, after, limit)
            if label:
                docs = [d for d in docs if label.lower() in (d.get("label") or "").lower()]
            self.write_json({"runs": docs, "limit": limit, "has_next_page": last is not None,
                             "marker": f"m{last}" if last is not None else None})
            return
        try:
            keep = run_filters.run_filter(selected, roles, self.flows.identity_urn,
                                          self.flows.store.get_flow)
            order = run_filters.run_order(orderby)
        except ValueError as exc:
            raise Unprocessable([(["query", exc.args[1]], exc.args[0], "value_error")]) from None
        docs = [d for d in self.flows.store.matching_runs(flow_ids, statuses)
                if keep(d) and (not label or label.lower() in (d.get("label") or "").lower())]
        docs = order(docs)
        start = self.offset_marker()
        page = docs[start:start + limit]
        more = start + limit < len(docs)
        self.write_json({"runs": page, "limit": limit, "has_next_page": more,
                         "marker": f"o{start + limit}" if more else None})

    def offset_marker(self) -> int:
        raw = self.get_query_argument("marker", None) or ""
        if not raw:
            return 0
        if not raw.startswith("o") or not raw[1:].isdigit():
            raise BadRequest(f"The marker {raw!r} is not one this service gave out for these filters.")
        return int(raw[1:])


class RunHandler(_FlowsHandler):
    max_body_size = RUN_BODY_SIZE

    def get(self, run_id: str) -> None:
        include = (self.get_query_argument("include_flow_description", "") or "").lower() == "true"
        self.write_json(self.flows.get_run(run_id, include_flow_description=include))

    def put(self, run_id: str) -> None:
        self.write_json(self.flows.update_run(run_id, self.json_body()))


class RunDefinitionHandler(_FlowsHandler):
    def get(self, run_id: str) -> None:
        self.write_json(self.flows.get_run_definition(run_id))


class RunLogHandler(_FlowsHandler):
    def get(self, run_id: str) -> None:
        self.flows.get_run(run_id)
        limit = self.int_arg("limit", 10)
        reverse = (self.get_query_argument("reverse_order", "") or "").lower() == "true"
        entries, last = self.flows.store.get_logs(run_id, self.marker_arg(), limit, reverse)
        doc: dict[str, t.Any] = {"limit": limit, "has_next_page": last is not None, "entries": entries}
        if last is not None:
            doc["marker"] = f"m{last}"
        self.write_json(doc)


class RunCancelHandler(_FlowsHandler):
    def post(self, run_id: str) -> None:
        self.write_json(self.flows.cancel_run(run_id))


class RunResumeHandler(_FlowsHandler):
    def post(self, run_id: str) -> None:
        self.write_json(self.flows.resume_run(run_id))


class RunReleaseHandler(_FlowsHandler):
    def post(self, run_id: str) -> None:
        self.write_json(self.flows.release_run(run_id))


class TestStateHandler(_FlowsHandler):
    """``POST /flows/test_state`` (a definition in the body) and ``POST
    /flows/{id}/test_state``: one state run alone, each step shown (this service's own)."""

    max_body_size = RUN_BODY_SIZE

    async def post(self, flow_id: str | None = None) -> None:
        body = self.json_body()
        # An action state waits for its action: off the event loop, which serves the rest.
        loop = asyncio.get_running_loop()
        self.write_json(await loop.run_in_executor(None, self.debugging.test_state, body, flow_id))


class RunStateInputsHandler(_FlowsHandler):
    """``GET /runs/{id}/state_inputs``: the run data each state started with (this service's own)."""

    def get(self, run_id: str) -> None:
        self.write_json(self.debugging.state_inputs(run_id))


class RunRerunHandler(_FlowsHandler):
    """``POST /runs/{id}/rerun``: a new run of the same flow from one of its states (this service's own)."""

    max_body_size = RUN_BODY_SIZE

    def post(self, run_id: str) -> None:
        self.write_json(self.debugging.rerun(run_id, self.json_body()), status=201)


class WebInputsHandler(_FlowsHandler):
    """``GET /web_inputs`` (globus-sdk's ``list_web_inputs``): summaries, paged by marker."""

    def get(self) -> None:
        states = self.list_arg("filter_states")
        for state in states:
            if state not in ("open", "closed"):
                raise Unprocessable([(["query", "filter_states"], f"filter_states has {state[:40]!r}; use open "
                                      "or closed.", "value_error")])
        docs, last = web_inputs_for(self.ctx).list(
            states, self.list_arg("filter_run_ids"), self.list_arg("filter_flow_ids"),
            self.get_query_argument("orderby", "") or "", self.int_arg("per_page", 20, high=100), self.marker_arg())
        self.write_json({"web_input_summaries": docs, "marker": f"m{last}" if last is not None else None})


class WebInputHandler(_FlowsHandler):
    def get(self, web_input_id: str) -> None:
        self.write_json(web_inputs_for(self.ctx).get(web_input_id))


class WebInputRespondHandler(_FlowsHandler):
    def post(self, web_input_id: str) -> None:
        self.write_json(web_inputs_for(self.ctx).respond(web_input_id, self.json_body()))


def routes(ctx: ServiceContext) -> list[tuple[str, type[ApiHandler], dict[str, t.Any]]]:
    return [
        (r"flows/?", FlowsHandler, {}),
        (r"flows/validate", ValidateFlowHandler, {}),
        (r"flows/test_state", TestStateHandler, {}),
        (rf"flows/{_ID}", FlowHandler, {}),
        (rf"flows/{_ID}/run", RunFlowHandler, {}),
        (rf"flows/{_ID}/validate_run", ValidateRunHandler, {}),
        (rf"flows/{_ID}/test_state", TestStateHandler, {}),
        (r"runs/?", RunsHandler, {}),
        (rf"runs/{_ID}", RunHandler, {}),
        (rf"runs/{_ID}/definition", RunDefinitionHandler, {}),
        (rf"runs/{_ID}/log", RunLogHandler, {}),
        (rf"runs/{_ID}/cancel", RunCancelHandler, {}),
        (rf"runs/{_ID}/resume", RunResumeHandler, {}),
        (rf"runs/{_ID}/release", RunReleaseHandler, {}),
        (rf"runs/{_ID}/state_inputs", RunStateInputsHandler, {}),
        (rf"runs/{_ID}/rerun", RunRerunHandler, {}),
        (r"web_inputs/?", WebInputsHandler, {}),
        (rf"web_inputs/{_ID}", WebInputHandler, {}),
        (rf"web_inputs/{_ID}/respond", WebInputRespondHandler, {}),
    ]
