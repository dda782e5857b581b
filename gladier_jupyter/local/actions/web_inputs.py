"""Flows Web Inputs: the ``CreateWebInput`` and ``AwaitWebInput`` states and the
``/web_inputs`` API globus-sdk's FlowsClient calls (``list_web_inputs``, ``get_web_input``,
``respond_to_web_input``).

The states follow Globus's published examples (globus/globus-flows-examples,
``web_input_examples/``): ``CreateWebInput`` takes ``InputType`` (``Selection``), ``Context``
(``Title``, ``PresentationStyle`` ``Text`` with ``Text`` or ``Table`` with ``Rows`` of
``{Field, Value}``), ``Options`` (``{Value, Label, Description}``) and ``RespondentUrns``, and
its result is ``{"web_input_id"}``; ``AwaitWebInput`` takes ``web_input_id`` and its result
holds ``response``, the ``Value`` of the option chosen. The documents are globus-sdk's
fixtures' shapes (``globus_sdk.testing``: ``flows.get_web_input``...): each option gets an
``option_id``, which is what ``respond_to_web_input`` sends.

While it awaits a response the run is INACTIVE and holds no thread; the response closes the
web input and resumes the run, whose ``AwaitWebInput`` then completes. Locally the user is
viewer and respondent of every web input (one user); ``RespondentUrns`` is kept as given.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import typing as t
import uuid

from gladier_jupyter.local._db import open_database
from gladier_jupyter.local._http import ApiError, ServiceContext
from gladier_jupyter.local.actions import (
    ActionHandle,
    ActionRequest,
    ActionUnableToRun,
    DoneHandle,
    check_body,
)

__all__ = ["WebInputError", "WebInputs", "provider", "web_inputs_for"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS web_inputs (
    id TEXT PRIMARY KEY, run_id TEXT NOT NULL, state_name TEXT NOT NULL, flow_id TEXT,
    status TEXT NOT NULL, created TEXT NOT NULL, doc TEXT NOT NULL, response TEXT);
CREATE INDEX IF NOT EXISTS web_inputs_run ON web_inputs(run_id);
"""

CREATE_SCHEMA = {
    "type": "object",
    "properties": {
        "InputType": {"enum": ["Selection"]},
        "Context": {
            "type": "object",
            "properties": {
                "PresentationStyle": {"enum": ["Text", "Table"]},
                "Title": {"type": "string", "maxLength": 1024},
                "Text": {"type": "string", "maxLength": 65536},
                "Rows": {"type": "array", "maxItems": 200, "items": {
                    "type": "object", "properties": {"Field": {"type": "string"}}, "required": ["Field", "Value"]}},
            },
            "required": ["Title"],
        },
        "Options": {"type": "array", "minItems": 1, "maxItems": 100, "items": {
            "type": "object",
            "properties": {"Value": {"type": ["string", "number", "boolean"]}, "Label": {"type": "string", "minLength": 1},
                           "Description": {"type": "string"}},
            "required": ["Value", "Label"]}},
        "RespondentUrns": {"type": "array", "items": {"type": "string"}},
        "ViewerUrns": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["InputType", "Context", "Options"],
}
AWAIT_SCHEMA = {"type": "object", "properties": {"web_input_id": {"type": "string", "minLength": 1}},
                "required": ["web_input_id"]}


class WebInputError(ApiError):
    """An error of the Flows ``/web_inputs`` routes, in the Flows error body's shape."""

    def body(self) -> dict[str, t.Any]:
        return {"error": {"code": self.code, "detail": self.message}, "debug_id": str(uuid.uuid4())}


def _choices(options: list[dict[str, t.Any]]) -> list[tuple[t.Any, ...]]:
    return [(o["label"], o["description"], o["value"]) for o in options]


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat()


def _summary(doc: dict[str, t.Any]) -> dict[str, t.Any]:
    keys = ("id", "status", "user_roles", "input_type", "flow", "run", "created_timestamp",
            "edited_timestamp", "closed_timestamp")
    return {**{k: doc[k] for k in keys}, "title": doc["context"].get("title")}


class WebInputs:
    """The web inputs of the service's runs (``web_inputs.sqlite3``)."""

    def __init__(self, ctx: ServiceContext):
        self.ctx = ctx
        self.db = open_database(ctx.db_path("web_inputs"), _SCHEMA)
        self.lock = threading.RLock()

    def create(self, body: dict[str, t.Any], request: ActionRequest) -> str:
        context = body["Context"]
        style = str(context.get("PresentationStyle", "Text")).lower()
        ctx_doc: dict[str, t.Any] = {"title": context["Title"], "presentation_style": style}
        if style == "table":
            ctx_doc["rows"] = [{"field": r["Field"], "value": r["Value"]} for r in context.get("Rows", [])]
        else:
            ctx_doc["text"] = context.get("Text", "")
        run = self._run(request.run_id)
        options = [{"option_id": str(uuid.uuid4()), "label": o["Label"], "description": o.get("Description", ""),
                    "value": o["Value"]} for o in body["Options"]]
        with self.lock:
            for row in self.db.execute("SELECT id, doc FROM web_inputs WHERE run_id = ? AND state_name = ? "
                                       "AND status = 'open'", (request.run_id, request.state_name)):
                old = json.loads(row["doc"])
                if old["context"] == ctx_doc and _choices(old["_options"]) == _choices(options):
                    return str(row["id"])  # the same state started again after a restart
            web_input_id, now = str(uuid.uuid4()), _now()
            urn = f"urn:globus:auth:identity:{self.ctx.identity_id}"
            doc = {
                "id": web_input_id, "status": "open", "user_roles": ["viewer", "respondent"],
                "input_type": "selection",
                "input_schema": {"$schema": "http://json-schema.org/draft-07/schema", "title": context["Title"],
                                 "type": "string", "oneOf": [{"const": o["option_id"], "title": o["label"],
                                                              "description": o["description"]} for o in options]},
                "context": ctx_doc,
                "options": [{k: o[k] for k in ("option_id", "label", "description")} for o in options],
                "roles": {"viewer_urns": list(body.get("ViewerUrns") or []),
                          "respondent_urns": list(body.get("RespondentUrns") or [urn])},
                "creator_urn": urn,
                "flow": {"id": run.get("flow_id"), "title": run.get("flow_title")},
                "run": {"id": request.run_id, "label": run.get("label")},
                "created_timestamp": now, "edited_timestamp": now, "closed_timestamp": None,
                "_options": options,
            }
            self.db.execute("INSERT INTO web_inputs (id, run_id, state_name, flow_id, status, created, doc) "
                            "VALUES (?,?,?,?, 'open', ?, ?)",
                            (web_input_id, request.run_id, request.state_name, run.get("flow_id"), now, json.dumps(doc)))
        return web_input_id

    def _run(self, run_id: str) -> dict[str, t.Any]:
        flows = self.ctx.services.get("flows")
        try:
            return flows.get_run(run_id) if flows is not None else {}
        except ApiError:
            return {}

    def _row(self, web_input_id: str) -> t.Any:
        with self.lock:
            return self.db.execute("SELECT * FROM web_inputs WHERE id = ?", (str(web_input_id),)).fetchone()

    def get(self, web_input_id: str) -> dict[str, t.Any]:
        row = self._row(web_input_id)
        if row is None:
            raise WebInputError(f"No Web Input exists with id value {str(web_input_id)[:80]}",
                                http_status=404, code="NOT_FOUND")
        doc = json.loads(row["doc"])
        doc.pop("_options", None)
        return doc

    def record(self, web_input_id: str) -> tuple[dict[str, t.Any], dict[str, t.Any] | None] | None:
        """The web input's document (with its options' values) and its response, if any."""
        row = self._row(web_input_id)
        if row is None:
            return None
        return json.loads(row["doc"]), json.loads(row["response"]) if row["response"] else None

    def list(self, states: list[str], run_ids: list[str], flow_ids: list[str], orderby: str,
             per_page: int, after: int) -> tuple[list[dict[str, t.Any]], int | None]:
        sql = "SELECT rowid, doc FROM web_inputs WHERE rowid > ?"
        args: list[t.Any] = [after]
        for column, values in (("status", states), ("run_id", run_ids), ("flow_id", flow_ids)):
            if values:
                sql += f" AND {column} IN ({','.join('?' * len(values))})"
                args.extend(values)
        field, _, direction = (orderby or "created_timestamp ASC").partition(" ")
        with self.lock:
            rows = self.db.execute(sql + " ORDER BY rowid LIMIT ?", (*args, per_page + 1)).fetchall()
        docs = [_summary(json.loads(r["doc"])) for r in rows[:per_page]]
        if field in ("created_timestamp", "edited_timestamp", "closed_timestamp"):
            docs.sort(key=lambda d: d.get(field) or "", reverse=direction.strip().upper() == "DESC")
        return docs, (int(rows[per_page - 1]["rowid"]) if len(rows) > per_page else None)

    def respond(self, web_input_id: str, body: t.Any) -> dict[str, t.Any]:
        """Close the web input with the option chosen, and resume its run."""
        value = body.get("response", {}).get("value") if isinstance(body, dict) and isinstance(
            body.get("response"), dict) else None
        if value is None:
            raise WebInputError("The request body must be {'response': {'value': <option_id>}}.",
                                http_status=422, code="UNPROCESSABLE_ENTITY")
        with self.lock:
            found = self.record(web_input_id)
            if found is None:
                raise WebInputError(f"No Web Input exists with id value {str(web_input_id)[:80]}",
                                    http_status=404, code="NOT_FOUND")
            doc, _ = found
            if doc["status"] != "open":
                raise WebInputError(f"Web Input {web_input_id} is already closed.", http_status=409,
                                    code="STATE_CONFLICT")
            option = next((o for o in doc["_options"] if o["option_id"] == value), None)
            if option is None:
                raise WebInputError(f"{str(value)[:80]!r} is not a registered option id for this input.",
                                    http_status=422, code="UNPROCESSABLE_ENTITY")
            now = _now()
            doc.update(status="closed", edited_timestamp=now, closed_timestamp=now)
            response = {"web_input_id": doc["id"], "response": option["value"], "option_id": option["option_id"],
                        "label": option["label"], "respondent_urn": f"urn:globus:auth:identity:{self.ctx.identity_id}",
                        "responded_at": now}
            self.db.execute("UPDATE web_inputs SET status = 'closed', doc = ?, response = ? WHERE id = ?",
                            (json.dumps(doc), json.dumps(response), doc["id"]))
        self._resume(doc["run"]["id"], doc["id"])
        return {"status": "ok"}

    def _resume(self, run_id: str, web_input_id: str, again: bool = True) -> None:
        flows = self.ctx.services.get("flows")
        if flows is None:
            return
        try:
            run = flows.get_run(run_id)
        except ApiError:
            return
        waits_on = (run.get("details") or {}).get("details", {}).get("web_input_id")
        if run["status"] == "INACTIVE" and waits_on == web_input_id:
            flows.resume_run(run_id)
        elif run["status"] == "ACTIVE" and again:
            # The run may be between reading the open web input and recording that it
            # waits: look once more when that is surely done.
            timer = threading.Timer(1.0, self._resume, (run_id, web_input_id, False))
            timer.daemon = True
            timer.start()

    def close(self) -> None:
        with self.lock:
            self.db.close()


def web_inputs_for(ctx: ServiceContext) -> WebInputs:
    found = ctx.services.get("web_inputs")
    if found is None:
        found = ctx.services.setdefault("web_inputs", WebInputs(ctx))
    return found


class CreateWebInputProvider:
    """The ``CreateWebInput`` state: its result is ``{"web_input_id"}`` (no action document)."""

    scope = ""
    bare_result = True

    def start(self, body: t.Any, request: ActionRequest) -> ActionHandle:
        check_body(body, CREATE_SCHEMA, "CreateWebInput")
        return DoneHandle("SUCCEEDED", {"web_input_id": web_inputs_for(request.ctx).create(body, request)})


class AwaitWebInputProvider:
    """The ``AwaitWebInput`` state: the run is INACTIVE until the web input is answered;
    its result holds ``response``, the chosen option's ``Value``."""

    scope = ""
    bare_result = True

    def start(self, body: t.Any, request: ActionRequest) -> ActionHandle:
        check_body(body, AWAIT_SCHEMA, "AwaitWebInput")
        found = web_inputs_for(request.ctx).record(body["web_input_id"])
        if found is None or found[0]["run"]["id"] != request.run_id:
            raise ActionUnableToRun(f"The AwaitWebInput web_input_id {str(body['web_input_id'])[:60]!r} names no web "
                                    "input of this run; pass the web_input_id a CreateWebInput state returned.")
        doc, response = found
        if response is not None:
            return DoneHandle("SUCCEEDED", response)
        return DoneHandle("INACTIVE", {
            "code": "AwaitingWebInput",
            "description": f"The run waits for a response to web input {doc['context'].get('title', '')[:120]!r}",
            "web_input_id": doc["id"],
        })


def provider(kind: str) -> t.Any:
    return CreateWebInputProvider() if kind == "CreateWebInput" else AwaitWebInputProvider()
