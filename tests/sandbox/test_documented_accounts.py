"""Stripe's API reference for customers, payment methods, balance, payouts, events and tokens,
statement by statement.

Each test cites the page it checks and quotes (shortened) the statement it turns into assertions.
The other ``test_documented_*`` modules cover the search guide, the errors, error-codes, pagination,
metadata, idempotency and expanding guides, charges, PaymentIntents, refunds and disputes.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
import stripe

from billing_kit.sandbox import SandboxServer

from .conftest import card_charge, make_client

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


def test_payment_method_list_by_type_and_customer(client: stripe.StripeClient) -> None:
    """https://docs.stripe.com/api/payment_methods/customer_list: "Returns a list of
    PaymentMethods for a given Customer"; ``type`` "An optional filter on the list, based on the
    object type field"."""
    customer = client.v1.customers.create()
    method = client.v1.payment_methods.create({"type": "card", "card": {"token": "tok_visa"}})
    client.v1.payment_methods.attach(method.id, {"customer": customer.id})
    cards = client.v1.customers.payment_methods.list(customer.id, {"type": "card"})
    assert [m.id for m in cards.data] == [method.id]
    assert client.v1.customers.payment_methods.list(customer.id, {"type": "sepa_debit"}).data == []


def test_payment_method_update(client: stripe.StripeClient) -> None:
    """https://docs.stripe.com/api/payment_methods/update: "Updates a PaymentMethod object" (here
    its metadata), other fields unchanged."""
    method = client.v1.payment_methods.create({"type": "card", "card": {"token": "tok_visa"}})
    updated = client.v1.payment_methods.update(method.id, {"metadata": {"k": "v"}})
    assert updated.metadata.to_dict() == {"k": "v"} and updated.card.last4 == "4242"


# -- https://docs.stripe.com/api/balance_transactions and /api/balance ----------------------------


def test_balance_transaction_of_a_charge(client: stripe.StripeClient) -> None:
    """https://docs.stripe.com/api/balance_transactions/object: ``amount`` "Gross amount of this
    transaction"; ``net`` "You can calculate the net impact of a transaction on a balance by
    amount - fee"; ``fee`` is the sum of ``fee_details``; ``source`` "The Stripe object to which
    this transaction is related"; ``status`` available or pending."""
    charge = card_charge(client)
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
    charge = card_charge(client)
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


def test_balance_history_is_the_old_path(client: stripe.StripeClient, http: httpx.Client) -> None:
    """https://docs.stripe.com/api/balance_transactions/list: "this endpoint was previously
    called “Balance history” and used the path /v1/balance/history"; /retrieve: "Raises an error
    otherwise" for an id that is not valid."""
    txn = client.v1.balance_transactions.retrieve(str(card_charge(client).balance_transaction))
    old = http.get(f"/v1/balance/history/{txn.id}")
    assert old.status_code == 200 and old.json()["id"] == txn.id
    listed = http.get("/v1/balance/history", params={"limit": "1"}).json()
    assert listed["object"] == "list" and listed["data"][0]["id"] == txn.id
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.balance_transactions.retrieve("txn_nope")
    assert caught.value.http_status == 404


def test_balance_object(client: stripe.StripeClient) -> None:
    """https://docs.stripe.com/api/balance/balance_object: ``object`` "balance"; ``available`` and
    ``pending`` are lists of amounts by currency with ``source_types``; ``livemode``."""
    card_charge(client)
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
    card_charge(client)
    server.core.clock.advance(3 * 86_400)  # card funds become available after two days
    payout = client.v1.payouts.create({"amount": 100, "currency": "usd"})
    assert payout.object == "payout" and payout.id.startswith("po_")
    assert payout.automatic is False and payout.amount == 100 and payout.method == "standard"
    assert client.v1.payouts.retrieve(payout.id).id == payout.id
    same_status = client.v1.payouts.list({"status": payout.status, "limit": 100})
    assert payout.id in {p.id for p in same_status.data}
    assert all(p.status == payout.status for p in same_status.data)


# -- https://docs.stripe.com/api/events ---------------------------------------------------------


def test_events_list_and_object(client: stripe.StripeClient) -> None:
    """https://docs.stripe.com/api/events/list: ``type`` "A string containing a specific event
    name, or group of events using * as a wildcard"; ``types`` "An array of up to 20 strings";
    /object: ``data.object``, ``request.id``, ``api_version``, ``livemode``."""
    charge = card_charge(client)
    events = client.v1.events.list({"type": "charge.*", "limit": 100})
    assert all(e.type.startswith("charge.") for e in events.data)
    mine = [e for e in events.data if e.data.object["id"] == charge.id]
    assert [e.type for e in mine] == ["charge.succeeded"]
    event = client.v1.events.retrieve(mine[0].id)
    assert event.object == "event" and event.livemode is False
    assert event.request is not None and str(event.request.id).startswith("req_")
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.events.list({"types": [f"t{n}.x" for n in range(21)]})


def test_events_type_or_types_not_both(client: stripe.StripeClient) -> None:
    """https://docs.stripe.com/api/events/list: "You may pass either type or types, but not
    both"."""
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.events.list({"type": "charge.succeeded", "types": ["charge.failed"]})
    assert client.v1.events.list({"types": ["charge.succeeded"]}).object == "list"


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
