"""SQLite state: one table per object type, the JSON body plus indexed columns for list filters.

Every write is a short transaction touching only the rows it changes (no whole-store rewrite). List
order is ``created DESC, seq DESC`` where ``seq`` is the INTEGER PRIMARY KEY (SQLite's rowid): it
grows with every insert, so objects created in the same second keep a stable order, and an index on
``created`` already carries ``seq`` for the tie-break.

Files use WAL with a busy timeout, so several processes (two notebooks) can share one database. In
one process, writers are serialised by a lock instead of SQLite's sleeping busy handler, which would
add milliseconds under contention. ``:memory:`` uses a single connection guarded by the same lock.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import msgspec

from billing_kit._sqlite import wal_mode
from billing_kit.sandbox._words import words_in_order

SCHEMA_VERSION = 1

#: Indexed filter columns of each table, in addition to seq, id, created and body.
COLUMNS: dict[str, tuple[str, ...]] = {
    "customers": ("email",),
    "tokens": (),
    "cards": ("customer",),
    "payment_methods": ("customer",),
    "charges": ("customer", "payment_intent", "status", "amount", "currency"),
    "payment_intents": ("customer", "status"),
    "refunds": ("charge", "payment_intent"),
    "balance_transactions": ("type", "source", "payout", "currency", "net", "available_on"),
    "payouts": ("status",),
    "disputes": ("charge", "payment_intent"),
    "events": ("type",),
    "report_runs": (),
    "files": (),
}

_INDEXES: tuple[str, ...] = (
    "customers(created)",
    "customers(email, created)",
    "cards(customer)",
    "payment_methods(customer, created)",
    "charges(created)",
    "charges(customer, created)",
    "charges(payment_intent)",
    "payment_intents(created)",
    "payment_intents(customer, created)",
    "refunds(created)",
    "refunds(charge, created)",
    "refunds(payment_intent)",
    "balance_transactions(created)",
    "balance_transactions(source)",
    "balance_transactions(payout, created)",
    "payouts(created)",
    "disputes(created)",
    "disputes(charge)",
    "events(created)",
    "events(type, created)",
)

#: Table for each id prefix (``ch_1abc`` -> charges).
PREFIX_TABLES: dict[str, str] = {
    "ch": "charges",
    "py": "charges",
    "cus": "customers",
    "tok": "tokens",
    "card": "cards",
    "pm": "payment_methods",
    "pi": "payment_intents",
    "re": "refunds",
    "pyr": "refunds",
    "txn": "balance_transactions",
    "po": "payouts",
    "dp": "disputes",
    "du": "disputes",
    "evt": "events",
    "frr": "report_runs",
    "file": "files",
}

#: Stripe's object name for each table (for "No such charge: 'ch_x'" messages).
OBJECT_NAMES: dict[str, str] = {
    "customers": "customer",
    "tokens": "token",
    "cards": "source",
    "payment_methods": "PaymentMethod",
    "charges": "charge",
    "payment_intents": "payment_intent",
    "refunds": "refund",
    "balance_transactions": "balance transaction",
    "payouts": "payout",
    "disputes": "dispute",
    "events": "event",
    "report_runs": "reporting.report_run",
    "files": "file",
}


def schema_sql() -> list[str]:
    """Return the DDL statements that create the schema (idempotent: ``IF NOT EXISTS``)."""
    statements = [
        "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS idempotency_keys ("
        " key TEXT PRIMARY KEY, method TEXT NOT NULL, path TEXT NOT NULL,"
        " fingerprint TEXT NOT NULL, state TEXT NOT NULL, status INTEGER, body BLOB,"
        " request_id TEXT NOT NULL, created REAL NOT NULL)",
    ]
    for table, columns in COLUMNS.items():
        extra = "".join(f", {c} {_column_type(c)}" for c in columns)
        statements.append(
            f"CREATE TABLE IF NOT EXISTS {table} (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE,"
            f" created INTEGER NOT NULL{extra}, body BLOB NOT NULL)"
        )
    for spec in _INDEXES:
        name = spec.replace("(", "_").replace(", ", "_").rstrip(")")
        statements.append(f"CREATE INDEX IF NOT EXISTS ix_{name} ON {spec}")
    return statements


def _column_type(column: str) -> str:
    return "INTEGER" if column in {"amount", "net", "available_on"} else "TEXT"


def table_for_id(object_id: str) -> str | None:
    """Return the table holding ``object_id`` judging by its prefix, or None."""
    prefix, sep, _ = object_id.partition("_")
    return PREFIX_TABLES.get(prefix) if sep else None


def dumps(body: dict[str, Any]) -> bytes:
    """Encode a body the way the store keeps it (UTF-8 JSON)."""
    return msgspec.json.encode(body)


class Store:
    """The sandbox database.

    Parameters
    ----------
    path
        A file path, or ``":memory:"`` for a private database that disappears with the store.
    """

    def __init__(self, path: str | Path = ":memory:") -> None:
        self.path = str(path)
        self.memory = self.path == ":memory:"
        self._lock = threading.RLock()
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._shared: sqlite3.Connection | None = None
        if self.memory:
            self._shared = self._open()
        else:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        with self.write() as conn:
            for statement in schema_sql():
                conn.execute(statement)
            conn.execute(
                "INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', ?)",
                (str(SCHEMA_VERSION),),
            )

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=30.0
        )
        conn.execute("PRAGMA busy_timeout = 30000")
        if not self.memory:
            wal_mode(conn, timeout=30.0)
        conn.execute("PRAGMA synchronous = NORMAL")
        # Search's exact match on free-text fields (see billing_kit.sandbox._search).
        conn.create_function("words_in_order", 2, words_in_order, deterministic=True)
        self._all.append(conn)
        return conn

    def _conn(self) -> sqlite3.Connection:
        if self._shared is not None:
            return self._shared
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            with self._lock:
                conn = self._open()
            self._local.conn = conn
        return conn

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """Yield a connection for reads (a consistent snapshot under WAL)."""
        if self.memory:
            with self._lock:
                yield self._conn()
            return
        conn = self._conn()
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.execute("COMMIT")

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """Yield a connection inside ``BEGIN IMMEDIATE``; commit on success, roll back on error."""
        with self._lock:
            conn = self._conn()
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def close(self) -> None:
        """Close every connection this store opened."""
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
            self._shared = None
            self._local = threading.local()

    # -- rows ----------------------------------------------------------------------------------

    @staticmethod
    def insert(conn: sqlite3.Connection, table: str, body: dict[str, Any], **columns: Any) -> None:
        """Insert one object; filter columns come from ``body`` unless given in ``columns``."""
        names = COLUMNS[table]
        values = [columns[c] if c in columns else _column_value(body, c) for c in names]
        placeholders = ", ".join("?" * (3 + len(names)))
        # Legacy card objects have no created field: the caller passes it as a column.
        created = columns.get("created", body.get("created"))
        conn.execute(
            f"INSERT INTO {table} (id, created, {''.join(c + ', ' for c in names)}body)"
            f" VALUES ({placeholders})",
            (body["id"], created, *values, dumps(body)),
        )

    @staticmethod
    def update(conn: sqlite3.Connection, table: str, body: dict[str, Any], **columns: Any) -> None:
        """Replace one object's body and refresh its filter columns."""
        # Columns that are not part of the body (a balance transaction's payout) keep their value
        # unless given explicitly.
        names = [c for c in COLUMNS[table] if c in columns or c in body]
        sets = ", ".join(f"{c} = ?" for c in names)
        values = [columns[c] if c in columns else _column_value(body, c) for c in names]
        conn.execute(
            f"UPDATE {table} SET {sets + ', ' if sets else ''}body = ? WHERE id = ?",
            (*values, dumps(body), body["id"]),
        )

    @staticmethod
    def get(conn: sqlite3.Connection, table: str, object_id: str) -> dict[str, Any] | None:
        """Return the stored body of ``object_id`` in ``table``, or None."""
        row = conn.execute(f"SELECT body FROM {table} WHERE id = ?", (object_id,)).fetchone()
        if row is None:
            return None
        body: dict[str, Any] = msgspec.json.decode(row[0])
        return body

    @staticmethod
    def position(conn: sqlite3.Connection, table: str, object_id: str) -> tuple[int, int] | None:
        """Return ``(created, seq)`` of ``object_id`` (a pagination cursor), or None."""
        row = conn.execute(
            f"SELECT created, seq FROM {table} WHERE id = ?", (object_id,)
        ).fetchone()
        return None if row is None else (int(row[0]), int(row[1]))

    @staticmethod
    def column(conn: sqlite3.Connection, table: str, object_id: str, name: str) -> Any:
        """Return one filter column of ``object_id`` (e.g. a balance transaction's payout)."""
        row = conn.execute(f"SELECT {name} FROM {table} WHERE id = ?", (object_id,)).fetchone()
        return None if row is None else row[0]


def _column_value(body: dict[str, Any], column: str) -> Any:
    value = body.get(column)
    if isinstance(value, dict):
        # An expanded reference slipped into a stored body: index its id.
        return value.get("id")
    return value
