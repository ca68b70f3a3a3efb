"""Orders, their checkout attempts and fulfilment, in SQLite. Knows nothing about payments.

Prices live here, on the server: the browser sends what to buy, never how much to pay
(https://docs.stripe.com/payments/quickstart computes the amount server-side for this reason).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from flask import Flask, current_app

#: sku -> (name, unit price in minor units of CURRENCY). Integers, never floats.
CATALOGUE: dict[str, tuple[str, int]] = {
    "mug": ("billing_kit mug", 1250),
    "tee": ("T-shirt", 2000),
    "stickers": ("Sticker pack", 499),
}
MAX_QUANTITY = 10

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS orders (id INTEGER PRIMARY KEY, email TEXT NOT NULL,"
    " sku TEXT NOT NULL, quantity INTEGER NOT NULL, amount INTEGER NOT NULL,"
    " currency TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'pending', payment_intent TEXT)",
    "CREATE TABLE IF NOT EXISTS attempts (key TEXT PRIMARY KEY, order_id INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS fulfilments (order_id INTEGER PRIMARY KEY, via TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS webhook_events (id TEXT PRIMARY KEY, type TEXT NOT NULL)",
)


@dataclass(frozen=True)
class Order:
    """One order; ``amount`` is in minor units of ``currency``."""

    id: int
    email: str
    sku: str
    quantity: int
    amount: int
    currency: str
    status: str
    payment_intent: str | None

    @property
    def item(self) -> str:
        """The product's name."""
        return CATALOGUE[self.sku][0]


def init_app(app: Flask) -> None:
    """Create the tables in ``DATABASE`` if needed."""
    with sqlite3.connect(app.config["DATABASE"]) as conn:
        for statement in _SCHEMA:
            conn.execute(statement)


@contextmanager
def _db() -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(current_app.config["DATABASE"], timeout=30, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")  # one writer at a time: check-then-write stays atomic
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    finally:
        conn.close()


def price(sku: str, quantity: int) -> int:
    """Return the total in minor units; ``ValueError`` names a bad sku or quantity."""
    if sku not in CATALOGUE:
        raise ValueError(f"Unknown product {sku!r}; choose one of {', '.join(CATALOGUE)}.")
    if not 1 <= quantity <= MAX_QUANTITY:
        raise ValueError(f"Quantity {quantity!r} must be between 1 and {MAX_QUANTITY}.")
    return CATALOGUE[sku][1] * quantity


def _order(conn: sqlite3.Connection, order_id: int) -> Order | None:
    row = conn.execute(
        "SELECT id, email, sku, quantity, amount, currency, status, payment_intent FROM orders"
        " WHERE id = ?",
        (order_id,),
    ).fetchone()
    return None if row is None else Order(*row)


def get(order_id: int) -> Order | None:
    """Return the order, or None."""
    with _db() as conn:
        return _order(conn, order_id)


def for_attempt(key: str, email: str, sku: str, quantity: int) -> Order:
    """Return the order of checkout attempt ``key``, creating both on its first submit.

    A double submit of the same form finds the same order (and so the same amount).
    """
    with _db() as conn:
        row = conn.execute("SELECT order_id FROM attempts WHERE key = ?", (key,)).fetchone()
        if row is None:
            amount = price(sku, quantity)
            currency = current_app.config["CURRENCY"]
            cursor = conn.execute(
                "INSERT INTO orders (email, sku, quantity, amount, currency) VALUES (?,?,?,?,?)",
                (email, sku, quantity, amount, currency),
            )
            order_id = int(cursor.lastrowid or 0)
            conn.execute("INSERT INTO attempts (key, order_id) VALUES (?, ?)", (key, order_id))
        else:
            order_id = int(row[0])
        order = _order(conn, order_id)
    assert order is not None
    return order


def add_attempt(key: str, order_id: int) -> Order | None:
    """Attach a new attempt (another card after a decline) to an existing order."""
    with _db() as conn:
        conn.execute(
            "INSERT OR IGNORE INTO attempts (key, order_id) VALUES (?, ?)", (key, order_id)
        )
        return _order(conn, order_id)


def mark_paid(order_id: int, payment_intent: str, *, via: str) -> bool:
    """Mark the order paid and fulfil it, once; return True only the first time it is fulfilled.

    Both the checkout POST and the ``payment_intent.succeeded`` webhook call this: whichever
    comes first fulfils, the other finds it done (never ship twice).
    """
    with _db() as conn:
        conn.execute(
            "UPDATE orders SET status = 'paid', payment_intent = ? WHERE id = ?",
            (payment_intent, order_id),
        )
        done = conn.execute(
            "INSERT OR IGNORE INTO fulfilments (order_id, via) VALUES (?, ?)", (order_id, via)
        )
        return done.rowcount == 1


def mark_declined(order_id: int) -> None:
    """Record a decline, unless the order was paid meanwhile (events arrive out of order)."""
    with _db() as conn:
        conn.execute("UPDATE orders SET status = 'declined' WHERE id = ? AND status != 'paid'",
                     (order_id,))  # fmt: skip


def seen_event(event_id: str) -> bool:
    """True if webhook event ``event_id`` was handled before (a duplicate delivery)."""
    with _db() as conn:
        row = conn.execute("SELECT 1 FROM webhook_events WHERE id = ?", (event_id,)).fetchone()
        return row is not None


def record_event(event_id: str, event_type: str) -> None:
    """Remember that webhook event ``event_id`` was handled."""
    with _db() as conn:
        conn.execute("INSERT OR IGNORE INTO webhook_events (id, type) VALUES (?, ?)",
                     (event_id, event_type))  # fmt: skip


def fulfilments() -> list[tuple[int, str]]:
    """Every fulfilment as ``(order_id, via)``."""
    with _db() as conn:
        return [(int(a), str(b)) for a, b in conn.execute("SELECT order_id, via FROM fulfilments")]
