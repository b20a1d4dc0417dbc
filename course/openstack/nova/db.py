"""Nova's databases, in one small SQLite store.

Real Nova has an API database (``nova_api``: ``cell_mappings``, ``host_mappings``,
``instance_mappings``, ``build_requests``, ``request_specs``; ``nova/db/api/models.py``),
one database per cell (``nova_cell0``, ``nova_cell1``: ``instances``, ``services``,
``compute_nodes``, ``instance_actions``...; ``nova/db/main/models.py``) and Placement's
own database.  Here each is a name in the ``db`` column of one table of JSON
records, so the whole store stays a screen long; the states an instance goes
through are kept apart (``instance_states``) for ``Server.history``.

The store is SQLite from the standard library: an in-memory database shared by
every service of the process (``file:nova-<uuid>?mode=memory&cache=shared``) by
default, or a file, so that nova-api, nova-conductor and nova-scheduler run as
separate processes on one machine share it as they share MySQL.  nova-compute never
opens it: it reaches the database through nova-conductor.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

API_DB = "nova_api"
PLACEMENT_DB = "placement"

SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    db TEXT NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (db, kind, key));
CREATE TABLE IF NOT EXISTS instance_states (
    id INTEGER PRIMARY KEY AUTOINCREMENT, instance_uuid TEXT NOT NULL,
    vm_state TEXT, task_state TEXT, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS instance_states_uuid ON instance_states (instance_uuid);
"""

#: One lock per database in this process: SQLite's shared cache refuses concurrent
#: writers from several connections instead of waiting, so they take turns here.
_LOCKS: dict[str, threading.RLock] = {}
_LOCKS_GUARD = threading.Lock()


def _lock_for(name: str) -> threading.RLock:
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(name, threading.RLock())


class Database:
    """A connection to the store; thread-safe; ``path`` None is a new in-memory store."""

    def __init__(self, path: str | None = None) -> None:
        self.path = path or f"file:nova-{uuid.uuid4().hex}?mode=memory&cache=shared"
        self._conn = sqlite3.connect(self.path, uri=self.path.startswith("file:"),
                                     check_same_thread=False, timeout=30,
                                     isolation_level=None)
        self._lock = _lock_for(self.path)
        with self._lock:
            if "mode=memory" not in self.path:
                self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.executescript(SCHEMA)

    def __repr__(self) -> str:
        return f"<Database {self.path}>"

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic unit of work, also against other processes sharing a file.

        Transactions nest: the outermost one commits.
        """
        with self._lock:
            if self._conn.in_transaction:
                yield self._conn
                return
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    # -- records ---------------------------------------------------------------------

    def get(self, db: str, kind: str, key: str) -> dict | None:
        with self._lock:
            row = self._conn.execute("SELECT data FROM records WHERE db=? AND kind=? AND key=?",
                                     (db, kind, key)).fetchone()
        return json.loads(row[0]) if row else None

    def list(self, db: str, kind: str) -> list[dict]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT data FROM records WHERE db=? AND kind=? ORDER BY rowid",
                (db, kind)).fetchall()
        return [json.loads(data) for (data,) in rows]

    def put(self, db: str, kind: str, key: str, data: dict) -> None:
        with self.transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO records VALUES (?, ?, ?, ?)",
                         (db, kind, key, json.dumps(data)))

    def add(self, db: str, kind: str, key: str, data: dict) -> bool:
        """Insert unless the key exists; True if inserted."""
        with self.transaction() as conn:
            cursor = conn.execute("INSERT OR IGNORE INTO records VALUES (?, ?, ?, ?)",
                                  (db, kind, key, json.dumps(data)))
            return cursor.rowcount == 1

    def update(self, db: str, kind: str, key: str,
               change: Callable[[dict], dict | None]) -> dict | None:
        """Read, change and write one record atomically; None if it does not exist.

        ``change`` gets the record and returns the new one (it may raise to refuse).
        """
        with self.transaction() as conn:
            row = conn.execute("SELECT data FROM records WHERE db=? AND kind=? AND key=?",
                               (db, kind, key)).fetchone()
            if row is None:
                return None
            new = change(json.loads(row[0]))
            if new is not None:
                conn.execute("UPDATE records SET data=? WHERE db=? AND kind=? AND key=?",
                             (json.dumps(new), db, kind, key))
            return new

    def delete(self, db: str, kind: str, key: str) -> bool:
        with self.transaction() as conn:
            cursor = conn.execute("DELETE FROM records WHERE db=? AND kind=? AND key=?",
                                  (db, kind, key))
            return cursor.rowcount == 1

    # -- instance states, for Server.history -----------------------------------------

    def add_state(self, instance_uuid: str, vm_state: str | None,
                  task_state: str | None) -> None:
        with self.transaction() as conn:
            conn.execute("INSERT INTO instance_states (instance_uuid, vm_state, task_state, at)"
                         " VALUES (?, ?, ?, ?)", (instance_uuid, vm_state, task_state,
                                                  time.time()))

    def states(self, instance_uuid: str) -> list[tuple[str | None, str | None]]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT vm_state, task_state FROM instance_states WHERE instance_uuid=? "
                "ORDER BY id", (instance_uuid,)).fetchall()
        return [(vm, task) for vm, task in rows]

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def open_database(database: Database | str | None) -> Database | None:
    """A Database from a path, or the one given; None stays None (no DB access)."""
    if database is None or isinstance(database, Database):
        return database
    return Database(database)

