"""Where the server extension reads runs from: the user's local service, and Globus Flows.

Each source answers the same few questions (``client()``, ``web_url``, ``resume``,
``status``) and carries its polling ``policy``: :class:`LocalSource` finds (or starts) the
per-user local service through its state file, the way a kernel does; :class:`GlobusSource`
uses the Globus login this server holds (hub API, ``GLOBUS_DATA`` or a stored login,
through :mod:`gladier_jupyter.auth`), and is :class:`SourceUnavailable` without one.
"""

from __future__ import annotations

import threading
import time
import typing as t

from gladier_jupyter import monitor as _monitor

__all__ = ["GlobusSource", "LocalSource", "SourceUnavailable", "response_data"]

#: Re-read the Globus token sources at most this often (a new login shows within it).
AUTH_RELOAD_SECONDS = 30.0
#: Reuse a Globus run list this long: the panel polls every second while a run is ACTIVE,
#: and Globus asks clients to stay well under one request a second.
GLOBUS_LIST_SECONDS = 5.0


class SourceUnavailable(Exception):
    """A source cannot be asked right now (no login, service down); the message says why."""


def response_data(response: t.Any) -> dict[str, t.Any]:
    """A globus-sdk response's data as a dict."""
    return _monitor.response_data(response)


class LocalSource:
    """The local Globus-compatible service of this user (``gladier_jupyter.local``)."""

    name = "local"
    policy = _monitor.LOCAL_POLICY
    list_ttl = 0.0

    def __init__(self, state_dir: str | None = None) -> None:
        self._state_dir = state_dir
        self._lock = threading.Lock()
        self._client: t.Any = None
        self._base_url = ""

    @property
    def base_url(self) -> str:
        """The service's URL as last found (empty before the first :meth:`client`)."""
        return self._base_url

    def client(self) -> t.Any:
        """A FlowsClient on the running service, starting the service if it is not running.

        Built with ``backend.local_client()`` rather than ``backend.flows_client()``:
        ``backend.use_local()`` may set ``GLOBUS_SDK_SERVICE_URL_*`` in os.environ, which
        every kernel this server starts afterwards would inherit.
        """
        import globus_sdk

        from gladier_jupyter import backend, local

        with self._lock:
            info = local.ensure_running(self._state_dir)
            if self._client is None or self._base_url != info.base_url:
                self._client = backend.local_client(globus_sdk.FlowsClient, info, "flows")
                self._base_url = info.base_url
            return self._client

    def web_url(self, run_id: str) -> str:
        return ""

    def resume(self, run_id: str, flow_id: str) -> dict[str, t.Any]:
        """Resume an INACTIVE run; locally, resuming is the consent the run waited for."""
        return response_data(self.client().post(f"/runs/{run_id}/resume"))

    def status(self) -> dict[str, t.Any]:
        return {"available": True, "message": ""}


class GlobusSource:
    """Globus Flows, with the tokens the login layer finds for this server (if any)."""

    name = "globus"
    policy = _monitor.GLOBUS_POLICY
    list_ttl = GLOBUS_LIST_SECONDS

    def __init__(self, local: LocalSource | None = None,
                 environ: t.MutableMapping[str, str] | None = None) -> None:
        self._local = local
        self._environ = environ  # None: this server's environment (GLOBUS_DATA, hub API)
        self._lock = threading.Lock()
        self._session: t.Any = None
        self._loaded = 0.0
        self._client: t.Any = None
        self._scope = ""
        self.message = ""

    def _flows_scope(self) -> str:
        import globus_sdk

        from gladier_jupyter.auth.state import AuthSession

        now = time.monotonic()
        if self._session is None:
            self._session = AuthSession(environ=self._environ, mode="globus")
            self._loaded = now
        elif now - self._loaded > AUTH_RELOAD_SECONDS:
            self._session.reload()
            self._loaded = now
        scopes = globus_sdk.FlowsClient.scopes
        for scope in (scopes.run_status, scopes.all, scopes.run_manage, scopes.view_flows):
            if self._session.holds(scope):
                return str(scope)
        return ""

    def client(self) -> t.Any:
        """A FlowsClient with this server's Globus login; SourceUnavailable without one."""
        import globus_sdk

        with self._lock:
            try:
                scope = self._flows_scope()
            except Exception as err:  # noqa: BLE001 - a broken token source means "no login"
                self.message = f"Globus login unreadable: {type(err).__name__}"
                raise SourceUnavailable(self.message) from None
            if not scope:
                self.message = "Not logged in to Globus: only local runs are listed."
                raise SourceUnavailable(self.message)
            if self._client is None or scope != self._scope:
                self._client = globus_sdk.FlowsClient(
                    authorizer=self._session.authorizer_for(scope))
                self._scope = scope
            local_url = self._local.base_url if self._local is not None else ""
            if local_url and str(self._client.base_url).startswith(local_url):
                # GLOBUS_SDK_SERVICE_URL_FLOWS points at the local service: list it once.
                self.message = "Globus Flows is redirected to the local service."
                raise SourceUnavailable(self.message)
            self.message = ""
            return self._client

    def web_url(self, run_id: str) -> str:
        return _monitor.web_app_url(run_id)

    def resume(self, run_id: str, flow_id: str) -> dict[str, t.Any]:
        """Resume with the flow's own scope, if this server's login holds it."""
        import globus_sdk

        self.client()  # raises SourceUnavailable without a login
        scope = str(globus_sdk.SpecificFlowClient(flow_id).scopes.user)
        if not self._session.holds(scope):
            raise SourceUnavailable(
                f"Resuming run {run_id} needs consent to its flow's scope {scope}, which this "
                f"server's Globus login does not hold; in a notebook, run "
                f"RunMonitor({run_id!r}).grant_consent_and_resume().")
        specific = globus_sdk.SpecificFlowClient(
            flow_id, authorizer=self._session.authorizer_for(scope))
        return response_data(specific.resume_run(run_id))

    def status(self) -> dict[str, t.Any]:
        try:
            self.client()
        except SourceUnavailable as err:
            return {"available": False, "message": str(err)}
        return {"available": True, "message": ""}
