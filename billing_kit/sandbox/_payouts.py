"""Payouts (https://docs.stripe.com/api/payouts) and the sandbox-only sweep that makes automatic
payouts.

``POST /v1/_sandbox/payouts/sweep`` pays out every available, not-yet-paid-out balance transaction
as one automatic payout (``status=paid``) and links them to it, so ``GET
/v1/balance_transactions?payout=`` reconciles a payout the way Stripe's automatic payouts do.
"""

from __future__ import annotations

from typing import Any

from billing_kit.sandbox import _balance, _fees, _lists, _params
from billing_kit.sandbox._context import Ctx
from billing_kit.sandbox._errors import invalid, state_error
from billing_kit.sandbox._ids import new_id
from billing_kit.sandbox._shapes import payout_body

_DAY = 86_400


def sweep(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    """``POST /v1/_sandbox/payouts/sweep``: return the list of payouts made (empty if nothing
    due).
    """
    _params.allow(params, ())
    rows = ctx.conn.execute(
        "SELECT id, net FROM balance_transactions WHERE payout IS NULL AND available_on <= ?",
        (ctx.now,),
    ).fetchall()
    total = sum(int(net) for _, net in rows)
    payouts: list[dict[str, Any]] = []
    if rows and total > 0:
        payout = _make(ctx, total, automatic=True, status="paid")
        ctx.conn.executemany(
            "UPDATE balance_transactions SET payout = ? WHERE id = ?",
            [(payout["id"], txn_id) for txn_id, _ in rows],
        )
        payouts.append(payout)
    return {"object": "list", "data": payouts, "has_more": False, "url": "/v1/payouts"}


def _make(ctx: Ctx, amount: int, *, automatic: bool, status: str, **extra: Any) -> dict[str, Any]:
    payout_id = new_id("payout")
    arrival = (ctx.now // _DAY) * _DAY if status == "paid" else (ctx.now // _DAY + 2) * _DAY
    txn = _balance.payout_transaction_body(
        _balance.new_txn_id(), ctx.now, payout_id=payout_id, amount=amount,
        available_on=arrival if automatic else None,
    )  # fmt: skip
    _balance.add(ctx, txn, payout=payout_id if automatic else None)
    payout = payout_body(
        payout_id,
        ctx.now,
        amount=amount,
        currency=_fees.SETTLEMENT_CURRENCY,
        balance_transaction=txn["id"],
        arrival_date=arrival,
        automatic=automatic,
        status=status,
        **extra,
    )
    ctx.insert("payouts", payout)
    ctx.emit("payout.created", payout)
    if status == "paid":
        ctx.emit("payout.paid", payout)
    return payout


def create(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    """``POST /v1/payouts``: a manual payout from the available USD balance."""
    _params.allow(params, {"amount", "currency", "description", "metadata", "method",
                           "statement_descriptor", "destination", "source_type"})  # fmt: skip
    amount = _params.integer(params, "amount", required=True, minimum=1)
    assert amount is not None
    currency = (_params.text(params, "currency", required=True) or "").lower()
    if currency != _fees.SETTLEMENT_CURRENCY:
        raise invalid(
            f"Invalid currency {currency!r}: the sandbox account settles and pays out in usd.",
            param="currency",
        )
    available = _balance.totals(ctx)["available"].get(currency, 0)
    if amount > available:
        raise state_error(
            f"You have insufficient funds in your Stripe account for this transfer. Your available "
            f"balance is {available} {currency}.",
            code="balance_insufficient",
        )
    return _make(ctx, amount, automatic=False, status="pending",
                 description=_params.text(params, "description"),
                 metadata=_params.metadata(params) or {})  # fmt: skip


def retrieve(ctx: Ctx, payout_id: str, params: dict[str, Any]) -> dict[str, Any]:
    """``GET /v1/payouts/:id``."""
    _params.allow(params, ())
    return ctx.get("payouts", payout_id)


def list_payouts(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    """``GET /v1/payouts`` with ``status``, ``created`` and ``arrival_date`` (exact)."""
    _params.allow(params, _params.LIST_PARAMS | {"status", "destination", "arrival_date"})
    where = _lists.Where()
    where.equal("status", _params.text(params, "status"))
    if params.get("arrival_date") not in (None, ""):
        where.add("json_extract(body, '$.arrival_date') = ?",
                  _params.to_int(params["arrival_date"], "arrival_date"))  # fmt: skip
    return _lists.run(ctx.conn, "payouts", "/v1/payouts", params, where)
