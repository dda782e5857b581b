"""Action providers the local flow engine calls in process, by ``ActionUrl``.

A provider's ``start(body, request)`` checks the body and begins the action, returning an
:class:`ActionHandle` the engine polls (``poll() -> (status, details)``) until it leaves
``ACTIVE``; a body the provider cannot run raises :class:`ActionUnableToRun`. Between polls
the engine holds no thread: a handle whose ``notify(callback)`` returns True wakes the run
by calling ``callback()`` (from any thread) when the action may have changed; any other
handle is polled on a timer.
"""

from __future__ import annotations

import dataclasses
import typing as t

from gladier_jupyter.local._http import ApiError, ServiceContext

__all__ = ["ActionHandle", "ActionProviderError", "ActionRequest", "ActionUnableToRun", "STATE_TYPES", "canonical_url",
           "check_body", "introspect", "known_urls", "make_service", "resolve", "resolve_state", "scope_for"]


class ActionUnableToRun(Exception):
    """The provider refused the request (bad body, unknown function, index, path...)."""


@dataclasses.dataclass
class ActionRequest:
    ctx: ServiceContext
    run_id: str
    state_name: str
    label: str | None = None
    timeout: float | None = None
    #: scopes the user consented to when resuming an INACTIVE run
    granted_scopes: tuple[str, ...] = ()


class ActionHandle:
    """A started action. ``details`` holds what the provider returns under ``details``."""

    def poll(self) -> tuple[str, dict[str, t.Any]]:
        raise NotImplementedError

    def wait(self, timeout: float) -> None:
        """Block up to ``timeout`` seconds or until the action may have changed."""
        import time

        time.sleep(timeout)

    def notify(self, callback: t.Callable[[], None]) -> bool:
        """Call ``callback()`` once the action may have changed (at once if it has);
        ``False`` when the handle cannot tell, and the engine polls it instead."""
        return False

    def cancel(self) -> None:
        return None


class DoneHandle(ActionHandle):
    def __init__(self, status: str, details: dict[str, t.Any]):
        self.status, self.details = status, details

    def poll(self) -> tuple[str, dict[str, t.Any]]:
        return self.status, self.details

    def wait(self, timeout: float) -> None:
        return None


class Provider(t.Protocol):
    scope: str

    def start(self, body: t.Any, request: ActionRequest) -> ActionHandle: ...


COMPUTE_URLS = (
    "https://compute.actions.globus.org",
    "https://compute.actions.globus.org/v2",
    "https://compute.actions.globus.org/v3",
    "https://compute.actions.globus.org/fxap",
    "https://automate.funcx.org",
    "https://funcx.actions.globus.org",
)
#: Hosts that answer exactly as ``actions.globus.org`` (the older automate client's address).
ACTIONS_ALIASES = ("https://actions.automate.globus.org/",)
#: ``actions.globus.org/<path>`` providers other than Transfer's.
ACTIONS_PATHS = ("hello_world", "search/ingest", "search/delete", "expression_eval", "notification/notify",
                 "weboption/wait_for_option", "datacite/mint", "datacite/mint/basic_auth")
#: Flow state types the Flows service answers itself, as actions of its own (Web Inputs).
STATE_TYPES = ("CreateWebInput", "AwaitWebInput")
SEARCH_URLS = ("https://search.actions.globus.org/ingest", "https://search.actions.globus.org/delete")
#: Transfer's actions, at ``https://transfer.actions.globus.org/<op>`` and (deprecated by
#: Globus in 2025, still answered here) ``https://actions.globus.org/transfer/<op>``;
#: ``set_permission`` is the old name of ``manage_permission``
#: (https://docs.globus.org/api/transfer/action-providers/migration/).
TRANSFER_OPS = ("transfer", "delete", "ls", "stat", "mkdir", "manage_permission", "collection_info")
TRANSFER_OLD_NAMES = {"set_permission": "manage_permission"}


def canonical_url(action_url: str) -> str:
    """``action_url`` as the one address this service knows it by: no trailing ``/``,
    ``actions.automate.globus.org`` read as ``actions.globus.org``."""
    url = str(action_url).strip().rstrip("/")
    for alias in ACTIONS_ALIASES:
        if url.startswith(alias):
            url = "https://actions.globus.org/" + url[len(alias):]
    return url


def _transfer_op(url: str) -> tuple[str, bool] | None:
    for prefix, legacy in (("https://transfer.actions.globus.org/", False), ("https://actions.globus.org/transfer/", True)):
        if url.startswith(prefix):
            op = url[len(prefix):]
            op = TRANSFER_OLD_NAMES.get(op, op)
            return (op, legacy) if op in TRANSFER_OPS else None
    return None


def resolve(action_url: str) -> Provider | None:
    """The provider answering ``action_url``, or ``None``."""
    url = canonical_url(action_url)
    if url in COMPUTE_URLS:
        from gladier_jupyter.local.actions.compute import ComputeProvider

        return ComputeProvider(v3=url.endswith("/v3"))
    transfer = _transfer_op(url)
    if transfer is not None:
        from gladier_jupyter.local.actions import transfer as transfer_actions

        return transfer_actions.provider(*transfer)
    if url in ("https://actions.globus.org/search/ingest", SEARCH_URLS[0]):
        from gladier_jupyter.local.actions.search import SearchIngestProvider

        return SearchIngestProvider()
    if url in ("https://actions.globus.org/search/delete", SEARCH_URLS[1]):
        from gladier_jupyter.local.actions.search import SearchDeleteProvider

        return SearchDeleteProvider()
    if url == "https://actions.globus.org/hello_world":
        return HelloWorldProvider()
    if url == "https://actions.globus.org/expression_eval":
        from gladier_jupyter.local.actions.expression import ExpressionEvalProvider

        return ExpressionEvalProvider()
    if url == "https://actions.globus.org/notification/notify":
        from gladier_jupyter.local.actions.notification import NotificationProvider

        return NotificationProvider()
    if url == "https://actions.globus.org/weboption/wait_for_option":
        from gladier_jupyter.local.actions.weboption import WaitForOptionProvider

        return WaitForOptionProvider()
    if url in ("https://actions.globus.org/datacite/mint", "https://actions.globus.org/datacite/mint/basic_auth"):
        from gladier_jupyter.local.actions.datacite import DataCiteMintProvider

        return DataCiteMintProvider()
    return None


def resolve_state(state: dict[str, t.Any]) -> Provider | None:
    """The provider of a state: its ``ActionUrl``'s, or the Flows service's own for a Web
    Input state (``CreateWebInput``, ``AwaitWebInput``)."""
    kind = state.get("Type")
    if kind in STATE_TYPES:
        from gladier_jupyter.local.actions import web_inputs

        return web_inputs.provider(kind)
    url = state.get("ActionUrl")
    return resolve(url) if isinstance(url, str) else None


def known_urls() -> str:
    """The providers this service has, for the message of an unknown ``ActionUrl``."""
    ops = ", ".join(TRANSFER_OPS)
    return (f"Globus Compute, Search ingest and delete, Transfer ({ops}) at https://transfer.actions.globus.org/<op> "
            "or https://actions.globus.org/transfer/<op>, and at https://actions.globus.org/: hello_world, "
            "expression_eval, notification/notify, weboption/wait_for_option and datacite/mint; "
            "actions.automate.globus.org answers as actions.globus.org")


def scope_for(action_url: str) -> str | None:
    provider = resolve(action_url)
    return getattr(provider, "scope", None)


def check_body(body: t.Any, schema: dict[str, t.Any], what: str, hints: dict[str, str] | None = None) -> None:
    """Refuse ``body`` when it breaks the provider's input ``schema``: one line naming the field."""
    if not isinstance(body, dict):
        raise ActionUnableToRun(f"The {what} action needs an object body, not {type(body).__name__}.")
    import jsonschema

    error = jsonschema.exceptions.best_match(jsonschema.Draft7Validator(schema).iter_errors(body))
    if error is None:
        return
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path).lstrip(".")
    if error.validator == "required":
        missing = next((m for m in error.validator_value if isinstance(error.instance, dict) and m not in error.instance), "?")
        field = f"{where}.{missing}" if where else missing
        hint = (hints or {}).get(missing)
        raise ActionUnableToRun(f"The {what} body lacks the required field {field!r}"
                                f"{f' ({hint})' if hint else ''}; add it to the state's Parameters.")
    raise ActionUnableToRun(f"The {what} body's field {where or '(body)'!r} {_rule(error)}.")


def _shown(value: t.Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _rule(error: t.Any) -> str:
    """What a jsonschema error says, in one short clause that never quotes a value at length."""
    value, expected = error.instance, error.validator_value
    if error.validator == "type":
        kinds = expected if isinstance(expected, list) else [expected]
        return f"must be {' or '.join(map(str, kinds))}, not {_shown(value)}"
    if error.validator in ("enum", "const"):
        allowed = expected if error.validator == "enum" else [expected]
        return f"is {_shown(value)}; use one of {', '.join(repr(a) for a in allowed)}"
    if error.validator in ("minimum", "maximum", "minLength", "maxLength", "minItems", "maxItems"):
        return f"is {_shown(value)}, which breaks {error.validator} {expected}"
    return f"is {_shown(value)}, which the input schema does not allow ({error.validator})"


def introspect(action_url: str) -> dict[str, t.Any] | None:
    """The provider's introspection document (``GET <ActionUrl>/`` of the Action Provider API)."""
    provider = resolve(action_url)
    if provider is None:
        return None
    schema = getattr(provider, "input_schema", {"type": "object"})
    return {
        "api_version": "1.0", "title": getattr(provider, "title", canonical_url(action_url)),
        "subtitle": getattr(provider, "subtitle", "Answered by the gladier-jupyter local service"),
        "description": getattr(provider, "description", None), "admin_contact": "local-user@localhost",
        "administered_by": [], "synchronous": bool(getattr(provider, "synchronous", True)),
        "globus_auth_scope": provider.scope, "input_schema": schema, "keywords": getattr(provider, "keywords", []),
        "log_supported": False, "maximum_deadline": "P30D", "runnable_by": ["all_authenticated_users"],
        "visible_to": ["public"], "types": ["ACTION"], "url": canonical_url(action_url),
    }


class ActionProviderError(ApiError):
    """The Action Provider API's error body: ``{"code", "description"}``."""

    code = "ActionProviderError"
    not_found_code = "NotFound"

    def body(self) -> dict[str, t.Any]:
        return {"code": self.code, "description": self.message}


error_class = ActionProviderError


def make_service(ctx: ServiceContext) -> t.Any:
    """The ``actions`` API: the providers' introspection documents, and what the hosted
    providers keep (:mod:`.store`: outbox, DOIs, selections), opened on first use."""
    return _ActionsService(ctx)


class _ActionsService:
    def __init__(self, ctx: ServiceContext):
        import threading

        self.ctx = ctx
        self._store: t.Any = None
        self._lock = threading.Lock()

    @property
    def store(self) -> t.Any:
        with self._lock:
            if self._store is None:
                from gladier_jupyter.local.actions.store import ActionsStore

                self._store = ActionsStore(self.ctx)
            return self._store

    def close(self) -> None:
        with self._lock:
            if self._store is not None:
                self._store.close()


class HelloWorldProvider:
    """Globus's ``hello_world`` action: echoes ``echo_string``; with ``sleep_time`` it stays
    ACTIVE that many seconds, then SUCCEEDS (the older automate client's docs of the Globus
    operated providers: "Subsequent invocations of /status will return the state ACTIVE
    until the number of seconds indicated in sleep_time have elapsed")."""

    scope = "https://auth.globus.org/scopes/actions.globus.org/hello_world"
    title = "Hello World"
    subtitle = "An Action responding Hello to an input value"
    synchronous = False
    input_schema = {"type": "object", "additionalProperties": True, "properties": {
        "echo_string": {"type": "string"}, "sleep_time": {"type": "number", "minimum": 0},
        "required_dependent_scope": {"type": "string"}}}

    def start(self, body: t.Any, request: ActionRequest) -> ActionHandle:
        check_body(body, self.input_schema, "hello_world")
        scope = body.get("required_dependent_scope")
        if scope and scope not in request.granted_scopes:
            # As Globus's hello_world does: the run waits (INACTIVE) for this consent.
            return DoneHandle("INACTIVE", {
                "code": "ConsentRequired",
                "description": f"The action needs consent for the scope {scope}.",
                "required_scope": scope,
            })
        details = {"Hello": "World", "hello": body.get("echo_string", "")}
        if scope:
            details["required_dependent_scope"] = scope
        sleep = float(body.get("sleep_time") or 0)
        if sleep > 0:
            from gladier_jupyter.local.clock.service import clock_of

            return TimedHandle(sleep, details, clock_of(request.ctx))
        return DoneHandle("SUCCEEDED", details)


class TimedHandle(ActionHandle):
    """An action that is ACTIVE until ``seconds`` of the service clock have passed, then
    ``SUCCEEDED`` with ``details``. It holds no thread: ``ready_at`` (epoch seconds of the
    clock) says when to poll again, and :meth:`wait` only sleeps for an engine that waits
    on its handles."""

    def __init__(self, seconds: float, details: dict[str, t.Any], clock: t.Any = None):
        import time

        self._now: t.Callable[[], float] = clock.now if clock is not None else time.time
        self.ready_at = self._now() + seconds
        self.details = details

    def _left(self) -> float:
        return self.ready_at - self._now()

    def poll(self) -> tuple[str, dict[str, t.Any]]:
        if self._left() > 0:
            return "ACTIVE", {"Hello": "World", "sleep_until": _iso(self.ready_at)}
        return "SUCCEEDED", self.details

    def wait(self, timeout: float) -> None:
        import time

        time.sleep(max(0.0, min(timeout, self._left())))

    def notify(self, callback: t.Callable[[], None]) -> bool:
        return False  # polled on the engine's timer: nothing here can wake it


def _iso(epoch: float) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(epoch, dt.timezone.utc).isoformat()
