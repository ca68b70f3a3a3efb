"""Form messages are replaced, not stacked; labels are never cut; words are the form's own."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import ipywidgets as W

import billing_kit
from billing_kit.widgets import ChargeForm, HistoryBrowser, RefundForm
from billing_kit.widgets._ledger_view import LedgerView


def fill(form: ChargeForm, **values: str) -> None:
    defaults = {"customer": "ana@example.com", "amount": "12.50", "currency": "usd"}
    for name, value in {**defaults, **values}.items():
        getattr(form, name).value = value


def buttons(widget: W.Widget) -> Iterator[W.Button]:
    if isinstance(widget, W.Button):
        yield widget
    for child in getattr(widget, "children", ()):
        yield from buttons(child)


def test_result_line_goes_when_the_next_review_finds_problems(
    client: billing_kit.Client, stripe_charges: Callable[[], list[Any]]
) -> None:
    form = ChargeForm(client)
    fill(form)
    form.review_button.click()
    form.confirm_button.click()
    assert "Charged $12.50" in form.result.value
    fill(form, amount="12.345")
    form.review_button.click()
    assert "more decimals than USD allows" in form.problems_area.value
    assert form.result.value == "", "the old success line does not stay under the new error"
    assert len(stripe_charges()) == 1


def test_result_line_goes_when_the_next_charge_fails(
    sandbox: Any, client: billing_kit.Client
) -> None:
    form = ChargeForm(client)
    fill(form)
    form.review_button.click()
    form.confirm_button.click()
    assert "Charged $12.50" in form.result.value
    fill(form, amount="13.00")
    form.review_button.click()
    sandbox.stop()
    form.confirm_button.click()
    assert "bk-error" in form.error_area.value
    assert form.result.value == "", "a failure is not shown under the previous success"


def test_a_declined_question_goes_when_a_new_review_starts(client: billing_kit.Client) -> None:
    form = ChargeForm(client)
    for _ in range(2):
        fill(form)
        form.review_button.click()
        form.confirm_button.click()
    assert form.duplicate_box.layout.display == "flex"
    fill(form, amount="20.00")
    form.review_button.click()
    assert form.duplicate_box.layout.display == "none"


def test_negative_amount_speaks_the_forms_language(client: billing_kit.Client) -> None:
    form = ChargeForm(client)
    fill(form, amount="-5")
    text = form.problems_area.value
    assert "is negative" in text and "refund form" in text
    assert "refund()" not in text


def test_negative_partial_refund_is_told_plainly(client: billing_kit.Client) -> None:
    charge = client.charge("ana@example.com", "40.00", "usd", payment_method="pm_card_visa")
    form = RefundForm(client)
    form.charge_id.value = charge.id
    form.kind.value = "Partial refund"
    form.amount.value = "-5"
    assert "is negative; type a positive amount." in form.problems_area.value
    assert "refund()" not in form.problems_area.value


def test_a_small_partial_refund_is_not_held_to_the_minimum_charge(
    client: billing_kit.Client,
) -> None:
    charge = client.charge("ana@example.com", "40.00", "usd", payment_method="pm_card_visa")
    form = RefundForm(client)
    form.charge_id.value = charge.id
    form.kind.value = "Partial refund"
    form.amount.value = "0.10"
    form.review_button.click()
    assert form.problems_area.value == ""
    assert form.confirm_button.description == "Refund $0.10"


# ipywidgets draws a button 148 px wide unless told otherwise and clips a longer label with "…".
_DEFAULT_WIDTH = 148


def _width_needed(label: str) -> int:
    return 8 * len(label) + 32  # about 8 px a character at the notebook's font, plus padding


def test_no_button_label_is_cut(client: billing_kit.Client, tmp_path: Path) -> None:
    forms = [ChargeForm(client), RefundForm(client), HistoryBrowser(client, export_dir=tmp_path),
             LedgerView(client)]  # fmt: skip
    checked = 0
    assert len({b.description for f in forms for b in buttons(f.widget)}) > 10
    for form in forms:
        for found in buttons(form.widget):
            width = found.layout.width
            if width == "auto":
                continue
            px = _DEFAULT_WIDTH if width is None else int(re.sub(r"px$", "", width))
            assert px >= _width_needed(found.description), (found.description, width)
            checked += 1
    assert checked == 0, "every button sizes to its label"
