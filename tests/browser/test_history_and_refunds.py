"""The history and refund notebooks in a real JupyterLab: load, chart, offline table, refund once.

The history browser also exports with filters (the file's name carries them; emails, and amounts
at the currency's decimals, inside). Screenshots go to artifacts/screenshots/ (kept by CI); a
failure's message carries a screenshot and the JupyterLab log's tail; the ``page`` fixture fails
the test if the page tried to reach anything but the local server (itables must run offline).
"""

from __future__ import annotations

import csv
import re
from typing import Any

import pytest

import billing_kit
from tests.browser.steps import explained, open_notebook, run_all, shot

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(240)]


def test_history_browser_loads_charts_and_offline_table(lab: Any, page: Any) -> None:
    with explained(page, lab.log, "history-notebook"):
        _history_notebook(lab, page)


def _history_notebook(lab: Any, page: Any) -> None:
    from playwright.sync_api import expect

    # Uncaught script errors (itables 2.9's own offline init raised one on every run).
    uncaught: list[str] = []
    page.on("pageerror", lambda error: uncaught.append(str(error)))
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
    open_notebook(page, lab, "02_charge_history.ipynb")
    run_all(page)
    load = page.get_by_role("button", name=re.compile(r"Load$"))  # after the icon
    expect(load).to_be_visible()
    # The notebook's own cells ran to the end: the offline itables table and the charts exist.
    expect(page.locator("table.dataTable, .dt-container table").first).to_be_visible()
    expect(page.locator(".jp-RenderedImage img")).to_have_count(3)
    load.click()
    form = page.locator(".bk-form").first
    expect(form.locator(".bk-headline").first).to_contain_text("Gross", timeout=60_000)
    # The seeded 90-day history of the shared sandbox: hundreds of charges in the last 30 days.
    expect(form).to_contain_text(re.compile(r"done: [\d,]+ charges"))
    loaded = re.search(r"done: ([\d,]+) charges", form.inner_text())
    assert loaded is not None and int(loaded[1].replace(",", "")) > 100
    # The table's page arrives after the headline: the first rows are charge ids with emails.
    expect(form.locator(".bk-table").first).to_contain_text("ch_")
    expect(form.locator(".bk-table").first).to_contain_text("@example.com")
    shot(form, "history-browser-table")
    for tab, name in (("Daily volume", "daily-volume"), ("Declines", "declines"), ("Fees", "fees")):
        form.get_by_role("tab", name=tab).click()
        chart = form.locator("img.widget-image:visible")
        expect(chart).to_have_count(1)
        # The chart is a real, decoded picture, not a broken-image icon.
        page.wait_for_function(
            "img => img.complete && img.naturalWidth > 300", arg=chart.element_handle()
        )
        shot(form, f"history-browser-{name}")
    form.get_by_role("button", name="Export Excel").click()
    expect(form).to_contain_text(f"Saved {loaded[1]} rows", timeout=30_000)
    assert list((lab.root / "exports").glob("charges_*_UTC.xlsx"))
    _export_with_filters(lab, form)
    expect(page.locator(".bk-error")).to_have_count(0)
    assert uncaught == []
    assert not [t for t in console if "itables" in t or "set_or_remove_dark_class" in t], console


def _export_with_filters(lab: Any, form: Any) -> None:
    """Filter succeeded USD charges and export CSV: the name says so, the rows are readable."""
    from playwright.sync_api import expect

    form.get_by_role("combobox", name="Status").select_option(label="Succeeded")
    headline = form.locator(".bk-headline").first
    expect(headline).to_contain_text("0.0% (0 of")  # succeeded only: no declines left
    form.get_by_role("combobox", name="Currency").select_option(label="USD")
    expect(form).not_to_contain_text("Saved ")  # a filter change clears the last message
    # The kernel has redrawn the view for both filters before the export is asked for.
    expect(headline).to_contain_text("USD")
    expect(headline).not_to_contain_text("EUR")
    form.get_by_role("button", name="Export CSV").click()
    expect(form).to_contain_text(re.compile(r"Saved \d+ rows"), timeout=30_000)
    saved = int(re.search(r"Saved (\d+) rows", form.inner_text())[1])  # type: ignore[index]
    shot(form, "history-browser-export")
    files = list((lab.root / "exports").glob("charges_*_UTC_succeeded_usd.csv"))
    assert len(files) == 1, sorted(p.name for p in (lab.root / "exports").iterdir())
    assert files[0].name in form.inner_text()
    with files[0].open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert 0 < len(rows) == saved
    assert {r["status"] for r in rows} == {"succeeded"} and {r["currency"] for r in rows} == {"usd"}
    assert all(re.fullmatch(r"[^@\s]+@example\.com", r["customer_email"]) for r in rows)
    assert all(re.fullmatch(r"\d+\.\d\d", r["amount"]) for r in rows), rows[0]["amount"]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", r["created"]) for r in rows)


def test_refund_form_refunds_once(lab: Any, page: Any) -> None:
    with explained(page, lab.log, "refund-notebook"):
        _refund_notebook(lab, page)


def _refund_notebook(lab: Any, page: Any) -> None:
    from playwright.sync_api import expect

    open_notebook(page, lab, "03_refunds.ipynb")
    run_all(page)
    review = page.get_by_role("button", name="Review refund")
    expect(review).to_be_visible()
    client = billing_kit.connect(home=lab.home)
    # A fresh USD charge of the seeded history: not refunded yet, not disputed.
    target = next(
        c
        for c in client.recent_charges(limit=50)
        if c.status == "succeeded"
        and c.refunded_amount.minor == 0
        and c.amount.currency == "usd"
        and not client.stripe.v1.charges.retrieve(c.id).disputed
    )
    # Only refundable charges are offered: no failed charge of the history is in the picker.
    recent = client.recent_charges(limit=50)
    offered = page.get_by_role("combobox", name="Recent charge").inner_text()
    assert not [c.id for c in recent if c.status == "failed" and c.id in offered]
    page.get_by_role("textbox", name="or charge id").fill(target.id)
    page.get_by_role("button", name="Partial refund").click()
    page.get_by_role("textbox", name="Amount", exact=True).fill("5")
    review.click()
    form = page.locator(".bk-form").first
    expect(form.locator(".bk-summary")).to_contain_text(target.id, timeout=30_000)
    shot(form, "refund-form-review")
    amount = str(billing_kit.Money(target.amount.minor, target.amount.currency))
    assert amount in form.locator(".bk-summary").inner_text()
    form.locator(".bk-review").get_by_role("button", name=re.compile(r"^Refund ")).dblclick()
    expect(form.locator(".bk-result")).to_contain_text("Refunded", timeout=60_000)
    shot(form, "refund-form-result")
    refreshed = client.get_charge(target.id)
    assert refreshed.refunded_amount.minor == billing_kit.parse_amount("5", target.amount.currency)
