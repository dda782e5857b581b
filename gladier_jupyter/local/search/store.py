"""SQLite store of the local Search API: indices, entries (with an FTS5 index) and tasks."""

from __future__ import annotations

import base64
import datetime
import json
import math
import os
import pathlib
import sqlite3
import threading
import typing as t
import uuid

from gladier_jupyter.local._db import open_database

from .query import Condition, date_key

__all__ = ["SearchStore", "entry_fields", "entry_text", "now_string"]

# 1: entry_fields (field queries) added; older files get it filled from their entries
_SCHEMA_VERSION = 1

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
-- every scalar of an entry's content under its dotted field path (list items share their
-- list's path), typed as Globus Search detects types: what field:value queries read
CREATE TABLE IF NOT EXISTS entry_fields (
    id INTEGER PRIMARY KEY,
    entry INTEGER NOT NULL,
    field TEXT NOT NULL,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    num REAL,
    date TEXT
);
CREATE INDEX IF NOT EXISTS entry_fields_entry ON entry_fields (entry);
CREATE INDEX IF NOT EXISTS entry_fields_field ON entry_fields (field, num);
CREATE VIRTUAL TABLE IF NOT EXISTS entry_fields_fts USING fts5(
    value, content='entry_fields', content_rowid='id',
    tokenize='unicode61 remove_diacritics 2'
);
CREATE TRIGGER IF NOT EXISTS entry_fields_ai AFTER INSERT ON entry_fields
WHEN new.kind != 'number' BEGIN
    INSERT INTO entry_fields_fts (rowid, value) VALUES (new.id, new.value);
END;
CREATE TRIGGER IF NOT EXISTS entry_fields_ad AFTER DELETE ON entry_fields
WHEN old.kind != 'number' BEGIN
    INSERT INTO entry_fields_fts (entry_fields_fts, rowid, value)
    VALUES ('delete', old.id, old.value);
END;
CREATE TRIGGER IF NOT EXISTS entries_fields_ad AFTER DELETE ON entries BEGIN
    DELETE FROM entry_fields WHERE entry = old.rowid;
END;
CREATE TRIGGER IF NOT EXISTS entries_fields_au AFTER UPDATE OF content ON entries BEGIN
    DELETE FROM entry_fields WHERE entry = old.rowid;
END;
-- the words of both full-text indices, for wildcard terms (GLOB over the vocabulary)
CREATE VIRTUAL TABLE IF NOT EXISTS entries_fts_terms USING fts5vocab(entries_fts, 'row');
CREATE VIRTUAL TABLE IF NOT EXISTS entries_fts_instances USING fts5vocab(entries_fts, 'instance');
CREATE VIRTUAL TABLE IF NOT EXISTS entry_fields_fts_terms USING fts5vocab(entry_fields_fts, 'row');
CREATE VIRTUAL TABLE IF NOT EXISTS entry_fields_fts_instances
    USING fts5vocab(entry_fields_fts, 'instance');
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


def entry_fields(content: t.Any) -> list[tuple[str, str, str, float | None, str | None]]:
    """Every scalar of an entry's content as ``(field, kind, text, number, date key)``.

    ``field`` is the dotted path (``metadata.keywords`` for each item of that list), as
    filters, sorts and field queries name it; ``kind`` is ``string``, ``number`` or
    ``boolean``; strings in a date format also get their sortable UTC date key.
    """
    out: list[tuple[str, str, str, float | None, str | None]] = []

    def walk(value: t.Any, path: str) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, f"{path}.{key}" if path else str(key))
        elif isinstance(value, list):
            for item in value:
                walk(item, path)
        elif isinstance(value, bool):
            out.append((path, "boolean", "true" if value else "false", None, None))
        elif isinstance(value, (int, float)):
            number = float(value) if math.isfinite(value) else None
            out.append((path, "number", str(value), number, None))
        elif isinstance(value, str):
            out.append((path, "string", value, None, date_key(value)))

    walk(content, "")
    return out


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
        if self._db.execute("PRAGMA user_version").fetchone()[0] < _SCHEMA_VERSION:
            self._fill_entry_fields()

    def _fill_entry_fields(self) -> None:
        with self._lock:
            self._db.execute("BEGIN")
            try:
                self._db.execute("DELETE FROM entry_fields")
                for row in self._db.execute("SELECT rowid, content FROM entries").fetchall():
                    self._insert_fields(row[0], json.loads(row[1]))
                self._db.execute(f"PRAGMA user_version = {_SCHEMA_VERSION}")
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def _insert_fields(self, rowid: int, content: t.Any) -> None:
        self._db.executemany(
            "INSERT INTO entry_fields (entry, field, kind, value, num, date)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [(rowid, *leaf) for leaf in entry_fields(content)],
        )

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
                for e in entries:
                    rowid = self._db.execute(
                        "INSERT INTO entries (index_id, subject, entry_id, content, visible_to,"
                        " text) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (index_id, subject,"
                        " entry_id) DO UPDATE SET content = excluded.content,"
                        " visible_to = excluded.visible_to, text = excluded.text"
                        " RETURNING rowid",
                        (
                            index_id,
                            e["subject"],
                            e.get("entry_id") or "",
                            json.dumps(e["content"]),
                            json.dumps(e["visible_to"]),
                            entry_text(e["content"]),
                        ),
                    ).fetchone()[0]
                    # the update trigger has removed the replaced content's fields
                    self._insert_fields(rowid, e["content"])
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return len(entries)

    def match(self, index_id: str, condition: Condition) -> list[tuple[dict[str, t.Any], float]]:
        """Entries of an index meeting a compiled query, with rank (lower is better), best
        first; entries its words do not rank come after, in ingest order."""
        rank_join = ""
        params: tuple[t.Any, ...] = ()
        if condition.rank is not None:
            rank_join = (
                " LEFT JOIN (SELECT rowid AS ranked, bm25(entries_fts) AS score FROM entries_fts"
                " WHERE entries_fts MATCH ?) r ON r.ranked = e.rowid"
            )
            params = (condition.rank,)
        score = "COALESCE(r.score, 0.0)" if rank_join else "0.0"
        with self._lock:
            rows = self._db.execute(
                f"SELECT e.rowid AS rowid, e.*, {score} AS rank FROM entries e{rank_join}"
                f" WHERE e.index_id = ? AND ({condition.where}) ORDER BY rank, e.rowid",
                (*params, index_id, *condition.params),
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
