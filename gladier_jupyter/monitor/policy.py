"""How often a watcher polls (local service vs Globus), and where a run shows on the web."""

from __future__ import annotations

import copy
import typing as t
import urllib.parse
from dataclasses import dataclass

__all__ = ["PollPolicy", "LOCAL_POLICY", "GLOBUS_POLICY", "is_local_client", "no_retry_client",
           "web_app_url"]

WEB_APP_RUN_URL = "https://app.globus.org/runs/{run_id}"


@dataclass(frozen=True)
class PollPolicy:
    """How often to poll: ``fast`` after a change, growing by ``factor`` up to ``slow``."""

    fast: float
    slow: float
    factor: float
    #: At most this many requests in any 60 s window for one run (None: no cap).
    max_per_minute: int | None
    #: Read the run document at least every this many polls even with no new log entries.
    run_every: int
    #: Backoff after transient failures: first delay and its cap.
    retry_first: float
    retry_max: float

    def next_delay(self, current: float | None, changed: bool) -> float:
        """The wait before the next poll, given the last wait and whether anything changed."""
        if changed or current is None:
            return self.fast
        return min(self.slow, max(self.fast, current * self.factor))

    def retry_delay(self, failures: int, retry_after: float | None = None) -> float:
        """The wait before retrying after ``failures`` transient failures in a row."""
        delay = min(self.retry_max, self.retry_first * (2 ** max(0, failures - 1)))
        if retry_after is not None:
            delay = max(delay, min(retry_after, 300.0))
        return delay


#: The local service is on this machine: poll often so a state change shows within 0.3 s.
LOCAL_POLICY = PollPolicy(
    fast=0.05, slow=0.1, factor=1.5, max_per_minute=None, run_every=5,
    retry_first=0.25, retry_max=2.0,
)
#: Globus: 0.5 s after a change, backing off to 10 s, never more than 30 requests a minute.
GLOBUS_POLICY = PollPolicy(
    fast=0.5, slow=10.0, factor=2.0, max_per_minute=30, run_every=3,
    retry_first=1.0, retry_max=30.0,
)


def is_local_client(flows_client: t.Any) -> bool:
    """True when the client talks to a service on this machine (the local service)."""
    base = str(getattr(flows_client, "base_url", "") or "")
    host = urllib.parse.urlparse(base).hostname or ""
    return host in {"127.0.0.1", "localhost", "::1"}


def no_retry_client(flows_client: t.Any) -> t.Any:
    """A copy of ``flows_client`` whose requests globus-sdk sends once, never retrying.

    The watcher owns retries for monitoring (its :class:`PollPolicy` backoff, shown to the
    user as "reconnecting"); under globus-sdk's own retries (5, with backoff) a failing
    service would show as "live" for about 15 s first. The copy shares the client's
    transport (certificate, proxies), authorizer and URL; only its retry settings differ, so
    the caller's client (``run_flow``, cancel, resume) keeps globus-sdk's retries.
    """
    if not hasattr(flows_client, "retry_config") or not hasattr(flows_client, "transport"):
        return flows_client  # not a globus-sdk client: nothing to turn off
    from globus_sdk.transport import RetryConfig

    client = copy.copy(flows_client)
    retry_config = RetryConfig(max_retries=0)
    register = getattr(client, "_register_standard_retry_checks", None)
    if callable(register):
        register(retry_config)
    client.retry_config = retry_config
    # The copy closes nothing: the transport and the rest still belong to the original.
    if isinstance(getattr(client, "_resources_to_close", None), list):
        client._resources_to_close = []
    return client


def web_app_url(run_id: str) -> str:
    """The run's page in the Globus web app."""
    return WEB_APP_RUN_URL.format(run_id=urllib.parse.quote(str(run_id)))
