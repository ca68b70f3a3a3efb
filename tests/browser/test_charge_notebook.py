"""The charge notebook in a real JupyterLab, clicked through in Debian's chromium.

Opens 01_charge_a_customer.ipynb, runs all cells, fills the form, reviews, confirms and checks the
charge in the sandbox the notebook's kernel used; then double-clicks Charge and checks one charge.
Screenshots go to artifacts/screenshots/ (kept by CI).
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import billing_kit

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(240)]

NOTEBOOK = "01_charge_a_customer.ipynb"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


def _shot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def _form_shot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.locator(".bk-form").first.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def _run_all(page: Any) -> None:
    """Run all cells from the Run menu, and check that the kernel really started running them.

    Right after the page loads the menu command can land before the notebook's session is ready
    and do nothing, so the click is repeated until a prompt shows ``[*]`` or a number.
    """
    from playwright.sync_api import expect

    expect(page.locator("#jp-main-statusbar")).to_contain_text("Idle", timeout=60_000)
    started = page.locator(".jp-InputPrompt", has_text=re.compile(r"\[(\*|\d+)\]"))
    for attempt in range(1, 4):
        page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        page.locator("li.lm-Menu-item[data-command='runmenu:run-all']").click()
        try:
            expect(started).not_to_have_count(0, timeout=10_000)
        except AssertionError:
            print(f"Run All attempt {attempt} did not start the cells")
            page.keyboard.press("Escape")
            continue
        return
    raise AssertionError("Run All never started the notebook's cells")


def _run_new_cell(page: Any, code: str) -> None:
    """Append a code cell after the last one and run it (the kernel runs it after queued clicks)."""
    page.locator(".jp-Cell").last.locator(".jp-InputPrompt").click()
    page.keyboard.press("Escape")
    page.keyboard.press("b")
    page.keyboard.press("Enter")
    page.keyboard.type(code)
    page.keyboard.press("Shift+Enter")


def _review_and_charge(page: Any, *, customer: str, amount: str, double: bool) -> str:
    from playwright.sync_api import expect

    page.get_by_role("textbox", name="Customer", exact=True).fill(customer)
    page.get_by_role("textbox", name="Amount", exact=True).fill(amount)
    page.get_by_role("button", name="Review charge").click()
    summary = page.locator(".bk-summary")
    expect(summary).to_contain_text(f"${amount}", timeout=30_000)
    expect(summary).to_contain_text(customer)
    expect(summary).to_contain_text("SANDBOX")
    charge = page.get_by_role("button", name=f"Charge ${amount}")
    expect(charge).to_be_enabled()
    if double:
        charge.dblclick()
    else:
        charge.click()
    result = page.locator(".bk-result")
    expect(result).to_contain_text(f"Charged ${amount} to {customer}", timeout=60_000)
    text: str = result.inner_text()
    return text


def test_charge_form_in_jupyterlab(lab: Any, page: Any) -> None:
    from playwright.sync_api import expect

    # The shared sandbox starts with a seeded history, all of it before today: this test's
    # charges are the ones created from now on.
    started = datetime.fromtimestamp(int(time.time()), UTC)
    page.goto(lab.url(NOTEBOOK))
    expect(page.locator(".jp-NotebookPanel-notebook")).to_be_visible(timeout=60_000)
    expect(page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']")).to_have_count(
        1, timeout=60_000
    )
    _run_all(page)
    # The first connect() starts the shared sandbox for this BILLING_KIT_HOME.
    try:
        expect(page.get_by_role("button", name="Review charge")).to_be_visible(timeout=90_000)
    except AssertionError:
        _shot(page, "charge-notebook-no-form")
        raise
    banner = page.locator(".bk-banner-sandbox").first  # the ledger view below has one too
    expect(banner).to_contain_text("SANDBOX")
    _form_shot(page, "charge-form-empty")

    # Validation is shown while typing, before anything is sent.
    amount = page.get_by_role("textbox", name="Amount", exact=True)
    amount.fill("12.345")
    expect(page.locator(".bk-problems")).to_contain_text("more decimals than USD allows")
    _form_shot(page, "charge-form-validation")

    first = _review_and_charge(page, customer="ana@example.com", amount="12.50", double=False)
    _form_shot(page, "charge-form-success")
    _shot(page, "charge-notebook")

    client = billing_kit.connect(home=lab.home)
    assert client.mode == "sandbox"
    charges = [c for c in client.recent_charges(limit=10) if c.created >= started]
    assert len(charges) == 1
    assert (charges[0].amount.minor, charges[0].amount.currency) == (1250, "usd")
    assert charges[0].id in first

    # Double click: both clicks reach the kernel queue; one charge results.
    second = _review_and_charge(page, customer="ben@example.com", amount="7.00", double=True)
    _run_new_cell(page, "print('ignored clicks:', form.ignored_clicks)")
    ignored = page.locator(".jp-OutputArea-output", has_text="ignored clicks:")
    expect(ignored).to_be_visible(timeout=30_000)
    # Both clicks reached the kernel (the button was not yet disabled in the browser) and the
    # kernel refused the second one: this is the guard at work, not a lucky single click.
    assert ignored.inner_text().strip() == "ignored clicks: 1"
    _form_shot(page, "charge-form-after-double-click")
    charges = [c for c in client.recent_charges(limit=10) if c.created >= started]
    assert sorted(c.amount.minor for c in charges) == [700, 1250]
    assert next(c.id for c in charges if c.amount.minor == 700) in second
    expect(page.locator(".bk-session")).to_contain_text("ben@example.com")
    expect(page.locator(".bk-error")).to_have_count(0)
