"""``billing-kit sandbox bank-statement``: the bank lines of a seeded history's payouts."""

from __future__ import annotations

import csv
import datetime as dt
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import pytest

from billing_kit.cli import main
from billing_kit.sandbox._bank_statement import bank_statement
from billing_kit.sandbox.seed import seed

UNTIL = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
OCTOBER = (int(dt.datetime(2026, 10, 1, tzinfo=dt.UTC).timestamp()), int(UNTIL.timestamp()))


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bank") / "history.db"
    seed(path, charges=1_500, days=60, seed=3, until=UNTIL)
    return path


def _payouts(db: Path) -> list[dict[str, Any]]:
    with sqlite3.connect(db) as conn:
        return [msgspec.json.decode(b) for (b,) in conn.execute("SELECT body FROM payouts")]


def _read(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_one_deposit_per_payout_that_reached_the_bank(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "october.csv"
    assert main(["sandbox", "bank-statement", "--db", str(db), "--month", "2026-10",
                 "--out", str(out)]) == 0  # fmt: skip
    rows = _read(out)
    arrived = sorted(
        (p for p in _payouts(db) if p["status"] == "paid" and OCTOBER[0] <= p["arrival_date"]
         < OCTOBER[1]), key=lambda p: (p["arrival_date"], p["id"]))  # fmt: skip
    expected = [
        {
            "date": dt.datetime.fromtimestamp(p["arrival_date"], dt.UTC).date().isoformat(),
            "description": "STRIPE",
            "amount": f"{Decimal(p['amount']).scaleb(-2):f}",
            "currency": "USD",
            "reference": p["trace_id"]["value"],
        }
        for p in arrived
    ]
    assert rows == expected and len(rows) >= 20
    assert all(dt.date.fromisoformat(r["date"]).weekday() < 5 for r in rows)


def test_a_failed_payout_has_no_deposit(db: Path) -> None:
    (failed,) = [p for p in _payouts(db) if p["status"] == "failed"]
    month = dt.datetime.fromtimestamp(failed["arrival_date"], dt.UTC).strftime("%Y-%m")
    lines = bank_statement(db, month)
    assert lines and failed["id"] not in {line.payout for line in lines}
    assert failed["trace_id"]["value"] not in {line.reference for line in lines}


def test_planted_differences_are_the_documented_ones(db: Path) -> None:
    plain = bank_statement(db, "2026-10")
    planted = bank_statement(db, "2026-10", plant=True)
    kinds = {line.planted: line for line in planted if line.planted}
    assert set(kinds) == {"amount_mismatch", "late", "unexpected_deposit"}
    assert plain[0].payout not in {line.payout for line in planted}  # the missing deposit
    assert kinds["amount_mismatch"].minor == plain[1].minor - 100
    assert kinds["late"].date - plain[2].date >= dt.timedelta(days=3)
    assert kinds["late"].date.weekday() < 5
    assert (kinds["unexpected_deposit"].date, kinds["unexpected_deposit"].minor) == (
        dt.date(2026, 10, 15),
        4200,
    )
    assert len(planted) == len(plain)  # one left out, one added


@pytest.mark.parametrize(
    ("month", "out", "message"),
    [
        ("2026-13", "s.csv", "--month '2026-13' is not a month; write it as YYYY-MM"),
        ("Oct 2026", "s.csv", "--month 'Oct 2026' is not a month"),
        ("2026-10", "s.xlsx", "must be a .csv file"),
    ],
)
def test_bad_arguments_write_nothing(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], month: str, out: str,
    message: str,
) -> None:  # fmt: skip
    target = tmp_path / out
    code = main(["sandbox", "bank-statement", "--db", str(db), "--month", month,
                 "--out", str(target)])  # fmt: skip
    assert code == 2 and message in capsys.readouterr().err
    assert not target.exists()
