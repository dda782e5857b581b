"""Runs on a Flows API, as the tests see them: waiting for one to end, reading its log."""

from __future__ import annotations

import typing as t

from tests._fixtures.waiting import wait_until

__all__ = ["TERMINAL", "run_log", "wait_for_run", "wait_for_log_code"]

TERMINAL = ("SUCCEEDED", "FAILED", "ENDED")


def wait_for_run(flows_client: t.Any, run_id: str, timeout: float = 120.0, *,
                 statuses: t.Collection[str] = TERMINAL) -> dict[str, t.Any]:
    """The run's document once it has ended (or reached one of ``statuses``, e.g.
    ``INACTIVE``); fails the test if it has not within ``timeout``."""
    __tracebackhide__ = True
    what = f"run {run_id} ends" if statuses == TERMINAL else \
        f"run {run_id} reaches {' or '.join(sorted(statuses))}"
    return wait_until(lambda: flows_client.get_run(run_id).data, timeout, what,
                      until=lambda run: run["status"] in statuses)


def run_log(flows_client: t.Any, run_id: str) -> list[dict[str, t.Any]]:
    """Every log entry of a run, following the markers."""
    entries: list[dict[str, t.Any]] = []
    for page in flows_client.paginated.get_run_logs(run_id, limit=100).pages():
        entries.extend(page["entries"])
    return entries


def wait_for_log_code(flows_client: t.Any, run_id: str, code: str,
                      timeout: float = 60.0) -> list[dict[str, t.Any]]:
    """The run's log once an entry with ``code`` (e.g. ``"WaitStarted"``) is in it."""
    __tracebackhide__ = True
    return wait_until(lambda: run_log(flows_client, run_id), timeout,
                      f"run {run_id} logs {code}",
                      until=lambda entries: any(e["code"] == code for e in entries))
