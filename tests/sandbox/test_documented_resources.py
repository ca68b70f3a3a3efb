"""Stripe's API reference, resource by resource, statement by statement.

Each test names the reference page it checks and quotes (shortened) the statement it turns into
assertions. The guides (search, errors, pagination, metadata) are in ``test_documented.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import stripe

from billing_kit.sandbox import SandboxServer
from tests.support import TEST_KEY

from .conftest import make_client


@pytest.fixture(scope="module")
def http_get(server: SandboxServer) -> Iterator[Callable[..., httpx.Response]]:
    """A raw GET against the module's sandbox (for paths the library no longer calls)."""
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {TEST_KEY}"}) as raw:
        yield lambda path, params=None: raw.get(path, params=params)


def _card_charge(client: stripe.StripeClient, **extra: Any) -> Any:
    return client.v1.charges.create(
        {"amount": 2000, "currency": "usd", "source": "tok_visa", **extra}
    )


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
    charge = _card_charge(client, capture=False)
    assert charge.captured is False and charge.status == "succeeded" and charge.paid is True
    assert charge.amount_captured == 0


def test_charge_partial_capture_refunds_the_rest(client: stripe.StripeClient) -> None:
    """https://docs.stripe.com/api/charges/capture: ``amount`` "The amount to capture, which must
    be less than or equal to the original amount"; "Any additional amount will be automatically
    refunded"."""
    charge = _card_charge(client, capture=False)
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.charges.capture(charge.id, {"amount": 2001})
    captured = client.v1.charges.capture(charge.id, {"amount": 1500})
    assert captured.captured is True and captured.amount_captured == 1500
    assert captured.amount_refunded == 500


def test_charge_capture_twice_fails(client: stripe.StripeClient) -> None:
    """https://docs.stripe.com/error-codes#charge-already-captured: "The charge you're attempting
    to capture has already been captured"."""
    charge = _card_charge(client)
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.charges.capture(charge.id)
    assert caught.value.code == "charge_already_captured"


def test_charge_update_leaves_other_fields(client: stripe.StripeClient) -> None:
    """https://docs.stripe.com/api/charges/update: "Any parameters not provided will be left
    unchanged"."""
    charge = _card_charge(client, description="first", metadata={"a": "1"})
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
    charge = _card_charge(client, metadata={"documented": "search-shape"})
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


# -- https://docs.stripe.com/api/customers ------------------------------------------------------


def test_customer_create_retrieve_update(client: stripe.StripeClient) -> None:
    """https://docs.stripe.com/api/customers/object: ``object`` "customer", ``balance`` 0 for a new
    customer, ``livemode``; update: "Any parameters not provided will be left unchanged"."""
    customer = client.v1.customers.create({"email": "ada@example.com", "name": "Ada"})
    assert customer.object == "customer" and customer.id.startswith("cus_")
    assert customer.balance == 0 and customer.livemode is False
    updated = client.v1.customers.update(customer.id, {"name": "Ada L."})
    assert updated.email == "ada@example.com" and updated.name == "Ada L."
    assert client.v1.customers.retrieve(customer.id).name == "Ada L."


def test_customer_delete(client: stripe.StripeClient) -> None:
    """https://docs.stripe.com/api/customers/delete: "Permanently deletes a customer"; returns an
    object with a ``deleted`` parameter. https://docs.stripe.com/api/customers/retrieve: for a
    deleted customer "a subset of the customer's information is returned, including a deleted
    property that's set to true"."""
    customer = client.v1.customers.create({"email": "gone@example.com"})
    deleted = client.v1.customers.delete(customer.id)
    assert deleted.id == customer.id and deleted.deleted is True
    assert client.v1.customers.retrieve(customer.id).deleted is True


def test_customer_delete_errors(client: stripe.StripeClient) -> None:
    """https://docs.stripe.com/api/customers/delete: "If the customer ID does not exist, this call
    raises an error"; deleting "prevents any further operations to be performed"."""
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.customers.delete("cus_documented_nope")
    assert caught.value.http_status == 404 and caught.value.code == "resource_missing"
    customer = client.v1.customers.create({"email": "later@example.com"})
    client.v1.customers.delete(customer.id)
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.customers.update(customer.id, {"name": "Too late"})
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.charges.create({"amount": 500, "currency": "usd", "customer": customer.id})


def test_customer_search_without_matches_is_empty(client: stripe.StripeClient) -> None:
    """https://docs.stripe.com/api/customers/search: "If no objects match the query, the resulting
    array will be empty"."""
    found = client.v1.customers.search({"query": "email:'nobody-documented@example.com'"})
    assert found.data == [] and found.has_more is False and found.next_page is None


def test_customer_list_email_is_case_sensitive(client: stripe.StripeClient) -> None:
    """https://docs.stripe.com/api/customers/list: ``email`` "A case-sensitive filter on the list
    based on the customer's email field"."""
    customer = client.v1.customers.create({"email": "Case.Sensitive@Example.com"})
    exact = client.v1.customers.list({"email": "Case.Sensitive@Example.com"})
    assert [c.id for c in exact.data] == [customer.id]
    assert client.v1.customers.list({"email": "case.sensitive@example.com"}).data == []


def test_customer_search_fields(client: stripe.StripeClient) -> None:
    """https://docs.stripe.com/search#query-fields-for-customers: ``email``, ``name``, ``phone``,
    ``metadata``, ``created``."""
    customer = client.v1.customers.create(
        {
            "email": "grace@example.com",
            "name": "Grace Hopper",
            "phone": "+15550123",
            "metadata": {"team": "cobol"},
        }
    )
    for query in (
        "email:'grace@example.com'",
        "name:'grace hopper'",
        "phone:'+15550123'",
        "metadata['team']:'cobol'",
        f"created>={customer.created} AND name:'Grace'",
    ):
        assert customer.id in {c.id for c in client.v1.customers.search({"query": query}).data}


# -- https://docs.stripe.com/api/payment_methods ------------------------------------------------


def test_payment_method_attach_and_detach(client: stripe.StripeClient) -> None:
    """https://docs.stripe.com/api/payment_methods/attach: "Attaches a PaymentMethod object to a
    Customer"; /detach: "After a PaymentMethod is detached, it can no longer be used for a
    payment or re-attached to a Customer"; /list: lists a customer's PaymentMethods."""
    customer = client.v1.customers.create()
    method = client.v1.payment_methods.create({"type": "card", "card": {"token": "tok_visa"}})
    assert method.object == "payment_method" and method.type == "card" and method.customer is None
    assert method.card is not None and method.card.last4 == "4242" and method.card.brand == "visa"
    attached = client.v1.payment_methods.attach(method.id, {"customer": customer.id})
    assert attached.customer == customer.id
    listed = client.v1.customers.payment_methods.list(customer.id)
    assert [m.id for m in listed.data] == [method.id]
    detached = client.v1.payment_methods.detach(method.id)
    assert detached.customer is None
    assert client.v1.customers.payment_methods.list(customer.id).data == []
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.payment_methods.attach(method.id, {"customer": customer.id})
    assert caught.value.param == "payment_method"
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.payment_intents.create(
            {
                "amount": 1000,
                "currency": "usd",
                "payment_method": method.id,
                "confirm": True,
                "payment_method_types": ["card"],
            }
        )


def test_payment_method_update(client: stripe.StripeClient) -> None:
    """https://docs.stripe.com/api/payment_methods/update: "Updates a PaymentMethod object" (here
    its metadata), other fields unchanged."""
    method = client.v1.payment_methods.create({"type": "card", "card": {"token": "tok_visa"}})
    updated = client.v1.payment_methods.update(method.id, {"metadata": {"k": "v"}})
    assert updated.metadata.to_dict() == {"k": "v"} and updated.card.last4 == "4242"


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
    charge = _card_charge(client)
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
    charge = _card_charge(client)
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
    charge = _card_charge(client)
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
    done = client.v1.refunds.create({"charge": _card_charge(client).id})
    pending_charge = client.v1.charges.create(
        {"amount": 2000, "currency": "usd", "source": "tok_pendingRefund"}
    )
    pending = client.v1.refunds.create({"charge": pending_charge.id})
    assert pending.status == "pending"
    for refund in (done, pending):
        with pytest.raises(stripe.InvalidRequestError):
            client.v1.refunds.cancel(refund.id)
        assert client.v1.refunds.retrieve(refund.id).status != "canceled"


# -- https://docs.stripe.com/api/balance_transactions and /api/balance ----------------------------


def test_balance_transaction_of_a_charge(client: stripe.StripeClient) -> None:
    """https://docs.stripe.com/api/balance_transactions/object: ``amount`` "Gross amount of this
    transaction"; ``net`` "You can calculate the net impact of a transaction on a balance by
    amount - fee"; ``fee`` is the sum of ``fee_details``; ``source`` "The Stripe object to which
    this transaction is related"; ``status`` available or pending."""
    charge = _card_charge(client)
    txn = client.v1.balance_transactions.retrieve(str(charge.balance_transaction))
    assert txn.object == "balance_transaction" and txn.type == "charge"
    assert txn.amount == 2000 and txn.net == txn.amount - txn.fee
    assert txn.fee == sum(d.amount for d in txn.fee_details) and txn.fee > 0
    assert txn.source == charge.id and txn.status in ("available", "pending")
    assert txn.available_on >= txn.created and txn.currency == "usd"


def test_balance_transaction_list_filters(client: stripe.StripeClient) -> None:
    """https://docs.stripe.com/api/balance_transactions/list: ``source`` "Only returns the
    original transaction"; ``type`` "Only returns transactions of the given type"; newest
    first."""
    charge = _card_charge(client)
    refund = client.v1.refunds.create({"charge": charge.id, "amount": 300})
    by_source = client.v1.balance_transactions.list({"source": charge.id})
    assert [t.id for t in by_source.data] == [charge.balance_transaction]
    refunds = client.v1.balance_transactions.list({"type": "refund", "limit": 100})
    assert refund.balance_transaction in {t.id for t in refunds.data}
    assert all(t.type == "refund" for t in refunds.data)


def test_balance_transaction_type_filter_takes_every_documented_type(
    client: stripe.StripeClient,
) -> None:
    """https://docs.stripe.com/api/balance_transactions/list: ``type`` "Only returns transactions
    of the given type. One of: adjustment, advance, ... transfer_refund" — a listed type the
    account has no transactions of gives an empty list, an unlisted one is an error."""
    for kind in ("transfer", "topup", "issuing_dispute", "reserve_hold"):
        assert client.v1.balance_transactions.list({"type": kind}).data == []
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.balance_transactions.list({"type": "not_a_type"})
    assert caught.value.param == "type"


def test_balance_history_is_the_old_path(client: stripe.StripeClient, http_get: Any) -> None:
    """https://docs.stripe.com/api/balance_transactions/list: "this endpoint was previously
    called “Balance history” and used the path /v1/balance/history"; /retrieve: "Raises an error
    otherwise" for an id that is not valid."""
    txn = client.v1.balance_transactions.retrieve(str(_card_charge(client).balance_transaction))
    old = http_get(f"/v1/balance/history/{txn.id}")
    assert old.status_code == 200 and old.json()["id"] == txn.id
    listed = http_get("/v1/balance/history", {"limit": "1"}).json()
    assert listed["object"] == "list" and listed["data"][0]["id"] == txn.id
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.balance_transactions.retrieve("txn_nope")
    assert caught.value.http_status == 404


def test_balance_object(client: stripe.StripeClient) -> None:
    """https://docs.stripe.com/api/balance/balance_object: ``object`` "balance"; ``available`` and
    ``pending`` are lists of amounts by currency with ``source_types``; ``livemode``."""
    _card_charge(client)
    balance = client.v1.balance.retrieve()
    assert balance.object == "balance" and balance.livemode is False
    entries = list(balance.available) + list(balance.pending)
    assert entries and all(isinstance(e.amount, int) and e.currency for e in entries)
    assert any(e.currency == "usd" for e in balance.pending)


# -- https://docs.stripe.com/api/payouts --------------------------------------------------------


def test_payout_create_and_list(fresh: Callable[..., SandboxServer]) -> None:
    """https://docs.stripe.com/api/payouts/object: ``automatic`` "false if it's requested
    manually"; ``method`` defaults to standard; /list: ``status`` filter;
    https://docs.stripe.com/error-codes#balance-insufficient: a payout larger than the available
    balance fails with ``balance_insufficient``."""
    server = fresh()
    client = make_client(server.url)
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.payouts.create({"amount": 100, "currency": "usd"})
    assert caught.value.code == "balance_insufficient"
    _card_charge(client)
    server.core.clock.advance(3 * 86_400)  # card funds become available after two days
    payout = client.v1.payouts.create({"amount": 100, "currency": "usd"})
    assert payout.object == "payout" and payout.id.startswith("po_")
    assert payout.automatic is False and payout.amount == 100 and payout.method == "standard"
    assert client.v1.payouts.retrieve(payout.id).id == payout.id
    same_status = client.v1.payouts.list({"status": payout.status, "limit": 100})
    assert payout.id in {p.id for p in same_status.data}
    assert all(p.status == payout.status for p in same_status.data)


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


# -- https://docs.stripe.com/api/events ---------------------------------------------------------


def test_events_list_and_object(client: stripe.StripeClient) -> None:
    """https://docs.stripe.com/api/events/list: ``type`` "A string containing a specific event
    name, or group of events using * as a wildcard"; ``types`` "An array of up to 20 strings";
    /object: ``data.object``, ``request.id``, ``api_version``, ``livemode``."""
    charge = _card_charge(client)
    events = client.v1.events.list({"type": "charge.*", "limit": 100})
    assert all(e.type.startswith("charge.") for e in events.data)
    mine = [e for e in events.data if e.data.object["id"] == charge.id]
    assert [e.type for e in mine] == ["charge.succeeded"]
    event = client.v1.events.retrieve(mine[0].id)
    assert event.object == "event" and event.livemode is False
    assert event.request is not None and str(event.request.id).startswith("req_")
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.events.list({"types": [f"t{n}.x" for n in range(21)]})


def test_event_previous_attributes(client: stripe.StripeClient) -> None:
    """https://docs.stripe.com/api/events/object: ``data.previous_attributes`` "Object containing
    the names of the updated attributes and their values prior to the event (only included in
    events of type *.updated)"."""
    customer = client.v1.customers.create({"name": "Before"})
    client.v1.customers.update(customer.id, {"name": "After"})
    updated = [
        e
        for e in client.v1.events.list({"type": "customer.updated", "limit": 100}).data
        if e.data.object["id"] == customer.id
    ]
    assert len(updated) == 1 and updated[0].data.previous_attributes["name"] == "Before"


# -- https://docs.stripe.com/api/tokens ---------------------------------------------------------


def test_token_create_and_retrieve(client: stripe.StripeClient, server: SandboxServer) -> None:
    """https://docs.stripe.com/api/tokens/object: ``object`` "token", ``type`` "card", ``used``
    "Determines if you have already used this token (you can only use tokens once)"."""
    token = client.v1.tokens.create(
        {
            "card": {
                "number": "4242424242424242",
                "exp_month": "12",
                "exp_year": "2040",
                "cvc": "123",
            }
        }
    )
    assert token.object == "token" and token.type == "card" and token.used is False
    assert token.card is not None and token.card.last4 == "4242"
    assert client.v1.tokens.retrieve(token.id).id == token.id
    client.v1.customers.create({"source": token.id})
    assert client.v1.tokens.retrieve(token.id).used is True
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.customers.create({"source": token.id})
