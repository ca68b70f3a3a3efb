"""BatchChargeForm headless: upload, problems, skip invalid rows, confirm once, results."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import billing_kit
from billing_kit.widgets import BatchChargeForm

SAMPLE = Path(__file__).resolve().parents[2] / "notebooks" / "data" / "sample_charges.csv"


def _upload(form: BatchChargeForm, path: Path) -> None:
    content = path.read_bytes()
    form.upload.value = (
        {
            "name": path.name,
            "type": "text/csv",
            "size": len(content),
            "content": memoryview(content),
            "last_modified": datetime(2026, 12, 1, tzinfo=UTC),
        },
    )


def test_the_sample_sheet_shows_its_problems_and_sends_nothing(
    client: billing_kit.Client, stripe_charges: Callable[[], list[Any]]
) -> None:
    form = BatchChargeForm(client)
    _upload(form, SAMPLE)
    assert form.last_error is None
    assert list(form.problems.frame["row"]) == [8, 9, 10]
    assert "row" in form.problems.page_html() and "amount" in form.problems.page_html()
    assert "3 problem(s)" in form.preview_area.value
    assert form.confirm_button.disabled
    form.confirm_button.click()
    assert form.result is None and stripe_charges() == []


def test_valid_rows_are_charged_once_even_on_a_double_click(
    client: billing_kit.Client, stripe_charges: Callable[[], list[Any]]
) -> None:
    form = BatchChargeForm(client)
    _upload(form, SAMPLE)
    form.skip_invalid.value = True
    assert not form.confirm_button.disabled
    assert "6 to charge" in form.preview_area.value
    form.confirm_button.click()
    form.confirm_button.click()  # the second click finds nothing waiting
    assert form.last_error is None and form.ignored_clicks == 1
    assert form.result is not None
    statuses = list(form.result.frame["status"])
    assert statuses == ["succeeded"] * 4 + ["declined"] * 2 + ["invalid"] * 3
    assert len(stripe_charges()) == 6  # four successes, two failed (declined) charges
    assert "declined" in form.results.page_html()
    assert "base64," in form.download.value
    assert (client.home / "batches" / "sample_charges-results.xlsx").is_file()

    # The same sheet again: nothing left to charge.
    assert "Done" in form.preview_area.value
    _upload(form, SAMPLE)
    assert "Nothing to charge" in form.preview_area.value and form.confirm_button.disabled
    assert len(stripe_charges()) == 6


def test_live_mode_needs_the_total_typed(
    client: billing_kit.Client, stripe_charges: Callable[[], list[Any]], tmp_path: Path
) -> None:
    sheet = tmp_path / "two.csv"
    sheet.write_text(
        "email,amount,currency,payment_method\n"
        "a@example.com,10.00,usd,pm_card_visa\nb@example.com,2.50,usd,pm_card_visa\n"
    )
    client.mode = "live"  # the sandbox stands in for Stripe; only the confirmation differs
    form = BatchChargeForm(client)
    form.load(sheet)
    form.retype.value = "$10.00"
    assert form.confirm() is None
    assert "$12.50" in form.preview_area.value and stripe_charges() == []
    form.retype.value = "$12.50"
    result = form.confirm()
    assert result is not None and list(result.frame["status"]) == ["succeeded", "succeeded"]
