"""SQLite set-up shared by the ledger and the sandbox's store (standard library only)."""

from __future__ import annotations

import random
import sqlite3
import time

__all__ = ["wal_mode"]


def wal_mode(db: sqlite3.Connection, *, timeout: float) -> None:
    """Switch ``db`` to WAL, waiting up to ``timeout`` seconds for other connections.

    Two processes opening a fresh file at once both try to convert it; SQLite then answers one
    of them ``database is locked`` at once, without consulting the busy timeout (it refuses to
    wait where waiting could deadlock). So the switch is retried here until it goes through.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            locked = "locked" in str(exc) or "busy" in str(exc)
            if not locked or time.monotonic() > deadline:
                raise
        time.sleep(random.uniform(0.005, 0.05))  # jittered, so two openers do not collide again
