"""Canonical JSON bodies of every stored object (https://docs.stripe.com/api), as pure functions.

The live API and the bulk seeder both build objects here, so seeded history and live objects have
the same shape. Bodies are stored unexpanded: expandable fields hold ids.
"""

from __future__ import annotations

from typing import Any

from billing_kit.sandbox._card_shapes import (
    billing_details,
    card_info,
    customer_body,
    legacy_card,
    payment_method_body,
    pm_card,
    token_body,
)
from billing_kit.sandbox._cards import Decline

__all__ = [
    "API_VERSION",
    "balance_transaction_body",
    "billing_details",
    "card_info",
    "charge_body",
    "customer_body",
    "dispute_body",
    "event_body",
    "legacy_card",
    "outcome",
    "payment_intent_body",
    "payment_method_body",
    "payout_body",
    "pm_card",
    "refund_body",
    "token_body",
]

API_VERSION = "2026-10-28.endive"

_SELLER_SUCCESS = "Payment complete."
_RISK_SCORES = {"normal": 20, "elevated": 72, "highest": 92}


def outcome(*, decline: Decline | None = None, radar: str | None = None) -> dict[str, Any]:
    """Return a charge ``outcome``.

    See https://docs.stripe.com/api/charges/object#charge_object-outcome.
    """
    risk = "normal"
    body: dict[str, Any]
    if radar == "block":
        risk = "highest"
        body = {
            "network_status": "not_sent_to_network",
            "reason": "highest_risk_level",
            "seller_message": "Stripe blocked this charge as too risky.",
            "type": "blocked",
        }
    elif decline is not None:
        reason = decline.outcome_reason or "generic_decline"
        seller = (
            "The bank did not return any further details with this decline."
            if reason == "generic_decline"
            else f"The bank returned the decline code `{reason}`."
        )
        body = {
            "network_status": "declined_by_network",
            "reason": reason,
            "seller_message": seller,
            "type": "issuer_declined",
        }
    elif radar == "elevated":
        risk = "elevated"
        body = {
            "network_status": "approved_by_network",
            "reason": "elevated_risk_level",
            "seller_message": "Stripe evaluated this payment as having elevated risk, and placed "
            "it in your manual review queue.",
            "type": "manual_review",
        }
    else:
        body = {
            "network_status": "approved_by_network",
            "reason": None,
            "seller_message": _SELLER_SUCCESS,
            "type": "authorized",
        }
    return {
        "advice_code": None,
        "network_advice_code": None,
        "network_decline_code": None,
        "risk_level": risk,
        "risk_score": _RISK_SCORES[risk],
        "rule": None,
        **body,
    }


def charge_body(
    charge_id: str,
    created: int,
    *,
    amount: int,
    currency: str,
    info: dict[str, Any],
    status: str,
    captured: bool,
    payment_method: str,
    outcome_body: dict[str, Any],
    customer: str | None = None,
    payment_intent: str | None = None,
    balance_transaction: str | None = None,
    description: str | None = None,
    metadata: dict[str, str] | None = None,
    failure: Decline | None = None,
    source: dict[str, Any] | None = None,
    billing: dict[str, Any] | None = None,
    receipt_email: str | None = None,
    statement_descriptor: str | None = None,
) -> dict[str, Any]:
    """Return a ``charge`` object. ``status`` is ``succeeded`` or ``failed``."""
    paid = status == "succeeded"
    return {
        "id": charge_id,
        "object": "charge",
        "amount": amount,
        "amount_captured": amount if captured else 0,
        "amount_refunded": 0,
        "application": None,
        "application_fee": None,
        "application_fee_amount": None,
        "authorization_code": "123456" if paid else None,
        "balance_transaction": balance_transaction,
        "billing_details": billing or billing_details(),
        "calculated_statement_descriptor": statement_descriptor or "BILLING KIT SANDBOX",
        "captured": captured,
        "created": created,
        "currency": currency,
        "customer": customer,
        "description": description,
        "disputed": False,
        "failure_balance_transaction": None,
        "failure_code": failure.code if failure else None,
        "failure_message": failure.message if failure else None,
        "fraud_details": {},
        "livemode": False,
        "metadata": metadata or {},
        "on_behalf_of": None,
        "outcome": outcome_body,
        "paid": paid,
        "payment_intent": payment_intent,
        "payment_method": payment_method,
        "payment_method_details": {
            "card": {
                "amount_authorized": amount if paid else None,
                "authorization_code": "123456" if paid else None,
                "brand": info["brand"],
                "capture_before": created + 7 * 86_400 if paid and not captured else None,
                "checks": dict(info["checks"]),
                "country": info["country"],
                "exp_month": info["exp_month"],
                "exp_year": info["exp_year"],
                "extended_authorization": {"status": "disabled"},
                "fingerprint": info["fingerprint"],
                "funding": info["funding"],
                "incremental_authorization": {"status": "unavailable"},
                "installments": None,
                "last4": info["last4"],
                "mandate": None,
                "multicapture": {"status": "unavailable"},
                "network": info["brand"],
                "network_token": {"used": False},
                "network_transaction_id": None,
                "overcapture": {"maximum_amount_capturable": amount, "status": "unavailable"},
                "regulated_status": "unregulated",
                "three_d_secure": None,
                "wallet": None,
            },
            "type": "card",
        },
        "receipt_email": receipt_email,
        "receipt_number": None,
        "receipt_url": f"https://pay.stripe.com/receipts/sandbox/{charge_id}",
        "refunded": False,
        "review": None,
        "shipping": None,
        "source": source,
        "source_transfer": None,
        "statement_descriptor": statement_descriptor,
        "statement_descriptor_suffix": None,
        "status": status,
        "transfer_data": None,
        "transfer_group": None,
    }


def balance_transaction_body(
    txn_id: str,
    created: int,
    *,
    amount: int,
    fee: int,
    fee_details: list[dict[str, Any]],
    source: str,
    txn_type: str,
    reporting_category: str,
    available_on: int,
    currency: str = "usd",
    exchange_rate: float | None = None,
    description: str | None = None,
) -> dict[str, Any]:
    """Return a ``balance_transaction`` of type ``txn_type``; ``status`` is refreshed from
    ``available_on`` on read.
    """
    return {
        "id": txn_id,
        "object": "balance_transaction",
        "amount": amount,
        "available_on": available_on,
        "balance_type": "payments",
        "created": created,
        "currency": currency,
        "description": description,
        "exchange_rate": exchange_rate,
        "fee": fee,
        "fee_details": fee_details,
        "net": amount - fee,
        "reporting_category": reporting_category,
        "source": source,
        "status": "available" if available_on <= created else "pending",
        "type": txn_type,
    }


def refund_body(
    refund_id: str,
    created: int,
    *,
    amount: int,
    currency: str,
    charge: str,
    payment_intent: str | None,
    balance_transaction: str | None,
    status: str = "succeeded",
    reason: str | None = None,
    metadata: dict[str, str] | None = None,
    destination_type: str = "card",
) -> dict[str, Any]:
    """Return a ``refund`` object."""
    return {
        "id": refund_id,
        "object": "refund",
        "amount": amount,
        "balance_transaction": balance_transaction,
        "charge": charge,
        "created": created,
        "currency": currency,
        "description": None,
        "destination_details": {
            destination_type: {
                "reference_status": "available",
                "reference_type": "acquirer_reference_number",
                "type": "refund",
            },
            "type": destination_type,
        },
        "failure_balance_transaction": None,
        "failure_reason": None,
        "instructions_email": None,
        "metadata": metadata or {},
        "next_action": None,
        "payment_intent": payment_intent,
        "pending_reason": "processing" if status == "pending" else None,
        "reason": reason,
        "receipt_number": None,
        "source_transfer_reversal": None,
        "status": status,
        "transfer_reversal": None,
    }


def payment_intent_body(
    pi_id: str,
    created: int,
    *,
    amount: int,
    currency: str,
    customer: str | None,
    payment_method: str | None,
    capture_method: str,
    confirmation_method: str,
    description: str | None,
    metadata: dict[str, str],
    payment_method_types: list[str],
    automatic_payment_methods: dict[str, Any] | None,
    receipt_email: str | None = None,
    setup_future_usage: str | None = None,
    statement_descriptor: str | None = None,
    shipping: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Return a new ``payment_intent`` (status set by the caller's state machine)."""
    return {
        "id": pi_id,
        "object": "payment_intent",
        "amount": amount,
        "amount_capturable": 0,
        "amount_details": {"tip": {}},
        "amount_received": 0,
        "application": None,
        "application_fee_amount": None,
        "automatic_payment_methods": automatic_payment_methods,
        "canceled_at": None,
        "cancellation_reason": None,
        "capture_method": capture_method,
        "client_secret": f"{pi_id}_secret_{pi_id[-12:]}",
        "confirmation_method": confirmation_method,
        "created": created,
        "currency": currency,
        "customer": customer,
        "description": description,
        "last_payment_error": None,
        "latest_charge": None,
        "livemode": False,
        "metadata": metadata,
        "next_action": None,
        "on_behalf_of": None,
        "payment_method": payment_method,
        "payment_method_configuration_details": None,
        "payment_method_options": {
            "card": {
                "installments": None,
                "mandate_options": None,
                "network": None,
                "request_three_d_secure": "automatic",
            }
        },
        "payment_method_types": payment_method_types,
        "processing": None,
        "receipt_email": receipt_email,
        "review": None,
        "setup_future_usage": setup_future_usage,
        "shipping": shipping,
        "source": None,
        "statement_descriptor": statement_descriptor,
        "statement_descriptor_suffix": None,
        "status": "requires_payment_method" if payment_method is None else "requires_confirmation",
        "transfer_data": None,
        "transfer_group": None,
    }


def payout_body(
    payout_id: str,
    created: int,
    *,
    amount: int,
    currency: str,
    balance_transaction: str,
    arrival_date: int,
    automatic: bool,
    status: str,
    description: str | None = None,
    metadata: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Return a ``payout`` object to the sandbox's bank account."""
    return {
        "id": payout_id,
        "object": "payout",
        "amount": amount,
        "application_fee": None,
        "application_fee_amount": None,
        "arrival_date": arrival_date,
        "automatic": automatic,
        "balance_transaction": balance_transaction,
        "created": created,
        "currency": currency,
        "description": description or ("STRIPE PAYOUT" if automatic else None),
        "destination": "ba_sandboxbank0000000000000",
        "failure_balance_transaction": None,
        "failure_code": None,
        "failure_message": None,
        "livemode": False,
        "metadata": metadata or {},
        "method": "standard",
        "original_payout": None,
        "reconciliation_status": "completed" if status == "paid" else "not_applicable",
        "reversed_by": None,
        "source_type": "card",
        "statement_descriptor": None,
        "status": status,
        "trace_id": {"status": "supported", "value": None},
        "type": "bank_account",
    }


def dispute_body(
    dispute_id: str,
    created: int,
    *,
    amount: int,
    currency: str,
    charge: str,
    payment_intent: str | None,
    reason: str,
    status: str,
    balance_transactions: list[dict[str, Any]],
) -> dict[str, Any]:
    """Return a ``dispute`` object (``balance_transactions`` holds full BT objects, as Stripe
    does).
    """
    return {
        "id": dispute_id,
        "object": "dispute",
        "amount": amount,
        "balance_transactions": balance_transactions,
        "charge": charge,
        "created": created,
        "currency": currency,
        "evidence": {
            "uncategorized_text": None,
            "product_description": None,
            "customer_email_address": None,
        },
        "evidence_details": {
            "due_by": created + 7 * 86_400,
            "has_evidence": False,
            "past_due": False,
            "submission_count": 0,
        },
        "is_charge_refundable": False,
        "livemode": False,
        "metadata": {},
        "payment_intent": payment_intent,
        "reason": reason,
        "status": status,
    }


def event_body(
    event_id: str,
    created: int,
    *,
    event_type: str,
    obj: dict[str, Any],
    previous_attributes: dict[str, Any] | None = None,
    request_id: str | None = None,
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    """Return an ``event`` whose ``data.object`` is a snapshot of ``obj``."""
    data: dict[str, Any] = {"object": obj}
    if previous_attributes is not None:
        data["previous_attributes"] = previous_attributes
    return {
        "id": event_id,
        "object": "event",
        "api_version": API_VERSION,
        "created": created,
        "data": data,
        "livemode": False,
        "pending_webhooks": 0,
        "request": {"id": request_id, "idempotency_key": idempotency_key},
        "type": event_type,
    }
