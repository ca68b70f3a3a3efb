"""charge_batch checks every row first: each rule names row and column, and nothing is sent."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from openpyxl import Workbook

from billing_kit import Client, InvalidArgument, InvalidBatch

from .conftest import all_charges, all_customers

CARD = "4242 4242 4242 4242"


def _sheet(**columns: list[Any]) -> pd.DataFrame:
    base: dict[str, list[Any]] = {
        "email": ["ada@example.com", "bob@example.com"],
        "amount": ["12.50", "30"],
        "currency": ["usd", "usd"],
        "description": ["Invoice 1", "Invoice 2"],
    }
    base.update(columns)
    return pd.DataFrame(base)


def _refused(client: Client, rows: object, *, row: int, column: str, text: str) -> InvalidBatch:
    """The batch is refused naming ``row`` and ``column``; the sandbox and ledger are unchanged."""
    with pytest.raises(InvalidBatch) as caught:
        client.charge_batch(rows, progress=False)
    problems = caught.value.problems
    match = problems[(problems["row"] == row) & (problems["column"] == column)]
    assert len(match) == 1, problems.to_dict("records")
    assert text in match["message"].iloc[0]
    assert f"row {row}, column {column!r}" in str(caught.value)
    assert all_charges(client) == [] and all_customers(client) == []
    assert client.ledger.rows() == []
    return caught.value


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        ("12.505", "usd", "more decimals than USD allows"),
        ("100.5", "jpy", "more decimals than JPY allows"),
        ("1.005", "kwd", "KWD"),
        ("0.10", "usd", "below Stripe's minimum"),
        ("-5", "usd", "negative"),
        ("0", "usd", "zero"),
        ("99999999.99", "usd", "maximum"),
        ("12_50", "usd", "12_50"),
        ("$12", "usd", "not a number"),
        ("", "usd", "empty"),
    ],
)
def test_bad_amount_for_its_currency_names_row_and_column(
    client: Client, amount: str, currency: str, text: str
) -> None:
    rows = _sheet(amount=["12.50", amount], currency=["usd", currency])
    _refused(client, rows, row=3, column="amount", text=text)


def test_unknown_and_empty_currency(client: Client) -> None:
    _refused(client, _sheet(currency=["usd", "usdd"]), row=3, column="currency", text="Unknown")
    _refused(client, _sheet(currency=["", "usd"]), row=2, column="currency", text="empty")


def test_bad_email_and_bad_customer_id(client: Client) -> None:
    _refused(client, _sheet(email=["ada@example", "b@x.io"]), row=2, column="email", text="email")
    rows = pd.DataFrame(
        {"customer": ["cus_ok1", "cus_x/../charges"], "amount": ["5", "5"], "currency": ["usd"] * 2}
    )
    _refused(client, rows, row=3, column="customer", text="customer")
    no_one = _sheet(email=["ada@example.com", ""])
    _refused(client, no_one, row=3, column="email", text="no customer")


def test_bad_payment_method_syntax(client: Client) -> None:
    rows = _sheet(payment_method=["pm_card_visa", "card_visa?x=1"])
    _refused(client, rows, row=3, column="payment_method", text="payment_method")


def test_duplicate_rows_are_flagged_not_charged_twice(client: Client) -> None:
    rows = _sheet(
        email=["ada@example.com", "ADA@example.com "],
        amount=["12.50", "12.5"],
        description=["Invoice 1", "Invoice 1"],
    )
    _refused(client, rows, row=3, column="description", text="same customer, amount")
    ids = _sheet(row_id=["inv-1", "inv-1"])
    _refused(client, ids, row=3, column="row_id", text="row 2")


def test_missing_columns_name_the_header_row(client: Client) -> None:
    rows = pd.DataFrame({"email": ["ada@example.com"], "Amount": ["5"]})
    error = _refused(client, rows, row=1, column="currency", text="no 'currency' column")
    assert "Amount" in error.message  # found case-insensitively, so only currency is missing
    no_customer = pd.DataFrame({"amount": ["5"], "currency": ["usd"]})
    _refused(client, no_customer, row=1, column="email or customer", text="add it")


@pytest.mark.parametrize("column", ["description", "metadata.note", "notes"])
def test_card_numbers_in_any_text_are_refused_and_masked(client: Client, column: str) -> None:
    rows = _sheet(**{column: ["ok", f"card {CARD}"]})
    error = _refused(client, rows, row=3, column=column, text="card number")
    assert "4242 4242 4242 4242" not in str(error)
    assert not error.problems["value"].str.contains("4242 4242 4242 4242", regex=False).any()


def test_bad_metadata_key(client: Client) -> None:
    rows = _sheet(**{"metadata.bk_attempt": ["x", "y"]})
    _refused(client, rows, row=2, column="metadata", text="reserved")


def test_empty_files(client: Client, tmp_path: Path) -> None:
    header_only = tmp_path / "header.csv"
    header_only.write_text("email,amount,currency\n")
    _refused(client, header_only, row=2, column="(all)", text="no rows")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    _refused(client, empty, row=2, column="(all)", text="no rows")


def test_not_a_sheet(client: Client, tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match=r"csv or \.xlsx"):
        client.charge_batch(tmp_path / "charges.json")
    with pytest.raises(InvalidArgument, match="does not exist"):
        client.charge_batch(tmp_path / "missing.csv")
    with pytest.raises(InvalidArgument, match="DataFrame"):
        client.charge_batch([{"email": "a@b.co"}])
    with pytest.raises(InvalidArgument, match="concurrency"):
        client.charge_batch(_sheet(), concurrency=0)
    with pytest.raises(InvalidArgument, match="batch_id"):
        client.charge_batch(_sheet(), batch_id="")


def _xlsx(path: Path, rows: list[list[Any]]) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["email", "amount", "currency", "description"])
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def test_floats_from_excel_are_exact_or_refused(client: Client, tmp_path: Path) -> None:
    # 12.5 typed in Excel is stored as the float 12.5: read as '12.5', exactly $12.50.
    good = _xlsx(tmp_path / "good.xlsx", [["ada@example.com", 12.5, "usd", "a"]])
    preview = client.charge_batch(good, dry_run=True, progress=False).preview
    assert preview is not None and list(preview.totals["total"]) == ["$12.50"]
    # What a formula leaves (12.4999999) is refused, not rounded to 12.50 behind the user's back.
    bad = _xlsx(
        tmp_path / "bad.xlsx",
        [["ada@example.com", 12.5, "usd", "a"], ["bob@example.com", 12.4999999, "usd", "b"]],
    )
    error = _refused(client, bad, row=3, column="amount", text="=ROUND")
    assert "12.4999999" in error.message
    # JPY: a float that is a whole number of yen is fine, half a yen is not.
    yen = _xlsx(tmp_path / "yen.xlsx", [["ada@example.com", 500.0, "jpy", "a"]])
    preview = client.charge_batch(yen, dry_run=True, progress=False).preview
    assert preview is not None and list(preview.totals["total"]) == ["¥500"]


def test_csv_amounts_are_read_as_text(client: Client, tmp_path: Path) -> None:
    path = tmp_path / "sheet.csv"
    path.write_text(
        "email,amount,currency\nada@example.com,0012.50,usd\nbob@example.com,1.10,kwd\n"
    )
    preview = client.charge_batch(path, dry_run=True, progress=False).preview
    assert preview is not None
    assert list(preview.totals["total"]) == ["1.100 KWD", "$12.50"]


def test_dry_run_with_problems_lists_them_and_sends_nothing(client: Client) -> None:
    rows = _sheet(amount=["12.50", "oops"])
    result = client.charge_batch(rows, dry_run=True, progress=False)
    assert list(result.frame["status"].fillna("")) == ["", "invalid"]
    assert "amount" in result.frame["message"].iloc[1]
    assert list(result.problems["row"]) == [3]
    assert result.preview is not None and result.preview.invalid == 1
    assert all_charges(client) == [] and client.ledger.rows() == []


@pytest.mark.slow
def test_100k_rows_are_checked_without_a_request(client: Client) -> None:
    count = 100_000
    rows = pd.DataFrame(
        {
            "customer": [f"cus_{i:08d}" for i in range(count)],
            "amount": [f"{1 + i % 500}.{i % 100:02d}" for i in range(count)],
            "currency": ["usd"] * count,
            "description": [f"Invoice {i}" for i in range(count)],
        }
    )
    rows.loc[70_000, "amount"] = "1.999"
    started = time.perf_counter()
    error = _refused(client, rows, row=70_002, column="amount", text="more decimals")
    print(f"\n100k rows checked in {time.perf_counter() - started:.1f} s")
    assert len(error.problems) == 1
    assert client.stats.requests == 0
