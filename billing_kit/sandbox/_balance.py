"""Balance transactions (https://docs.stripe.com/api/balance_transactions, fees
https://stripe.com/pricing) and the balance they add up to.

Every money movement writes one ``txn_`` row: a captured charge (gross, Stripe fee, net), a refund
(negative, no fee returned, as in the US), a dispute (negative, $15 fee) and a payout (negative).
Amounts are settled in USD. ``status`` follows ``available_on`` and is refreshed on every read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from billing_kit.sandbox import _fees, _lists, _params
from billing_kit.sandbox._context import Ctx
from billing_kit.sandbox._errors import invalid
from billing_kit.sandbox._ids import new_id
from billing_kit.sandbox._shapes import balance_transaction_body

#: Every ``type`` a balance transaction can have, as listed for the ``type`` filter of
#: https://docs.stripe.com/api/balance_transactions/list. The sandbox writes only a few of them;
#: filtering by any other listed type is valid and finds nothing.
TYPES = frozenset(
    [
        "adjustment",
        "advance",
        "advance_funding",
        "anticipation_repayment",
        "application_fee",
        "application_fee_refund",
        "charge",
        "climate_order_purchase",
        "climate_order_refund",
        "connect_collection_transfer",
        "contribution",
        "issuing_authorization_hold",
        "issuing_authorization_release",
        "issuing_dispute",
        "issuing_transaction",
        "obligation_outbound",
        "obligation_reversal_inbound",
        "payment",
        "payment_failure_refund",
        "payment_network_reserve_hold",
        "payment_network_reserve_release",
        "payment_refund",
        "payment_reversal",
        "payment_unreconciled",
        "payout",
        "payout_cancel",
        "payout_failure",
        "payout_minimum_balance_hold",
        "payout_minimum_balance_release",
        "refund",
        "refund_failure",
        "reserve_transaction",
        "reserved_funds",
        "reserve_hold",
        "reserve_release",
        "stripe_fee",
        "stripe_fx_fee",
        "stripe_balance_payment_debit",
        "stripe_balance_payment_debit_reversal",
        "tax_fee",
        "topup",
        "topup_reversal",
        "transfer",
        "transfer_cancel",
        "transfer_failure",
        "transfer_refund",
    ]
)


def charge_transaction_body(
    txn_id: str,
    created: int,
    *,
    charge_id: str,
    amount: int,
    currency: str,
    international: bool,
    bypass_pending: bool = False,
) -> dict[str, Any]:
    """Return the balance transaction of a captured charge (pure; used by the seeder too).

    Examples
    --------
    >>> txn = charge_transaction_body("txn_1", 0, charge_id="ch_1", amount=3340, currency="usd",
    ...                               international=False)
    >>> txn["amount"], txn["fee"], txn["net"], txn["type"]
    (3340, 127, 3213, 'charge')
    """
    settled, rate = _fees.settle(amount, currency)
    fee = _fees.charge_fee(settled, international=international, converted=rate is not None)
    return balance_transaction_body(
        txn_id,
        created,
        amount=settled,
        fee=fee,
        fee_details=_fees.fee_details(fee),
        source=charge_id,
        txn_type="charge",
        reporting_category="charge",
        available_on=_fees.available_on(created, immediately=bypass_pending),
        exchange_rate=rate,
    )


def refund_transaction_body(
    txn_id: str, created: int, *, refund_id: str, amount: int, currency: str
) -> dict[str, Any]:
    """Return the balance transaction of a refund: negative, fee 0 (pure; seeder too)."""
    settled, rate = _fees.settle(amount, currency)
    return balance_transaction_body(
        txn_id,
        created,
        amount=-settled,
        fee=0,
        fee_details=[],
        source=refund_id,
        txn_type="refund",
        reporting_category="refund",
        available_on=_fees.available_on(created, immediately=True),
        exchange_rate=rate,
        description="REFUND FOR CHARGE",
    )


def dispute_transaction_body(
    txn_id: str, created: int, *, dispute_id: str, charge_id: str, amount: int, currency: str
) -> dict[str, Any]:
    """Return the balance transaction withdrawing a disputed amount plus the $15 fee (pure)."""
    settled, rate = _fees.settle(amount, currency)
    return balance_transaction_body(
        txn_id,
        created,
        amount=-settled,
        fee=_fees.DISPUTE_FEE,
        fee_details=_fees.fee_details(_fees.DISPUTE_FEE, "Dispute fee"),
        source=dispute_id,
        txn_type="adjustment",
        reporting_category="dispute",
        available_on=_fees.available_on(created, immediately=True),
        exchange_rate=rate,
        description=f"Chargeback withdrawal for {charge_id}",
    )


def dispute_reversal_body(
    txn_id: str, created: int, *, dispute_id: str, charge_id: str, withdrawal: Mapping[str, Any]
) -> dict[str, Any]:
    """Return the balance transaction of a won dispute: the ``withdrawal`` given back, fee kept.

    Pure, and used by the seeder too, so a seeded reversal is the API's to the byte.

    Examples
    --------
    >>> out = dispute_transaction_body("txn_1", 0, dispute_id="dp_1", charge_id="ch_1",
    ...                                amount=5000, currency="eur")
    >>> back = dispute_reversal_body("txn_2", 86_400, dispute_id="dp_1", charge_id="ch_1",
    ...                              withdrawal=out)
    >>> back["amount"], back["fee"], back["net"], back["reporting_category"]
    (5400, 0, 5400, 'dispute_reversal')
    """
    return balance_transaction_body(
        txn_id,
        created,
        amount=-withdrawal["amount"],
        fee=0,
        fee_details=[],
        source=dispute_id,
        txn_type="adjustment",
        reporting_category="dispute_reversal",
        available_on=_fees.available_on(created, immediately=True),
        exchange_rate=withdrawal["exchange_rate"],
        description=f"Chargeback reversal for {charge_id}",
    )


def payout_transaction_body(
    txn_id: str, created: int, *, payout_id: str, amount: int, available_on: int | None = None
) -> dict[str, Any]:
    """Return the balance transaction of a payout of ``amount`` USD cents (pure).

    An automatic payout's transaction becomes available on the payout's arrival date, the time
    Stripe's balance reports count it at (https://docs.stripe.com/reports/balance); pass it as
    ``available_on``. Without it the transaction is available at once (a manual payout).
    """
    return balance_transaction_body(
        txn_id,
        created,
        amount=-amount,
        fee=0,
        fee_details=[],
        source=payout_id,
        txn_type="payout",
        reporting_category="payout",
        available_on=created if available_on is None else available_on,
        description="STRIPE PAYOUT",
    )


def payout_failure_body(
    txn_id: str, created: int, *, payout_id: str, amount: int
) -> dict[str, Any]:
    """Return the transaction returning a failed payout's ``amount`` to the balance (pure).

    Type ``payout_failure``, reporting category ``payout_reversal``
    (https://docs.stripe.com/reports/reporting-categories).
    """
    return balance_transaction_body(
        txn_id,
        created,
        amount=amount,
        fee=0,
        fee_details=[],
        source=payout_id,
        txn_type="payout_failure",
        reporting_category="payout_reversal",
        available_on=created,
        description="STRIPE PAYOUT FAILURE",
    )


def add(ctx: Ctx, body: dict[str, Any], *, payout: str | None = None) -> dict[str, Any]:
    """Store a balance transaction built by one of the ``*_transaction_body`` functions."""
    return ctx.insert("balance_transactions", body, payout=payout)


def new_txn_id() -> str:
    return new_id("balance_transaction")


def render(body: dict[str, Any], now: int) -> dict[str, Any]:
    """Return ``body`` with ``status`` brought up to date with the clock."""
    body["status"] = "available" if body["available_on"] <= now else "pending"
    return body


def retrieve(ctx: Ctx, txn_id: str, params: dict[str, Any]) -> dict[str, Any]:
    """``GET /v1/balance_transactions/:id``."""
    _params.allow(params, ())
    return render(ctx.get("balance_transactions", txn_id), ctx.now)


def list_transactions(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    """``GET /v1/balance_transactions`` with ``type``, ``source``, ``payout``, ``currency``."""
    _params.allow(params, _params.LIST_PARAMS | {"type", "source", "payout", "currency"})
    where = _lists.Where()
    kind = _params.text(params, "type")
    if kind is not None and kind not in TYPES:
        raise invalid(
            f"Invalid type: {kind!r} is not a balance transaction type; use one of "
            f"{', '.join(sorted(TYPES))}.",
            param="type",
        )
    where.equal("type", kind)
    where.equal("source", _lists.existing(ctx.conn, params, "source"))
    where.equal("payout", _lists.existing(ctx.conn, params, "payout", "payouts"))
    currency = _params.text(params, "currency")
    where.equal("currency", currency.lower() if currency else None)
    page = _lists.run(ctx.conn, "balance_transactions", "/v1/balance_transactions", params, where)
    page["data"] = [render(item, ctx.now) for item in page["data"]]
    return page


# Funds are never held longer than this after a transaction is created (see _fees.available_on).
_PENDING_HORIZON = (_fees.AVAILABLE_AFTER_DAYS + 1) * 86_400


def totals(ctx: Ctx) -> dict[str, dict[str, int]]:
    """Return ``{"available": {cur: net}, "pending": {cur: net}}`` summed over all transactions.

    Balance transactions never change once written, so the running total per currency is kept in
    ``ctx.cache`` and only rows newer than the last ``seq`` seen are added; pending funds come from
    the last few days only. With a million rows this stays milliseconds instead of a full scan.
    """
    cache = ctx.cache if ctx.cache is not None else {}
    seen, running = cache.get("balance", (0, {}))
    running = dict(running)
    rows = ctx.conn.execute(
        "SELECT currency, SUM(net), MAX(seq) FROM balance_transactions WHERE seq > ?"
        " GROUP BY currency",
        (seen,),
    ).fetchall()
    for currency, net, top in rows:
        running[currency] = running.get(currency, 0) + int(net)
        seen = max(seen, int(top))
    cache["balance"] = (seen, running)
    pending = dict(
        ctx.conn.execute(
            "SELECT currency, SUM(net) FROM balance_transactions"
            " WHERE created > ? AND available_on > ? AND seq <= ? GROUP BY currency",
            (ctx.now - _PENDING_HORIZON, ctx.now, seen),
        ).fetchall()
    )
    return {
        "available": {c: total - int(pending.get(c, 0)) for c, total in running.items()},
        "pending": {c: int(net) for c, net in pending.items()},
    }


def balance(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    """``GET /v1/balance``."""
    _params.allow(params, ())
    sums = totals(ctx)
    currencies = sorted(set(sums["available"]) | set(sums["pending"])) or [
        _fees.SETTLEMENT_CURRENCY
    ]

    def entries(kind: str) -> list[dict[str, Any]]:
        return [
            {
                "amount": sums[kind].get(c, 0),
                "currency": c,
                "source_types": {"card": sums[kind].get(c, 0)},
            }
            for c in currencies
        ]

    return {
        "object": "balance",
        "available": entries("available"),
        "connect_reserved": [],
        "livemode": False,
        "pending": entries("pending"),
    }
