"""``billing-kit sandbox trigger EVENT_TYPE``: make the API calls that emit an event.

Like ``stripe trigger`` (https://docs.stripe.com/cli/trigger), each fixture creates real objects
through the official library, so the sandbox records (and a forwarder delivers) the event together
with the ones that lead to it: ``charge.refunded`` also brings ``payment_intent.succeeded`` and
``refund.created``. Test payment methods decide the outcome
(https://docs.stripe.com/testing#cards).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import stripe

Fixture = Callable[[stripe.StripeClient], None]

_PAY: Any = {"amount": 2000, "currency": "usd", "payment_method_types": ["card"]}


def _intent(client: stripe.StripeClient, payment_method: str, **extra: Any) -> Any:
    params: Any = {**_PAY, "payment_method": payment_method, "confirm": True, **extra}
    return client.v1.payment_intents.create(params)


def _declined(client: stripe.StripeClient) -> None:
    with contextlib.suppress(stripe.CardError):
        _intent(client, "pm_card_chargeDeclined")


def _succeeded(client: stripe.StripeClient) -> None:
    _intent(client, "pm_card_visa")


def _created(client: stripe.StripeClient) -> None:
    client.v1.payment_intents.create(_PAY)


def _requires_action(client: stripe.StripeClient) -> None:
    _intent(client, "pm_card_authenticationRequired", return_url="https://example.com/return")


def _canceled(client: stripe.StripeClient) -> None:
    intent = client.v1.payment_intents.create(_PAY)
    client.v1.payment_intents.cancel(intent.id)


def _authorized(client: stripe.StripeClient) -> None:
    _intent(client, "pm_card_visa", capture_method="manual")


def _captured(client: stripe.StripeClient) -> None:
    intent = _intent(client, "pm_card_visa", capture_method="manual")
    client.v1.payment_intents.capture(intent.id)


def _refunded(client: stripe.StripeClient) -> None:
    intent = _intent(client, "pm_card_visa")
    client.v1.refunds.create({"payment_intent": intent.id})


def _refund_failed(client: stripe.StripeClient) -> None:
    intent = _intent(client, "pm_card_refundFail")
    client.v1.refunds.create({"payment_intent": intent.id})


def _refund_updated(client: stripe.StripeClient) -> None:
    # A metadata update emits refund.updated (https://docs.stripe.com/api/refunds/update); a
    # card refund cannot be canceled, only one in requires_action can.
    intent = _intent(client, "pm_card_visa")
    refund = client.v1.refunds.create({"payment_intent": intent.id})
    client.v1.refunds.update(refund.id, {"metadata": {"triggered_by": "billing-kit"}})


def _disputed(client: stripe.StripeClient) -> None:
    _intent(client, "pm_card_createDispute")


def _dispute_closed(client: stripe.StripeClient) -> None:
    intent = _intent(client, "pm_card_createDispute")
    disputes = client.v1.disputes.list({"payment_intent": intent.id})
    client.v1.disputes.close(disputes.data[0].id)


def _payout(client: stripe.StripeClient) -> None:
    # bypassPending makes the charge's funds available at once; the sweep pays them out as
    # Stripe's automatic payouts do (sandbox-only endpoint). The amount outweighs what earlier
    # refunds and disputes may have taken, so the available balance is positive.
    _intent(client, "pm_card_bypassPending", amount=10_000_000)
    client.raw_request("post", "/v1/_sandbox/payouts/sweep")


def _customer(client: stripe.StripeClient) -> None:
    client.v1.customers.create({"email": "trigger@example.com"})


#: Event type -> the calls that emit it.
FIXTURES: dict[str, Fixture] = {
    "customer.created": _customer,
    "payment_intent.created": _created,
    "payment_intent.succeeded": _succeeded,
    "payment_intent.payment_failed": _declined,
    "payment_intent.requires_action": _requires_action,
    "payment_intent.canceled": _canceled,
    "payment_intent.amount_capturable_updated": _authorized,
    "charge.succeeded": _succeeded,
    "charge.failed": _declined,
    "charge.captured": _captured,
    "charge.refunded": _refunded,
    "charge.dispute.created": _disputed,
    "charge.dispute.funds_withdrawn": _disputed,
    "charge.dispute.closed": _dispute_closed,
    "refund.created": _refunded,
    "refund.failed": _refund_failed,
    "refund.updated": _refund_updated,
    "payout.created": _payout,
    "payout.paid": _payout,
}


def trigger(client: stripe.StripeClient, event_type: str) -> list[str]:
    """Run the fixture for ``event_type``; return the ids of the new events of that type.

    Raises
    ------
    ValueError
        ``event_type`` has no fixture (the message lists the supported types).
    """
    fixture = FIXTURES.get(event_type)
    if fixture is None:
        raise ValueError(
            f"event type {event_type!r} cannot be triggered; "
            f"supported: {', '.join(sorted(FIXTURES))}"
        )
    before = client.v1.events.list({"limit": 1}).data
    fixture(client)
    params: Any = {"type": event_type, "limit": 100}
    if before:
        params["ending_before"] = before[0].id
    return [event.id for event in client.v1.events.list(params).data]
