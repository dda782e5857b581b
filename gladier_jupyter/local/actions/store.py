"""What the hosted action providers keep: the notification outbox, minted DOIs, and the
Wait For User Selection actions with their option addresses (``actions.sqlite3``).

Nothing here ever holds a credential: the notification's ``send_credentials`` and
DataCite's ``username``/``password`` are checked for shape and dropped.
"""

from __future__ import annotations

import json
import threading
import typing as t

from gladier_jupyter.local._db import open_database
from gladier_jupyter.local._http import ServiceContext

__all__ = ["OUTBOX_KEPT", "ActionsStore", "store_for"]

#: Messages the outbox keeps; older ones are dropped as new ones arrive.
OUTBOX_KEPT = 5000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT, time TEXT NOT NULL, run_id TEXT, state_name TEXT,
    sender TEXT, destination TEXT NOT NULL, subject TEXT, mimetype TEXT, body TEXT NOT NULL,
    message_id TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS outbox_run ON outbox(run_id);
CREATE TABLE IF NOT EXISTS dois (
    doi TEXT PRIMARY KEY, time TEXT NOT NULL, run_id TEXT, state_name TEXT, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS weboptions (
    action_id TEXT PRIMARY KEY, run_id TEXT, state_name TEXT, created TEXT NOT NULL,
    status TEXT NOT NULL, consumed INTEGER NOT NULL DEFAULT 0, body TEXT NOT NULL, selected TEXT);
CREATE INDEX IF NOT EXISTS weboptions_run ON weboptions(run_id, state_name);
CREATE TABLE IF NOT EXISTS weboption_addresses (
    kind TEXT NOT NULL, suffix TEXT NOT NULL, action_id TEXT NOT NULL, option INTEGER NOT NULL,
    PRIMARY KEY (kind, suffix));
"""


class ActionsStore:
    """Typed access to ``actions.sqlite3``; one connection guarded by a lock."""

    def __init__(self, ctx: ServiceContext):
        self.db = open_database(ctx.db_path("actions"), _SCHEMA)
        self.lock = threading.RLock()
        #: action_id -> callbacks to call once a selection is made (the engine's wake-ups)
        self.waiters: dict[str, list[t.Callable[[], None]]] = {}

    # -- outbox ---------------------------------------------------------------------------
    def add_message(self, msg: dict[str, t.Any]) -> int:
        with self.lock:
            cur = self.db.execute(
                "INSERT INTO outbox (time, run_id, state_name, sender, destination, subject, mimetype, body, message_id)"
                " VALUES (?,?,?,?,?,?,?,?,?)",
                (msg["time"], msg.get("run_id"), msg.get("state_name"), msg.get("sender"), msg["destination"],
                 msg.get("subject"), msg.get("mimetype"), msg["body"], msg["message_id"]))
            row_id = int(cur.lastrowid or 0)
            # The newest messages only: a flow looping on an email cannot fill the disk.
            self.db.execute("DELETE FROM outbox WHERE id <= ?", (row_id - OUTBOX_KEPT,))
            return row_id

    def messages(self, run_id: str | None = None, limit: int = 100) -> list[dict[str, t.Any]]:
        sql, args = "SELECT * FROM outbox", []
        if run_id:
            sql, args = sql + " WHERE run_id = ?", [run_id]
        with self.lock:
            rows = self.db.execute(sql + " ORDER BY id DESC LIMIT ?", (*args, limit)).fetchall()
        return [dict(r) for r in rows]

    # -- DOIs -----------------------------------------------------------------------------
    def add_doi(self, doi: str, time: str, run_id: str | None, state_name: str | None, doc: dict[str, t.Any]) -> bool:
        """Record a minted DOI; ``False`` when it was minted before."""
        with self.lock:
            cur = self.db.execute("INSERT OR IGNORE INTO dois (doi, time, run_id, state_name, doc) VALUES (?,?,?,?,?)",
                                  (doi.lower(), time, run_id, state_name, json.dumps(doc)))
            return cur.rowcount == 1

    def dois(self, limit: int = 100) -> list[dict[str, t.Any]]:
        with self.lock:
            rows = self.db.execute("SELECT doc FROM dois ORDER BY time DESC LIMIT ?", (limit,)).fetchall()
        return [json.loads(r["doc"]) for r in rows]

    # -- Wait For User Selection ----------------------------------------------------------
    def open_waits(self, run_id: str, state_name: str) -> list[dict[str, t.Any]]:
        """The run state's selection actions not yet taken up by the engine, newest first."""
        with self.lock:
            rows = self.db.execute(
                "SELECT * FROM weboptions WHERE run_id = ? AND state_name = ? AND consumed = 0 "
                "AND status IN ('ACTIVE', 'SUCCEEDED') ORDER BY created DESC", (run_id, state_name)).fetchall()
        return [_wait(r) for r in rows]

    def add_wait(self, action_id: str, run_id: str, state_name: str, created: str, body: dict[str, t.Any],
                 addresses: list[tuple[str, str, int]]) -> str | None:
        """Register a waiting action and its addresses; the address another waiting action
        holds, if any (nothing is registered then)."""
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                for kind, suffix, _ in addresses:
                    row = self.db.execute(
                        "SELECT w.status FROM weboption_addresses a JOIN weboptions w ON a.action_id = w.action_id "
                        "WHERE a.kind = ? AND a.suffix = ?", (kind, suffix)).fetchone()
                    if row is not None and row["status"] == "ACTIVE":
                        self.db.execute("ROLLBACK")
                        return f"{kind}/{suffix}"
                self.db.execute("INSERT INTO weboptions (action_id, run_id, state_name, created, status, body) "
                                "VALUES (?,?,?,?, 'ACTIVE', ?)", (action_id, run_id, state_name, created, json.dumps(body)))
                self.db.executemany("INSERT OR REPLACE INTO weboption_addresses (kind, suffix, action_id, option) "
                                    "VALUES (?,?,?,?)", [(k, s, action_id, i) for k, s, i in addresses])
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
        return None

    def get_wait(self, action_id: str) -> dict[str, t.Any] | None:
        with self.lock:
            row = self.db.execute("SELECT * FROM weboptions WHERE action_id = ?", (action_id,)).fetchone()
        return _wait(row) if row is not None else None

    def find_address(self, kind: str, suffix: str) -> tuple[dict[str, t.Any], int] | None:
        """The still waiting action an address belongs to, with the option's index."""
        with self.lock:
            row = self.db.execute(
                "SELECT w.*, a.option AS option_index FROM weboption_addresses a JOIN weboptions w "
                "ON a.action_id = w.action_id WHERE a.kind = ? AND a.suffix = ? AND w.status = 'ACTIVE'",
                (kind, suffix)).fetchone()
        return (_wait(row), int(row["option_index"])) if row is not None else None

    def waiting(self, run_id: str | None = None) -> list[dict[str, t.Any]]:
        sql, args = "SELECT * FROM weboptions WHERE status = 'ACTIVE'", []
        if run_id:
            sql, args = sql + " AND run_id = ?", [run_id]
        with self.lock:
            rows = self.db.execute(sql + " ORDER BY created", args).fetchall()
        return [_wait(r) for r in rows]

    def select(self, action_id: str, selected: dict[str, t.Any]) -> bool:
        """Record the selection once; ``False`` when the action was no longer waiting."""
        with self.lock:
            cur = self.db.execute("UPDATE weboptions SET status = 'SUCCEEDED', selected = ? "
                                  "WHERE action_id = ? AND status = 'ACTIVE'", (json.dumps(selected), action_id))
            done = cur.rowcount == 1
            callbacks = self.waiters.pop(action_id, []) if done else []
        for callback in callbacks:
            callback()
        return done

    def set_wait_status(self, action_id: str, status: str, consumed: bool = False) -> None:
        with self.lock:
            self.db.execute("UPDATE weboptions SET status = CASE WHEN status = 'ACTIVE' THEN ? ELSE status END, "
                            "consumed = MAX(consumed, ?) WHERE action_id = ?", (status, int(consumed), action_id))
            callbacks = self.waiters.pop(action_id, []) if status != "ACTIVE" else []
        for callback in callbacks:
            callback()

    def on_change(self, action_id: str, callback: t.Callable[[], None]) -> None:
        """Call ``callback()`` once the action leaves ACTIVE (at once if it has)."""
        with self.lock:
            row = self.db.execute("SELECT status FROM weboptions WHERE action_id = ?", (action_id,)).fetchone()
            if row is not None and row["status"] == "ACTIVE":
                self.waiters.setdefault(action_id, []).append(callback)
                return
        callback()

    def close(self) -> None:
        with self.lock:
            self.db.close()


def _wait(row: t.Any) -> dict[str, t.Any]:
    doc = dict(row)
    doc["body"] = json.loads(doc["body"])
    doc["selected"] = json.loads(doc["selected"]) if doc.get("selected") else None
    return doc


def store_for(ctx: ServiceContext) -> ActionsStore:
    """The service's actions store (made on first use when the actions API is not mounted)."""
    service = ctx.services.get("actions")
    store = getattr(service, "store", None)
    if store is None:
        store = ctx.services.get("_actions_store")
        if store is None:
            store = ctx.services.setdefault("_actions_store", ActionsStore(ctx))
    return store
