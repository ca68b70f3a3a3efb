"""HistoryBrowser driven headless against the sandbox with practice charges."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

import billing_kit
from billing_kit.widgets import HistoryBrowser
from billing_kit.widgets.demo import DEMO_CHARGES, ensure_demo_charges


@pytest.fixture
def loaded(client: billing_kit.Client, tmp_path: Path) -> HistoryBrowser:
    ensure_demo_charges(client)
    browser = HistoryBrowser(client, export_dir=tmp_path / "exports")
    browser.load_button.click()
    return browser


def test_load_fills_headline_table_and_charts(loaded: HistoryBrowser) -> None:
    assert loaded.error_area.value == ""
    frame = loaded.frame
    assert len(frame) == len(DEMO_CHARGES)
    assert loaded.progress.value == loaded.progress.max and loaded.progress.bar_style == "success"
    assert loaded.progress_label.value == f"done: {len(DEMO_CHARGES)} charges"
    assert loaded._slot.reports >= 1, "the loader reported progress into the form"
    figures = loaded.figures()
    assert set(figures.index) == {"usd", "eur", "gbp", "jpy"}
    usd = frame[frame["currency"].astype("string") == "usd"]
    ok = usd[usd["status"].astype("string") == "succeeded"]
    assert figures.loc["usd", "gross"] == ok["amount_minor"].sum()
    assert "Gross" in loaded.headline.value and "Declined" in loaded.headline.value
    assert "page 1 of 1" in loaded.table.position.value
    assert "ana@example.com" in loaded.table.html.value, "customers are shown by email"
    assert "visa ····4242" in loaded.table.html.value and "$250.00" in loaded.table.html.value
    assert all(bytes(image.value)[:4] == b"\x89PNG" for image in loaded.charts.values())
    assert [o[1] for o in loaded.currency.options] == ["", "eur", "gbp", "jpy", "usd"]


def test_filters_change_the_view_without_reloading(loaded: HistoryBrowser) -> None:
    before = loaded.frame
    loaded.status.value = "failed"
    assert set(loaded.value["status"].astype("string")) == {"failed"}
    assert "succeeded" not in loaded.table.html.value
    loaded.currency.value = "eur"
    assert set(loaded.value["currency"].astype("string")) == {"eur"}
    assert list(loaded.figures().index) == ["eur"]
    assert loaded.frame is before


def test_export_buttons_write_csv_and_excel(loaded: HistoryBrowser) -> None:
    loaded.currency.value = "usd"
    loaded.csv_button.click()
    loaded.excel_button.click()
    csv_path, xlsx_path = loaded.exported
    assert pd.read_csv(csv_path)["currency"].unique().tolist() == ["usd"]
    sheet = openpyxl.load_workbook(xlsx_path)["charges"]
    assert sheet.max_row == len(loaded.value) + 1
    assert xlsx_path.name.endswith(".xlsx") and str(xlsx_path) in loaded.export_result.value


def test_bad_range_is_shown_in_the_form(client: billing_kit.Client) -> None:
    browser = HistoryBrowser(client)
    browser.since.value = browser.until.value + timedelta(days=2)
    browser.load_button.click()
    assert "is after To" in browser.error_area.value
    assert browser.frame.empty and not browser.load_button.disabled


def test_empty_range_loads_cleanly(client: billing_kit.Client) -> None:
    browser = HistoryBrowser(client)
    browser.load_button.click()
    assert browser.error_area.value == ""
    assert "No charges" in browser.headline.value
    assert browser.progress.bar_style == "success"
