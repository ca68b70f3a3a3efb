"""The payments service: the only module of the shop that talks to the payment API.

Built on billing_kit (exact money, idempotent charges, an audit ledger, the offline sandbox). The
views call these functions and never see a Stripe object or exception, so swapping the provider or
testing the shop touches this file only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import stripe
from flask import Flask, current_app

import billing_kit as bk
from billing_kit.sandbox import SANDBOX_WEBHOOK_SECRET
from checkout.orders import Order

#: Stripe's test payment methods the form offers against the sandbox (no Stripe.js offline);
#: https://docs.stripe.com/testing#declined-payments lists what each one does.
TEST_PAYMENT_METHODS: dict[str, str] = {
    "pm_card_visa": "Visa 4242 - succeeds",
    "pm_card_mastercard": "Mastercard 4444 - succeeds",
    "pm_card_chargeDeclined": "Declined (generic_decline)",
    "pm_card_visa_chargeDeclinedInsufficientFunds": "Declined (insufficient_funds)",
    "pm_card_visa_chargeDeclinedLostCard": "Declined (lost_card)",
    "pm_card_visa_chargeDeclinedStolenCard": "Declined (stolen_card)",
    "pm_card_chargeDeclinedFraudulent": "Blocked as fraudulent",
    "pm_card_chargeDeclinedExpiredCard": "Declined (expired_card)",
    "pm_card_chargeDeclinedIncorrectCvc": "Declined (incorrect_cvc)",
    "pm_card_chargeDeclinedProcessingError": "Declined (processing_error)",
    "pm_card_authenticationRequired": "Needs 3D Secure",
}

GENERIC_DECLINE = "Your card was declined. Please use another card or contact your bank."

#: What the payer may be told for each decline code. Lost, stolen, fraudulent and blocked cards
#: get the generic message so a fraudster learns nothing
#: (https://docs.stripe.com/declines/codes); any code not listed does too.
SAFE_MESSAGES: dict[str, str] = {
    "insufficient_funds": "Your card has insufficient funds. Please use another card.",
    "expired_card": "Your card has expired. Please check the date or use another card.",
    "incorrect_cvc": "The card's security code is incorrect. Please check it and try again.",
    "processing_error": "We could not process your card. Please try again in a moment.",
    "authentication_required": (
        "Your bank asks you to confirm this payment (3D Secure). Please use another card."
    ),
}


@dataclass(frozen=True)
class Outcome:
    """The result of one checkout attempt, safe to show to the payer."""

    paid: bool
    message: str
    payment_intent: str | None = None
    decline_code: str | None = None  # for our logs and tests, never shown


@dataclass(frozen=True)
class Event:
    """A verified webhook event: its id, type and ``data.object`` as plain dicts."""

    id: str
    type: str
    object: dict[str, Any]


class InvalidSignature(Exception):
    """A webhook payload whose signature did not verify (forged, altered or stale)."""


def init_app(app: Flask) -> None:
    """Connect billing_kit with the app's settings (no key: the local sandbox)."""
    cfg = app.config
    client = bk.connect(cfg["STRIPE_API_KEY"], api_base=cfg["STRIPE_API_BASE"],
                        home=cfg["BILLING_KIT_HOME"])  # fmt: skip
    app.extensions["payments"] = client


def _client() -> bk.Client:
    client: bk.Client = current_app.extensions["payments"]
    return client


def close(app: Flask) -> None:
    """Close the billing_kit client (tests; a server process simply exits)."""
    app.extensions["payments"].close()


def mode() -> str:
    """``"sandbox"``, ``"test"`` or ``"live"``."""
    return str(_client().mode)


def offered_payment_methods() -> dict[str, str]:
    """The test payment methods the form lists (sandbox only; else Stripe.js collects the card)."""
    return TEST_PAYMENT_METHODS if mode() == "sandbox" else {}


def pay(order: Order, payment_method: str, attempt: str) -> Outcome:
    """Charge ``order`` (its server-side amount) to ``payment_method``, once per ``attempt``.

    The customer is found by email or created. The idempotency key is derived from the attempt,
    so a double submit, or a POST retried after a lost response, replays the first result
    instead of charging again (https://docs.stripe.com/api/idempotent_requests).
    """
    client = _client()
    customer = client.find_or_create_customer(order.email)
    try:
        charge = client.charge(
            customer,
            bk.to_major(order.amount, order.currency),  # exact Decimal, from integer minor units
            order.currency,
            payment_method=payment_method,
            description=f"Order {order.id}",
            metadata={"order_id": str(order.id)},  # on the object the webhook reconciles
            idempotency_key=f"checkout-{attempt}",
        )
    except bk.CardDeclined as exc:
        code = exc.decline_code or "generic_decline"
        return Outcome(False, SAFE_MESSAGES.get(code, GENERIC_DECLINE), exc.payment_intent_id, code)
    except bk.IdempotencyConflict:
        # The attempt's key already paid for something else (a tampered form): charge nothing.
        return Outcome(False, "This checkout was already used; please start again.", None,
                       "idempotency_conflict")  # fmt: skip
    return Outcome(True, "Thank you, your payment succeeded.", charge.payment_intent)


def verify_event(payload: bytes, signature: str | None) -> Event:
    """Return the event if ``signature`` is Stripe's for the raw ``payload``, else raise.

    Verification needs the exact bytes received: parsing and re-serialising the JSON first
    breaks it (https://docs.stripe.com/webhooks/signature). Timestamps older than five minutes
    are refused, which stops replays.
    """
    secret = current_app.config["STRIPE_WEBHOOK_SECRET"]
    if not secret:
        if mode() != "sandbox":
            raise InvalidSignature("STRIPE_WEBHOOK_SECRET is not set; refusing every event")
        secret = SANDBOX_WEBHOOK_SECRET
    try:
        event = stripe.Webhook.construct_event(payload, signature or "", secret)
    except (stripe.SignatureVerificationError, ValueError) as exc:
        raise InvalidSignature(type(exc).__name__) from None
    return Event(event.id, event.type, event.data.object.to_dict())
