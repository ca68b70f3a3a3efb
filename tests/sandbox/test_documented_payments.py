"""Stripe's API reference for charges, PaymentIntents, refunds and disputes, statement by
statement.

Each test cites the page it checks and quotes (shortened) the statement it turns into assertions.
The other ``test_documented_*`` modules cover the search guide, the errors, error-codes, pagination,
metadata, idempotency and expanding guides, customers, payment methods, balance, payouts, events and
tokens.
"""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from .conftest import card_charge

# -- https://docs.stripe.com/api/charges --------------------------------------------------------


def test_charge_object(client: stripe.StripeClient) -> None:
    """https://docs.stripe.com/api/charges/object: ``object`` "charge"; ``currency`` "Three-letter
    ISO currency code, in lowercase"; ``paid`` "true if the charge succeeded"; ``status`` one of
    succeeded, pending, failed; ``livemode`` false in test mode; ``amount_captured`` equals the
    amount of a captured charge; ``balance_transaction`` "ID of the balance transaction"."""
    charge = client.v1.charges.create({"amount": 2000, "currency": "USD", "source": "tok_visa"})
    assert charge.object == "charge" and charge.id.startswith("ch_")
    assert charge.currency == "usd" and charge.amount == 2000
    assert charge.paid is True and charge.status == "succeeded" and charge.livemode is False
    assert charge.captured is True and charge.amount_captured == 2000
    assert charge.amount_refunded == 0 and charge.refunded is False
    assert isinstance(charge.balance_transaction, str)
    assert charge.balance_transaction.startswith("txn_")
    assert charge.payment_method_details is not None
    assert charge.payment_method_details.card.last4 == "4242"
    assert charge.outcome is not None and charge.outcome.type == "authorized"


def test_charge_billing_details_come_from_the_payment_method(client: stripe.StripeClient) -> None:
    """https://docs.stripe.com/api/charges/object#charge_object-billing_details: "Billing
    information associated with the payment method at the time of the transaction"."""
    method = client.v1.payment_methods.create(
        {
            "type": "card",
            "card": {"token": "tok_visa"},
            "billing_details": {"name": "Ada Lovelace", "address": {"postal_code": "10115"}},
        }
    )
    intent = client.v1.payment_intents.create(
        {
            "amount": 1000,
            "currency": "usd",
            "payment_method": method.id,
            "confirm": True,
            "payment_method_types": ["card"],
        }
    )
    charge = client.v1.charges.retrieve(str(intent.latest_charge))
    assert charge.billing_details.name == "Ada Lovelace"
    assert charge.billing_details.address.postal_code == "10115"


def test_charge_create_amount_is_a_positive_integer(client: stripe.StripeClient) -> None:
    """https://docs.stripe.com/api/charges/create: ``amount`` "A positive integer representing how
    much to charge in the smallest currency unit"."""
    for amount in (0, -100):
        with pytest.raises(stripe.InvalidRequestError) as caught:
            client.v1.charges.create({"amount": amount, "currency": "usd", "source": "tok_visa"})
        assert caught.value.param == "amount"


def test_charge_capture_false_is_an_authorization(client: stripe.StripeClient) -> None:
    """https://docs.stripe.com/api/charges/create: ``capture`` "Defaults to true. When false, the
    charge issues an authorization (or pre-authorization), and will need to be captured later"."""
    charge = card_charge(client, capture=False)
    assert charge.captured is False and charge.status == "succeeded" and charge.paid is True
    assert charge.amount_captured == 0


def test_charge_partial_capture_refunds_the_rest(client: stripe.StripeClient) -> None:
    """https://docs.stripe.com/api/charges/capture: ``amount`` "The amount to capture, which must
    be less than or equal to the original amount"; "Any additional amount will be automatically
    refunded"."""
    charge = card_charge(client, capture=False)
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.charges.capture(charge.id, {"amount": 2001})
    captured = client.v1.charges.capture(charge.id, {"amount": 1500})
    assert captured.captured is True and captured.amount_captured == 1500
    assert captured.amount_refunded == 500


def test_charge_capture_twice_fails(client: stripe.StripeClient) -> None:
    """https://docs.stripe.com/error-codes#charge-already-captured: "The charge you're attempting
    to capture has already been captured"."""
    charge = card_charge(client)
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.charges.capture(charge.id)
    assert caught.value.code == "charge_already_captured"


def test_charge_update_leaves_other_fields(client: stripe.StripeClient) -> None:
    """https://docs.stripe.com/api/charges/update: "Any parameters not provided will be left
    unchanged"."""
    charge = card_charge(client, description="first", metadata={"a": "1"})
    updated = client.v1.charges.update(charge.id, {"metadata": {"b": "2"}})
    assert updated.description == "first" and updated.metadata.to_dict() == {"a": "1", "b": "2"}
    assert updated.amount == 2000


def test_charge_retrieve_and_list(client: stripe.StripeClient) -> None:
    """https://docs.stripe.com/api/charges/list: "The charges are returned in sorted order, with
    the most recent charges appearing first"; ``customer`` "Only return charges for the customer
    specified by this customer ID"."""
    customer = client.v1.customers.create({"source": "tok_visa"})
    first = client.v1.charges.create({"amount": 700, "currency": "usd", "customer": customer.id})
    second = client.v1.charges.create({"amount": 800, "currency": "usd", "customer": customer.id})
    listed = client.v1.charges.list({"customer": customer.id})
    assert [c.id for c in listed.data] == [second.id, first.id]
    assert listed.object == "list" and listed.url == "/v1/charges" and listed.has_more is False
    assert client.v1.charges.retrieve(first.id).amount == 700


def test_charge_search_result_shape(client: stripe.StripeClient) -> None:
    """https://docs.stripe.com/api/charges/search: returns a ``search_result`` with ``data``,
    ``has_more``, ``next_page``; ``limit`` "can range between 1 and 100"; ``total_count`` only
    when expanded."""
    charge = card_charge(client, metadata={"documented": "search-shape"})
    found = client.v1.charges.search({"query": "metadata['documented']:'search-shape'"})
    assert found.object == "search_result" and found.url == "/v1/charges/search"
    assert [c.id for c in found.data] == [charge.id] and found.has_more is False
    assert found.next_page is None and "total_count" not in found
    counted = client.v1.charges.search(
        {"query": "metadata['documented']:'search-shape'", "expand": ["total_count"]}
    )
    assert counted.total_count == 1
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.charges.search({"query": "amount>0", "limit": 101})


# -- https://docs.stripe.com/api/payment_intents ------------------------------------------------


def _intent(client: stripe.StripeClient, **extra: Any) -> Any:
    return client.v1.payment_intents.create(
        {"amount": 3000, "currency": "usd", "payment_method_types": ["card"], **extra}
    )


def test_payment_intent_object(client: stripe.StripeClient) -> None:
    """https://docs.stripe.com/api/payment_intents/object: ``object`` "payment_intent", a new
    intent without a payment method is ``requires_payment_method``; ``client_secret`` is set;
    ``amount_received`` 0; ``capture_method`` defaults to ``automatic_async``."""
    intent = _intent(client)
    assert intent.object == "payment_intent" and intent.id.startswith("pi_")
    assert intent.status == "requires_payment_method" and intent.client_secret
    assert intent.client_secret.startswith(intent.id)
    assert intent.amount_received == 0 and intent.capture_method == "automatic_async"
    assert intent.last_payment_error is None and intent.latest_charge is None


def test_payment_intent_confirm_and_capture(client: stripe.StripeClient) -> None:
    """https://docs.stripe.com/api/payment_intents/capture: "Capture the funds of an existing
    uncaptured PaymentIntent when its status is requires_capture"; ``amount_to_capture``
    "Defaults to the full amount_capturable"."""
    intent = _intent(client, payment_method="pm_card_visa", capture_method="manual", confirm=True)
    assert intent.status == "requires_capture" and intent.amount_capturable == 3000
    captured = client.v1.payment_intents.capture(intent.id)
    assert captured.status == "succeeded" and captured.amount_received == 3000
    assert captured.amount_capturable == 0 and captured.latest_charge


def test_payment_intent_partial_capture(client: stripe.StripeClient) -> None:
    """https://docs.stripe.com/api/payment_intents/capture: ``amount_to_capture`` "The amount to
    capture from the PaymentIntent, which must be less than or equal to the original amount"."""
    intent = _intent(client, payment_method="pm_card_visa", capture_method="manual", confirm=True)
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.payment_intents.capture(intent.id, {"amount_to_capture": 3001})
    captured = client.v1.payment_intents.capture(intent.id, {"amount_to_capture": 1000})
    assert captured.amount_received == 1000


def test_payment_intent_cancel(client: stripe.StripeClient) -> None:
    """https://docs.stripe.com/api/payment_intents/cancel: "You can cancel a PaymentIntent object
    when it's in one of these statuses: requires_payment_method, requires_capture,
    requires_confirmation, requires_action"; "After it's canceled ... any operations on the
    PaymentIntent fail with an error"; ``cancellation_reason`` is recorded."""
    intent = _intent(client)
    canceled = client.v1.payment_intents.cancel(intent.id, {"cancellation_reason": "abandoned"})
    assert canceled.status == "canceled" and canceled.cancellation_reason == "abandoned"
    assert canceled.canceled_at is not None
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.payment_intents.confirm(intent.id, {"payment_method": "pm_card_visa"})
    assert caught.value.code == "payment_intent_unexpected_state"
    succeeded = _intent(client, payment_method="pm_card_visa", confirm=True)
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.payment_intents.cancel(succeeded.id)


def test_payment_intent_cancel_refunds_the_capturable_amount(client: stripe.StripeClient) -> None:
    """https://docs.stripe.com/api/payment_intents/cancel: "For PaymentIntents with a status of
    requires_capture, the remaining amount_capturable is automatically refunded"."""
    intent = _intent(client, payment_method="pm_card_visa", capture_method="manual", confirm=True)
    canceled = client.v1.payment_intents.cancel(intent.id)
    assert canceled.status == "canceled" and canceled.amount_capturable == 0
    charge = client.v1.charges.retrieve(str(canceled.latest_charge))
    assert charge.refunded is True and charge.amount_refunded == 3000


def test_payment_intent_confirm_needs_action_for_3d_secure(client: stripe.StripeClient) -> None:
    """https://docs.stripe.com/api/payment_intents/confirm: "If the selected payment method
    requires additional authentication steps, the PaymentIntent will transition to the
    requires_action status and suggest additional actions via next_action"."""
    intent = _intent(client)
    confirmed = client.v1.payment_intents.confirm(
        intent.id,
        {"payment_method": "pm_card_threeDSecure2Required", "return_url": "https://x.test"},
    )
    assert confirmed.status == "requires_action" and confirmed.next_action is not None


def test_payment_intent_decline_keeps_the_intent(client: stripe.StripeClient) -> None:
    """https://docs.stripe.com/api/payment_intents/object: ``last_payment_error`` "The payment
    error encountered in the previous PaymentIntent confirmation"; after a decline the intent goes
    back to ``requires_payment_method``."""
    intent = _intent(client)
    with pytest.raises(stripe.CardError):
        client.v1.payment_intents.confirm(
            intent.id, {"payment_method": "pm_card_visa_chargeDeclined"}
        )
    failed = client.v1.payment_intents.retrieve(intent.id)
    assert failed.status == "requires_payment_method"
    assert failed.last_payment_error is not None
    assert failed.last_payment_error.code == "card_declined"


@pytest.mark.parametrize(
    "change",
    [{"metadata": {"note": "retry"}}, {"description": "second try"}, {"amount": 3100}],
    ids=["metadata", "description", "amount"],
)
def test_payment_intent_update_clears_last_payment_error(
    client: stripe.StripeClient, change: dict[str, Any]
) -> None:
    """https://docs.stripe.com/api/payment_intents/object#payment_intent_object-last_payment_error:
    "It will be cleared if the PaymentIntent is later updated for any reason"."""
    intent = _intent(client)
    with pytest.raises(stripe.CardError):
        client.v1.payment_intents.confirm(
            intent.id, {"payment_method": "pm_card_visa_chargeDeclined"}
        )
    updated = client.v1.payment_intents.update(intent.id, change)
    assert updated.last_payment_error is None
    assert client.v1.payment_intents.retrieve(intent.id).last_payment_error is None


def test_payment_intent_update_payment_method_needs_confirmation(
    client: stripe.StripeClient,
) -> None:
    """https://docs.stripe.com/api/payment_intents/update: "updating the payment_method always
    requires you to confirm the PaymentIntent again"."""
    intent = _intent(client)
    updated = client.v1.payment_intents.update(intent.id, {"payment_method": "pm_card_visa"})
    assert updated.status == "requires_confirmation"
    assert client.v1.payment_intents.confirm(intent.id).status == "succeeded"


def test_payment_intent_list_and_search(client: stripe.StripeClient) -> None:
    """https://docs.stripe.com/api/payment_intents/list: ``customer`` "Only return PaymentIntents
    for the customer that this customer ID specifies"; /search: ``status``, ``amount`` fields."""
    customer = client.v1.customers.create()
    intent = _intent(client, customer=customer.id)
    assert [i.id for i in client.v1.payment_intents.list({"customer": customer.id}).data] == [
        intent.id
    ]
    query = f"customer:'{customer.id}' AND status:'requires_payment_method' AND amount:3000"
    assert [i.id for i in client.v1.payment_intents.search({"query": query}).data] == [intent.id]


# -- https://docs.stripe.com/api/refunds --------------------------------------------------------


def test_refund_full_and_partial(client: stripe.StripeClient) -> None:
    """https://docs.stripe.com/api/refunds/create: "You can optionally refund only part of a
    charge. You can do so multiple times, until the entire charge has been refunded. Once entirely
    refunded, a charge can't be refunded again"; /charges/object ``refunded``: "If the charge is
    only partially refunded, this attribute will still be false"."""
    charge = card_charge(client)
    part = client.v1.refunds.create({"charge": charge.id, "amount": 500})
    assert part.object == "refund" and part.amount == 500 and part.status == "succeeded"
    partly = client.v1.charges.retrieve(charge.id)
    assert partly.refunded is False and partly.amount_refunded == 500
    rest = client.v1.refunds.create({"charge": charge.id})
    assert rest.amount == 1500
    fully = client.v1.charges.retrieve(charge.id)
    assert fully.refunded is True and fully.amount_refunded == 2000
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.refunds.create({"charge": charge.id})
    assert caught.value.code == "charge_already_refunded"


def test_refund_more_than_left_fails(client: stripe.StripeClient) -> None:
    """https://docs.stripe.com/api/refunds/create: raises an error "when trying to refund more
    money than is left on a charge"."""
    charge = card_charge(client)
    client.v1.refunds.create({"charge": charge.id, "amount": 1500})
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.refunds.create({"charge": charge.id, "amount": 501})
    assert caught.value.param == "amount"


def test_refund_by_payment_intent_and_reason(client: stripe.StripeClient) -> None:
    """https://docs.stripe.com/api/refunds/create: "you must specify a Charge or a PaymentIntent
    object"; ``reason`` one of duplicate, fraudulent, requested_by_customer."""
    intent = _intent(client, payment_method="pm_card_visa", confirm=True)
    refund = client.v1.refunds.create(
        {"payment_intent": intent.id, "reason": "requested_by_customer"}
    )
    assert refund.payment_intent == intent.id and refund.charge == intent.latest_charge
    assert refund.reason == "requested_by_customer" and refund.amount == 3000
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.refunds.create({"payment_intent": intent.id, "reason": "changed_mind"})
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.refunds.create({})
    assert caught.value.code == "parameter_missing"


def test_refund_list_and_update(client: stripe.StripeClient) -> None:
    """https://docs.stripe.com/api/refunds/list: "We return the refunds in sorted order, with the
    most recent refunds appearing first"; /update: "This request only accepts metadata"."""
    charge = card_charge(client)
    first = client.v1.refunds.create({"charge": charge.id, "amount": 100})
    second = client.v1.refunds.create({"charge": charge.id, "amount": 200})
    listed = client.v1.refunds.list({"charge": charge.id})
    assert [r.id for r in listed.data] == [second.id, first.id]
    updated = client.v1.refunds.update(first.id, {"metadata": {"k": "v"}})
    assert updated.metadata.to_dict() == {"k": "v"}
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.refunds.update(first.id, {"amount": 5})  # type: ignore[typeddict-unknown-key]
    assert caught.value.code == "parameter_unknown"


def test_refund_cancel_only_requires_action(client: stripe.StripeClient) -> None:
    """https://docs.stripe.com/api/refunds/cancel: "Cancels a refund with a status of
    requires_action. You can't cancel refunds in other states"; "This call raises an error if you
    can't cancel the refund" — neither a succeeded nor a pending card refund can be canceled."""
    done = client.v1.refunds.create({"charge": card_charge(client).id})
    pending_charge = client.v1.charges.create(
        {"amount": 2000, "currency": "usd", "source": "tok_pendingRefund"}
    )
    pending = client.v1.refunds.create({"charge": pending_charge.id})
    assert pending.status == "pending"
    for refund in (done, pending):
        with pytest.raises(stripe.InvalidRequestError):
            client.v1.refunds.cancel(refund.id)
        assert client.v1.refunds.retrieve(refund.id).status != "canceled"


# -- https://docs.stripe.com/api/disputes -------------------------------------------------------


def test_dispute_close_is_lost(client: stripe.StripeClient) -> None:
    """https://docs.stripe.com/api/disputes/close: "The status of the dispute will change from
    needs_response to lost. Closing a dispute is irreversible"; /charges/object ``disputed``
    "Whether the charge has been disputed"."""
    charge = client.v1.charges.create(
        {"amount": 2500, "currency": "usd", "source": "tok_createDispute"}
    )
    disputes = client.v1.disputes.list({"charge": charge.id})
    assert len(disputes.data) == 1
    dispute = disputes.data[0]
    assert dispute.object == "dispute" and dispute.status == "needs_response"
    assert dispute.amount == 2500 and client.v1.charges.retrieve(charge.id).disputed is True
    closed = client.v1.disputes.close(dispute.id)
    assert closed.status == "lost"
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.disputes.close(dispute.id)
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.refunds.create({"charge": charge.id})
    assert caught.value.code == "charge_disputed"


def test_dispute_update_stages_evidence(client: stripe.StripeClient) -> None:
    """https://docs.stripe.com/api/disputes/update: ``submit`` "Whether to immediately submit
    evidence to the bank. If false, evidence is staged on the dispute"."""
    charge = client.v1.charges.create(
        {"amount": 2600, "currency": "usd", "source": "tok_createDispute"}
    )
    (dispute,) = client.v1.disputes.list({"charge": charge.id}).data
    staged = client.v1.disputes.update(
        dispute.id,
        {"evidence": {"uncategorized_text": "winning_evidence"}, "submit": False},
    )
    assert staged.status == "needs_response"
    assert staged.evidence.uncategorized_text == "winning_evidence"
    assert staged.evidence_details.has_evidence is True
