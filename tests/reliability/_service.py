"""Helpers of the reliability tests: private services (own state folder, own environment),
clients on them, run waiting and counting what the service stores."""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import sqlite3
import threading
import typing as t
import uuid

import globus_sdk

from tests._fixtures.environ import environ_set
from tests._fixtures.runs import TERMINAL as TERMINAL
from tests._fixtures.runs import run_log as run_log
from tests._fixtures.runs import wait_for_run as wait_for_run

DATA = pathlib.Path(__file__).resolve().parent.parent / "data"
BAD = DATA / "bad_inputs"
COMPUTE_URL = "https://compute.actions.globus.org"
ENDPOINT = "4b116d3c-1703-4f8f-9f6f-39921e5864df"

_env_lock = threading.Lock()


def full_size() -> bool:
    """``RELIABILITY_FULL=1`` (set by ``bench/bench_reliability.py``) runs the full sizes."""
    return os.environ.get("RELIABILITY_FULL") == "1"


@contextlib.contextmanager
def private_service(state_dir: pathlib.Path, **env: str) -> t.Iterator[t.Any]:
    """A service of its own in ``state_dir``, started with ``env`` added to its environment
    (e.g. ``GLADIER_JUPYTER_FAULTS``); stopped at the end. Never the shared session service."""
    from gladier_jupyter import local

    with _env_lock, environ_set(env):
        info = local.ensure_running(state_dir)
    try:
        yield info
    finally:
        local.stop(state_dir)


@contextlib.contextmanager
def as_backend(info: t.Any) -> t.Iterator[None]:
    """Point this process's backend (gladier clients, globus-sdk env URLs) at ``info``'s
    service for the block, then put back what was there (the shared service, usually)."""
    from gladier_jupyter import backend

    def ours(k: str) -> bool:
        return k.startswith("GLOBUS_SDK_SERVICE_URL_") or k == "GLOBUS_SDK_VERIFY_SSL"

    saved_env = {k: os.environ[k] for k in os.environ if ours(k)}
    saved_state = dict(backend._state)
    backend.use_local(info.state_dir)
    try:
        yield
    finally:
        for k in [k for k in os.environ if ours(k)]:
            os.environ.pop(k)
        os.environ.update(saved_env)
        backend._state.clear()
        backend._state.update(saved_state)


def authorizer(info: t.Any) -> globus_sdk.AccessTokenAuthorizer:
    return globus_sdk.AccessTokenAuthorizer(info.secret)


def transport(info: t.Any) -> t.Any:
    """A globus-sdk transport that verifies ``info``'s service by its certificate."""
    from gladier_jupyter import backend

    return backend.local_transport(info)


def flows_client(info: t.Any, **kwargs: t.Any) -> globus_sdk.FlowsClient:
    """A FlowsClient on ``info``'s service; ``kwargs`` go to the client (e.g. another
    ``authorizer``, a ``retry_config``)."""
    kwargs.setdefault("authorizer", authorizer(info))
    return globus_sdk.FlowsClient(base_url=info.service_url("flows"), transport=transport(info),
                                  **kwargs)


def search_client(info: t.Any) -> globus_sdk.SearchClient:
    return globus_sdk.SearchClient(base_url=info.service_url("search"), authorizer=authorizer(info),
                                   transport=transport(info))


def compute_client(info: t.Any) -> t.Any:
    from globus_compute_sdk.serialize import DillCodeSource

    from gladier_jupyter.local.compute import compute_client as make

    return make(info.service_url("compute").rstrip("/"), info.secret, ca_file=info.ca_file,
                code_serialization_strategy=DillCodeSource())


def deploy(fc: globus_sdk.FlowsClient, definition: dict, title: str = "reliability") -> str:
    return fc.create_flow(title, definition, {}).data["id"]


def start(fc: globus_sdk.FlowsClient, flow_id: str, body: dict | None = None,
          label: str = "reliability") -> dict:
    return fc.post(f"/flows/{flow_id}/run", data={"body": body or {}, "label": label}).data


def compute_state(function_id: str, *, wait_time: float = 60, next_state: str | None = None,
                  eoaf: bool = True) -> dict:
    state: dict[str, t.Any] = {
        "Type": "Action",
        "ActionUrl": COMPUTE_URL,
        "ExceptionOnActionFailure": eoaf,
        "Parameters": {"tasks": [{"endpoint": ENDPOINT, "function": function_id, "payload.$": "$.input"}]},
        "ResultPath": "$.Result",
        "WaitTime": wait_time,
    }
    state["Next" if next_state else "End"] = next_state or True
    return state


def _rows(db: pathlib.Path, sql: str) -> list[tuple]:
    if not db.exists():
        return []
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return con.execute(sql).fetchall()
    except sqlite3.OperationalError:
        return []
    finally:
        con.close()


def stored_counts(state_dir: pathlib.Path) -> dict[str, int]:
    """What the service's databases hold: flows, runs, log entries, functions, search docs."""
    out = {
        "flows": _rows(state_dir / "flows.sqlite3", "SELECT COUNT(*) FROM flows")[0][0]
        if (state_dir / "flows.sqlite3").exists() else 0,
        "runs": _count(state_dir / "flows.sqlite3", "runs"),
        "log_entries": _count(state_dir / "flows.sqlite3", "run_logs"),
        "functions": _count(state_dir / "compute.sqlite3", "functions"),
    }
    out["search_docs"] = _search_docs(state_dir / "search.sqlite3")
    return out


def _count(db: pathlib.Path, table: str) -> int:
    rows = _rows(db, f"SELECT COUNT(*) FROM {table}")
    return rows[0][0] if rows else 0


def _search_docs(db: pathlib.Path) -> int:
    tables = [r[0] for r in _rows(db, "SELECT name FROM sqlite_master WHERE type='table'")]
    for name in ("entries", "documents", "docs", "subjects"):
        if name in tables:
            return _count(db, name)
    return 0


def log_ids(entries: list[dict]) -> list[str]:
    """A key per log entry (its JSON) to find doubles."""
    return [json.dumps(e, sort_keys=True) for e in entries]


def unique_label() -> str:
    return f"rel-{uuid.uuid4().hex[:10]}"
