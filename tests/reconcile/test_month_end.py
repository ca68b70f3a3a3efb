"""The month-end report: ``billing-kit report month-end`` writes a workbook and an HTML report
whose figures are the client's own frames, and exits non-zero with the reason when something does
not tie.

The history: Monday 2 to Friday 6 November 2026, one USD charge a day (order ``O-n`` in its
metadata, available at once) swept into an automatic payout, then the clock moves to the 20th so
every payout has arrived. The bank statement is the sandbox's own (``bank-statement``), clean or
with its planted differences.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest

import billing_kit
from billing_kit.cli import main
from billing_kit.reconcile._month_end import SHEETS
from billing_kit.sandbox._bank_statement import write_statement
from tests.support import TEST_KEY, month_sandbox

AMOUNTS = ["50.00", "60.00", "70.00", "80.00", "90.00"]
ZONE = "America/New_York"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    charges = [(day, f"O-{day}", amount, "usd") for day, amount in enumerate(AMOUNTS)]
    with month_sandbox(tmp_path_factory.mktemp("month-end"), charges) as made:
        yield made


@pytest.fixture
def env(server: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    running, db = server
    monkeypatch.setenv("STRIPE_API_KEY", TEST_KEY)
    monkeypatch.setenv("STRIPE_API_BASE", running.url)
    return running, db


def _orders(path: Path) -> Path:
    lines = ["order_id,amount,currency", *(f"O-{i},{a},usd" for i, a in enumerate(AMOUNTS))]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _run(tmp_path: Path, db: Path, *, plant: bool) -> int:
    bank = tmp_path / "bank.csv"
    write_statement(db, "2026-11", bank, plant=plant)
    orders = _orders(tmp_path / "orders.csv")
    argv = ["report", "month-end", "--month", "2026-11", "--tz", ZONE, "--orders", str(orders),
            "--bank", str(bank), "--out-dir", str(tmp_path / "out")]  # fmt: skip
    return main(argv)


def test_cli_writes_a_workbook_and_html_that_tie_to_the_clients_frames(
    env: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, db = env
    assert _run(tmp_path, db, plant=False) == 0
    assert "everything ties" in capsys.readouterr().out
    book = openpyxl.load_workbook(tmp_path / "out" / "month-end-2026-11.xlsx")
    assert book.sheetnames == list(SHEETS)
    with billing_kit.connect() as client:
        payouts = client.payout_reconciliation("2026-11-01", "2026-12-01", tz=ZONE).summary
        summary = client.balance_summary("2026-11-01", "2026-12-01", tz=ZONE)
    sheet = book["Payouts"]
    header = [cell.value for cell in sheet[1]]
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == sheet.dimensions
    amount = header.index("amount") + 1
    written = [sheet.cell(row=r, column=amount) for r in range(2, sheet.max_row + 1)]
    assert [Decimal(str(c.value)).quantize(Decimal("0.01")) for c in written] == list(
        payouts["amount"]
    )
    assert len(written) == len(AMOUNTS)
    assert all(c.number_format == "#,##0.00" for c in written)
    when = header.index(f"automatic_payout_effective_at ({ZONE})") + 1
    first = sheet.cell(row=2, column=when)
    assert isinstance(first.value, dt.datetime) and first.number_format == "yyyy-mm-dd hh:mm:ss"
    expected = payouts["automatic_payout_effective_at"].iloc[0].tz_localize(None)
    assert first.value == expected.to_pydatetime()
    roll = book["Roll-forward"]
    rows = {r[0]: Decimal(str(r[3])) for r in roll.iter_rows(min_row=2, values_only=True)}
    assert rows == dict(zip(summary["category"], summary["net_amount"], strict=True))
    # Every charge was swept and has arrived: the month's activity all left in payouts.
    assert rows["ending_balance"] == 0 and rows["activity"] == sum(payouts["amount"])
    assert rows["activity_gross"] == sum(Decimal(a) for a in AMOUNTS)
    matches = [r[0] for r in book["Bank"].iter_rows(min_row=2, values_only=True)]
    assert matches == ["matched"] * len(AMOUNTS)
    page = (tmp_path / "out" / "month-end-2026-11.html").read_text(encoding="utf-8")
    for section in ("Roll-forward", "Activity by category", "Fees", "Refunds and disputes",
                    "Payouts with tie-out", "Exceptions by class", "Everything ties.", ZONE,
                    "[2026-11-01, 2026-12-01)", "test"):  # fmt: skip
        assert section in page


def test_planted_bank_differences_exit_non_zero_with_the_reasons(
    env: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, db = env
    assert _run(tmp_path, db, plant=True) == 1
    err = capsys.readouterr().err
    assert "does not tie: bank: 1 row(s) missing_deposit" in err
    assert "bank: 1 row(s) amount_mismatch" in err
    # The planted late deposit arrived whole: a finding, not a failure. ACME CORP REFUND is no
    # Stripe line (descriptor STRIPE) and is left out of the matching.
    assert "late" not in err and "unexpected_deposit" not in err
    page = (tmp_path / "out" / "month-end-2026-11.html").read_text(encoding="utf-8")
    assert "missing_deposit" in page and "Everything ties." not in page


def test_a_bad_month_is_refused_and_nothing_is_written(
    env: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    argv = ["report", "month-end", "--month", "2026-13", "--out-dir", str(out)]
    assert main(argv) == 2
    assert "month='2026-13'" in capsys.readouterr().err
    assert not out.exists()


def test_a_bad_order_file_names_row_and_column_and_nothing_is_written(
    env: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    orders = tmp_path / "orders.csv"
    orders.write_text("order_id,amount,currency\nO-0,50.00,usd\nO-1,12.345,usd\n", "utf-8")
    out = tmp_path / "out"
    argv = ["report", "month-end", "--month", "2026-11", "--orders", str(orders),
            "--out-dir", str(out)]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "'12.345'" in err and "amount" in err
    assert not out.exists()
