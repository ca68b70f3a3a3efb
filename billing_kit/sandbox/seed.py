"""Seed a sandbox database with realistic past activity, fast enough for a million charges.

``seed(db, charges=N)`` writes customers with a card on file, charges over the last ``days`` days
(several brands and currencies, 5-10% declines with real decline codes), full and partial refunds, a
few disputes, the balance transactions with Stripe's fees (https://stripe.com/pricing) and
automatic payouts every business day that link the balance transactions they pay out. What
reconciliation must handle is there too: a refund converted back at a later FX rate, a refund
that fails, a payout that fails and returns, a manual payout, disputes won and lost, trace ids,
and payouts still in transit (``reconciliation_status`` ``in_progress``) at the end. Everything
goes straight into the SQLite store; no request is made and no event is written.

Speed comes from three choices. Every random draw is made up front with numpy, in arrays.
Charges and their balance transactions are rendered from byte templates: each distinct shape
(card, currency, outcome, description) is built once by the same pure builders the API uses
(:mod:`._shapes`, :mod:`._balance`), the varying fields are swapped for ``%`` slots, and every
template is checked against the builder's own output for the first row that uses it, so a seeded
object is byte for byte what the API would have stored. Rows go in with ``executemany`` in large
transactions, in ``created`` order (so the indexes grow at their ends), rendered in a second thread
while SQLite writes, with the journal off when the database starts empty.

The work is split by concept: :mod:`._seed_plan` makes the draws, :mod:`._seed_templates` the ids
and byte templates, :mod:`._seed_writer` renders the rows and writes them; this module holds the
entry points (:func:`seed`, :class:`SeedSummary` and the ``billing-kit sandbox seed`` command).

The output depends only on the arguments: the same ``seed`` (and ``until``) gives the same rows.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from billing_kit.sandbox._seed_plan import DAY, draw
from billing_kit.sandbox._seed_templates import MAX_OBJECTS, Ids
from billing_kit.sandbox._seed_writer import FastConnection, Writer

__all__ = ["SeedSummary", "register", "seed"]

_CHUNK = 50_000  # charges rendered (and inserted) at a time


@dataclass(frozen=True)
class SeedSummary:
    """What :func:`seed` wrote.

    Attributes
    ----------
    db
        The database path.
    charges, succeeded, failed
        Charges written, and how many succeeded or were declined.
    refunds, disputes, customers, payouts, balance_transactions
        Other objects written.
    start, end
        The span of ``created`` times (UTC).
    seconds
        Wall time the seed took.
    """

    db: str
    charges: int
    succeeded: int
    failed: int
    refunds: int
    disputes: int
    customers: int
    payouts: int
    balance_transactions: int
    start: dt.datetime
    end: dt.datetime
    seconds: float

    def __str__(self) -> str:
        return (
            f"seeded {self.db}: {self.charges:,} charges ({self.failed:,} declined), "
            f"{self.refunds:,} refunds, {self.disputes:,} disputes, {self.customers:,} customers, "
            f"{self.payouts:,} payouts, {self.balance_transactions:,} balance transactions from "
            f"{self.start:%Y-%m-%d} to {self.end:%Y-%m-%d} in {self.seconds:.1f} s"
        )


def seed(
    db: str | Path,
    *,
    charges: int,
    customers: int | None = None,
    days: int = 90,
    seed: int = 0,
    until: dt.datetime | None = None,
) -> SeedSummary:
    """Write ``charges`` charges of realistic past activity, and all that goes with them, to ``db``.

    Parameters
    ----------
    db
        The sandbox database file; created if missing. Seed before serving it: the fast path
        (empty database) turns the journal off while it writes.
    charges
        How many charges to write, succeeded and declined together.
    customers
        How many customers they belong to (default: one for every 20 charges, at least 1).
    days
        Length of the history, ending at ``until``.
    seed
        The random seed: the same seed and ``until`` write byte-identical rows.
    until
        When the history ends (default: 00:00 UTC today, so a day's seeds agree).

    Returns
    -------
    SeedSummary
        Counts of what was written and how long it took.

    Raises
    ------
    ValueError
        For a negative or oversized count, ``":memory:"``, or a database already seeded with
        this ``seed``.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     summary = seed(pathlib.Path(folder) / "demo.db", charges=200, seed=1)
    >>> summary.charges, summary.succeeded + summary.failed, summary.customers
    (200, 200, 10)
    """
    started = time.perf_counter()
    if str(db) == ":memory:":
        raise ValueError("seed needs a database file, got ':memory:'; pass a path such as demo.db")
    _check_count("charges", charges, minimum=0)
    customers = max(1, charges // 20) if customers is None else customers
    _check_count("customers", customers, minimum=1)
    _check_count("days", days, minimum=1)
    _check_count("seed", seed, minimum=0)
    if until is None:
        end = int(time.time()) // DAY * DAY
    elif until.tzinfo is None:
        raise ValueError(f"until must be timezone-aware (UTC), got {until!r}")
    else:
        end = int(until.timestamp())
    plan = draw(charges, customers, days, seed, end)
    path = Path(db)
    with FastConnection(path) as (conn, fast):
        ids = Ids(seed)
        first_charge = ids.one("charge", 0)
        if conn.execute("SELECT 1 FROM charges WHERE id = ?", (first_charge,)).fetchone():
            raise ValueError(
                f"{str(path)!r} already holds the history of seed {seed!r}; pass another --seed "
                "or a new database file"
            )
        writer = Writer(conn, plan, ids)
        conn.execute("BEGIN")
        writer.customers()
        # One thread renders the next chunk while this one inserts the last: SQLite lets go of
        # the GIL while it writes, so the two overlap on a second core.
        spans = [(lo, min(charges, lo + _CHUNK)) for lo in range(0, charges, _CHUNK)]
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="seed-render") as renderer:
            ahead = [renderer.submit(writer.render_charges, *span) for span in spans[:1]]
            for index in range(len(spans)):
                rows = ahead.pop().result()
                if index + 1 < len(spans):
                    ahead.append(renderer.submit(writer.render_charges, *spans[index + 1]))
                writer.insert_charges(rows)
                if fast and index % 4 == 3:
                    # Big transactions, but not one that holds the whole history in the cache.
                    conn.execute("COMMIT")
                    conn.execute("BEGIN")
        writer.refunds()
        writer.disputes()
        writer.payouts()
        conn.execute("COMMIT")
    failed = int((plan.kind >= 2).sum())
    return SeedSummary(
        db=str(path),
        charges=charges,
        succeeded=charges - failed,
        failed=failed,
        refunds=int(plan.ref_charge.size),
        disputes=int(plan.dp_charge.size),
        customers=customers,
        payouts=len(plan.payout_created) + (plan.manual_payout is not None),
        balance_transactions=writer.balance_transactions,
        start=dt.datetime.fromtimestamp(plan.start, dt.UTC),
        end=dt.datetime.fromtimestamp(plan.end, dt.UTC),
        seconds=time.perf_counter() - started,
    )


def _check_count(name: str, value: int, *, minimum: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value >= MAX_OBJECTS // 4:
        raise ValueError(f"{name} must be below {MAX_OBJECTS // 4:,}, got {value!r}")


def register(subparsers: Any) -> None:
    """Add ``seed`` to the ``billing-kit sandbox`` subcommands (``subparsers`` from argparse)."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "seed",
        help="write realistic past activity into a sandbox database",
        description="Write customers, charges, refunds, disputes, fees and daily payouts into a "
        "sandbox database, deterministically for a given --seed.",
    )
    parser.add_argument("--db", required=True, help="database file (created if missing)")
    parser.add_argument("--charges", type=int, required=True, help="how many charges")
    parser.add_argument("--customers", type=int, default=None, help="default: charges / 20")
    parser.add_argument("--days", type=int, default=90, help="length of the history (90)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (0)")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    try:
        summary = seed(args.db, charges=args.charges, customers=args.customers, days=args.days,
                       seed=args.seed)  # fmt: skip
    except ValueError as exc:
        print(f"billing-kit sandbox seed: {exc}", file=sys.stderr)
        return 2
    print(summary)
    return 0
