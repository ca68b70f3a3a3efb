"""HistoryBrowser: messages, the two headline tables, search, time zone, kinds and exports."""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

import billing_kit
from billing_kit.widgets import HistoryBrowser
from billing_kit.widgets.demo import ensure_demo_charges


@pytest.fixture
def loaded(client: billing_kit.Client, tmp_path: Path) -> HistoryBrowser:
    ensure_demo_charges(client)
    browser = HistoryBrowser(client, export_dir=tmp_path / "exports")
    browser.load_button.click()
    return browser


def test_every_action_clears_the_previous_message(loaded: HistoryBrowser) -> None:
    loaded.csv_button.click()
    assert "Saved" in loaded.export_result.value
    loaded.status.value = "failed"
    assert loaded.export_result.value == "", "a filter change drops the old 'Saved'"
    loaded.excel_button.click()
    assert "Saved" in loaded.export_result.value
    loaded.load_button.click()
    assert loaded.export_result.value == ""
    loaded.until.value = loaded.since.value.replace(year=loaded.since.value.year - 1)
    loaded.load_button.click()
    assert "is after To" in loaded.error_area.value
    loaded.until.value = loaded.since.value.replace(year=loaded.since.value.year + 1)
    loaded.load_button.click()
    assert loaded.error_area.value == "", "the next action clears the old error"


def test_headline_separates_what_was_paid_from_what_settled(loaded: HistoryBrowser) -> None:
    html = loaded.headline.value
    paid, settled = html.split("bk-settled")
    assert "What customers paid" in paid and "What settled" in paid.split("bk-paid")[1]
    # The paid table has no fee or net column; the settled table no gross or declines.
    paid_table = paid.split("bk-paid")[1]
    assert "Gross" in paid_table and "Declined" in paid_table
    assert "Fees" not in paid_table and "Net" not in paid_table
    assert "Fees" in settled and "Net to balance" in settled
    assert "Gross" not in settled and "Declined" not in settled
    figures = loaded.figures()
    for code in ("usd", "eur", "gbp", "jpy"):
        assert f"<b>{code.upper()}</b>" in paid_table
    for code, row in figures.iterrows():
        if not pd.isna(row["fees"]):
            assert f"<b>{str(code).upper()}</b>" in settled


def test_search_by_email_customer_and_description(
    loaded: HistoryBrowser, client: billing_kit.Client
) -> None:
    loaded.search.value = "ANA@example"
    assert set(loaded.value["customer_email"]) == {"ana@example.com"}
    assert len(loaded.value) == 2
    customer = loaded.value["customer"].iloc[0]
    loaded.search.value = str(customer)
    assert len(loaded.value) == 2
    client.charge("zed@example.com", "5.00", "usd", payment_method="pm_card_visa",
                  description="Invoice 77")  # fmt: skip
    loaded.load_button.click()
    loaded.search.value = "invoice 77"
    assert list(loaded.value["description"]) == ["Invoice 77"]
    assert "zed@example.com" in loaded.table.html.value
    loaded.search.value = "nobody-matches-this"
    assert loaded.value.empty and "No rows" in loaded.table.html.value


def test_time_zone_shows_and_exports_times_in_the_zone(loaded: HistoryBrowser) -> None:
    utc_times = list(loaded.value["created"])
    loaded.tz.value = "Asia/Tokyo"
    assert str(loaded.value["created"].dt.tz) == "Asia/Tokyo"
    assert list(loaded.value["created"]) == utc_times, "the same instants"
    newest = max(utc_times).tz_convert("Asia/Tokyo")
    assert f"{newest:%Y-%m-%d %H:%M}" in loaded.table.html.value
    path = loaded.export_excel()
    sheet = openpyxl.load_workbook(path)["charges"]
    headers = [c.value for c in sheet[1]]
    assert "created (Asia/Tokyo)" in headers
    assert "Asia-Tokyo" in path.name
    with pytest.raises(Exception, match="not a known time zone"):
        HistoryBrowser(loaded.client, tz="Mars/Olympus")


def test_refunds_disputes_and_payouts_have_their_own_view(
    client: billing_kit.Client, tmp_path: Path
) -> None:
    charge = client.charge("ana@example.com", "40.00", "usd", payment_method="pm_card_visa")
    refund = client.refund(charge.id, "15.00", reason="requested_by_customer")
    client.charge("bo@example.com", "9.00", "eur", payment_method="pm_card_createDispute")
    browser = HistoryBrowser(client, export_dir=tmp_path)
    browser.kind.value = "refunds"
    assert browser.loaded_kind == "refunds" and browser.error_area.value == ""
    assert refund.id in browser.table.html.value
    assert "Requested by customer" in browser.table.html.value
    assert "$15.00" in browser.headline.value and "bk-totals" in browser.headline.value
    assert [v for _, v in browser.status.options][:2] == ["", "pending"]
    assert len(browser.tabs.children) == 1, "charts are about charges"
    browser.kind.value = "disputes"
    assert list(browser.value["charge"].str[:3]) == ["ch_"]
    assert "€9.00" in browser.table.html.value and "Fraudulent" in browser.table.html.value
    browser.kind.value = "payouts"
    assert browser.error_area.value == ""
    assert "payouts" in browser.progress_label.value
    browser.kind.value = "charges"
    assert len(browser.value) == 2 and len(browser.tabs.children) == 4


def test_exports_carry_emails_exact_amounts_and_real_times(loaded: HistoryBrowser) -> None:
    loaded.status.value = "succeeded"
    csv_path = loaded.export_csv()
    with csv_path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    by_id = {row["id"]: row for row in rows}
    frame = loaded.value
    assert set(by_id) == set(frame["id"])
    for _, charge in frame.iterrows():
        row = by_id[charge["id"]]
        assert row["customer_email"] == charge["customer_email"]
        currency = charge["currency"]
        assert row["amount"] == {"usd": "{:.2f}", "eur": "{:.2f}", "gbp": "{:.2f}",
                                 "jpy": "{:.0f}"}[currency].format(charge["amount_minor"]
                                 / (1 if currency == "jpy" else 100))  # fmt: skip
        when = datetime.fromisoformat(row["created"])
        assert when.utcoffset() is not None and "T" in row["created"]
        assert pd.Timestamp(when) == charge["created"]
    assert not any(row["amount"].endswith("00") and row["amount"].count(".") and
                   len(row["amount"].split(".")[1]) == 3 for row in rows)  # fmt: skip
    xlsx_path = loaded.export_excel()
    sheet = openpyxl.load_workbook(xlsx_path)["charges"]
    headers = [c.value for c in sheet[1]]
    amount_col = headers.index("amount") + 1
    created_col = headers.index("created (UTC)") + 1
    currency_col = headers.index("currency") + 1
    email_col = headers.index("customer_email") + 1
    for r in range(2, sheet.max_row + 1):
        currency = sheet.cell(r, currency_col).value
        cell = sheet.cell(r, amount_col)
        assert isinstance(cell.value, int | float)
        assert cell.number_format == ("#,##0" if currency == "jpy" else "#,##0.00")
        assert isinstance(sheet.cell(r, created_col).value, datetime), "a real Excel date"
        assert "@example.com" in sheet.cell(r, email_col).value


def test_export_names_carry_the_filters_and_never_overwrite(loaded: HistoryBrowser) -> None:
    loaded.status.value = "failed"
    loaded.currency.value = "usd"
    loaded.search.value = "ana@example.com"
    first = loaded.export_csv()
    assert first.name.startswith("charges_") and first.suffix == ".csv"
    for part in ("_UTC_", "_failed_", "_usd_", "search-ana@example.com"):
        assert part in first.name
    content = first.read_bytes()
    loaded.search.value = ""
    second = loaded.export_csv()
    assert second != first and first.read_bytes() == content, "the first file is untouched"
    loaded.search.value = "ana@example.com"
    third = loaded.export_csv()
    assert third.name == first.name.replace(".csv", "-2.csv")
    assert len({first, second, third}) == 3 and all(p.exists() for p in (first, second, third))


def test_emails_of_customers_beyond_the_first_page(client: billing_kit.Client) -> None:
    # The charged customer is the oldest of 101: listed newest first, it is on the second page.
    first = client.find_or_create_customer("first.customer@example.com")
    for n in range(100):
        client.stripe.v1.customers.create(params={"email": f"later{n}@example.com"})
    client.charge(first, "12.00", "usd", payment_method="pm_card_visa")
    browser = HistoryBrowser(client)
    browser.load_button.click()
    assert browser.error_area.value == ""
    assert list(browser.value["customer_email"]) == ["first.customer@example.com"]
