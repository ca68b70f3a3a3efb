"""The charge notebook in a real JupyterLab, clicked through in Debian's chromium.

Opens 01_charge_a_customer.ipynb and runs all cells; then, in the charge form: validation while
typing, review and confirm (the charge is checked in the sandbox the notebook's kernel used), a
double click on Charge that charges once, and a declining test card that shows the decline in
the form's words. Last, the ledger view under it lists these attempts with their idempotency keys
and Stripe ids, and filters them by outcome. Screenshots go to artifacts/screenshots/ (kept by
CI); a failure's message carries a screenshot and the JupyterLab log's tail.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest

import billing_kit
from tests.browser.steps import CLICK, explained, open_notebook, run_all, settled, shot

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(300)]

NOTEBOOK = "01_charge_a_customer.ipynb"


def _run_new_cell(page: Any, code: str) -> None:
    """Append a code cell after the last one and run it."""
    page.locator(".jp-Cell").last.locator(".jp-InputPrompt").click()
    page.keyboard.press("Escape")
    page.keyboard.press("b")
    page.keyboard.press("Enter")
    page.keyboard.type(code)
    page.keyboard.press("Shift+Enter")


def _review(page: Any, *, customer: str, amount: str, card: str | None = None) -> Any:
    """Fill the charge form, review it, check the summary; return the Charge button."""
    from playwright.sync_api import expect

    form = page.locator(".bk-form").first
    form.get_by_role("textbox", name="Customer", exact=True).fill(customer)
    form.get_by_role("textbox", name="Amount", exact=True).fill(amount)
    if card is not None:
        form.get_by_role("combobox", name="Test card").select_option(label=card)
    form.get_by_role("button", name="Review charge").click()
    summary = form.locator(".bk-summary")
    expect(summary).to_contain_text(f"${amount}", timeout=CLICK)
    expect(summary).to_contain_text(customer)
    expect(summary).to_contain_text(card or "succeeds (Visa)")
    expect(summary).to_contain_text("SANDBOX")
    charge = form.get_by_role("button", name=f"Charge ${amount}")
    expect(charge).to_be_enabled()
    return charge


def _result(page: Any, expected: str) -> str:
    from playwright.sync_api import expect

    result = page.locator(".bk-form").first.locator(".bk-result")
    expect(result).to_contain_text(expected, timeout=CLICK)
    text: str = result.inner_text()
    return text


def test_charge_form_in_jupyterlab(lab: Any, page: Any) -> None:
    with explained(page, lab.log, "charge-notebook"):
        _charge_notebook(lab, page)


def _charge_notebook(lab: Any, page: Any) -> None:
    from playwright.sync_api import expect

    # The shared sandbox starts with a seeded history, all of it before today: this test's
    # charges are the ones created from now on.
    started = datetime.fromtimestamp(int(time.time()), UTC)
    open_notebook(page, lab, NOTEBOOK)
    run_all(page)  # the first connect() starts (and seeds) the shared sandbox
    form = page.locator(".bk-form").first
    expect(form.get_by_role("button", name="Review charge")).to_be_visible()
    expect(form.locator(".bk-banner-sandbox")).to_contain_text("SANDBOX")
    shot(form, "charge-form-empty")

    # Validation is shown while typing, before anything is sent.
    form.get_by_role("textbox", name="Amount", exact=True).fill("12.345")
    expect(form.locator(".bk-problems")).to_contain_text("more decimals than USD allows")
    shot(form, "charge-form-validation")
    settled(page)  # the next amount must not be held back behind the Review click

    _review(page, customer="ana@example.com", amount="12.50").click()
    first = _result(page, "Charged $12.50 to ana@example.com")
    shot(form, "charge-form-success")

    client = billing_kit.connect(home=lab.home)
    assert client.mode == "sandbox"
    charges = [c for c in client.recent_charges(limit=10) if c.created >= started]
    assert len(charges) == 1
    assert (charges[0].amount.minor, charges[0].amount.currency) == (1250, "usd")
    assert charges[0].id in first

    # Double click: both clicks reach the kernel queue; one charge results.
    _review(page, customer="ben@example.com", amount="7.00").dblclick()
    second = _result(page, "Charged $7.00 to ben@example.com")
    charges = [c for c in client.recent_charges(limit=10) if c.created >= started]
    assert sorted(c.amount.minor for c in charges) == [700, 1250]
    assert next(c.id for c in charges if c.amount.minor == 700) in second
    expect(form.locator(".bk-session")).to_contain_text("ben@example.com")

    # A declining test card: the decline in the form's words, nothing charged.
    card = "declined: insufficient funds"
    _review(page, customer="cy@example.com", amount="9.00", card=card).click()
    declined = _result(page, "Declined:")
    assert "Nothing was charged" in declined
    assert "insufficient funds" in declined.lower()
    assert "CardDeclined" not in declined and "402" not in declined  # no API jargon
    shot(form, "charge-form-declined")
    charges = [c for c in client.recent_charges(limit=10) if c.created >= started]
    assert [c.status for c in charges if c.amount.minor == 900] == ["failed"]
    expect(page.locator(".bk-error")).to_have_count(0)

    _ledger_view(page, client)

    # Both clicks of the double click reached the kernel (the button was not yet disabled in
    # the browser) and the kernel refused the second one: the guard at work, not a lucky click.
    _run_new_cell(page, "print('ignored clicks:', form.ignored_clicks)")
    ignored = page.locator(".jp-OutputArea-output", has_text="ignored clicks:")
    expect(ignored).to_be_visible(timeout=CLICK)
    assert ignored.inner_text().strip() == "ignored clicks: 1"


def _ledger_view(page: Any, client: billing_kit.Client) -> None:
    """The ledger view lists this session's attempts with key and Stripe id; filter by outcome."""
    from playwright.sync_api import expect

    view = page.locator(".bk-form", has_text="Ledger: every charge").first
    rows = client.ledger.frame()
    assert sorted(rows["outcome"]) == ["declined", "succeeded", "succeeded"]
    view.get_by_role("button", name="Reload ledger").click()
    table = view.locator(".bk-table")
    expect(view).to_contain_text("3 attempts (2 succeeded, 1 declined)", timeout=CLICK)
    for key, stripe_id in zip(rows["idempotency_key"], rows["stripe_id"], strict=True):
        expect(table).to_contain_text(key)
        expect(table).to_contain_text(stripe_id)
    shot(view, "ledger-view")

    view.get_by_role("combobox", name="Outcome").select_option(label="declined")
    expect(view).to_contain_text("1 attempts (1 declined)", timeout=CLICK)
    declined = rows[rows["outcome"] == "declined"].iloc[0]
    expect(table.locator("tr")).to_have_count(2)  # the header and the declined attempt
    expect(table).to_contain_text(declined["idempotency_key"])
    expect(table).to_contain_text(str(declined["decline_code"]))
    for key in rows[rows["outcome"] == "succeeded"]["idempotency_key"]:
        expect(table).not_to_contain_text(key)
    shot(view, "ledger-view-declined")
