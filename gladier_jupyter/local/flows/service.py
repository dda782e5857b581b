"""The Flows service object: flow and run documents in Globus's shapes, over store + engine.

What a definition must pass and what a flow derives from it are :mod:`.definitions`'; the
debug loop's routes (state inputs, re-run from a state, state test), which Globus's API
does not have, are :mod:`.debugging`'s.
"""

from __future__ import annotations

import copy
import datetime as dt
import typing as t
import uuid

from gladier_jupyter.local import expressions
from gladier_jupyter.local._http import ServiceContext
from gladier_jupyter.local.flows import input_schema, secrets
from gladier_jupyter.local.flows.definitions import (
    flow_scope,
    run_as_roles,
    run_as_scopes,
    validate_definition,
)
from gladier_jupyter.local.flows.engine import Engine
from gladier_jupyter.local.flows.errors import (
    BadRequest,
    FlowInputError,
    NotFound,
    StateConflict,
    Unprocessable,
)
from gladier_jupyter.local.flows.records import clock_note
from gladier_jupyter.local.flows.store import FlowsStore

__all__ = ["FlowsService", "validate_definition"]

TERMINAL = ("SUCCEEDED", "FAILED", "ENDED")
_FLOW_FIELDS = (
    "title", "subtitle", "description", "keywords", "flow_viewers", "flow_starters",
    "flow_administrators", "run_managers", "run_monitors", "subscription_id",
)
_ROLE_FIELDS = ("flow_viewers", "flow_starters", "flow_administrators", "run_managers", "run_monitors")


class FlowsService:
    def __init__(self, ctx: ServiceContext):
        self.ctx = ctx
        self.store = FlowsStore(ctx.db_path("flows"))
        self.engine = Engine(self)
        self.clock = self.engine.clock  # run and log times follow the service clock

    @property
    def identity_urn(self) -> str:
        return f"urn:globus:auth:identity:{self.ctx.identity_id}"

    def start(self) -> None:
        self.engine.recover()

    def close(self) -> None:
        self.engine.stop()
        expressions.close()

    # -- flows -------------------------------------------------------------------------
    def _check_flow_body(self, body: dict[str, t.Any], creating: bool) -> None:
        if not isinstance(body, dict):
            raise BadRequest("The request body must be a JSON object.")
        problems: list[tuple[list[t.Any], str, str]] = []
        if creating:
            for field in ("title", "definition"):
                if field not in body:
                    problems.append(([field], "field required", "value_error.missing"))
        for field in ("title", "subtitle", "description"):
            if body.get(field) is not None and not isinstance(body[field], str):
                problems.append(([field], f"{field} must be a string.", "type_error.str"))
        keywords = body.get("keywords")
        if keywords is not None and (not isinstance(keywords, list) or not all(isinstance(k, str) for k in keywords)):
            problems.append((["keywords"], "keywords must be a list of strings.", "type_error.list"))
        if "definition" in body:
            problems.extend(validate_definition(body["definition"]))
        if body.get("input_schema") is not None:
            problems.extend(input_schema.schema_problems(body["input_schema"]))
        for role in _ROLE_FIELDS:
            if role in body and body[role] is not None:
                value = body[role]
                if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                    problems.append(([role], f"{role} must be a list of principal URN strings.", "type_error"))
                    continue
                for i, v in enumerate(value):
                    if v not in ("public", "all_authenticated_users") and not v.startswith(("urn:globus:auth:identity:", "urn:globus:groups:id:")):
                        problems.append(([role, i], f'Unrecognized principal string: "{v}". Allowed principal types: [<AuthGroupUrn>, <AuthIdentityUrn>]', "value_error"))
        if problems:
            raise Unprocessable(problems)

    def create_flow(self, body: dict[str, t.Any]) -> dict[str, t.Any]:
        self._check_flow_body(body, creating=True)
        flow_id = str(uuid.uuid4())
        now = self.clock.iso()
        doc: dict[str, t.Any] = {
            "id": flow_id,
            "definition": body["definition"],
            "input_schema": body.get("input_schema") or {},
            "globus_auth_scope": flow_scope(flow_id),
            "synchronous": False,
            "log_supported": True,
            "types": ["Action"],
            "api_version": "1.0",
            "title": body["title"],
            "subtitle": body.get("subtitle") or "",
            "description": body.get("description") or "",
            "keywords": body.get("keywords") or [],
            "principal_urn": f"urn:globus:auth:identity:{flow_id}",
            "globus_auth_username": f"{flow_id}@clients.auth.globus.org",
            "created_at": now,
            "updated_at": now,
            "user_role": "flow_owner",
            "created_by": self.identity_urn,
            "visible_to": [],
            "runnable_by": [],
            "administered_by": [],
            "action_url": f"{self.ctx.base_url}/api/flows/flows/{flow_id}",
            "flow_url": f"{self.ctx.base_url}/api/flows/flows/{flow_id}",
            "flow_owner": self.identity_urn,
            "subscription_id": body.get("subscription_id"),
            "globus_auth_scopes_by_RunAs": run_as_scopes(flow_id, body["definition"]),
        }
        for role in _ROLE_FIELDS:
            doc[role] = list(body.get(role) or [])
        self._derive_roles(doc)
        self.store.put_flow(doc)
        return doc

    @staticmethod
    def _derive_roles(doc: dict[str, t.Any]) -> None:
        doc["visible_to"] = sorted(set(doc["flow_viewers"]))
        doc["runnable_by"] = sorted(set(doc["flow_starters"]))
        doc["administered_by"] = sorted(set(doc["flow_administrators"]))

    def check_input(self, flow: dict[str, t.Any], flow_input: t.Any) -> None:
        """Refuse a run input the flow's input_schema refuses, or one without the tokens
        of a RunAs role: 400 ``FLOW_INPUT_ERROR``, as Globus answers."""
        roles = run_as_roles(flow.get("definition"))
        checked = flow_input
        if roles and isinstance(flow_input, dict) and "_tokens" in flow_input:
            # The role tokens are no data of the flow: a schema that forbids any other
            # property (automate-client's hello-world-run-as example) still lets them in.
            checked = {k: v for k, v in flow_input.items() if k != "_tokens"}
        errors = input_schema.input_errors(flow.get("input_schema") or {}, checked)
        if errors:
            raise FlowInputError(errors)
        tokens = flow_input.get("_tokens") if isinstance(flow_input, dict) else None
        tokens = tokens if isinstance(tokens, dict) else {}
        missing = [r for r in roles if not (isinstance(tokens.get(r), str) and tokens[r])]
        if missing:
            listed = ", ".join(repr(r) for r in missing)
            raise FlowInputError(
                [(f"$._tokens.{r}", f"The flow runs actions as role {r!r} (RunAs), but the run input "
                  f"has no token for it in '_tokens'.") for r in missing],
                f"The run input has no token for RunAs role{'s' if len(missing) != 1 else ''} {listed}; "
                f"pass one under '_tokens' in the input, e.g. {{\"_tokens\": {{\"{missing[0]}\": \"<access token>\"}}}}.")

    def get_flow(self, flow_id: str) -> dict[str, t.Any]:
        doc = self.store.get_flow(flow_id)
        if doc is None:
            raise NotFound(f"No flow with id {flow_id} exists (or it was deleted).")
        return doc

    def update_flow(self, flow_id: str, body: dict[str, t.Any]) -> dict[str, t.Any]:
        doc = self.get_flow(flow_id)
        self._check_flow_body(body, creating=False)
        for field in ("definition", "input_schema", *_FLOW_FIELDS):
            if field in body and body[field] is not None:
                doc[field] = body[field]
        doc["globus_auth_scopes_by_RunAs"] = run_as_scopes(flow_id, doc["definition"])
        self._derive_roles(doc)
        doc["updated_at"] = self.clock.iso()
        self.store.put_flow(doc)
        return doc

    def delete_flow(self, flow_id: str) -> dict[str, t.Any]:
        doc = self.get_flow(flow_id)
        doc = {**doc, "DELETED": True, "deleted_at": self.clock.iso()}
        self.store.delete_flow(flow_id, doc)
        return doc

    # -- runs --------------------------------------------------------------------------
    def run_context(self, doc: dict[str, t.Any]) -> dict[str, t.Any]:
        """``$._context``: every property the Run Context page lists (flow_id, run_id,
        username, email, user_id, identities, token_info with exp/iat/nbf), and more."""
        try:
            started = int(dt.datetime.fromisoformat(doc["start_time"]).timestamp())
        except (KeyError, TypeError, ValueError):
            started = int(self.clock.now())
        return {
            "run_id": doc["run_id"],
            "action_id": doc["run_id"],
            "flow_id": doc["flow_id"],
            "username": self.ctx.username,
            "email": self.ctx.username,
            "user_id": self.identity_urn,
            "identities": [self.identity_urn],
            # The local service's credential for the run: issued when the run started,
            # valid for Globus Auth's usual 48 hours.
            "token_info": {"exp": started + 172_800, "iat": started, "nbf": started},
            "label": doc.get("label"),
            "tags": doc.get("tags", []),
            "run_managers": doc.get("run_managers", []),
            "run_monitors": doc.get("run_monitors", []),
        }

    def run_flow(self, flow_id: str, body: dict[str, t.Any]) -> dict[str, t.Any]:
        flow = self.get_flow(flow_id)
        if not isinstance(body, dict):
            raise BadRequest("The request body must be a JSON object.")
        flow_input = body.get("body", {})
        if not isinstance(flow_input, dict):
            raise Unprocessable([(["body"], "The run input ('body') must be a JSON object.", "type_error.dict")])
        self.check_input(flow, flow_input)
        return self.start_run(flow, body, flow_input)

    def start_run(self, flow: dict[str, t.Any], body: dict[str, t.Any], flow_input: t.Any,
                   start_at: str | None = None, parent: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
        """A new ACTIVE run of ``flow`` whose first state is ``start_at`` (default: the
        definition's StartAt), with ``flow_input`` as its run data."""
        flow_id = flow["id"]
        label = body.get("label")
        if label is not None and (not isinstance(label, str) or len(label) > 64):
            raise Unprocessable([(["label"], "The label must be a string of at most 64 characters.", "value_error")])
        for field in ("tags", "run_managers", "run_monitors"):
            value = body.get(field)
            if value is not None and (not isinstance(value, list) or not all(isinstance(v, str) for v in value)):
                raise Unprocessable([([field], f"{field} must be a list of strings.", "type_error.list")])
        run_id = str(uuid.uuid4())
        now = self.clock.iso()
        managers = list(body.get("run_managers") or [])
        monitors = list(body.get("run_monitors") or [])
        definition = flow["definition"]
        start = start_at or definition["StartAt"]
        doc: dict[str, t.Any] = {
            "run_id": run_id,
            "action_id": run_id,
            "flow_id": flow_id,
            "flow_title": flow["title"],
            "flow_last_updated": flow["updated_at"],
            "start_time": now,
            "completion_time": None,
            "status": "ACTIVE",
            "display_status": "ACTIVE",
            "details": {
                "code": "FlowStarting",
                "description": "The Flow is starting execution",
                "details": {"input": flow_input},
            },
            "run_owner": self.identity_urn,
            "created_by": self.identity_urn,
            "run_managers": managers,
            "run_monitors": monitors,
            "manage_by": managers,
            "monitor_by": monitors,
            "user_role": "run_owner",
            "label": label,
            "tags": list(body.get("tags") or []),
            "search": {"task_id": str(uuid.uuid4())},
        }
        entry: dict[str, t.Any] = {
            "time": now,
            "code": "FlowStarted",
            "description": "The Flow Instance started execution",
            "details": {"input": flow_input},
        }
        if parent is not None:
            t.cast(dict[str, t.Any], doc["details"])["details"]["rerun_of"] = parent
            entry["description"] = (f"The Flow Instance started execution at state {start}, re-running "
                                    f"run {parent['run_id']}")
            entry["details"]["rerun_of"] = parent
        self.store.create_run(
            doc,
            {"definition": definition, "input_schema": flow.get("input_schema") or {}, "flow_id": flow_id},
            {"state": start, "data": copy.deepcopy(flow_input)},
            [entry],
        )
        self.engine.launch(run_id)
        return secrets.scrub(doc)

    def input_problems(self, flow: dict[str, t.Any], flow_input: t.Any) -> list[tuple[list[t.Any], str, str]]:
        return input_schema.input_problems(flow.get("input_schema") or {}, flow_input)

    def active_doc(self, doc: dict[str, t.Any], name: str, stype: str, data: t.Any) -> dict[str, t.Any]:
        doc = dict(doc)
        doc["details"] = {
            "code": f"{stype}Started",
            "description": f"State {name} of type {stype} started",
            "details": {"state_name": name, "state_type": stype},
        }
        doc["details"] = clock_note(self.clock, doc["details"])
        return doc

    def inactive_doc(self, doc: dict[str, t.Any], name: str, details: dict[str, t.Any]) -> dict[str, t.Any]:
        doc = dict(doc)
        doc.update(status="INACTIVE", display_status="INACTIVE")
        doc["details"] = {
            "code": details.get("code", "ActionInactive"),
            "description": details.get("description", f"State {name} waits for the user."),
            "details": {"state_name": name, **{k: v for k, v in details.items() if k not in ("code", "description")}},
        }
        return doc

    def finish_succeeded(self, doc: dict[str, t.Any], data: t.Any, entries: list[dict[str, t.Any]]) -> None:
        now = self.clock.iso()
        doc = dict(doc)
        doc.update(status="SUCCEEDED", display_status="SUCCEEDED", completion_time=now)
        doc["details"] = {
            "code": "FlowSucceeded",
            "description": "The Flow run reached a successful completion state",
            "output": data,
        }
        doc["details"] = clock_note(self.clock, doc["details"])
        entries = [*entries, {"time": now, "code": "FlowSucceeded",
                              "description": "The Flow Instance completed successfully",
                              "details": clock_note(self.clock, {"output": data})}]
        self.store.record(doc, None, entries)

    def finish_failed(self, doc: dict[str, t.Any], data: t.Any, state: str | None, error: str, cause: str,
                      entries: list[dict[str, t.Any]]) -> None:
        now = self.clock.iso()
        doc = dict(doc)
        doc.update(status="FAILED", display_status="FAILED", completion_time=now)
        description = f"The Flow Instance failed execution in state {state}: {error}: {cause}" if state else f"{error}: {cause}"
        doc["details"] = {
            "time": now,
            "code": "FlowFailed",
            "description": description,
            "details": {"error": error, "cause": cause, "state_name": state},
            "output": data,
        }
        doc["details"] = clock_note(self.clock, doc["details"])
        entries = [*entries, {"time": now, "code": "FlowFailed", "description": description,
                              "details": clock_note(self.clock, {"error": error, "cause": cause,
                                                                  "state_name": state, "output": data})}]
        self.store.record(doc, None, entries)

    def finish_canceled(self, run_id: str) -> dict[str, t.Any]:
        loaded = self.store.get_run_state(run_id)
        if loaded is None:
            raise NotFound(f"No run with id {run_id} exists.")
        doc = dict(loaded[0])
        if doc["status"] in TERMINAL:
            return doc
        now = self.clock.iso()
        doc.update(status="FAILED", display_status="FAILED", completion_time=now)
        doc["details"] = {
            "time": now,
            "code": "FlowCanceled",
            "description": "The Flow Instance was canceled by the user",
            "details": {},
        }
        self.store.record(doc, None, [{"time": now, "code": "FlowCanceled",
                                        "description": "The Flow Instance was canceled by the user",
                                        "details": {}}], expect=("ACTIVE", "INACTIVE"))
        return self.get_run(run_id)

    def get_run(self, run_id: str, include_flow_description: bool = False) -> dict[str, t.Any]:
        doc = self.store.get_run(run_id)
        if doc is None:
            raise NotFound(f"No run with id {run_id} exists (or it was released).")
        if include_flow_description:
            flow = self.store.get_flow(doc["flow_id"], include_deleted=True) or {}
            doc["flow_description"] = {k: flow.get(k) for k in (
                "created_at", "flow_owner", "created_by", "description", "globus_auth_scope",
                "id", "keywords", "subtitle", "title", "updated_at")}
        return doc

    def get_run_definition(self, run_id: str) -> dict[str, t.Any]:
        loaded = self.store.get_run_state(run_id)
        if loaded is None:
            raise NotFound(f"No run with id {run_id} exists (or it was released).")
        return {"flow_id": loaded[0]["flow_id"], "definition": loaded[1]["definition"],
                "input_schema": loaded[1].get("input_schema", {})}

    def update_run(self, run_id: str, body: dict[str, t.Any]) -> dict[str, t.Any]:
        doc = self.get_run(run_id)
        if not isinstance(body, dict):
            raise BadRequest("The request body must be a JSON object.")
        meta = {k: doc.get(k) for k in ("label", "tags", "run_managers", "run_monitors")}
        for field in meta:
            if field in body and body[field] is not None:
                meta[field] = body[field]
        meta["manage_by"], meta["monitor_by"] = meta["run_managers"], meta["run_monitors"]
        # Kept apart from the document the engine keeps writing while the run moves.
        self.store.set_run_meta(run_id, meta)
        return self.get_run(run_id)

    def cancel_run(self, run_id: str) -> dict[str, t.Any]:
        doc = self.get_run(run_id)
        if doc["status"] in TERMINAL:
            return doc
        self.engine.request_cancel(run_id)
        return self.finish_canceled(run_id)

    def resume_run(self, run_id: str) -> dict[str, t.Any]:
        doc = self.get_run(run_id)
        if doc["status"] in TERMINAL:
            raise StateConflict(
                f"Run {run_id} has status '{doc['status']}' but must have status in {{'ACTIVE', 'INACTIVE'}} for requested operation"
            )
        if doc["status"] == "INACTIVE":
            # Resuming is the user's consent to what the run waited for.
            stored = self.store.get_run_state(run_id)
            cursor = dict((stored[2] if stored else None) or {})
            wanted = (doc.get("details") or {}).get("details", {}).get("required_scope")
            granted = list(cursor.get("granted_scopes", []))
            if wanted and wanted not in granted:
                granted.append(wanted)
            cursor["granted_scopes"] = granted
            state_name = cursor.get("state")
            doc.update(status="ACTIVE", display_status="ACTIVE")
            doc["details"] = {"code": "ActionStarted",
                              "description": f"State {state_name} of type Action resumed",
                              "details": {"state_name": state_name, "state_type": "Action"}}
            self.store.record(doc, cursor, [], expect=("INACTIVE",))
        self.engine.launch(run_id)
        return self.get_run(run_id)

    def release_run(self, run_id: str) -> dict[str, t.Any]:
        doc = self.get_run(run_id)
        if doc["status"] not in TERMINAL:
            raise StateConflict(
                f"Run {run_id} has status '{doc['status']}' but must have status in {{'ENDED', 'SUCCEEDED', 'FAILED'}} for requested operation"
            )
        self.store.delete_run(run_id)
        return doc
