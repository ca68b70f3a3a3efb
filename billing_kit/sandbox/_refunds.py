"""Refunds (https://docs.stripe.com/api/refunds): full and partial, by charge or PaymentIntent.

Test cards refund at once to ``succeeded``; ``pendingRefund`` stays ``pending``; ``refundFail``
answers ``succeeded`` and then fails (the failure is visible on the next read, with
``refund.failed``), which is how Stripe's asynchronous failure looks to a client.
"""

from __future__ import annotations

from typing import Any

from billing_kit.sandbox import _balance, _lists, _params
from billing_kit.sandbox._context import Ctx
from billing_kit.sandbox._errors import invalid, state_error
from billing_kit.sandbox._ids import new_id
from billing_kit.sandbox._shapes import refund_body

REASONS = ("duplicate", "fraudulent", "requested_by_customer")


def _apply(ctx: Ctx, charge: dict[str, Any], amount: int) -> None:
    charge["amount_refunded"] += amount
    charge["refunded"] = charge["amount_refunded"] >= charge["amount"]


def release(ctx: Ctx, charge: dict[str, Any], amount: int) -> dict[str, Any]:
    """Release ``amount`` of an uncaptured authorisation (partial capture, cancel): no money
    moves.
    """
    refund = refund_body(
        new_id("refund"),
        ctx.now,
        amount=amount,
        currency=charge["currency"],
        charge=charge["id"],
        payment_intent=charge["payment_intent"],
        balance_transaction=None,
    )
    ctx.insert("refunds", refund)
    _apply(ctx, charge, amount)
    return refund


def refund_charge(
    ctx: Ctx,
    charge: dict[str, Any],
    amount: int | None,
    *,
    reason: str | None = None,
    metadata: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Refund ``amount`` (default: what is left) of ``charge`` and store everything it changes."""
    from billing_kit.sandbox._charges import paying_instrument

    charge_id = charge["id"]
    if charge["status"] != "succeeded":
        raise state_error(
            f"Charge {charge_id} has a status of {charge['status']}; only succeeded charges can be "
            "refunded.",
            code="charge_not_refundable",
        )
    if charge["disputed"]:
        raise state_error(
            f"Charge {charge_id} has been charged back; cannot issue a refund.",
            code="charge_disputed",
        )
    if charge["refunded"]:
        raise state_error(
            f"Charge {charge_id} has already been refunded.", code="charge_already_refunded"
        )
    left = charge["amount"] - charge["amount_refunded"]
    if not charge["captured"]:
        if amount is not None and amount != charge["amount"]:
            raise invalid(
                "You cannot partially refund an uncaptured charge. Instead, capture the charge for "
                "an amount less than the original amount",
                param="amount",
            )
        refund = release(ctx, charge, charge["amount"])
        refund["reason"] = reason
        refund["metadata"] = metadata or {}
        ctx.save("refunds", refund)
        ctx.save("charges", charge)
        ctx.emit("charge.refunded", charge)
        ctx.emit("refund.created", refund)
        return refund
    amount = left if amount is None else amount
    if amount > left:
        raise invalid(
            f"Refund amount ({amount}) is greater than unrefunded amount on charge ({left})",
            param="amount",
        )
    paying = paying_instrument(ctx, charge)
    refund_id = new_id("refund")
    txn = _balance.refund_transaction_body(
        _balance.new_txn_id(),
        ctx.now,
        refund_id=refund_id,
        amount=amount,
        currency=charge["currency"],
    )
    _balance.add(ctx, txn)
    status = "pending" if paying.spec.refund == "pending" else "succeeded"
    refund = refund_body(
        refund_id,
        ctx.now,
        amount=amount,
        currency=charge["currency"],
        charge=charge_id,
        payment_intent=charge["payment_intent"],
        balance_transaction=txn["id"],
        status=status,
        reason=reason,
        metadata=metadata,
    )
    ctx.insert("refunds", refund)
    _apply(ctx, charge, amount)
    ctx.save("charges", charge)
    ctx.emit("charge.refunded", charge)
    ctx.emit("refund.created", refund)
    if paying.spec.refund == "fail":
        _fail_later(ctx, charge, refund)
        # The caller sees the refund as Stripe first reports it; the failure shows on the next read.
        refund = {**refund, "status": "succeeded", "failure_reason": None,
                  "failure_balance_transaction": None}  # fmt: skip
    return refund


def _reverse(ctx: Ctx, charge: dict[str, Any], refund: dict[str, Any]) -> str:
    """Put a refund's money back on the balance and off the charge; return the reversal's id."""
    txn = _balance.refund_transaction_body(
        _balance.new_txn_id(),
        ctx.now,
        refund_id=refund["id"],
        amount=refund["amount"],
        currency=charge["currency"],
    )
    txn.update(amount=-txn["amount"], net=-txn["net"], type="refund_failure",
               reporting_category="refund_failure", description="REFUND FAILURE")  # fmt: skip
    _balance.add(ctx, txn)
    charge["amount_refunded"] -= refund["amount"]
    charge["refunded"] = False
    ctx.save("charges", charge)
    return str(txn["id"])


def _fail_later(ctx: Ctx, charge: dict[str, Any], refund: dict[str, Any]) -> None:
    txn_id = _reverse(ctx, charge, refund)
    refund.update(status="failed", failure_reason="expired_or_canceled_card",
                  failure_balance_transaction=txn_id)  # fmt: skip
    ctx.save("refunds", refund)
    ctx.emit("refund.failed", refund)


def create(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    """``POST /v1/refunds`` with ``charge`` or ``payment_intent``."""
    _params.allow(params, {"charge", "payment_intent", "amount", "reason", "metadata",
                           "instructions_email", "origin", "refund_application_fee",
                           "reverse_transfer"})  # fmt: skip
    charge_id = _params.text(params, "charge")
    pi_id = _params.text(params, "payment_intent")
    amount = _params.integer(params, "amount", minimum=1)
    reason = _params.text(params, "reason", choices=REASONS)
    metadata = _params.metadata(params)
    if charge_id is None and pi_id is None:
        raise _params.absent(params, "charge")
    if charge_id is not None and pi_id is not None:
        raise invalid(
            "You can only pass one of charge or payment_intent when creating a refund.",
            param="payment_intent",
        )
    if pi_id is not None:
        intent = ctx.get("payment_intents", pi_id, param="payment_intent")
        if intent["latest_charge"] is None or intent["status"] not in (
            "succeeded",
            "requires_capture",
        ):
            raise state_error(
                f"This PaymentIntent ({pi_id}) does not have a successful charge to refund.",
                param="payment_intent",
            )
        charge_id = intent["latest_charge"]
    charge = ctx.get("charges", charge_id, param="charge")
    return refund_charge(ctx, charge, amount, reason=reason, metadata=metadata)


def retrieve(ctx: Ctx, refund_id: str, params: dict[str, Any]) -> dict[str, Any]:
    """``GET /v1/refunds/:id``."""
    _params.allow(params, ())
    return ctx.get("refunds", refund_id)


def update(ctx: Ctx, refund_id: str, params: dict[str, Any]) -> dict[str, Any]:
    """``POST /v1/refunds/:id`` (metadata only)."""
    _params.allow(params, {"metadata"})
    refund = ctx.get("refunds", refund_id)
    metadata = _params.metadata(params, current=refund["metadata"])
    if metadata is not None:
        previous = {"metadata": refund["metadata"]}
        refund["metadata"] = metadata
        ctx.save("refunds", refund)
        ctx.emit("refund.updated", refund, previous)
    return refund


def cancel(ctx: Ctx, refund_id: str, params: dict[str, Any]) -> dict[str, Any]:
    """``POST /v1/refunds/:id/cancel``: only a refund in ``requires_action`` can be canceled.

    "Cancels a refund with a status of requires_action. You can't cancel refunds in other states"
    (https://docs.stripe.com/api/refunds/cancel). Card refunds never wait for customer action, so
    every refund the sandbox makes (even a ``pending`` one) answers this error.
    """
    _params.allow(params, ())
    refund = ctx.get("refunds", refund_id)
    if refund["status"] != "requires_action":
        raise state_error(
            f"Refund {refund_id} has a status of {refund['status']}; only refunds with a status "
            "of requires_action can be canceled.",
        )
    previous = {"status": refund["status"]}
    refund["status"] = "canceled"
    refund["pending_reason"] = None
    if refund["balance_transaction"] is not None:
        refund["failure_balance_transaction"] = _reverse(
            ctx, ctx.get("charges", refund["charge"]), refund
        )
    ctx.save("refunds", refund)
    ctx.emit("refund.updated", refund, previous)
    return refund


def list_refunds(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    """``GET /v1/refunds`` with ``charge``, ``payment_intent``, ``created``."""
    return _lists.by_charge(ctx.conn, "refunds", "/v1/refunds", params)
