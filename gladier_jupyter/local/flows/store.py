"""SQLite store of the Flows API: flows, runs (with the engine's cursor) and run logs.

One connection in WAL mode behind a lock: every call is a short transaction, so the
Tornado thread and the run threads share it without waiting long. A run's document,
its cursor (the state to execute next and the flow document so far) and the log entries
of a state are written in one transaction, which is what lets a killed service resume.
Each run counts the bytes of its log: past ``log_budget`` new entries are stored shrunk
(:func:`.limits.shrink_entry`), so a runaway loop cannot fill the disk. Run documents and
log entries are stored without what a run never shows (:mod:`.secrets`): ``_private``
properties, RunAs tokens and the values of private Parameters (kept per run in
``run_secrets``, written by the engine before the first document that could hold them).
"""

from __future__ import annotations

import json
import pathlib
import threading
import typing as t

from gladier_jupyter.local._db import open_database
from gladier_jupyter.local.flows import limits, secrets

__all__ = ["FlowsStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS flows (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT UNIQUE NOT NULL,
    doc TEXT NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS runs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT UNIQUE NOT NULL,
    flow_id TEXT NOT NULL,
    status TEXT NOT NULL,
    doc TEXT NOT NULL,
    definition TEXT NOT NULL,
    cursor TEXT
);
CREATE INDEX IF NOT EXISTS runs_flow ON runs(flow_id, seq);
CREATE INDEX IF NOT EXISTS runs_status ON runs(status);
CREATE TABLE IF NOT EXISTS run_secrets (
    run_id TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (run_id, value)
);
CREATE TABLE IF NOT EXISTS run_state_inputs (
    run_id TEXT NOT NULL,
    state TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (run_id, state)
);
CREATE TABLE IF NOT EXISTS run_logs (
    run_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    entry TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
);
"""

_dumps = json.JSONEncoder(separators=(",", ":")).encode


class FlowsStore:
    """Typed access to the Flows database (one file in the service's state folder)."""

    def __init__(self, path: pathlib.Path | str, log_budget: int = limits.LOG_FULL_BYTES):
        self._lock = threading.Lock()
        self._log_budget = log_budget
        self._secrets: dict[str, tuple[list[t.Any], tuple[str, ...]]] = {}
        self._db = open_database(pathlib.Path(path), _SCHEMA)
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(runs)")}
        if "meta" not in columns:  # databases made before run updates were kept apart
            self._db.execute("ALTER TABLE runs ADD COLUMN meta TEXT")
        if "log_bytes" not in columns:  # databases made before run logs were bounded
            self._db.execute("ALTER TABLE runs ADD COLUMN log_bytes INTEGER NOT NULL DEFAULT 0")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- flows -----------------------------------------------------------------------
    def put_flow(self, doc: dict[str, t.Any]) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO flows (id, doc) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET doc=excluded.doc",
                (doc["id"], _dumps(doc)),
            )

    def get_flow(self, flow_id: str, *, include_deleted: bool = False) -> dict[str, t.Any] | None:
        with self._lock:
            row = self._db.execute("SELECT doc, deleted FROM flows WHERE id=?", (flow_id,)).fetchone()
        if row is None or (row[1] and not include_deleted):
            return None
        return json.loads(row[0])

    def delete_flow(self, flow_id: str, doc: dict[str, t.Any]) -> None:
        with self._lock:
            self._db.execute("UPDATE flows SET deleted=1, doc=? WHERE id=?", (_dumps(doc), flow_id))

    def list_flows(self, after_seq: int, limit: int) -> tuple[list[dict[str, t.Any]], int | None]:
        """Flows after ``after_seq`` (oldest first); the last seq when more remain."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, doc FROM flows WHERE deleted=0 AND seq>? ORDER BY seq LIMIT ?",
                (after_seq, limit + 1),
            ).fetchall()
        more = len(rows) > limit
        rows = rows[:limit]
        return [json.loads(r[1]) for r in rows], (rows[-1][0] if more else None)

    # -- runs ------------------------------------------------------------------------
    def create_run(
        self,
        doc: dict[str, t.Any],
        definition: dict[str, t.Any],
        cursor: dict[str, t.Any] | None,
        entries: list[dict[str, t.Any]],
    ) -> None:
        with self._lock, self._db:
            self._db.execute("BEGIN")
            self._db.execute(
                "INSERT INTO runs (run_id, flow_id, status, doc, definition, cursor) VALUES (?,?,?,?,?,?)",
                (
                    doc["run_id"],
                    doc["flow_id"],
                    doc["status"],
                    self._encode_shown(doc["run_id"], doc),
                    _dumps(definition),
                    _dumps(cursor) if cursor is not None else None,
                ),
            )
            self._append_logs(doc["run_id"], entries)

    def record(
        self,
        doc: dict[str, t.Any],
        cursor: dict[str, t.Any] | None,
        entries: t.Sequence[dict[str, t.Any]] = (),
        expect: t.Sequence[str] = ("ACTIVE",),
        state_inputs: t.Mapping[str, str] | None = None,
    ) -> bool:
        """One step of a run: its new document, cursor and log entries, atomically, and
        ``state_inputs`` (state name -> the JSON run data it started with).

        Only applies while the stored run's status is one of ``expect`` (a run canceled
        meanwhile stays canceled); ``False`` when it did not apply.
        """
        with self._lock, self._db:
            self._db.execute("BEGIN")
            cur = self._db.execute(
                f"UPDATE runs SET status=?, doc=?, cursor=? WHERE run_id=? "
                f"AND status IN ({','.join('?' * len(expect))})",
                (doc["status"], self._encode_shown(doc["run_id"], doc), _dumps(cursor) if cursor is not None else None,
                 doc["run_id"], *expect),
            )
            if cur.rowcount != 1:
                return False
            self._append_logs(doc["run_id"], entries)
            if state_inputs:
                self._put_state_inputs(doc["run_id"], state_inputs)
            return True

    # -- the data each state started with (re-run from a state) ----------------------
    def _put_state_inputs(self, run_id: str, state_inputs: t.Mapping[str, str]) -> None:
        # Called with the lock held. A state visited again keeps its latest start only,
        # so a loop stores one row per state, not one per visit.
        self._db.executemany(
            "INSERT INTO run_state_inputs (run_id, state, data) VALUES (?,?,?) "
            "ON CONFLICT(run_id, state) DO UPDATE SET data=excluded.data",
            [(run_id, name, text) for name, text in state_inputs.items()],
        )

    def put_state_inputs(self, run_id: str, state_inputs: t.Mapping[str, str]) -> None:
        """Store the JSON run data states started with (outside a step's transaction)."""
        with self._lock, self._db:
            self._put_state_inputs(run_id, state_inputs)

    def get_state_inputs(self, run_id: str, *, shown: bool = True) -> dict[str, t.Any]:
        """State name -> the run data it last started with; ``shown``: as clients may see
        it (without the run's private values), else as the engine had it."""
        with self._lock:
            rows = self._db.execute(
                "SELECT state, data FROM run_state_inputs WHERE run_id=? ORDER BY rowid", (run_id,)).fetchall()
            out = {name: json.loads(text) for name, text in rows}
            if shown:
                out = {name: self._shown(run_id, value)[0] for name, value in out.items()}
        return out

    # -- what a run never shows ------------------------------------------------------
    def add_secrets(self, run_id: str, values: t.Iterable[t.Any]) -> None:
        """Remember private values of the run: no document or entry written after shows them."""
        rows = [(run_id, _dumps(v)) for v in values if isinstance(v, (str, dict, list)) and v]
        if not rows:
            return
        with self._lock:
            self._db.executemany("INSERT OR IGNORE INTO run_secrets (run_id, value) VALUES (?, ?)", rows)
            self._secrets.pop(run_id, None)

    def _run_secrets(self, run_id: str) -> tuple[list[t.Any], tuple[str, ...]]:
        # Called with the lock held.
        cached = self._secrets.get(run_id)
        if cached is None:
            values = [json.loads(r[0]) for r in self._db.execute(
                "SELECT value FROM run_secrets WHERE run_id=?", (run_id,))]
            cached = (values, secrets.triggers(values))
            if len(self._secrets) > 256:
                self._secrets.clear()
            self._secrets[run_id] = cached
        return cached

    def _shown(self, run_id: str, doc: t.Any) -> tuple[t.Any, str]:
        """``doc`` as clients may see it, and its JSON text."""
        text = _dumps(doc)
        values, trigger_texts = self._run_secrets(run_id)
        if secrets.needs_scrub(text, trigger_texts):
            doc = secrets.scrub(doc, values)
            text = _dumps(doc)
        return doc, text

    def _encode_shown(self, run_id: str, doc: t.Any) -> str:
        return self._shown(run_id, doc)[1]

    def _append_logs(self, run_id: str, entries: t.Sequence[dict[str, t.Any]]) -> None:
        if not entries:
            return
        (last,) = self._db.execute(
            "SELECT COALESCE(MAX(seq), 0) FROM run_logs WHERE run_id=?", (run_id,)
        ).fetchone()
        (used,) = self._db.execute("SELECT log_bytes FROM runs WHERE run_id=?", (run_id,)).fetchone()
        rows = []
        for i, entry in enumerate(entries):
            # Past the budget an entry is shrunk before it is encoded: encoding the whole
            # entries of a loop over a large input is what would cost.
            if used >= self._log_budget:
                text = self._encode_shown(run_id, limits.shrink_entry(entry, self._log_budget))
            else:
                entry, text = self._shown(run_id, entry)
                if used + len(text) > self._log_budget:
                    text = _dumps(limits.shrink_entry(entry, self._log_budget))
            used += len(text)  # the JSON is ASCII (ensure_ascii): characters are bytes
            rows.append((run_id, last + i + 1, text))
        self._db.executemany("INSERT INTO run_logs (run_id, seq, entry) VALUES (?,?,?)", rows)
        self._db.execute("UPDATE runs SET log_bytes=? WHERE run_id=?", (used, run_id))

    def log_count(self, run_id: str) -> int:
        """How many entries the run's log holds."""
        with self._lock:
            (count,) = self._db.execute(
                "SELECT COALESCE(MAX(seq), 0) FROM run_logs WHERE run_id=?", (run_id,)
            ).fetchone()
        return int(count)

    def set_run_meta(self, run_id: str, meta: dict[str, t.Any]) -> None:
        """Fields a user changed (label, tags, managers, monitors): kept apart from the
        document the engine writes, and laid over it whenever a run is read."""
        with self._lock:
            self._db.execute("UPDATE runs SET meta=? WHERE run_id=?", (_dumps(meta), run_id))

    @staticmethod
    def _doc(raw: str, meta: str | None) -> dict[str, t.Any]:
        doc = json.loads(raw)
        if meta:
            doc.update(json.loads(meta))
        return doc

    def get_run(self, run_id: str) -> dict[str, t.Any] | None:
        with self._lock:
            row = self._db.execute("SELECT doc, meta FROM runs WHERE run_id=?", (run_id,)).fetchone()
        return self._doc(row[0], row[1]) if row else None

    def get_run_state(
        self, run_id: str
    ) -> tuple[dict[str, t.Any], dict[str, t.Any], dict[str, t.Any] | None] | None:
        """``(doc, definition, cursor)`` of a run."""
        with self._lock:
            row = self._db.execute(
                "SELECT doc, definition, cursor, meta FROM runs WHERE run_id=?", (run_id,)
            ).fetchone()
        if row is None:
            return None
        return self._doc(row[0], row[3]), json.loads(row[1]), json.loads(row[2]) if row[2] else None

    def delete_run(self, run_id: str) -> None:
        with self._lock, self._db:
            self._db.execute("BEGIN")
            self._db.execute("DELETE FROM runs WHERE run_id=?", (run_id,))
            self._db.execute("DELETE FROM run_logs WHERE run_id=?", (run_id,))
            self._db.execute("DELETE FROM run_secrets WHERE run_id=?", (run_id,))
            self._db.execute("DELETE FROM run_state_inputs WHERE run_id=?", (run_id,))
            self._secrets.pop(run_id, None)

    def list_runs(
        self, flow_ids: t.Sequence[str], statuses: t.Sequence[str], after_seq: int, limit: int
    ) -> tuple[list[dict[str, t.Any]], int | None]:
        """Runs newest first, after the ``after_seq`` marker (0: from the newest)."""
        where: list[str] = []
        args: list[t.Any] = []
        if flow_ids:
            where.append(f"flow_id IN ({','.join('?' * len(flow_ids))})")
            args.extend(flow_ids)
        if statuses:
            where.append(f"status IN ({','.join('?' * len(statuses))})")
            args.extend(statuses)
        if after_seq:
            where.append("seq<?")
            args.append(after_seq)
        sql = "SELECT seq, doc, meta FROM runs"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY seq DESC LIMIT ?"
        args.append(limit + 1)
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        more = len(rows) > limit
        rows = rows[:limit]
        return [self._doc(r[1], r[2]) for r in rows], (rows[-1][0] if more else None)

    def matching_runs(self, flow_ids: t.Sequence[str], statuses: t.Sequence[str]) -> list[dict[str, t.Any]]:
        """Every run of ``flow_ids`` with one of ``statuses`` (all when empty), newest first."""
        where: list[str] = []
        args: list[t.Any] = []
        if flow_ids:
            where.append(f"flow_id IN ({','.join('?' * len(flow_ids))})")
            args.extend(flow_ids)
        if statuses:
            where.append(f"status IN ({','.join('?' * len(statuses))})")
            args.extend(statuses)
        sql = "SELECT doc, meta FROM runs" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY seq DESC"
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        return [self._doc(r[0], r[1]) for r in rows]

    def run_ids_with_status(self, status: str) -> list[str]:
        with self._lock:
            return [r[0] for r in self._db.execute("SELECT run_id FROM runs WHERE status=? ORDER BY seq", (status,))]

    def get_logs(
        self, run_id: str, after: int, limit: int, reverse: bool
    ) -> tuple[list[dict[str, t.Any]], int | None]:
        """Log entries past the marker ``after`` (a seq; 0 = from the start/end)."""
        if reverse:
            sql = "SELECT seq, entry FROM run_logs WHERE run_id=?"
            args: list[t.Any] = [run_id]
            if after:
                sql += " AND seq<?"
                args.append(after)
            sql += " ORDER BY seq DESC LIMIT ?"
        else:
            sql = "SELECT seq, entry FROM run_logs WHERE run_id=? AND seq>? ORDER BY seq LIMIT ?"
            args = [run_id, after]
        args.append(limit + 1)
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        more = len(rows) > limit
        rows = rows[:limit]
        return [json.loads(r[1]) for r in rows], (rows[-1][0] if more else None)
