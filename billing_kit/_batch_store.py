"""Which rows of which batch were sent under which idempotency key: a table in the ledger file.

Every row of a batch is written here (batch id, row id, key) in one transaction *before* the
first request of the batch is sent, next to the ledger's own ``attempts`` table, so a batch
that was killed, interrupted or crashed is found again and finished under the same keys. What
became of a row is read from the ledger's attempt under its key: the ledger stays the one record
of outcomes.

A key is derived from the account namespace, the batch id, the row id and a round number, so two
processes running the same batch send the same key for the same row (Stripe then runs it once:
https://docs.stripe.com/api/idempotent_requests). The round moves on only after the ledger
recorded the attempt as ``failed`` (Stripe refused it, or saved a 500 under the key and nothing
was charged): a spent key must not block the row.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from billing_kit._ledger import Ledger, LedgerRow, _now, _stamp

if TYPE_CHECKING:
    from billing_kit._batch_rows import BatchRow

__all__ = ["BatchStore", "StoredRow"]

_LETTERS = str.maketrans("0123456789", "ghijklmnop")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS batch_rows (
    namespace TEXT NOT NULL,
    batch_id TEXT NOT NULL,
    row_id TEXT NOT NULL,
    row_number INTEGER NOT NULL,
    key_round INTEGER NOT NULL DEFAULT 0,
    idempotency_key TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (namespace, batch_id, row_id)
);
CREATE INDEX IF NOT EXISTS batch_rows_row ON batch_rows (namespace, row_id);
"""


@dataclass(frozen=True, slots=True)
class StoredRow:
    """A row of a batch as recorded, with the ledger's attempt under its current key (if any)."""

    batch_id: str
    row_id: str
    key_round: int
    idempotency_key: str
    attempt: LedgerRow | None


class BatchStore:
    """The ``batch_rows`` table of a client's ledger file."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        with ledger._connect() as db:
            db.executescript(_SCHEMA)

    def key(self, batch_id: str, row_id: str, key_round: int) -> str:
        """The idempotency key of a row in a round (hashed: no sheet content travels in it).

        Written in the letters a–p only: a run of hex digits can pass for a card number, which
        the charge path rightly refuses in a key.
        """
        raw = "|".join((self.ledger.namespace, batch_id, row_id, str(key_round)))
        digest = hashlib.sha256(raw.encode()).hexdigest()[:40].translate(_LETTERS)
        return f"bk-batch-{digest}"

    def record(self, batch_id: str, rows: Iterable[BatchRow]) -> None:
        """Write every row of the batch (rows already recorded keep their key)."""
        now = _stamp(_now())
        values = [
            (
                self.ledger.namespace,
                batch_id,
                row.row_id,
                row.row,
                self.key(batch_id, row.row_id, 0),
                now,
                now,
            )
            for row in rows
        ]
        with self.ledger._transaction() as db:
            db.executemany(
                "INSERT OR IGNORE INTO batch_rows (namespace, batch_id, row_id, row_number, "
                "idempotency_key, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                values,
            )

    def rows(self, batch_id: str) -> dict[str, StoredRow]:
        """Every recorded row of ``batch_id`` by row id, with its current attempt."""
        with self.ledger._connect() as db:
            found = db.execute(
                "SELECT b.row_id, b.key_round, b.idempotency_key, a.* FROM batch_rows b "
                "LEFT JOIN attempts a ON a.idempotency_key = b.idempotency_key "
                "WHERE b.namespace = ? AND b.batch_id = ?",
                (self.ledger.namespace, batch_id),
            ).fetchall()
        out = {}
        for item in found:
            attempt = None
            if item["id"] is not None:
                data = {k: item[k] for k in item.keys()[3:]}
                attempt = LedgerRow._from_sql(data)  # type: ignore[arg-type]
            out[item[0]] = StoredRow(batch_id, item[0], item[1], item[2], attempt)
        return out

    def charged_elsewhere(self, batch_id: str, row_ids: Iterable[str]) -> dict[str, StoredRow]:
        """Rows with these ids that succeeded in *another* batch of this namespace."""
        wanted = set(row_ids)
        out: dict[str, StoredRow] = {}
        with self.ledger._connect() as db:
            found = db.execute(
                "SELECT b.batch_id, b.row_id, b.key_round, b.idempotency_key, a.* "
                "FROM batch_rows b JOIN attempts a ON a.idempotency_key = b.idempotency_key "
                "WHERE b.namespace = ? AND b.batch_id != ? AND a.outcome = 'succeeded'",
                (self.ledger.namespace, batch_id),
            ).fetchall()
        for item in found:
            if item[1] in wanted:
                data = {k: item[k] for k in item.keys()[4:]}
                attempt = LedgerRow._from_sql(data)  # type: ignore[arg-type]
                out[item[1]] = StoredRow(item[0], item[1], item[2], item[3], attempt)
        return out

    def next_round(self, batch_id: str, row_id: str, seen_round: int) -> str:
        """Move a row whose attempt failed to the next key; return the key to send with.

        Compare-and-set on the round: two processes moving the same row on agree on one key.
        """
        key = self.key(batch_id, row_id, seen_round + 1)
        with self.ledger._transaction() as db:
            db.execute(
                "UPDATE batch_rows SET key_round = ?, idempotency_key = ?, updated_at = ? "
                "WHERE namespace = ? AND batch_id = ? AND row_id = ? AND key_round = ?",
                (
                    seen_round + 1,
                    key,
                    _stamp(_now()),
                    self.ledger.namespace,
                    batch_id,
                    row_id,
                    seen_round,
                ),
            )
            current = db.execute(
                "SELECT idempotency_key FROM batch_rows WHERE namespace = ? AND batch_id = ? "
                "AND row_id = ?",
                (self.ledger.namespace, batch_id, row_id),
            ).fetchone()
        return str(current[0])
