"""The ledger: one SQLite row per charge, capture or refund attempt, written *before* the request.

Why a row is written first: if the kernel dies between sending a charge and hearing back, the row
stays ``pending`` with its idempotency key. The next run of the same operation finds that row and
resends with the same key, so Stripe replays the first result instead of charging again.

Several kernels may share one ledger: the database runs in WAL mode with a generous busy timeout,
and the check-then-insert of :meth:`Ledger.reserve` happens inside ``BEGIN IMMEDIATE`` so two
kernels running the same cell cannot both decide they are first.

Never stored: API keys (masked by :func:`billing_kit._masking.scrub`) and card numbers/CVCs
(:func:`scrub_params`).
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import threading
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from billing_kit._masking import scrub
from billing_kit._sqlite import wal_mode

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Ledger", "LedgerRow", "Reservation", "scrub_params"]

# Stripe keeps idempotency keys for at least 24 hours; a pending row older than that might have
# been pruned on Stripe's side, so resending its key could charge a second time.
RESUME_WINDOW = timedelta(hours=24)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    namespace TEXT NOT NULL,
    mode TEXT NOT NULL,
    kind TEXT NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    intent TEXT NOT NULL,
    guard TEXT,
    customer TEXT,
    amount INTEGER,
    currency TEXT,
    description TEXT,
    params TEXT NOT NULL,
    outcome TEXT NOT NULL,
    status TEXT,
    stripe_id TEXT,
    charge_id TEXT,
    error_code TEXT,
    decline_code TEXT,
    error_message TEXT,
    http_attempts INTEGER NOT NULL DEFAULT 0,
    replays INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS attempts_intent ON attempts (namespace, intent, created_at);
CREATE INDEX IF NOT EXISTS attempts_guard ON attempts (namespace, guard, created_at);
CREATE TABLE IF NOT EXISTS customers (
    namespace TEXT NOT NULL,
    email TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    PRIMARY KEY (namespace, email)
);
"""

_CARD_FIELDS = {"number", "cvc", "cvv", "card_number", "exp_month", "exp_year"}
_PAN = re.compile(r"^\d(?:[ -]?\d){11,18}$")

# Keys currently being sent by this process, so a deliberate duplicate (allow_duplicate=True)
# started in another thread gets its own key instead of joining the in-flight one.
_IN_FLIGHT: set[str] = set()
_IN_FLIGHT_LOCK = threading.Lock()


def scrub_params(value: Any) -> Any:
    """Return ``value`` with card numbers, CVCs and API keys removed, ready to store.

    >>> scrub_params({"card": {"number": "4242424242424242", "cvc": "123"}, "amount": 500})
    {'card': {'number': '[redacted]', 'cvc': '[redacted]'}, 'amount': 500}
    """
    if isinstance(value, Mapping):
        return {
            str(k): "[redacted]" if str(k) in _CARD_FIELDS else scrub_params(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [scrub_params(v) for v in value]
    if isinstance(value, str):
        return "[redacted]" if _PAN.match(value) else scrub(value)
    return value


def _now() -> datetime:
    return datetime.now(UTC)


def _stamp(moment: datetime) -> str:
    # Fixed width (always microseconds), so stored times compare correctly as text in SQL.
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True, slots=True)
class LedgerRow:
    """One attempt as stored in the ledger."""

    id: int
    created_at: datetime
    updated_at: datetime
    namespace: str
    mode: str
    kind: str
    idempotency_key: str
    intent: str
    guard: str | None
    customer: str | None
    amount: int | None
    currency: str | None
    description: str | None
    params: str
    outcome: str
    status: str | None
    stripe_id: str | None
    charge_id: str | None
    error_code: str | None
    decline_code: str | None
    error_message: str | None
    http_attempts: int
    replays: int

    @classmethod
    def _from_sql(cls, row: sqlite3.Row) -> LedgerRow:
        data = dict(row)
        data["created_at"] = datetime.fromisoformat(data["created_at"])
        data["updated_at"] = datetime.fromisoformat(data["updated_at"])
        return cls(**data)


@dataclass(frozen=True, slots=True)
class Reservation:
    """What :meth:`Ledger.reserve` decided.

    Exactly one of: ``key``, the idempotency key to send with (``resumed`` when it belongs to an
    earlier, unfinished attempt of the same request); ``duplicate``, the earlier successful attempt
    the guard matched; ``unsettled``, an unfinished attempt with the same guard but different
    details (possibly being sent by another thread or process right now), whose outcome the
    caller must settle before asking again; ``conflict``, the earlier
    attempt that already used an explicitly given key for other details. Only ``key`` reserves.
    """

    key: str | None
    resumed: bool = False
    duplicate: LedgerRow | None = None
    unsettled: LedgerRow | None = None
    conflict: LedgerRow | None = None


class Ledger:
    """The attempt ledger of one client (one namespace) in a SQLite file.

    Parameters
    ----------
    path
        Database file; created with its folder if missing.
    namespace
        The client's :attr:`~billing_kit.Client.cache_namespace`; rows of other accounts, modes
        or base URLs in the same file are invisible to this ledger's duplicate guard.
    mode
        ``"sandbox"``, ``"test"`` or ``"live"``, stored on each row.
    """

    def __init__(self, path: str | Path, *, namespace: str, mode: str) -> None:
        self.path = Path(path)
        self.namespace = namespace
        self.mode = mode
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._opened: list[sqlite3.Connection] = []
        self._opened_lock = threading.Lock()
        with self._connect() as db:
            wal_mode(db, timeout=60.0)
            db.executescript(_SCHEMA)

    def __repr__(self) -> str:
        return f"Ledger({str(self.path)!r}, namespace={self.namespace!r})"

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        # One connection per thread, in autocommit mode: no lock is held between operations, and
        # sqlite3 connections must not cross threads (widgets may call from a worker thread).
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        # A connection must not be used on both sides of a fork: a child opens its own.
        if db is None or getattr(self._local, "pid", None) != os.getpid():
            db = sqlite3.connect(
                self.path, timeout=60.0, isolation_level=None, check_same_thread=False
            )
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA busy_timeout=60000")
            # WAL + NORMAL: a commit survives a killed process (the OS has the WAL pages); only a
            # power cut can lose the last commits, a trade SQLite documents for WAL mode.
            db.execute("PRAGMA synchronous=NORMAL")
            self._local.db, self._local.pid = db, os.getpid()
            with self._opened_lock:
                self._opened.append(db)
        yield db

    def close(self) -> None:
        """Close every connection this ledger opened (it reopens them if used again)."""
        with self._opened_lock:
            opened, self._opened = self._opened, []
        for db in opened:
            db.close()
        self._local = threading.local()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def reserve(
        self,
        kind: str,
        intent: str,
        *,
        guard: str | None = None,
        params: Mapping[str, Any],
        customer: str | None = None,
        amount: int | None = None,
        currency: str | None = None,
        description: str | None = None,
        window: timedelta | None = None,
        allow_duplicate: bool = False,
        idempotency_key: str | None = None,
    ) -> Reservation:
        """Decide which idempotency key an operation uses, and record it as ``pending``.

        In order: an explicit ``idempotency_key`` already on record is resumed (or is a
        ``conflict`` when it was used for other details); without one, an unfinished (pending)
        attempt of the same ``intent`` (every detail equal) from the last 24 hours is resumed with
        its key; then, unless ``allow_duplicate``, a successful attempt with the same ``guard``
        within ``window`` is returned as ``duplicate`` and an unfinished one with other details as
        ``unsettled``, whether or not a key was given; otherwise the given key, or a fresh one, is
        reserved.
        """
        now = _now()
        stored = json.dumps(scrub_params(dict(params)), sort_keys=True, default=str)
        with self._transaction() as db:
            if idempotency_key is not None:
                found = db.execute(
                    "SELECT * FROM attempts WHERE idempotency_key = ?", (idempotency_key,)
                ).fetchone()
                if found and found["intent"] != intent:
                    return Reservation(key=None, conflict=LedgerRow._from_sql(found))
                if found:
                    return self._claim(idempotency_key, resumed=True)
            rows = self._recent(db, now - max(window or timedelta(0), RESUME_WINDOW), intent, guard)
            with _IN_FLIGHT_LOCK:
                busy = set(_IN_FLIGHT)
            if idempotency_key is None:
                for row in rows:
                    if row.outcome != "pending" or row.intent != intent:
                        continue
                    if allow_duplicate and row.idempotency_key in busy:
                        continue
                    return self._claim(row.idempotency_key, resumed=True)
            # A caller's own new key (one per confirmed form intent) is no licence to charge the
            # same thing twice: the duplicate guard applies to it as to a key we make.
            if not allow_duplicate and window is not None and guard is not None:
                recent = [row for row in rows if row.guard == guard]
                recent = [row for row in recent if row.created_at >= now - window]
                for row in recent:
                    if row.outcome == "succeeded":
                        return Reservation(key=None, duplicate=row)
                # Another thread of this process may be sending it right now: it is unsettled
                # all the same (the caller must not charge beside it), never skipped.
                for row in recent:
                    if row.outcome == "pending":
                        return Reservation(key=None, unsettled=row)
            key = idempotency_key or f"bk-{kind}-{uuid.uuid4()}"
            db.execute(
                "INSERT INTO attempts (created_at, updated_at, namespace, mode, kind, "
                "idempotency_key, intent, guard, customer, amount, currency, description, "
                "params, outcome) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending')",
                (
                    _stamp(now),
                    _stamp(now),
                    self.namespace,
                    self.mode,
                    kind,
                    key,
                    intent,
                    guard,
                    customer,
                    amount,
                    currency,
                    description,
                    stored,
                ),
            )
        return self._claim(key, resumed=False)

    def _recent(
        self, db: sqlite3.Connection, since: datetime, intent: str, guard: str | None
    ) -> list[LedgerRow]:
        return [
            LedgerRow._from_sql(r)
            for r in db.execute(
                "SELECT * FROM attempts WHERE namespace = ? AND created_at >= ? "
                "AND (intent = ? OR guard = ?) ORDER BY id DESC",
                (self.namespace, _stamp(since), intent, guard),
            )
        ]

    def _claim(self, key: str, *, resumed: bool) -> Reservation:
        if resumed:
            # Being sent again: no longer given up (see give_up), and in flight from now on.
            with self._connect() as db:
                db.execute(
                    "UPDATE attempts SET error_code = NULL, error_message = NULL, updated_at = ? "
                    "WHERE idempotency_key = ? AND outcome = 'pending'",
                    (_stamp(_now()), key),
                )
        with _IN_FLIGHT_LOCK:
            _IN_FLIGHT.add(key)
        return Reservation(key=key, resumed=resumed, duplicate=None)

    def note_attempt(self, key: str) -> None:
        """Count one HTTP attempt for ``key``, just before it is sent."""
        self._bump(key, "http_attempts")

    def note_replay(self, key: str) -> None:
        """Count one answer Stripe marked ``Idempotent-Replayed`` for ``key``."""
        self._bump(key, "replays")

    def _bump(self, key: str, column: str) -> None:
        with self._connect() as db:
            db.execute(
                f"UPDATE attempts SET {column} = {column} + 1, updated_at = ? "
                "WHERE idempotency_key = ?",
                (_stamp(_now()), key),
            )

    def finish(
        self,
        key: str,
        outcome: str,
        *,
        status: str | None = None,
        stripe_id: str | None = None,
        charge_id: str | None = None,
        error_code: str | None = None,
        decline_code: str | None = None,
        error_message: str | None = None,
    ) -> bool:
        """Record the outcome of ``key``: ``succeeded``, ``declined``, ``failed`` or ``abandoned``.

        Only a row without a known outcome moves: ``pending``, or ``abandoned`` (a guess made
        when the attempt was not found in Stripe, which a late answer from Stripe overrules). A
        row that already has an outcome Stripe reported keeps it, so a second kernel settling
        the same attempt can never overwrite what the first one heard.

        Returns
        -------
        bool
            ``True`` when the row moved, ``False`` when it already had an outcome.
        """
        with self._connect() as db:
            cursor = db.execute(
                "UPDATE attempts SET outcome = ?, status = ?, stripe_id = ?, charge_id = ?, "
                "error_code = ?, decline_code = ?, error_message = ?, updated_at = ? "
                "WHERE idempotency_key = ? AND outcome IN ('pending', 'abandoned')",
                (
                    outcome,
                    status,
                    stripe_id,
                    charge_id,
                    error_code,
                    decline_code,
                    scrub(error_message) if error_message else None,
                    _stamp(_now()),
                    key,
                ),
            )
        self.release(key)
        return cursor.rowcount == 1

    def give_up(self, key: str, *, error_code: str | None, error_message: str) -> None:
        """Record that this process stopped sending ``key`` with its outcome unknown.

        The row stays ``pending`` (resumable under the same key); the error tells
        :func:`in_flight` that no process is retrying it any more.
        """
        with self._connect() as db:
            db.execute(
                "UPDATE attempts SET error_code = ?, error_message = ?, updated_at = ? "
                "WHERE idempotency_key = ? AND outcome = 'pending'",
                (error_code, scrub(error_message), _stamp(_now()), key),
            )
        self.release(key)

    def is_sending(self, key: str) -> bool:
        """Return ``True`` while a thread of this process is sending ``key``."""
        with _IN_FLIGHT_LOCK:
            return key in _IN_FLIGHT

    def release(self, key: str) -> None:
        """Mark ``key`` as no longer being sent by this process."""
        with _IN_FLIGHT_LOCK:
            _IN_FLIGHT.discard(key)

    def get(self, key: str) -> LedgerRow | None:
        """Return the row of ``key``, or ``None``."""
        with self._connect() as db:
            row = db.execute("SELECT * FROM attempts WHERE idempotency_key = ?", (key,)).fetchone()
        return LedgerRow._from_sql(row) if row else None

    def rows(self, *, all_namespaces: bool = False) -> list[LedgerRow]:
        """Return every row of this namespace (or of all), oldest first."""
        query = "SELECT * FROM attempts"
        args: tuple[str, ...] = ()
        if not all_namespaces:
            query += " WHERE namespace = ?"
            args = (self.namespace,)
        with self._connect() as db:
            return [LedgerRow._from_sql(r) for r in db.execute(query + " ORDER BY id", args)]

    def remembered_customer(self, email: str) -> str | None:
        """Return the customer id this toolkit created or found for ``email`` (normalised)."""
        with self._connect() as db:
            row = db.execute(
                "SELECT customer_id FROM customers WHERE namespace = ? AND email = ?",
                (self.namespace, email),
            ).fetchone()
        return str(row["customer_id"]) if row else None

    def remember_customer(self, email: str, customer_id: str) -> None:
        """Remember ``customer_id`` as the customer for ``email`` (normalised)."""
        with self._connect() as db:
            db.execute(
                "INSERT OR REPLACE INTO customers (namespace, email, customer_id) VALUES (?, ?, ?)",
                (self.namespace, email, customer_id),
            )

    def forget_customer(self, email: str) -> None:
        """Drop the remembered customer for ``email`` (e.g. it was deleted in Stripe)."""
        with self._connect() as db:
            db.execute(
                "DELETE FROM customers WHERE namespace = ? AND email = ?", (self.namespace, email)
            )

    def frame(self, *, all_namespaces: bool = False) -> pd.DataFrame:
        """Return the ledger as a DataFrame with declared column types.

        Times are ``datetime64[ns, UTC]``, counts and amounts nullable ``Int64``, text ``string``.
        """
        from billing_kit._ledger_frame import rows_to_frame

        return rows_to_frame(self.rows(all_namespaces=all_namespaces))
