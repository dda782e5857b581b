"""SQLite store of the local Search API: indices, entries (with an FTS5 index) and tasks."""

from __future__ import annotations

import base64
import datetime
import json
import os
import pathlib
import sqlite3
import threading
import typing as t
import uuid

from gladier_jupyter.local._db import open_database

__all__ = ["SearchStore", "entry_text", "now_string"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS indices (
    id TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    description TEXT NOT NULL,
    creation_date TEXT NOT NULL,
    is_trial INTEGER NOT NULL DEFAULT 1,
    subscription_id TEXT,
    max_size_in_mb INTEGER NOT NULL DEFAULT 1,
    status TEXT NOT NULL DEFAULT 'open',
    seq INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS entries (
    rowid INTEGER PRIMARY KEY,
    index_id TEXT NOT NULL,
    subject TEXT NOT NULL,
    entry_id TEXT NOT NULL DEFAULT '',
    content TEXT NOT NULL,
    visible_to TEXT NOT NULL,
    text TEXT NOT NULL,
    UNIQUE (index_id, subject, entry_id)
);
CREATE VIRTUAL TABLE IF NOT EXISTS entries_fts USING fts5(
    text, content='entries', content_rowid='rowid', tokenize='unicode61 remove_diacritics 2'
);
CREATE TRIGGER IF NOT EXISTS entries_ai AFTER INSERT ON entries BEGIN
    INSERT INTO entries_fts (rowid, text) VALUES (new.rowid, new.text);
END;
CREATE TRIGGER IF NOT EXISTS entries_ad AFTER DELETE ON entries BEGIN
    INSERT INTO entries_fts (entries_fts, rowid, text) VALUES ('delete', old.rowid, old.text);
END;
CREATE TRIGGER IF NOT EXISTS entries_au AFTER UPDATE ON entries BEGIN
    INSERT INTO entries_fts (entries_fts, rowid, text) VALUES ('delete', old.rowid, old.text);
    INSERT INTO entries_fts (rowid, text) VALUES (new.rowid, new.text);
END;
CREATE TABLE IF NOT EXISTS tasks (
    task_id TEXT PRIMARY KEY,
    index_id TEXT NOT NULL,
    task_type TEXT NOT NULL,
    state TEXT NOT NULL,
    state_description TEXT NOT NULL,
    message TEXT NOT NULL,
    creation_date TEXT NOT NULL,
    completion_date TEXT,
    additional_details TEXT,
    seq INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS tasks_index ON tasks (index_id, seq);
CREATE TABLE IF NOT EXISTS roles (
    id TEXT PRIMARY KEY,
    index_id TEXT NOT NULL,
    role_name TEXT NOT NULL,
    principal TEXT NOT NULL,
    principal_type TEXT NOT NULL,
    creation_date TEXT NOT NULL,
    seq INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS roles_index ON roles (index_id, seq);
"""


def now_string() -> str:
    """Search's timestamp format (``2021-04-05 15:05:18``, UTC)."""
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def entry_text(content: t.Any) -> str:
    """Every scalar value of an entry's content, as the text the full-text index holds."""
    parts: list[str] = []

    def walk(value: t.Any) -> None:
        if isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, bool):
            parts.append("true" if value else "false")
        elif value is not None:
            parts.append(str(value))

    walk(content)
    return "\n".join(parts)


class SearchStore:
    """Typed access to ``search.sqlite3`` (WAL, one connection guarded by a lock)."""

    def __init__(self, path: pathlib.Path):
        self._lock = threading.RLock()
        self._db = open_database(path, _SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # indices

    def add_index(self, display_name: str, description: str) -> dict[str, t.Any]:
        index_id = str(uuid.uuid4())
        with self._lock:
            seq = self._db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM indices").fetchone()[0]
            self._db.execute(
                "INSERT INTO indices (id, display_name, description, creation_date, seq)"
                " VALUES (?, ?, ?, ?, ?)",
                (index_id, display_name, description, now_string(), seq),
            )
        index = self.get_index(index_id)
        assert index is not None
        return index

    def get_index(self, index_id: str) -> dict[str, t.Any] | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM indices WHERE id = ?", (index_id,)).fetchone()
            if row is None:
                return None
            return self._with_sizes(dict(row))

    def list_indices(self) -> list[dict[str, t.Any]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM indices WHERE status = 'open' ORDER BY seq"
            ).fetchall()
            return [self._with_sizes(dict(r)) for r in rows]

    def update_index(self, index_id: str, **fields: t.Any) -> None:
        allowed = {"display_name", "description", "status"}
        sets = {k: v for k, v in fields.items() if k in allowed and v is not None}
        if not sets:
            return
        with self._lock:
            self._db.execute(
                f"UPDATE indices SET {', '.join(f'{k} = ?' for k in sets)} WHERE id = ?",
                (*sets.values(), index_id),
            )

    def _with_sizes(self, index: dict[str, t.Any]) -> dict[str, t.Any]:
        num_entries, num_subjects, size = self._db.execute(
            "SELECT COUNT(*), COUNT(DISTINCT subject), COALESCE(SUM(LENGTH(content)), 0)"
            " FROM entries WHERE index_id = ?",
            (index["id"],),
        ).fetchone()
        index["num_entries"] = num_entries
        index["num_subjects"] = num_subjects
        index["size_in_mb"] = int(size // (1024 * 1024))
        return index

    # roles

    def add_role(self, index_id: str, role_name: str, principal: str) -> dict[str, t.Any]:
        role_id = base64.urlsafe_b64encode(os.urandom(6)).decode()
        principal_type = "group" if principal.startswith("urn:globus:groups:") else "identity"
        with self._lock:
            seq = self._db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM roles").fetchone()[0]
            self._db.execute(
                "INSERT INTO roles VALUES (?, ?, ?, ?, ?, ?, ?)",
                (role_id, index_id, role_name, principal, principal_type, now_string(), seq),
            )
        role = self.get_role(index_id, role_id)
        assert role is not None
        return role

    def get_role(self, index_id: str, role_id: str) -> dict[str, t.Any] | None:
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM roles WHERE index_id = ? AND id = ?", (index_id, role_id)
            ).fetchone()
        return _role(row) if row else None

    def list_roles(self, index_id: str) -> list[dict[str, t.Any]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM roles WHERE index_id = ? ORDER BY seq", (index_id,)
            ).fetchall()
        return [_role(r) for r in rows]

    def delete_role(self, index_id: str, role_id: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM roles WHERE index_id = ? AND id = ?", (index_id, role_id))

    # entries

    def upsert_entries(self, index_id: str, entries: list[dict[str, t.Any]]) -> int:
        """Write entries (subject, entry_id, content, visible_to) in one transaction.

        An entry with the same subject and entry id replaces the stored one, as in Search.
        """
        with self._lock:
            self._db.execute("BEGIN")
            try:
                self._db.executemany(
                    "INSERT INTO entries (index_id, subject, entry_id, content, visible_to, text)"
                    " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (index_id, subject, entry_id)"
                    " DO UPDATE SET content = excluded.content,"
                    " visible_to = excluded.visible_to, text = excluded.text",
                    [
                        (
                            index_id,
                            e["subject"],
                            e.get("entry_id") or "",
                            json.dumps(e["content"]),
                            json.dumps(e["visible_to"]),
                            entry_text(e["content"]),
                        )
                        for e in entries
                    ],
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return len(entries)

    def match(self, index_id: str, fts_query: str | None) -> list[tuple[dict[str, t.Any], float]]:
        """Entries of an index matching an FTS5 query (all entries for ``None``), with rank
        (lower is better), best first."""
        with self._lock:
            if fts_query is None:
                rows = self._db.execute(
                    "SELECT rowid, *, 0.0 AS rank FROM entries WHERE index_id = ? ORDER BY rowid",
                    (index_id,),
                ).fetchall()
            else:
                rows = self._db.execute(
                    "SELECT e.rowid AS rowid, e.*, bm25(entries_fts) AS rank"
                    " FROM entries_fts JOIN entries e ON e.rowid = entries_fts.rowid"
                    " WHERE entries_fts MATCH ? AND e.index_id = ? ORDER BY rank, e.rowid",
                    (fts_query, index_id),
                ).fetchall()
        return [(_entry(r), float(r["rank"])) for r in rows]

    def subject_entries(self, index_id: str, subject: str) -> list[dict[str, t.Any]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT rowid, * FROM entries WHERE index_id = ? AND subject = ? ORDER BY rowid",
                (index_id, subject),
            ).fetchall()
        return [_entry(r) for r in rows]

    def delete_subjects(self, index_id: str, subjects: list[str]) -> int:
        with self._lock:
            before = self._db.total_changes
            self._db.executemany(
                "DELETE FROM entries WHERE index_id = ? AND subject = ?",
                [(index_id, s) for s in subjects],
            )
            return self._db.total_changes - before

    def delete_entry(self, index_id: str, subject: str, entry_id: str | None) -> int:
        with self._lock:
            cur = self._db.execute(
                "DELETE FROM entries WHERE index_id = ? AND subject = ? AND entry_id = ?",
                (index_id, subject, entry_id or ""),
            )
            return cur.rowcount

    def delete_rows(self, rowids: list[int]) -> int:
        with self._lock:
            before = self._db.total_changes
            self._db.executemany("DELETE FROM entries WHERE rowid = ?", [(r,) for r in rowids])
            return self._db.total_changes - before

    # tasks

    def add_task(
        self,
        index_id: str,
        task_type: str,
        *,
        state: str,
        message: str,
        additional_details: dict[str, t.Any] | None = None,
    ) -> str:
        task_id = str(uuid.uuid4())
        now = now_string()
        description = {
            "SUCCESS": "Task succeeded",
            "FAILED": "Task failed",
            "PENDING": "Task pending",
        }.get(state, state)
        with self._lock:
            seq = self._db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM tasks").fetchone()[0]
            self._db.execute(
                "INSERT INTO tasks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    task_id,
                    index_id,
                    task_type,
                    state,
                    description,
                    message,
                    now,
                    now if state in ("SUCCESS", "FAILED") else None,
                    json.dumps(additional_details) if additional_details else None,
                    seq,
                ),
            )
        return task_id

    def get_task(self, task_id: str) -> dict[str, t.Any] | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM tasks WHERE task_id = ?", (task_id,)).fetchone()
        return _task(row) if row else None

    def list_tasks(self, index_id: str, limit: int = 1000) -> list[dict[str, t.Any]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM tasks WHERE index_id = ? ORDER BY seq DESC LIMIT ?",
                (index_id, limit),
            ).fetchall()
        return [_task(r) for r in rows]


def _entry(row: sqlite3.Row) -> dict[str, t.Any]:
    return {
        "rowid": row["rowid"],
        "subject": row["subject"],
        "entry_id": row["entry_id"] or None,
        "content": json.loads(row["content"]),
        "visible_to": json.loads(row["visible_to"]),
    }


def _role(row: sqlite3.Row) -> dict[str, t.Any]:
    doc = dict(row)
    doc.pop("seq", None)
    return doc


def _task(row: sqlite3.Row) -> dict[str, t.Any]:
    doc = dict(row)
    doc.pop("seq", None)
    doc["additional_details"] = (
        json.loads(doc["additional_details"]) if doc["additional_details"] else None
    )
    return doc
