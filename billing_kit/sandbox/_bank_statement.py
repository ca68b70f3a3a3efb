"""``billing-kit sandbox bank-statement``: the bank lines a sandbox's payouts produce.

Every payout that reached the bank in the month (``status=paid``, ``arrival_date`` in the month,
UTC) becomes one deposit line: the arrival date, the statement descriptor (``STRIPE`` when the
payout has none, Stripe's default, https://docs.stripe.com/payouts/statement-descriptors), the
amount in major units written exactly for its currency, the currency and the trace id
(https://docs.stripe.com/payouts/trace-id). A payout that failed or is still in transit never
reached the bank and has no line.

``plant=True`` adds the differences a bank reconciliation must find, always the same ones, so
demos and tests know what to expect: the month's first deposit is left out (a missing deposit),
the second arrives 1.00 short (an amount mismatch), the third three business days late, and a
deposit nobody expected (``ACME CORP REFUND``, 42.00) arrives on the 15th.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import re
import sqlite3
import sys
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec

from billing_kit.sandbox._money_rules import exponent

__all__ = ["BankLine", "bank_statement", "register", "write_statement"]

_DAY = 86_400
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
COLUMNS = ("date", "description", "amount", "currency", "reference")


@dataclass(frozen=True)
class BankLine:
    """One line of the statement; ``planted`` says which difference it is, if any."""

    date: dt.date
    description: str
    minor: int
    currency: str
    reference: str
    payout: str | None
    planted: str | None = None

    def row(self) -> tuple[str, str, str, str, str]:
        """The CSV row: ISO date, description, exact major amount, currency, reference."""
        amount = Decimal(self.minor).scaleb(-exponent(self.currency))
        return (self.date.isoformat(), self.description, f"{amount:f}", self.currency.upper(),
                self.reference)  # fmt: skip


def _month(month: str) -> tuple[int, int]:
    found = _MONTH.match(month) if isinstance(month, str) else None
    if found is None:
        raise ValueError(f"--month {month!r} is not a month; write it as YYYY-MM, e.g. 2026-11")
    start = dt.datetime(int(found[1]), int(found[2]), 1, tzinfo=dt.UTC)
    after = (start + dt.timedelta(days=32)).replace(day=1)
    return int(start.timestamp()), int(after.timestamp())


def _later_business_day(day: dt.date, days: int) -> dt.date:
    while days:
        day += dt.timedelta(days=1)
        days -= day.weekday() < 5
    return day


def bank_statement(db: str | Path, month: str, *, plant: bool = False) -> list[BankLine]:
    """Return the bank lines of the payouts of ``db`` arriving in ``month`` (``YYYY-MM``, UTC).

    Raises
    ------
    ValueError
        A month not written ``YYYY-MM``, or a database file that does not exist.
    """
    lo, hi = _month(month)
    if not Path(db).is_file():
        raise ValueError(f"--db {str(db)!r} does not exist; pass a sandbox database file")
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        bodies = [msgspec.json.decode(b) for (b,) in conn.execute("SELECT body FROM payouts")]
    lines = [
        BankLine(
            date=dt.datetime.fromtimestamp(p["arrival_date"], dt.UTC).date(),
            description=p.get("statement_descriptor") or "STRIPE",
            minor=int(p["amount"]),
            currency=p["currency"],
            reference=(p.get("trace_id") or {}).get("value") or "",
            payout=p["id"],
        )
        for p in bodies
        if p["status"] == "paid" and lo <= p["arrival_date"] < hi
    ]
    lines.sort(key=lambda line: (line.date, line.payout or ""))
    if plant and len(lines) >= 3:
        first, second, third = lines[:3]
        lines = [
            BankLine(second.date, second.description, second.minor - 10 ** exponent(
                second.currency), second.currency, second.reference, second.payout,
                "amount_mismatch"),
            BankLine(_later_business_day(third.date, 3), third.description, third.minor,
                     third.currency, third.reference, third.payout, "late"),
            *lines[3:],
            BankLine(dt.datetime.fromtimestamp(lo, dt.UTC).date().replace(day=15),
                     "ACME CORP REFUND", 42 * 10 ** exponent(first.currency), first.currency,
                     "", None, "unexpected_deposit"),
        ]  # fmt: skip
        lines.sort(key=lambda line: (line.date, line.payout or ""))
    return lines


def write_statement(
    db: str | Path, month: str, out: str | Path, *, plant: bool = False
) -> list[BankLine]:
    """Write :func:`bank_statement` to ``out`` (a ``.csv`` file) and return its lines.

    Raises
    ------
    ValueError
        As :func:`bank_statement`, or ``out`` not ending in ``.csv``; nothing is written then.
    """
    if Path(out).suffix.lower() != ".csv":
        raise ValueError(f"--out {str(out)!r} must be a .csv file, e.g. --out statement.csv")
    lines = bank_statement(db, month, plant=plant)
    with open(out, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        writer.writerows(line.row() for line in lines)
    return lines


def register(subparsers: Any) -> None:
    """Add ``bank-statement`` to the ``billing-kit sandbox`` subcommands."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "bank-statement",
        help="write the bank lines a sandbox's payouts produce in a month",
        description="Write one CSV line per payout that reached the bank in --month (UTC): "
        "date, description, amount, currency, reference (the trace id).",
    )
    parser.add_argument("--db", required=True, help="sandbox database file")
    parser.add_argument("--month", required=True, help="YYYY-MM")
    parser.add_argument("--out", required=True, help="statement file (.csv)")
    parser.add_argument(
        "--plant", action="store_true", help="plant a missing, short, late and unexpected deposit"
    )
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    try:
        lines = write_statement(args.db, args.month, args.out, plant=args.plant)
    except ValueError as exc:
        print(f"billing-kit sandbox bank-statement: {exc}", file=sys.stderr)
        return 2
    planted = [f"{line.planted} ({line.payout or line.description})" for line in lines
               if line.planted]  # fmt: skip
    if planted:
        missing = bank_statement(args.db, args.month)[0].payout
        planted.insert(0, f"missing_deposit ({missing})")
    print(f"wrote {len(lines)} bank lines for {args.month} to {args.out}"
          + (f"; planted: {', '.join(planted)}" if planted else ""))  # fmt: skip
    return 0
