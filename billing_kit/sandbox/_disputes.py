"""Disputes (``dp_``) opened by the dispute test cards (https://docs.stripe.com/testing#disputes),
and ``/v1/disputes``.

A dispute withdraws the amount plus the $15 fee at once; an inquiry (``warning_needs_response``)
moves no money until it escalates. Evidence ``winning_evidence`` / ``losing_evidence`` decides the
outcome as in Stripe's test mode.
"""

from __future__ import annotations

from typing import Any

from billing_kit.sandbox import _balance, _lists, _params
from billing_kit.sandbox._context import Ctx
from billing_kit.sandbox._errors import state_error
from billing_kit.sandbox._ids import new_id
from billing_kit.sandbox._shapes import dispute_body

_OPEN = ("needs_response", "warning_needs_response", "under_review", "warning_under_review")


def open_dispute(ctx: Ctx, charge: dict[str, Any], kind: tuple[str, str]) -> dict[str, Any]:
    """Open a dispute on a captured ``charge``; ``kind`` is ``(reason, status)``."""
    reason, status = kind
    dispute_id = new_id("dispute")
    transactions: list[dict[str, Any]] = []
    if status == "needs_response":
        txn = _balance.dispute_transaction_body(
            _balance.new_txn_id(),
            ctx.now,
            dispute_id=dispute_id,
            charge_id=charge["id"],
            amount=charge["amount_captured"],
            currency=charge["currency"],
        )
        _balance.add(ctx, txn)
        transactions.append(txn)
    dispute = dispute_body(
        dispute_id,
        ctx.now,
        amount=charge["amount_captured"],
        currency=charge["currency"],
        charge=charge["id"],
        payment_intent=charge["payment_intent"],
        reason=reason,
        status=status,
        balance_transactions=transactions,
    )
    ctx.insert("disputes", dispute)
    charge["disputed"] = True
    ctx.save("charges", charge)
    ctx.emit("charge.dispute.created", dispute)
    if transactions:
        ctx.emit("charge.dispute.funds_withdrawn", dispute)
    return dispute


def _settle(ctx: Ctx, dispute: dict[str, Any], won: bool) -> None:
    previous = {"status": dispute["status"]}
    if won and dispute["balance_transactions"]:
        txn = _balance.dispute_reversal_body(
            _balance.new_txn_id(),
            ctx.now,
            dispute_id=dispute["id"],
            charge_id=dispute["charge"],
            withdrawal=dispute["balance_transactions"][0],
        )
        _balance.add(ctx, txn)
        dispute["balance_transactions"].append(txn)
    dispute["status"] = "won" if won else "lost"
    ctx.save("disputes", dispute)
    ctx.emit("charge.dispute.closed", dispute, previous)
    if won and len(dispute["balance_transactions"]) > 1:
        ctx.emit("charge.dispute.funds_reinstated", dispute)


def retrieve(ctx: Ctx, dispute_id: str, params: dict[str, Any]) -> dict[str, Any]:
    """``GET /v1/disputes/:id``."""
    _params.allow(params, ())
    return ctx.get("disputes", dispute_id)


def update(ctx: Ctx, dispute_id: str, params: dict[str, Any]) -> dict[str, Any]:
    """``POST /v1/disputes/:id``: evidence (``winning_evidence``/``losing_evidence``), metadata."""
    _params.allow(params, {"evidence", "metadata", "submit"})
    dispute = ctx.get("disputes", dispute_id)
    if dispute["status"] not in _OPEN:
        raise state_error(
            f"Dispute {dispute_id} is {dispute['status']}; evidence can only be added while it is "
            "open.",
        )
    metadata = _params.metadata(params, current=dispute["metadata"])
    if metadata is not None:
        dispute["metadata"] = metadata
    evidence = _params.mapping(params, "evidence") or {}
    for key, value in evidence.items():
        if isinstance(value, str):
            dispute["evidence"][key] = value
    if evidence:
        dispute["evidence_details"]["has_evidence"] = True
    submit = _params.boolean(params, "submit", default=True)
    text = dispute["evidence"].get("uncategorized_text")
    if submit and text in ("winning_evidence", "losing_evidence"):
        dispute["evidence_details"]["submission_count"] += 1
        _settle(ctx, dispute, won=text == "winning_evidence")
        return dispute
    ctx.save("disputes", dispute)
    ctx.emit("charge.dispute.updated", dispute)
    return dispute


def close(ctx: Ctx, dispute_id: str, params: dict[str, Any]) -> dict[str, Any]:
    """``POST /v1/disputes/:id/close``: accept the dispute (it is lost)."""
    _params.allow(params, ())
    dispute = ctx.get("disputes", dispute_id)
    if dispute["status"] not in _OPEN:
        raise state_error(f"Dispute {dispute_id} is already {dispute['status']}.")
    _settle(ctx, dispute, won=False)
    return dispute


def list_disputes(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    """``GET /v1/disputes`` with ``charge``, ``payment_intent``, ``created``."""
    return _lists.by_charge(ctx.conn, "disputes", "/v1/disputes", params)
