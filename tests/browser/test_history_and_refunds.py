"""The history and refund notebooks in a real JupyterLab: load, chart, offline table, refund once.

Screenshots go to artifacts/screenshots/ (kept by CI); the ``page`` fixture fails the test if the
page tried to reach anything but the local server (itables must run offline).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

import billing_kit

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(240)]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


def _open_and_run_all(page: Any, lab: Any, notebook: str) -> None:
    from playwright.sync_api import expect

    page.goto(lab.url(notebook))
    expect(page.locator(".jp-NotebookPanel-notebook")).to_be_visible(timeout=60_000)
    expect(page.locator("#jp-main-statusbar")).to_contain_text("Idle", timeout=60_000)
    started = page.locator(".jp-InputPrompt", has_text=re.compile(r"\[(\*|\d+)\]"))
    for _ in range(3):
        page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        page.locator("li.lm-Menu-item[data-command='runmenu:run-all']").click()
        try:
            expect(started).not_to_have_count(0, timeout=10_000)
        except AssertionError:
            page.keyboard.press("Escape")
            continue
        return
    raise AssertionError("Run All never started the notebook's cells")


def _shot(locator: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    locator.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def test_history_browser_loads_charts_and_offline_table(lab: Any, page: Any) -> None:
    from playwright.sync_api import expect

    # Uncaught script errors (itables 2.9's own offline init raised one on every run).
    uncaught: list[str] = []
    page.on("pageerror", lambda error: uncaught.append(str(error)))
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
    _open_and_run_all(page, lab, "02_charge_history.ipynb")
    load = page.get_by_role("button", name=re.compile(r"Load$"))  # after the icon
    expect(load).to_be_visible(timeout=90_000)
    # The notebook's own cells ran to the end: the offline itables table and the charts exist.
    expect(page.locator("table.dataTable, .dt-container table").first).to_be_visible(timeout=90_000)
    expect(page.locator(".jp-RenderedImage img")).to_have_count(3, timeout=60_000)
    load.click()
    form = page.locator(".bk-form").first
    expect(form.locator(".bk-headline").first).to_contain_text("Gross", timeout=60_000)
    # The seeded 90-day history of the shared sandbox: hundreds of charges in the last 30 days.
    expect(form).to_contain_text(re.compile(r"done: [\d,]+ charges"))
    loaded = re.search(r"done: ([\d,]+) charges", form.inner_text())
    assert loaded is not None and int(loaded[1].replace(",", "")) > 100
    _shot(form, "history-browser-table")
    for tab, name in (("Daily volume", "daily-volume"), ("Declines", "declines"), ("Fees", "fees")):
        form.get_by_role("tab", name=tab).click()
        chart = form.locator("img.widget-image:visible")
        expect(chart).to_have_count(1)
        # The chart is a real, decoded picture, not a broken-image icon.
        page.wait_for_function(
            "img => img.complete && img.naturalWidth > 300", arg=chart.element_handle()
        )
        _shot(form, f"history-browser-{name}")
    form.get_by_role("button", name="Export Excel").click()
    expect(form).to_contain_text(f"Saved {loaded[1]} rows", timeout=30_000)
    assert list((lab.root / "exports").glob("charges_*_UTC.xlsx"))
    expect(page.locator(".bk-error")).to_have_count(0)
    assert uncaught == []
    assert not [t for t in console if "itables" in t or "set_or_remove_dark_class" in t], console


def test_refund_form_refunds_once(lab: Any, page: Any) -> None:
    from playwright.sync_api import expect

    _open_and_run_all(page, lab, "03_refunds.ipynb")
    review = page.get_by_role("button", name="Review refund")
    expect(review).to_be_visible(timeout=90_000)
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
    _shot(form, "refund-form-review")
    amount = str(billing_kit.Money(target.amount.minor, target.amount.currency))
    assert amount in form.locator(".bk-summary").inner_text()
    form.locator(".bk-review").get_by_role("button", name=re.compile(r"^Refund ")).dblclick()
    expect(form.locator(".bk-result")).to_contain_text("Refunded", timeout=60_000)
    _shot(form, "refund-form-result")
    refreshed = client.get_charge(target.id)
    assert refreshed.refunded_amount.minor == billing_kit.parse_amount("5", target.amount.currency)
