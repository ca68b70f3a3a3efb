"""The month-end HTML report, as accounting opens it: in Debian's chromium, offline.

One ``billing-kit report month-end`` run (module fixture) on a small history: Monday 2 to
Wednesday 4 November 2026, one USD charge a day (order ``O-n``) swept into an automatic payout,
then the clock moves to the 20th; the bank statement is the sandbox's own with its planted
differences, so the exceptions have rows. The page is loaded from the file's text (the ``page``
fixture lets no request leave loopback; the charts are ``data:`` images).
"""

from __future__ import annotations

from typing import Any

import pytest

from billing_kit.cli import main
from billing_kit.sandbox._bank_statement import write_statement
from tests.support import TEST_KEY, month_sandbox

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(180)]

ZONE = "America/New_York"
SECTIONS = ["Tie-out", "Roll-forward", "Activity by category", "Fees", "Refunds and disputes",
            "Payouts with tie-out", "Ending balance", "Exceptions by class", "Charts"]  # fmt: skip


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Run the command once; return its exit status and the HTML it wrote."""
    folder = tmp_path_factory.mktemp("month-end-browser")
    charges = [(day, f"O-{day}", f"{50 + 10 * day}.00", "usd") for day in range(3)]
    with month_sandbox(folder, charges) as (running, db), pytest.MonkeyPatch.context() as patch:
        patch.setenv("BILLING_KIT_HOME", str(folder / "bk-home"))
        patch.setenv("STRIPE_API_KEY", TEST_KEY)
        patch.setenv("STRIPE_API_BASE", running.url)
        bank = folder / "bank.csv"
        write_statement(db, "2026-11", bank, plant=True)
        orders = folder / "orders.csv"
        orders.write_text("order_id,amount,currency\nO-0,50.00,usd\nO-1,60.00,usd\n", "utf-8")
        out = folder / "out"
        argv = ["report", "month-end", "--month", "2026-11", "--tz", ZONE, "--orders",
                str(orders), "--bank", str(bank), "--out-dir", str(out)]  # fmt: skip
        status = main(argv)
        yield status, (out / "month-end-2026-11.html").read_text(encoding="utf-8")


def test_the_report_shows_every_section_in_chromium(report: Any, page: Any) -> None:
    status, html = report
    assert status == 1  # the planted bank differences do not tie
    page.set_content(html, wait_until="load")
    assert page.locator("h1").inner_text() == "Month-end report"
    header = {
        row.locator("th").inner_text(): row.locator("td").inner_text()
        for row in page.locator("table.header tr").all()
    }
    assert header["account"].startswith("http://127.0.0.1:") and TEST_KEY not in html
    assert header["mode"] == "test" and header["tz"] == ZONE
    assert header["period"] == "[2026-11-01, 2026-12-01)"
    assert header["pulled_at"].endswith(" UTC") and header["currency"] == "all"
    assert page.locator("h2").all_inner_texts() == SECTIONS
    failures = page.locator("ul.failures li").all_inner_texts()
    assert any("missing_deposit" in text for text in failures)

    def table_after(title: str) -> Any:
        return page.locator(f"h2:text-is('{title}') + table")

    roll = table_after("Roll-forward").locator("tbody tr td:first-child").all_inner_texts()
    assert roll[0] == "starting_balance" and roll[-1] == "ending_balance"
    categories = table_after("Activity by category").locator("tbody tr td:first-child")
    assert categories.all_inner_texts() == ["charge"]
    assert table_after("Payouts with tie-out").locator("tbody tr").count() == 3
    exceptions = page.locator("h2:text-is('Exceptions by class') ~ h3").all_inner_texts()
    assert exceptions[:2] == ["Orders", "Bank"]
    bank = page.locator("h3:text-is('Bank') + table").inner_text()
    assert "missing_deposit" in bank and "amount_mismatch" in bank
    chart = page.locator("figure.chart img")
    assert chart.count() == 1 and chart.get_attribute("alt").startswith("USD")
    # The image decoded and laid out: a real picture, not a broken-image icon.
    width = chart.evaluate("img => img.complete ? img.naturalWidth : 0")
    assert width >= 600
