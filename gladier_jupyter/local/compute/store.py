"""SQLite store of the local Compute API: registered functions and tasks."""

from __future__ import annotations

import json
import pathlib
import sqlite3
import threading
import time
import typing as t
import uuid

from gladier_jupyter.local._db import open_database

__all__ = ["ComputeStore", "TERMINAL_STATUSES"]

TERMINAL_STATUSES = frozenset({"success", "failed"})

_SCHEMA = """
CREATE TABLE IF NOT EXISTS functions (
    function_uuid TEXT PRIMARY KEY,
    function_name TEXT NOT NULL,
    function_code TEXT NOT NULL,
    description TEXT,
    metadata TEXT NOT NULL,
    public INTEGER NOT NULL DEFAULT 0,
    group_id TEXT,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS tasks (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id TEXT NOT NULL UNIQUE,
    function_uuid TEXT NOT NULL,
    endpoint_id TEXT NOT NULL,
    task_group_id TEXT NOT NULL,
    payload TEXT NOT NULL,
    timeout REAL,
    status TEXT NOT NULL,
    result TEXT,
    result_json TEXT,
    exception TEXT,
    created REAL NOT NULL,
    started REAL,
    completion_t REAL,
    details TEXT
);
CREATE INDEX IF NOT EXISTS tasks_group ON tasks (task_group_id);
CREATE INDEX IF NOT EXISTS tasks_status ON tasks (status);
"""


class ComputeStore:
    """Typed access to ``compute.sqlite3`` (WAL, one connection guarded by a lock)."""

    def __init__(self, path: pathlib.Path):
        self._lock = threading.RLock()
        self._db = open_database(path, _SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # functions

    def add_function(
        self,
        *,
        function_name: str,
        function_code: str,
        description: str | None,
        metadata: dict[str, t.Any],
        public: bool = False,
        group: str | None = None,
    ) -> str:
        function_uuid = str(uuid.uuid4())
        with self._lock:
            self._db.execute(
                "INSERT INTO functions VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    function_uuid,
                    function_name,
                    function_code,
                    description,
                    json.dumps(metadata),
                    int(public),
                    group,
                    time.time(),
                ),
            )
        return function_uuid

    def get_function(self, function_uuid: str) -> dict[str, t.Any] | None:
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM functions WHERE function_uuid = ?", (function_uuid,)
            ).fetchone()
        if row is None:
            return None
        doc = dict(row)
        doc["metadata"] = json.loads(doc["metadata"])
        doc["public"] = bool(doc["public"])
        return doc

    def delete_function(self, function_uuid: str) -> bool:
        with self._lock:
            cur = self._db.execute(
                "DELETE FROM functions WHERE function_uuid = ?", (function_uuid,)
            )
        return cur.rowcount > 0

    # tasks

    def add_tasks(self, rows: list[dict[str, t.Any]]) -> None:
        """Insert new tasks (each row: task_id, function_uuid, endpoint_id, task_group_id,
        payload, timeout; ``status`` "running" for one that goes to an idle worker at once,
        "pending" otherwise) in one transaction."""
        now = time.time()
        values = [
            (
                r["task_id"],
                r["function_uuid"],
                r["endpoint_id"],
                r["task_group_id"],
                r["payload"],
                r.get("timeout"),
                r.get("status", "pending"),
                now,
                now if r.get("status") == "running" else None,
            )
            for r in rows
        ]
        insert = (
            "INSERT INTO tasks (task_id, function_uuid, endpoint_id, task_group_id, payload,"
            " timeout, status, created, started) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        )
        with self._lock:
            if len(values) == 1:  # one statement is its own transaction
                self._db.execute(insert, values[0])
                return
            self._db.execute("BEGIN")
            try:
                self._db.executemany(insert, values)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def get_task(self, task_id: str) -> dict[str, t.Any] | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM tasks WHERE task_id = ?", (task_id,)).fetchone()
        return _task_row(row)

    def get_tasks(self, task_ids: t.Iterable[str]) -> dict[str, dict[str, t.Any]]:
        ids = list(task_ids)
        out: dict[str, dict[str, t.Any]] = {}
        with self._lock:
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                marks = ",".join("?" * len(chunk))
                for row in self._db.execute(
                    f"SELECT * FROM tasks WHERE task_id IN ({marks})", chunk
                ):
                    doc = _task_row(row)
                    assert doc is not None
                    out[doc["task_id"]] = doc
        return out

    def task_group(self, task_group_id: str) -> list[dict[str, t.Any]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT task_id, created FROM tasks WHERE task_group_id = ? ORDER BY seq",
                (task_group_id,),
            ).fetchall()
        return [dict(r) for r in rows]

    def mark_running(self, task_id: str) -> bool:
        """Move a pending task to running; False if it is no longer pending (cancelled)."""
        with self._lock:
            cur = self._db.execute(
                "UPDATE tasks SET status = 'running', started = ? "
                "WHERE task_id = ? AND status = 'pending'",
                (time.time(), task_id),
            )
        return cur.rowcount > 0

    def cancel_pending(self, task_id: str, exception: str) -> bool:
        """End a task that has not started yet; False if it already has."""
        with self._lock:
            cur = self._db.execute(
                "UPDATE tasks SET status = 'failed', exception = ?, completion_t = ?,"
                " details = '{}' WHERE task_id = ? AND status = 'pending'",
                (exception, time.time(), task_id),
            )
        return cur.rowcount > 0

    def finish(
        self,
        task_id: str,
        *,
        status: str,
        result: str | None = None,
        result_json: str | None = None,
        exception: str | None = None,
        details_json: str = "{}",
    ) -> float | None:
        """Record the end of a task once (``details_json``: its details as JSON text): its
        completion time, or None if it had already ended."""
        now = time.time()
        with self._lock:
            cur = self._db.execute(
                "UPDATE tasks SET status = ?, result = ?, result_json = ?, exception = ?,"
                " completion_t = ?, details = ? WHERE task_id = ? AND status NOT IN"
                " ('success', 'failed')",
                (
                    status,
                    result,
                    result_json,
                    exception,
                    now,
                    details_json,
                    task_id,
                ),
            )
        return now if cur.rowcount > 0 else None

    def unfinished(self) -> list[dict[str, t.Any]]:
        """Tasks not yet ended, oldest first (used to recover after a restart)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM tasks WHERE status IN ('pending', 'running') ORDER BY seq"
            ).fetchall()
        return [d for d in (_task_row(r) for r in rows) if d is not None]

    def endpoint_ids(self) -> list[str]:
        """Endpoint ids tasks were sent to, first used first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT endpoint_id FROM tasks GROUP BY endpoint_id ORDER BY MIN(seq)"
            ).fetchall()
        return [r[0] for r in rows]

    def counts(self) -> dict[str, int]:
        with self._lock:
            rows = self._db.execute("SELECT status, COUNT(*) FROM tasks GROUP BY status").fetchall()
        return {r[0]: r[1] for r in rows}


def _task_row(row: sqlite3.Row | None) -> dict[str, t.Any] | None:
    if row is None:
        return None
    doc = dict(row)
    doc["details"] = json.loads(doc["details"]) if doc["details"] else {}
    return doc
