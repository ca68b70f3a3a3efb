"""Typed results built from Stripe JSON: the pure conversion step, on hand-built objects."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from billing_kit import Charge, Customer, Money, Refund

LEGACY = {
    "id": "ch_1",
    "object": "charge",
    "amount": 1999,
    "amount_refunded": 500,
    "captured": True,
    "created": 1_700_000_000,
    "currency": "eur",
    "customer": {"id": "cus_1", "object": "customer"},
    "description": "Order 1",
    "failure_code": None,
    "failure_message": None,
    "payment_intent": None,
    "payment_method_details": None,
    "source": {"id": "card_1", "object": "card", "brand": "American Express", "last4": "8431"},
    "status": "succeeded",
}


def test_charge_from_a_legacy_card_source() -> None:
    charge = Charge.from_stripe(LEGACY)
    assert charge == Charge(
        id="ch_1",
        status="succeeded",
        amount=Money(1999, "eur"),
        customer="cus_1",
        payment_intent=None,
        brand="amex",
        last4="8431",
        failure_code=None,
        decline_code=None,
        failure_reason=None,
        created=datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC),
        refunded_amount=Money(500, "eur"),
        description="Order 1",
        captured=True,
    )


def test_failed_charge_carries_decline_details() -> None:
    failed = {
        **LEGACY,
        "status": "failed",
        "captured": False,
        "failure_code": "card_declined",
        "failure_message": "Your card has insufficient funds.",
        "outcome": {"reason": "insufficient_funds", "type": "issuer_declined"},
        "payment_method_details": {"type": "card", "card": {"brand": "visa", "last4": "9995"}},
        "payment_intent": "pi_1",
    }
    charge = Charge.from_stripe(failed)
    assert (charge.brand, charge.last4, charge.payment_intent) == ("visa", "9995", "pi_1")
    assert charge.decline_code == "insufficient_funds" and not charge.succeeded
    assert charge.failure_reason == "Your card has insufficient funds."


def test_results_are_frozen() -> None:
    customer = Customer.from_stripe({"id": "cus_1", "email": "a@b.co", "name": None})
    with pytest.raises(dataclasses.FrozenInstanceError):
        customer.email = "x"  # type: ignore[misc]
    refund = Refund.from_stripe(
        {"id": "re_1", "charge": "ch_1", "amount": 10, "currency": "jpy", "status": "succeeded"}
    )
    assert refund.amount == Money(10, "jpy") and refund.reason is None
