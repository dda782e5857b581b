"""Watch a Globus flow run: the run document and its event log, read incrementally.

Backend-agnostic: it talks to anything shaped like ``globus_sdk.FlowsClient`` (the cloud
service or the local one). All watchers share ONE scheduler thread; polls run on a small
worker pool so a slow request for one run never holds up another, and the kernel's main
thread is never used. A watcher reports a fresh :class:`RunModel` snapshot to its
``on_update`` callback after every poll that changed something.

The package, by idea: ``policy`` (how often to poll), ``log`` (incremental log reading),
``model`` (run + log -> per-state status), ``scheduler`` (the shared thread) and
``watcher`` (one run, polled until it ends).
"""

from __future__ import annotations

from gladier_jupyter.monitor.log import (
    LOG_PAGE_SIZE,
    LOG_PAGES_PER_POLL,
    LogReader,
    http_status,
    response_data,
)
from gladier_jupyter.monitor.model import (
    CANCEL_CODES,
    MAX_JSON_CHARS,
    MAX_TIMELINE_BARS,
    STATE_STATUSES,
    TERMINAL_STATUSES,
    RunModel,
    StateInfo,
    document_outcome,
    format_duration,
    log_row,
    parse_time,
)
from gladier_jupyter.monitor.policy import (
    GLOBUS_POLICY,
    LOCAL_POLICY,
    PollPolicy,
    is_local_client,
    web_app_url,
)
from gladier_jupyter.monitor.scheduler import scheduler_thread
from gladier_jupyter.monitor.watcher import (
    CONNECTION_STATES,
    RunWatcher,
    classify_error,
    ended_in_log,
    fetch_definition,
)

__all__ = [
    "CANCEL_CODES",
    "CONNECTION_STATES",
    "GLOBUS_POLICY",
    "LOCAL_POLICY",
    "LOG_PAGE_SIZE",
    "LOG_PAGES_PER_POLL",
    "MAX_JSON_CHARS",
    "MAX_TIMELINE_BARS",
    "STATE_STATUSES",
    "TERMINAL_STATUSES",
    "LogReader",
    "PollPolicy",
    "RunModel",
    "RunWatcher",
    "StateInfo",
    "classify_error",
    "document_outcome",
    "ended_in_log",
    "fetch_definition",
    "http_status",
    "is_local_client",
    "log_row",
    "parse_time",
    "format_duration",
    "response_data",
    "scheduler_thread",
    "web_app_url",
]
