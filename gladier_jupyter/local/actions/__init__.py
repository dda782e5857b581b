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

from gladier_jupyter.local._http import ServiceContext

__all__ = ["ActionUnableToRun", "ActionHandle", "ActionRequest", "resolve", "scope_for"]


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
SEARCH_INGEST_URLS = (
    "https://actions.globus.org/search/ingest",
    "https://search.actions.globus.org/ingest",
)
SEARCH_DELETE_URLS = ("https://actions.globus.org/search/delete",)
TRANSFER_DELETE_URLS = (
    "https://actions.globus.org/transfer/delete",
    "https://transfer.actions.globus.org/delete",
)
TRANSFER_URLS = (
    "https://actions.globus.org/transfer/transfer",
    "https://transfer.actions.globus.org/transfer",
)
HELLO_URLS = ("https://actions.globus.org/hello_world", "https://actions.globus.org/hello_world/")


def resolve(action_url: str) -> Provider | None:
    """The provider answering ``action_url``, or ``None``."""
    url = str(action_url).rstrip("/")
    if url in COMPUTE_URLS:
        from gladier_jupyter.local.actions.compute import ComputeProvider

        return ComputeProvider(v3=url.endswith("/v3"))
    if url in SEARCH_INGEST_URLS:
        from gladier_jupyter.local.actions.search import SearchIngestProvider

        return SearchIngestProvider()
    if url in SEARCH_DELETE_URLS:
        from gladier_jupyter.local.actions.search import SearchDeleteProvider

        return SearchDeleteProvider()
    if url in TRANSFER_DELETE_URLS:
        from gladier_jupyter.local.actions.transfer import TransferDeleteProvider

        return TransferDeleteProvider()
    if url in TRANSFER_URLS:
        from gladier_jupyter.local.actions.transfer import TransferProvider

        return TransferProvider()
    if url in HELLO_URLS or url + "/" in HELLO_URLS:
        return HelloWorldProvider()
    return None


def scope_for(action_url: str) -> str | None:
    provider = resolve(action_url)
    return getattr(provider, "scope", None)


class HelloWorldProvider:
    """Globus's ``hello_world`` action: echoes ``echo_string``."""

    scope = "https://auth.globus.org/scopes/actions.globus.org/hello_world"

    def start(self, body: t.Any, request: ActionRequest) -> ActionHandle:
        if not isinstance(body, dict):
            raise ActionUnableToRun("The hello_world action needs an object body.")
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
        return DoneHandle("SUCCEEDED", details)
