"""RefundForm driven headless against the sandbox."""

from __future__ import annotations

from typing import Any

import billing_kit
from billing_kit.widgets import RefundForm
from billing_kit.widgets._refund_form import FULL, PARTIAL


def make_charge(client: billing_kit.Client, amount: str = "40.00", currency: str = "usd") -> Any:
    return client.charge("ana@example.com", amount, currency, payment_method="pm_card_visa")


def refunded(client: billing_kit.Client, charge_id: str) -> int:
    amount: int = client.stripe.v1.charges.retrieve(charge_id).amount_refunded
    return amount


def test_recent_charges_are_offered(client: billing_kit.Client) -> None:
    charge = make_charge(client)
    form = RefundForm(client)
    labels = dict((value, label) for label, value in form.picker.options)
    assert charge.id in labels and "$40.00" in labels[charge.id]
    form.picker.value = charge.id
    assert form.charge_id.value == charge.id


def test_full_refund_review_confirm_and_double_click(client: billing_kit.Client) -> None:
    charge = make_charge(client)
    form = RefundForm(client)
    form.picker.value = charge.id
    form.reason.value = "requested_by_customer"
    form.review_button.click()
    assert form.review_box.layout.display == "flex"
    assert "$40.00" in form.summary.value and "everything left" in form.summary.value
    assert "Requested by customer" in form.summary.value
    assert refunded(client, charge.id) == 0, "review refunds nothing"
    form.confirm_button.click()
    form.confirm_button.click()  # queued second click
    assert refunded(client, charge.id) == 4000
    assert form.ignored_clicks == 1
    assert form.last_refund is not None and form.last_refund.id in form.result.value
    assert "Refunded $40.00" in form.result.value
    assert form.last_refund.id in form.table.value


def test_partial_refund_and_too_much(client: billing_kit.Client) -> None:
    charge = make_charge(client)
    form = RefundForm(client)
    form.charge_id.value = charge.id
    form.kind.value = PARTIAL
    assert not form.amount.disabled
    form.amount.value = "50.00"
    form.review_button.click()
    assert "more than the $40.00 still refundable" in form.problems_area.value
    assert form.review_box.layout.display == "none"
    form.amount.value = "15.00"
    form.review_button.click()
    form.confirm_button.click()
    assert refunded(client, charge.id) == 1500
    # The list now knows $25.00 is left.
    form.kind.value = PARTIAL
    form.charge_id.value = charge.id
    form.amount.value = "30.00"
    form.review_button.click()
    assert "more than the $25.00 still refundable" in form.problems_area.value


def test_bad_choices_are_explained(client: billing_kit.Client) -> None:
    form = RefundForm(client)
    form.review_button.click()
    assert "Pick a recent charge or type a charge id" in form.problems_area.value
    form.charge_id.value = "re_123"
    assert "is not a charge id" in form.problems_area.value
    form.charge_id.value = ""
    form.kind.value = PARTIAL
    form.review_button.click()
    assert "Enter an amount" in form.problems_area.value


def test_nothing_left_to_refund(client: billing_kit.Client) -> None:
    charge = make_charge(client)
    client.refund(charge.id)
    form = RefundForm(client)
    form.charge_id.value = charge.id
    form.kind.value = FULL
    form.review_button.click()
    assert "has nothing left to refund" in form.problems_area.value


def test_unknown_charge_id_is_an_error_in_the_form(client: billing_kit.Client) -> None:
    form = RefundForm(client)
    form.charge_id.value = "ch_doesnotexist"
    form.review_button.click()
    assert "bk-error" in form.error_area.value
    assert "ch_doesnotexist" in form.error_area.value


def refund_five_twice(client: billing_kit.Client) -> tuple[RefundForm, Any]:
    """A form that was asked for the same $5.00 partial refund twice in a row."""
    charge = make_charge(client)
    form = RefundForm(client)
    for _ in range(2):
        form.charge_id.value = charge.id
        form.kind.value = PARTIAL
        form.amount.value = "5.00"
        form.review_button.click()
        form.confirm_button.click()
    return form, charge


def test_repeated_partial_refund_is_a_question(client: billing_kit.Client) -> None:
    form, charge = refund_five_twice(client)
    assert refunded(client, charge.id) == 500
    assert form.duplicate_box.layout.display == "flex"
    question = form.duplicate_box.children[0].value
    assert "$5.00 was already refunded" in question and "Refund again anyway?" in question
    assert form.error_area.value == ""
    form.again_button.click()
    form.again_button.click()  # double click on the answer too
    assert refunded(client, charge.id) == 1000
    assert form.duplicate_box.layout.display == "none"
    assert form.ignored_clicks == 1


def test_declining_the_repeated_refund_refunds_nothing(client: billing_kit.Client) -> None:
    form, charge = refund_five_twice(client)
    form.dont_button.click()
    form.again_button.click()
    assert refunded(client, charge.id) == 500
    assert "Not refunded again" in form.result.value


def declined(client: billing_kit.Client) -> str:
    try:
        client.charge("bo@example.com", "2.50", "usd", payment_method="pm_card_chargeDeclined")
    except billing_kit.CardDeclined as exc:
        assert exc.charge_id is not None
        return exc.charge_id
    raise AssertionError("the decline card was charged")


def test_only_refundable_charges_are_offered(client: billing_kit.Client) -> None:
    good = make_charge(client)
    failed_id = declined(client)
    gone = make_charge(client, "7.00")
    client.refund(gone.id)
    disputed = client.charge(
        "cy@example.com", "9.00", "usd", payment_method="pm_card_createDispute"
    )
    form = RefundForm(client)
    offered = [value for _, value in form.picker.options if value]
    assert offered == [good.id]
    # The table of recent charges still shows them all, with what is left.
    for charge_id in (good.id, failed_id, gone.id, disputed.id):
        assert charge_id in form.recent_table.value
    assert "disputed" in form.recent_table.value


def test_a_failed_charge_typed_by_id_is_refused_in_words(client: billing_kit.Client) -> None:
    failed_id = declined(client)
    form = RefundForm(client)
    form.charge_id.value = failed_id
    form.review_button.click()
    assert "no money was taken, so there is nothing to refund" in form.problems_area.value
    assert form.review_box.layout.display == "none", "no 'Refund $2.50' button is offered"
    assert form.error_area.value == "", "no raw InvalidRequest"


def test_a_disputed_charge_is_refused_in_words(client: billing_kit.Client) -> None:
    charge = client.charge("cy@example.com", "9.00", "usd", payment_method="pm_card_createDispute")
    form = RefundForm(client)
    form.charge_id.value = charge.id
    form.review_button.click()
    assert "is disputed" in form.problems_area.value
    assert form.review_box.layout.display == "none" and form.error_area.value == ""


def test_remaining_amount_is_read_afresh(client: billing_kit.Client) -> None:
    charge = make_charge(client)
    form = RefundForm(client)  # loads the list while $40.00 is left
    client.refund(charge.id, "30.00")  # elsewhere: another kernel, the dashboard
    form.picker.value = charge.id
    form.review_button.click()
    assert form.confirm_button.description == "Refund $10.00"
    assert "$30.00" in form.summary.value and "Left after this" in form.summary.value
    form.confirm_button.click()
    assert refunded(client, charge.id) == 4000


def test_recent_table_and_picker_follow_each_refund(client: billing_kit.Client) -> None:
    charge = make_charge(client)
    form = RefundForm(client)
    assert "$40.00 left" in dict((v, k) for k, v in form.picker.options)[charge.id]
    form.charge_id.value = charge.id
    form.kind.value = PARTIAL
    form.amount.value = "15.00"
    form.reason.value = "requested_by_customer"
    form.review_button.click()
    form.confirm_button.click()
    labels = dict((v, k) for k, v in form.picker.options)
    assert "$25.00 left" in labels[charge.id]
    row = form.recent_table.value.split(f"data-charge='{charge.id}'")[1].split("</tr>")[0]
    assert "$15.00" in row and "$25.00" in row
    assert "Requested by customer" in form.table.value, "the reason in words, not its code"
    assert "requested_by_customer" not in form.table.value
    form.charge_id.value = charge.id
    form.kind.value = FULL
    form.review_button.click()
    form.confirm_button.click()
    assert charge.id not in [v for _, v in form.picker.options], "nothing left: not offered"


def test_reasons_are_words() -> None:
    from billing_kit.widgets._refund_form import REASONS, reason_words

    assert [label for label, _ in REASONS][:3] == [
        "Requested by customer",
        "Duplicate",
        "Fraudulent",
    ]
    assert reason_words("requested_by_customer") == "Requested by customer"
    assert reason_words("expired_uncaptured_charge") == "Expired uncaptured charge"


def test_recent_charges_show_emails_beyond_the_first_page_of_customers(
    client: billing_kit.Client,
) -> None:
    # The charged customer is the oldest of 101: listed newest first, it is on the second page.
    first = client.find_or_create_customer("first.customer@example.com")
    for n in range(100):
        client.stripe.v1.customers.create(params={"email": f"later{n}@example.com"})
    charge = client.charge(first, "12.00", "usd", payment_method="pm_card_visa")
    form = RefundForm(client)
    assert "first.customer@example.com" in form.recent_table.value
    offered = dict((value, label) for label, value in form.picker.options)
    assert "first.customer@example.com" in offered[charge.id]
