"""Globus's Wait For User Selection action (``https://actions.globus.org/weboption/wait_for_option``).

https://docs.globus.org/api/flows/hosted-action-providers/ap-weboption-wait-for-option/ :
``options``, each with a ``name`` and a ``url_suffix`` (and a ``completed_message``), and an
optional ``landing_page`` (``url_suffix``, ``header_text``, ``preamble_text``...). The action
stays ACTIVE until one option's address, ``https://actions.globus.org/weboption/option/<url_suffix>``,
is accessed; it then SUCCEEDS with that option's ``name`` and ``url_suffix`` in ``details``,
and every address of the action answers 404 from then on.

Locally those addresses are ``/api/actions/actions.globus.org/weboption/option/<url_suffix>``
and ``.../weboption/landing_page/<url_suffix>`` (authenticated like every route; the landing
page is the options as JSON), :func:`gladier_jupyter.local.select_option` takes the address
a flow mailed, and ``GET /api/actions/weboption/waiting`` lists what waits. A waiting action
holds no thread: the selection wakes the run (``notify``), and a service restarted meanwhile
finds the same waiting action again (the engine starts an interrupted action again).
"""

from __future__ import annotations

import datetime as dt
import typing as t
import uuid

from gladier_jupyter.local._http import ServiceContext
from gladier_jupyter.local.actions import ActionHandle, ActionRequest, ActionUnableToRun, check_body
from gladier_jupyter.local.actions.store import ActionsStore, store_for

__all__ = ["WaitForOptionProvider", "landing_page", "select", "waiting"]

_SUFFIX = {"type": "string", "pattern": "^[A-Za-z0-9_.~-]{1,256}$"}
_PRINCIPALS = {"type": "array", "items": {"type": "string"}}
INPUT_SCHEMA = {
    "type": "object",
    "properties": {
        "options": {
            "type": "array", "minItems": 1, "maxItems": 100,
            "items": {
                "type": "object",
                "properties": {
                    "name": {"type": "string", "minLength": 1, "maxLength": 256},
                    "description": {"type": "string"},
                    "url_suffix": _SUFFIX,
                    "completed_message": {"type": "string"},
                    "selectable_by": _PRINCIPALS,
                },
                "required": ["name", "url_suffix"],
            },
        },
        "landing_page": {
            "type": "object",
            "properties": {
                "url_suffix": _SUFFIX, "header_background": {"type": "string"}, "header_icon_url": {"type": "string"},
                "header_icon_link": {"type": "string"}, "header_text": {"type": "string"},
                "page_title": {"type": "string"}, "preamble_text": {"type": "string"}, "selectable_by": _PRINCIPALS,
            },
            "required": ["url_suffix"],
        },
        "__Private_Parameters": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["options"],
}
_HINTS = {"options": "a list of {'name', 'url_suffix'} objects", "url_suffix": "the option's address suffix",
          "name": "what the flow reads in details.name"}
PUBLIC_BASE = "https://actions.globus.org/weboption"


class WaitHandle(ActionHandle):
    def __init__(self, store: ActionsStore, action_id: str):
        import threading

        self.store, self.action_id = store, action_id
        self._changed = threading.Event()
        self._callback: t.Callable[[], None] | None = None
        # One wake-up registered for the handle's life; the latest notify() callback is told.
        store.on_change(action_id, self._wake)

    def _wake(self) -> None:
        self._changed.set()
        callback = self._callback
        if callback is not None:
            callback()

    def poll(self) -> tuple[str, dict[str, t.Any]]:
        wait = self.store.get_wait(self.action_id)
        if wait is None:
            return "FAILED", {"code": "ActionNotFound", "description": "The selection action's record is gone."}
        if wait["status"] == "SUCCEEDED":
            # Taken up by the engine: a restart later starts a new action for this state.
            self.store.set_wait_status(self.action_id, "SUCCEEDED", consumed=True)
            return "SUCCEEDED", wait["selected"]
        if wait["status"] != "ACTIVE":
            return wait["status"], {"code": "ActionCanceled", "description": "The selection action was canceled."}
        return "ACTIVE", _active_details(wait)

    def wait(self, timeout: float) -> None:
        self._changed.wait(timeout)

    def notify(self, callback: t.Callable[[], None]) -> bool:
        self._callback = callback
        if self._changed.is_set():
            callback()
        return True

    def cancel(self) -> None:
        self.store.set_wait_status(self.action_id, "FAILED", consumed=True)


def _active_details(wait: dict[str, t.Any]) -> dict[str, t.Any]:
    body = wait["body"]
    options = [{"name": o["name"], "url_suffix": o["url_suffix"], "url": f"{PUBLIC_BASE}/option/{o['url_suffix']}",
                **({"description": o["description"]} if o.get("description") else {})} for o in body["options"]]
    details: dict[str, t.Any] = {"code": "WaitingForSelection", "description": "Waiting for one of "
                                 + ", ".join(repr(o["name"]) for o in options), "options": options}
    if body.get("landing_page"):
        details["landing_page_url"] = f"{PUBLIC_BASE}/landing_page/{body['landing_page']['url_suffix']}"
    return details


class WaitForOptionProvider:
    scope = "https://auth.globus.org/scopes/5fac2e64-c734-4e6b-90ea-ff12ddbf9653/weboption_wait_for_option"
    title = "Wait for User Option Selection"
    subtitle = "Wait until one of the options' addresses is accessed"
    synchronous = False
    input_schema = INPUT_SCHEMA

    def start(self, body: t.Any, request: ActionRequest) -> ActionHandle:
        check_body(body, self.input_schema, "weboption/wait_for_option", _HINTS)
        store = store_for(request.ctx)
        kept = {k: v for k, v in body.items() if k in ("options", "landing_page")}
        for wait in store.open_waits(request.run_id, request.state_name):
            if wait["body"] == kept:  # the same action, started again after a restart
                return WaitHandle(store, wait["action_id"])
        seen: set[str] = set()
        addresses: list[tuple[str, str, int]] = []
        for i, option in enumerate(body["options"]):
            if option["url_suffix"] in seen:
                raise ActionUnableToRun(f"The weboption/wait_for_option body's options[{i}].url_suffix "
                                        f"{option['url_suffix'][:60]!r} is used twice; give each option its own.")
            seen.add(option["url_suffix"])
            addresses.append(("option", option["url_suffix"], i))
        if body.get("landing_page"):
            addresses.append(("landing_page", body["landing_page"]["url_suffix"], -1))
        action_id = str(uuid.uuid4())
        taken = store.add_wait(action_id, request.run_id, request.state_name,
                               dt.datetime.now(dt.timezone.utc).isoformat(), kept, addresses)
        if taken is not None:
            raise ActionUnableToRun(f"The weboption/wait_for_option address {taken[:80]!r} belongs to another action "
                                    "still waiting; give this one's url_suffix another value (add the run id).")
        return WaitHandle(store, action_id)


def select(ctx: ServiceContext, suffix: str, query: dict[str, t.Any] | None = None) -> dict[str, t.Any] | None:
    """Select the option at ``url_suffix``; what its address answers, or ``None`` (404)."""
    store = store_for(ctx)
    found = store.find_address("option", suffix)
    if found is None:
        return None
    wait, index = found
    option = wait["body"]["options"][index]
    selected = {"name": option["name"], "url_suffix": option["url_suffix"],
                "selected_at": dt.datetime.now(dt.timezone.utc).isoformat()}
    if query:
        selected["query_params"] = query
    if not store.select(wait["action_id"], selected):
        return None
    return {"name": option["name"], "url_suffix": option["url_suffix"],
            "message": option.get("completed_message") or f"Selected option {option['name']!r}."}


def landing_page(ctx: ServiceContext, suffix: str) -> dict[str, t.Any] | None:
    """The landing page at ``url_suffix`` (its fields and options), or ``None`` (404)."""
    found = store_for(ctx).find_address("landing_page", suffix)
    if found is None:
        return None
    wait = found[0]
    return {**wait["body"]["landing_page"], **_active_details(wait), "run_id": wait["run_id"],
            "state_name": wait["state_name"]}


def waiting(ctx: ServiceContext, run_id: str | None = None) -> list[dict[str, t.Any]]:
    """Every selection still waiting (of one run): its run, state, options and addresses."""
    return [{"action_id": w["action_id"], "run_id": w["run_id"], "state_name": w["state_name"],
             "created": w["created"], **_active_details(w)} for w in store_for(ctx).waiting(run_id)]
