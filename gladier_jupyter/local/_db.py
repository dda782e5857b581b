"""SQLite as every API of the local service opens it."""

from __future__ import annotations

import pathlib
import sqlite3

__all__ = ["open_database"]


def open_database(path: pathlib.Path, schema: str) -> sqlite3.Connection:
    """One shared connection to an API's database file, its schema created if missing.

    WAL lets readers go on while a run commits; ``synchronous=NORMAL`` keeps every commit
    after a crash of the service (only a power loss can take the last ones). Autocommit
    (``isolation_level=None``): the stores open explicit transactions where they need them.
    Callers guard the connection with their own lock (``check_same_thread=False``).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    # The file is this user's only whatever the umask of the process that opens it first
    # (SQLite gives its -wal and -shm files the database file's mode).
    import os

    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    os.close(fd)
    db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
    db.row_factory = sqlite3.Row
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.executescript(schema)
    return db
