"""ChargeForm driven headless: set values, click, and check the sandbox and what the form shows."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

import billing_kit
from billing_kit.widgets import ChargeForm


def fill(form: ChargeForm, **values: str) -> None:
    defaults = {"customer": "ana@example.com", "amount": "12.50", "currency": "usd"}
    for name, value in {**defaults, **values}.items():
        getattr(form, name).value = value


def test_review_shows_exactly_what_will_happen_and_charges_nothing(
    client: billing_kit.Client, stripe_charges: Callable[[], list[Any]]
) -> None:
    form = ChargeForm(client)
    fill(form, description="Invoice 7", metadata="order=7\nteam=finance")
    form.review_button.click()
    assert form.review_box.layout.display == "flex"
    summary = form.summary.value
    for text in ("$12.50", "USD", "ana@example.com", "succeeds (Visa)", "SANDBOX", "Invoice 7",
                 "order=7, team=finance"):  # fmt: skip
        assert text in summary
    assert form.confirm_button.description == "Charge $12.50"
    assert form.amount.disabled, "inputs are frozen while reviewing"
    assert stripe_charges() == []
    form.edit_button.click()
    assert form.review_box.layout.display == "none" and not form.amount.disabled
    form.confirm_button.click()  # nothing reviewed any more
    assert stripe_charges() == []


def test_confirm_charges_once_and_reports_it(
    client: billing_kit.Client, stripe_charges: Callable[[], list[Any]]
) -> None:
    form = ChargeForm(client)
    fill(form, currency="eur", amount="1,234.50", description="Invoice 8", metadata="order=8")
    form.review_button.click()
    form.confirm_button.click()
    (charge,) = stripe_charges()
    assert (charge.amount, charge.currency, charge.status) == (123450, "eur", "succeeded")
    assert charge.description == "Invoice 8" and charge.metadata["order"] == "8"
    customer = client.stripe.v1.customers.retrieve(charge.customer)
    assert customer.email == "ana@example.com"
    assert form.last_charge is not None and form.last_charge.id == charge.id
    assert "Charged €1,234.50 to ana@example.com" in form.result.value
    assert charge.id in form.result.value and charge.id in form.table.value
    assert form.review_box.layout.display == "none" and form.amount.value == ""
    assert form.error_area.value == ""


def test_double_click_charges_once(
    client: billing_kit.Client, stripe_charges: Callable[[], list[Any]]
) -> None:
    form = ChargeForm(client)
    fill(form)
    form.review_button.click()
    form.confirm_button.click()
    form.confirm_button.click()  # the queued second click of a double click
    assert len(stripe_charges()) == 1
    assert form.ignored_clicks == 1
    assert len(form.session.rows) == 1


def test_click_while_in_flight_charges_nothing(
    sandbox: Any, client: billing_kit.Client, stripe_charges: Callable[[], list[Any]]
) -> None:
    form = ChargeForm(client)
    fill(form)
    form.review_button.click()
    sandbox.configure(latency_ms=400)
    first = threading.Thread(target=form.confirm_button.click)
    first.start()
    deadline = time.monotonic() + 10
    while not form.in_flight and time.monotonic() < deadline:
        time.sleep(0.005)
    assert form.in_flight and form.confirm_button.disabled
    assert form.confirm_button.description == "Charging…"
    form.confirm_button.click()  # arrives while the first request is still running
    first.join(30)
    sandbox.configure(latency_ms=0)
    assert len(stripe_charges()) == 1 and form.ignored_clicks == 1


def test_each_review_gets_a_fresh_idempotency_key(client: billing_kit.Client) -> None:
    form = ChargeForm(client)
    fill(form)
    first = form.submit()
    form.edit()
    second = form.submit()
    assert first is not None and second is not None
    assert first.idempotency_key != second.idempotency_key
    assert first.amount == second.amount == 1250


def test_failed_request_keeps_the_key_so_a_retry_charges_once(
    sandbox: Any, client: billing_kit.Client, stripe_charges: Callable[[], list[Any]]
) -> None:
    form = ChargeForm(client)
    fill(form)
    intent = form.submit()
    assert intent is not None
    sandbox.configure(fault_rate=1.0, fault_seed=1)
    form.confirm_button.click()
    assert "bk-error" in form.error_area.value  # shown in the form, not swallowed
    assert form.last_charge is None
    assert form.confirm_button.description == "Charge $12.50", "still reviewed, ready to retry"
    sandbox.configure(fault_rate=0.0)
    form.confirm_button.click()
    assert len(stripe_charges()) == 1
    assert form.last_charge is not None and form.error_area.value == ""
    assert form.session.rows[-1].charge_id == form.last_charge.id
    # The retry went out under the reviewed intent's own key, and that request made the charge.
    row = client.ledger.get(intent.idempotency_key)
    assert row is not None and row.outcome == "succeeded"
    assert form.last_charge.id in (row.charge_id, row.stripe_id)
    form.confirm_button.click()
    assert len(stripe_charges()) == 1


def test_a_key_stripe_spent_on_a_saved_500_is_replaced_for_the_next_press(
    sandbox: Any, client: billing_kit.Client, stripe_charges: Callable[[], list[Any]]
) -> None:
    # Stripe saved a 500 under the reviewed intent's key: pressing Charge again with that key
    # could only replay the 500. Once the kit has settled it, the next press uses a new key.
    customer = client.find_or_create_customer("ana@example.com")  # no lookups under the faults
    form = ChargeForm(client)
    fill(form, customer=customer.id)
    intent = form.submit()
    assert intent is not None
    sandbox.configure(fault_rate=1.0, fault_seed=1, fault_kinds=("saved_error",))
    form.confirm_button.click()  # the 500 is saved; the lookup fails too: row left pending
    sandbox.configure(fault_rate=0.0)
    form.confirm_button.click()  # replayed 500, looked up: nothing charged, row failed
    assert "new key" in form.error_area.value and stripe_charges() == []
    row = client.ledger.get(intent.idempotency_key)
    assert row is not None and row.outcome == "failed"
    form.confirm_button.click()
    (charge,) = stripe_charges()
    assert form.last_charge is not None and form.last_charge.id == charge.id
    assert charge.metadata["bk_attempt"] != intent.idempotency_key


BAD_INPUTS = [
    ({"customer": ""}, "Enter the customer's email"),
    ({"customer": "ana"}, "'ana' is neither an email address nor a customer id"),
    ({"amount": ""}, "Enter an amount in USD"),
    ({"amount": "12.345"}, "more decimals than USD allows"),
    ({"amount": "12.5", "currency": "jpy"}, "more decimals than JPY allows"),
    ({"amount": "twelve"}, "is not a number"),
    ({"amount": "-3"}, "negative"),
    ({"amount": "0.20"}, "below Stripe's minimum"),
    ({"amount": "1000000.00"}, "above Stripe's maximum"),
    ({"metadata": "order 7"}, "is not key=value"),
    ({"metadata": "a=1\na=2"}, "'a' appears twice"),
]


@pytest.mark.parametrize(("values", "message"), BAD_INPUTS, ids=[m for _, m in BAD_INPUTS])
def test_every_validation_message_appears_and_nothing_is_charged(
    client: billing_kit.Client,
    stripe_charges: Callable[[], list[Any]],
    values: dict[str, str],
    message: str,
) -> None:
    form = ChargeForm(client)
    fill(form, **values)
    form.review_button.click()
    assert message in form.problems_area.value.replace("&#x27;", "'")
    assert form.review_box.layout.display == "none"
    form.confirm_button.click()
    assert stripe_charges() == [] and form.last_charge is None


def test_validation_is_live_while_typing(client: billing_kit.Client) -> None:
    form = ChargeForm(client)
    assert form.problems_area.value == "", "empty fields are not nagged about before Review"
    form.amount.value = "12.5"
    assert form.problems_area.value == ""
    form.currency.value = "jpy"
    assert "more decimals than JPY allows" in form.problems_area.value
    form.amount.value = "1250"
    assert form.problems_area.value == ""


def test_decline_is_explained_in_plain_language(
    client: billing_kit.Client, stripe_charges: Callable[[], list[Any]]
) -> None:
    form = ChargeForm(client)
    fill(form)
    form.payment_method.value = "pm_card_visa_chargeDeclinedInsufficientFunds"
    form.review_button.click()
    assert "declined: insufficient funds" in form.summary.value
    form.confirm_button.click()
    assert form.last_charge is None and form.last_decline is not None
    assert form.last_decline.decline_code == "insufficient_funds"
    text = form.result.value
    assert "Declined:" in text and "Nothing was charged" in text
    assert form.last_decline.reason and form.last_decline.reason.split()[0] in text
    if form.last_decline.charge_id:
        assert form.last_decline.charge_id in text
        assert [c.status for c in stripe_charges()] == ["failed"]
    assert form.session.rows[-1].status == "declined"
    assert form.error_area.value == ""


def test_duplicate_is_a_question_not_a_traceback(
    client: billing_kit.Client, stripe_charges: Callable[[], list[Any]]
) -> None:
    form = ChargeForm(client)
    for _ in range(2):
        fill(form)
        form.review_button.click()
        form.confirm_button.click()
    assert len(stripe_charges()) == 1
    assert form.duplicate_box.layout.display == "flex"
    question = form.duplicate_box.children[0].value
    assert "already charged $12.50" in question and "Charge again anyway?" in question
    assert form.error_area.value == ""
    form.again_button.click()
    form.again_button.click()  # double click on the answer too
    assert len(stripe_charges()) == 2
    assert form.duplicate_box.layout.display == "none"


def test_declining_the_duplicate_charges_nothing(
    client: billing_kit.Client, stripe_charges: Callable[[], list[Any]]
) -> None:
    form = ChargeForm(client)
    for _ in range(2):
        fill(form)
        form.submit()
        form.confirm()
    form.dont_button.click()
    form.again_button.click()
    assert len(stripe_charges()) == 1
    assert "Not charged again" in form.result.value


def test_pick_an_existing_customer(
    client: billing_kit.Client, stripe_charges: Callable[[], list[Any]]
) -> None:
    existing = client.find_or_create_customer("zoe@example.com", name="Zoe")
    form = ChargeForm(client)
    assert existing.id in [value for _, value in form.existing.options]
    form.existing.value = existing.id
    assert form.customer.value == existing.id
    fill(form, customer=existing.id)
    form.review_button.click()
    assert "zoe@example.com" in form.summary.value
    form.confirm_button.click()
    (charge,) = stripe_charges()
    assert charge.customer == existing.id


def test_errors_in_callbacks_are_shown_in_the_form(
    sandbox: Any, client: billing_kit.Client
) -> None:
    form = ChargeForm(client)
    fill(form)
    form.review_button.click()
    sandbox.stop()
    form.confirm_button.click()
    assert "bk-error" in form.error_area.value and "technical details" in form.error_area.value
    assert form.last_error is not None
    assert not form.in_flight and not form.confirm_button.disabled


def test_live_mode_is_red_and_asks_for_the_amount_again(
    sandbox: Any, stripe_charges: Callable[[], list[Any]]
) -> None:
    live_key = "sk_live_" + "w" * 24  # built at run time; the sandbox refuses live keys
    live = billing_kit.connect(live_key, api_base=sandbox.url, allow_live=True, max_retries=0)
    form = ChargeForm(live)
    assert "LIVE" in form.banner.value and "#b00020" in form.banner.value
    assert form.retype in form.review_box.children
    fill(form, customer="cus_Live123")
    form.payment_method.value = "4242424242424242"
    assert "Never type card numbers here" in form.problems_area.value
    form.review_button.click()
    assert form.review_box.layout.display == "none"
    form.payment_method.value = "pm_123"
    form.review_button.click()
    assert "type the amount again" in form.summary.value
    form.retype.value = "12.00"
    form.confirm_button.click()
    assert "type $12.50 again" in form.problems_area.value
    assert form.error_area.value == "", "nothing was sent to Stripe"
    form.retype.value = "12.50"
    form.confirm_button.click()
    # The sandbox rejects live keys: the request was sent, and its error is shown in the form.
    assert "bk-error" in form.error_area.value
    assert stripe_charges() == []


def test_form_displays_as_its_widget(client: billing_kit.Client) -> None:
    form = ChargeForm(client)
    bundle = form._repr_mimebundle_()
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == form.widget.model_id
    assert form.value["currency"] == "usd"
