"""The month-end report limited to one currency, and its charts.

The history: on Monday 2 November 2026 a USD charge (order ``U-1``) and a EUR charge (order
``E-1``), both available at once and swept into the day's automatic payout, then the clock moves
to the 20th. The sandbox's account settles in USD (as a US Stripe account does), so every balance
report is in USD; the order list has one order per currency.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

import openpyxl
import pytest

import billing_kit
from billing_kit.cli import main
from billing_kit.history import InvalidOption
from billing_kit.reconcile import month_end
from billing_kit.reconcile._charts import month_charts
from billing_kit.sandbox._bank_statement import write_statement
from tests.support import TEST_KEY, month_sandbox

ZONE = "Europe/Paris"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    charges = [(0, "U-1", "40.00", "usd"), (0, "E-1", "30.00", "eur")]
    with month_sandbox(tmp_path_factory.mktemp("month-end-currency"), charges) as made:
        yield made


@pytest.fixture
def env(server: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("STRIPE_API_KEY", TEST_KEY)
    running, db = server
    monkeypatch.setenv("STRIPE_API_BASE", running.url)
    return db


def _orders(tmp_path: Path) -> Path:
    path = tmp_path / "orders.csv"
    path.write_text("order_id,amount,currency\nU-1,40.00,usd\nE-1,30.00,eur\n", encoding="utf-8")
    return path


def _report(tmp_path: Path, currency: str, db: Path) -> tuple[int, Path]:
    out = tmp_path / currency
    bank = tmp_path / "bank.csv"
    write_statement(db, "2026-11", bank)
    argv = ["report", "month-end", "--month", "2026-11", "--tz", ZONE, "--currency", currency,
            "--orders", str(_orders(tmp_path)), "--bank", str(bank),
            "--out-dir", str(out)]  # fmt: skip
    return main(argv), out


def _column(sheet: Any, name: str) -> list[object]:
    header = [cell.value for cell in sheet[1]]
    index = header.index(name)
    return [row[index] for row in sheet.iter_rows(min_row=2, values_only=True)]


def test_one_currency_keeps_only_its_rows_in_every_sheet(env: Any, tmp_path: Path) -> None:
    status, out = _report(tmp_path, "EUR", env)
    assert status == 0
    book = openpyxl.load_workbook(out / "month-end-2026-11-eur.xlsx")
    # The EUR charge settled in USD: no balance report row is in EUR (Stripe's report runs filter
    # by the balance transaction's currency), only the EUR order is left.
    assert book["Roll-forward"].max_row == 1 and book["Payouts"].max_row == 1
    assert _column(book["Orders"], "order_key") == ["E-1"]
    assert book["Bank"].max_row == 1  # the one deposit is the USD payout
    assert dict(book["Summary"].iter_rows(values_only=True))["currency"] == "eur"

    status, out = _report(tmp_path, "usd", env)
    assert status == 0
    book = openpyxl.load_workbook(out / "month-end-2026-11-usd.xlsx")
    assert set(_column(book["Roll-forward"], "currency")) == {"usd"}
    assert set(_column(book["Payouts"], "currency")) == {"usd"}
    assert _column(book["Orders"], "order_key") == ["U-1"]
    assert _column(book["Bank"], "match") == ["matched"]


def test_a_bad_currency_names_the_option_and_writes_nothing(
    env: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out = _report(tmp_path, "dollars", env)
    assert status == 2
    err = capsys.readouterr().err
    assert "--currency 'dollars'" in err and "three-letter ISO code such as 'usd'" in err
    assert not out.exists()
    with billing_kit.connect() as client, pytest.raises(InvalidOption) as raised:
        month_end(client, "2026-11", currency="dollars")
    assert "currency='dollars'" in str(raised.value)


def test_the_html_report_embeds_a_chart_per_currency_from_the_months_figures(
    env: Any, tmp_path: Path
) -> None:
    with billing_kit.connect() as client:
        report = month_end(client, "2026-11", ZONE)
    # The chart's daily figures are the month's activity, day by day.
    daily, roll = report.daily, report.roll_forward
    gross = roll.loc[roll["category"] == "activity_gross", "net_amount"].iloc[0]
    assert list(daily["currency"]) == ["usd"] and daily["gross"].sum() == gross
    assert str(daily["day"].iloc[0].date()) == "2026-11-02"
    page = report.to_html(tmp_path / "report.html").read_text(encoding="utf-8")
    images = re.findall(r"<figure class='chart' data-currency='(\w+)'><img alt='[^']*' "
                        r"src='data:image/png;base64,([A-Za-z0-9+/=]+)'>", page)  # fmt: skip
    assert [code for code, _ in images] == ["usd"]
    png = base64.b64decode(images[0][1])
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000
    assert "src='http" not in page and "<script" not in page  # one file, nothing fetched
    # Deterministic: the same frames draw the same bytes.
    again = month_charts(report.daily, report.payouts, ZONE)
    assert again == month_charts(report.daily, report.payouts, ZONE)
    assert again["usd"].endswith(images[0][1])
