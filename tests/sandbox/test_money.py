"""Fees (https://stripe.com/pricing) and balance transactions, refunds, captures, balance and
payouts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import stripe

from billing_kit.sandbox import SandboxServer

from .conftest import make_client

DAY = 86_400


def charge(
    client: stripe.StripeClient,
    amount: int,
    currency: str = "usd",
    source: str = "tok_visa",
    **extra: Any,
) -> stripe.Charge:
    params = {
        "amount": amount,
        "currency": currency,
        "source": source,
        "expand": ["balance_transaction"],
        **extra,
    }
    return client.v1.charges.create(params)


@pytest.mark.parametrize(
    ("amount", "currency", "source", "gross", "fee", "rate"),
    [
        # Domestic: 2.9% + 30c, rounded half up (observed: 3340 -> 127, 65400 -> 1927, 100 -> 33).
        (3340, "usd", "tok_visa", 3340, 127, None),
        (65400, "usd", "tok_visa", 65400, 1927, None),
        (100, "usd", "tok_visa", 100, 33, None),
        (1000, "usd", "tok_mastercard", 1000, 59, None),
        # International card: +1.5% (JCB issued in Japan): 1000 * 4.4% + 30.
        (1000, "usd", "tok_jcb", 1000, 74, None),
        # Currency conversion: +1% on the USD amount at the sandbox's fixed rate (EUR 1.08).
        (1000, "eur", "tok_visa", 1080, 72, 1.08),
        # Both: a GB card paying in GBP (1.27): 1270 * 5.4% + 30.
        (1000, "gbp", "tok_gb", 1270, 99, 1.27),
        # Zero-decimal: 500 JPY is 500 units (0.0067 USD each) -> 335 cents.
        (500, "jpy", "tok_visa", 335, 43, 0.0067),
    ],
)
def test_charge_fees(
    client: stripe.StripeClient,
    amount: int,
    currency: str,
    source: str,
    gross: int,
    fee: int,
    rate: float | None,
) -> None:
    created = charge(client, amount, currency, source)
    txn = created.balance_transaction
    assert txn.object == "balance_transaction" and txn.type == "charge"
    assert txn.reporting_category == "charge" and txn.source == created.id
    assert (txn.currency, txn.amount, txn.fee, txn.net) == ("usd", gross, fee, gross - fee)
    assert txn.exchange_rate == rate
    assert [(d.type, d.amount, d.description) for d in txn.fee_details] == [
        ("stripe_fee", fee, "Stripe processing fees")
    ]
    assert txn.status == "pending" and txn.available_on % DAY == 0
    assert txn.available_on - txn.created <= 2 * DAY


def test_refunds_full_partial_and_fees(client: stripe.StripeClient) -> None:
    paid = charge(client, 5000)
    first = client.v1.refunds.create(
        {
            "charge": paid.id,
            "amount": 1200,
            "reason": "requested_by_customer",
            "expand": ["balance_transaction"],
        }
    )
    assert (first.amount, first.status, first.reason) == (
        1200,
        "succeeded",
        "requested_by_customer",
    )
    txn = first.balance_transaction
    assert (txn.type, txn.amount, txn.fee, txn.net, txn.source) == (
        "refund",
        -1200,
        0,
        -1200,
        first.id,
    )
    after = client.v1.charges.retrieve(paid.id)
    assert (after.amount_refunded, after.refunded) == (1200, False)
    with pytest.raises(stripe.InvalidRequestError) as over:
        client.v1.refunds.create({"charge": paid.id, "amount": 4000})
    assert "greater than unrefunded amount" in over.value.user_message
    rest = client.v1.refunds.create({"charge": paid.id})
    assert rest.amount == 3800
    done = client.v1.charges.retrieve(paid.id)
    assert (done.amount_refunded, done.refunded) == (5000, True)
    listed = client.v1.refunds.list({"charge": paid.id})
    assert [r.id for r in listed.data] == [rest.id, first.id]
    types = [
        e.type
        for e in client.v1.events.list(
            {"types": ["charge.refunded", "refund.created"], "limit": 4}
        ).data
    ]
    assert sorted(types) == [
        "charge.refunded",
        "charge.refunded",
        "refund.created",
        "refund.created",
    ]


def test_refund_by_payment_intent(client: stripe.StripeClient) -> None:
    intent = client.v1.payment_intents.create(
        {
            "amount": 2500,
            "currency": "usd",
            "payment_method": "pm_card_visa",
            "confirm": True,
            "automatic_payment_methods": {"enabled": True, "allow_redirects": "never"},
        }
    )
    refund = client.v1.refunds.create({"payment_intent": intent.id, "amount": 500})
    assert refund.charge == intent.latest_charge and refund.payment_intent == intent.id
    assert client.v1.refunds.list({"payment_intent": intent.id}).data[0].id == refund.id


def _authorise_4000(client: stripe.StripeClient) -> stripe.PaymentIntent:
    """A confirmed PaymentIntent for $40.00 held for later capture."""
    return client.v1.payment_intents.create(
        {
            "amount": 4000,
            "currency": "usd",
            "payment_method": "pm_card_visa",
            "confirm": True,
            "capture_method": "manual",
            "payment_method_types": ["card"],
        }
    )


def test_manual_capture_partial(client: stripe.StripeClient) -> None:
    intent = _authorise_4000(client)
    assert (intent.status, intent.amount_capturable) == ("requires_capture", 4000)
    held = client.v1.charges.retrieve(intent.latest_charge)
    assert (held.captured, held.balance_transaction, held.amount_captured) == (False, None, 0)
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.payment_intents.capture(intent.id, {"amount_to_capture": 5000})
    captured = client.v1.payment_intents.capture(intent.id, {"amount_to_capture": 3000})
    assert (captured.status, captured.amount_received) == ("succeeded", 3000)
    settled = client.v1.charges.retrieve(intent.latest_charge, {"expand": ["balance_transaction"]})
    assert (settled.captured, settled.amount_captured, settled.amount_refunded) == (
        True,
        3000,
        1000,
    )
    assert settled.balance_transaction.amount == 3000
    with pytest.raises(stripe.InvalidRequestError) as again:
        client.v1.payment_intents.capture(intent.id)
    assert again.value.code == "payment_intent_unexpected_state"


def test_cancel_releases_authorisation(client: stripe.StripeClient) -> None:
    intent = _authorise_4000(client)
    canceled = client.v1.payment_intents.cancel(intent.id, {"cancellation_reason": "abandoned"})
    assert (canceled.status, canceled.cancellation_reason) == ("canceled", "abandoned")
    released = client.v1.charges.retrieve(intent.latest_charge)
    assert (released.refunded, released.amount_refunded, released.captured) == (True, 4000, False)


def test_legacy_capture_and_uncaptured_refund(client: stripe.StripeClient) -> None:
    auth = charge(client, 2000, capture=False)
    assert (auth.captured, auth.balance_transaction) == (False, None)
    captured = client.v1.charges.capture(auth.id, {"amount": 1500})
    assert (captured.amount_captured, captured.amount_refunded) == (1500, 500)
    other = charge(client, 2000, capture=False)
    with pytest.raises(stripe.InvalidRequestError) as partial:
        client.v1.refunds.create({"charge": other.id, "amount": 100})
    assert "partially refund an uncaptured charge" in partial.value.user_message
    refund = client.v1.refunds.create({"charge": other.id})
    assert refund.balance_transaction is None
    with pytest.raises(stripe.InvalidRequestError) as late:
        client.v1.charges.capture(other.id)
    assert late.value.code == "charge_already_refunded"


def test_capture_window_expires(client: stripe.StripeClient, server: SandboxServer) -> None:
    auth = charge(client, 2000, capture=False)
    server.core.clock.advance(8 * DAY)
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.charges.capture(auth.id)
    assert caught.value.code == "charge_expired_for_capture"


def test_confirm_needs_return_url_with_automatic_methods(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.payment_intents.create(
            {"amount": 1000, "currency": "usd", "payment_method": "pm_card_visa", "confirm": True}
        )
    assert caught.value.param == "return_url"
    ok = client.v1.payment_intents.create(
        {
            "amount": 1000,
            "currency": "usd",
            "payment_method": "pm_card_visa",
            "confirm": True,
            "return_url": "https://example.com/done",
        }
    )
    assert ok.status == "succeeded"
    off = client.v1.payment_intents.create(
        {
            "amount": 1000,
            "currency": "usd",
            "payment_method": "pm_card_visa",
            "confirm": True,
            "off_session": True,
        }
    )
    assert off.status == "succeeded"


def test_payment_intent_lifecycle(client: stripe.StripeClient) -> None:
    customer = client.v1.customers.create({"email": "pi@example.com"})
    pm = client.v1.payment_methods.attach("pm_card_mastercard", {"customer": customer.id})
    intent = client.v1.payment_intents.create(
        {
            "amount": 1234,
            "currency": "usd",
            "customer": customer.id,
            "payment_method_types": ["card"],
            "metadata": {"order": "7"},
        }
    )
    assert intent.status == "requires_payment_method" and intent.latest_charge is None
    intent = client.v1.payment_intents.update(intent.id, {"payment_method": pm.id, "amount": 1300})
    assert (intent.status, intent.amount) == ("requires_confirmation", 1300)
    done = client.v1.payment_intents.confirm(intent.id, {"expand": ["latest_charge"]})
    assert done.status == "succeeded" and done.latest_charge.customer == customer.id
    assert done.latest_charge.metadata.to_dict() == {"order": "7"}
    listed = client.v1.payment_intents.list({"customer": customer.id})
    assert [i.id for i in listed.data] == [intent.id]
    assert client.v1.charges.list({"payment_intent": intent.id}).data[0].id == done.latest_charge.id
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.payment_intents.cancel(intent.id)
    found = client.v1.payment_intents.search({"query": f'customer:"{customer.id}"'})
    assert [i.id for i in found.data] == [intent.id]


def test_balance_and_payout_sweep(fresh: Callable[..., SandboxServer]) -> None:
    server = fresh()
    client = make_client(server.url)
    paid = [charge(client, amount) for amount in (1000, 2000, 3000)]
    client.v1.refunds.create({"charge": paid[0].id, "amount": 400})
    nets = sum(c.balance_transaction.net for c in paid)
    balance = client.v1.balance.retrieve()
    assert balance.pending[0].amount == nets and balance.available[0].amount == -400
    sweep = server.core.handle(
        "POST",
        "/v1/_sandbox/payouts/sweep",
        headers={"authorization": "Bearer sk_test_sandbox"},
    )
    assert sweep.status == 200 and sweep.body["data"] == []  # nothing positive is available yet
    server.core.clock.advance(3 * DAY)
    balance = client.v1.balance.retrieve()
    assert balance.available[0].amount == nets - 400 and balance.pending[0].amount == 0
    made = client.raw_request("post", "/v1/_sandbox/payouts/sweep")
    (payout_body,) = client.deserialize(made, api_mode="V1").data
    payout = client.v1.payouts.retrieve(payout_body.id, {"expand": ["balance_transaction"]})
    assert (payout.amount, payout.status, payout.automatic) == (nets - 400, "paid", True)
    assert payout.balance_transaction.type == "payout"
    assert payout.balance_transaction.amount == -(nets - 400)
    linked = client.v1.balance_transactions.list({"payout": payout.id, "limit": 100})
    assert {t.type for t in linked.data} == {"charge", "refund", "payout"}
    assert sum(t.net for t in linked.data) == 0
    assert client.v1.balance.retrieve().available[0].amount == 0
    events = [e.type for e in client.v1.events.list({"type": "payout.*"}).data]
    assert sorted(events) == ["payout.created", "payout.paid"]


@pytest.mark.parametrize(
    ("params", "expected"), [({"type": "refund"}, {"refund"}), ({"type": "charge"}, {"charge"})]
)
def test_balance_transaction_filters(
    client: stripe.StripeClient, params: dict[str, str], expected: set[str]
) -> None:
    paid = charge(client, 1500)
    client.v1.refunds.create({"charge": paid.id, "amount": 100})
    page = client.v1.balance_transactions.list({**params, "limit": 100})
    assert {t.type for t in page.data} == expected
    by_source = client.v1.balance_transactions.list({"source": paid.id})
    assert [t.id for t in by_source.data] == [paid.balance_transaction.id]


def test_manual_payout_needs_funds(fresh: Callable[..., SandboxServer]) -> None:
    client = make_client(fresh().url)
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.payouts.create({"amount": 100, "currency": "usd"})
    assert caught.value.code == "balance_insufficient"


def test_payment_method_data(client: stripe.StripeClient) -> None:
    intent = client.v1.payment_intents.create(
        {
            "amount": 1800,
            "currency": "usd",
            "confirm": True,
            "payment_method_types": ["card"],
            "payment_method_data": {"type": "card", "card": {"token": "tok_mastercard"}},
            "expand": ["payment_method"],
        }
    )
    assert intent.status == "succeeded" and intent.payment_method.card.brand == "mastercard"
