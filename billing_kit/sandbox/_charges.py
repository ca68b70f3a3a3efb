"""Charges (https://docs.stripe.com/api/charges): the charge engine shared with PaymentIntents, and
``/v1/charges``.

An attempt always stores a charge: a decline stores it as ``failed`` and returns its id in the 402
(``error.charge``), as Stripe does. Radar blocks come before the issuer; dispute cards open a
dispute as soon as funds are captured.
"""

from __future__ import annotations

from typing import Any

from billing_kit.sandbox import _balance, _disputes, _lists, _money_rules, _params, _refunds
from billing_kit.sandbox._cards import AUTH_REQUIRED, RADAR_BLOCK, Decline
from billing_kit.sandbox._context import Ctx
from billing_kit.sandbox._errors import StripeError, empty, invalid, state_error
from billing_kit.sandbox._ids import new_id
from billing_kit.sandbox._payment_methods import Instrument, instrument
from billing_kit.sandbox._shapes import billing_details, charge_body, outcome

_CREATE = frozenset(
    {"amount", "currency", "source", "customer", "description", "metadata", "capture",
     "receipt_email", "shipping", "statement_descriptor", "statement_descriptor_suffix",
     "radar_options", "transfer_group", "application_fee_amount", "on_behalf_of",
     "transfer_data"}
)  # fmt: skip
CAPTURE_WINDOW = 7 * 86_400


def amount_and_currency(params: dict[str, Any]) -> tuple[int, str]:
    """Return the validated ``(amount, currency)`` of a create request.

    Per-currency rules: https://docs.stripe.com/currencies.
    """
    amount = _params.integer(params, "amount", required=True)
    assert amount is not None
    currency = _money_rules.check_currency(_params.text(params, "currency", empty_is_none=False))
    _money_rules.check_amount(amount, currency)
    return amount, currency


def attempt(
    ctx: Ctx,
    paying: Instrument,
    *,
    amount: int,
    currency: str,
    capture: bool,
    customer: str | None = None,
    payment_intent: str | None = None,
    description: str | None = None,
    metadata: dict[str, str] | None = None,
    receipt_email: str | None = None,
    statement_descriptor: str | None = None,
    decline: Decline | None = None,
) -> tuple[dict[str, Any], Decline | None]:
    """Charge ``paying`` and store the result; return ``(charge, decline or None)``.

    ``decline`` forces a failure (used for 3D Secure refusals decided by the caller).
    """
    spec = paying.spec
    radar = spec.radar
    if decline is None:
        # Radar evaluates before the issuer sees the charge.
        decline = RADAR_BLOCK if radar == "block" else spec.attach_decline or spec.charge_decline
    succeeded = decline is None
    charge = charge_body(
        new_id("charge"),
        ctx.now,
        amount=amount,
        currency=currency,
        info=paying.info,
        status="succeeded" if succeeded else "failed",
        captured=succeeded and capture,
        payment_method=paying.id,
        outcome_body=outcome(
            decline=decline, radar=radar if radar == "block" or succeeded else None
        ),
        customer=customer,
        payment_intent=payment_intent,
        description=description,
        metadata=metadata,
        failure=decline,
        source=paying.legacy,
        billing=paying.billing or billing_details(),
        receipt_email=receipt_email,
        statement_descriptor=statement_descriptor,
    )
    if succeeded and capture:
        charge["balance_transaction"] = _book(ctx, charge, paying)
    ctx.insert("charges", charge)
    ctx.emit("charge.succeeded" if succeeded else "charge.failed", charge)
    if succeeded and capture and spec.dispute is not None:
        _disputes.open_dispute(ctx, charge, spec.dispute)
    return charge, decline


def _book(ctx: Ctx, charge: dict[str, Any], paying: Instrument) -> str:
    txn = _balance.charge_transaction_body(
        _balance.new_txn_id(),
        ctx.now,
        charge_id=charge["id"],
        amount=charge["amount_captured"] or charge["amount"],
        currency=charge["currency"],
        international=paying.spec.international,
        bypass_pending=paying.spec.bypass_pending,
    )
    _balance.add(ctx, txn)
    return str(txn["id"])


def decline_error(charge: dict[str, Any], decline: Decline, **extra: Any) -> StripeError:
    """Return the 402 for a failed attempt, naming the stored failed charge."""
    return decline.error({"charge": charge["id"], **extra})


def paying_instrument(ctx: Ctx, charge: dict[str, Any]) -> Instrument:
    """Rebuild the instrument a stored charge was paid with (for capture and refunds)."""
    from billing_kit.sandbox._payment_methods import spec_of

    card = charge["payment_method_details"]["card"]
    info = {k: card[k] for k in ("brand", "country", "exp_month", "exp_year", "fingerprint",
                                 "funding", "last4", "checks")}  # fmt: skip
    return Instrument(charge["payment_method"], info, spec_of(info), charge["customer"])


# -- /v1/charges -------------------------------------------------------------------------------


def create(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    """``POST /v1/charges`` with ``source`` and/or ``customer``."""
    _params.allow(params, _CREATE)
    amount, currency = amount_and_currency(params)
    customer_id = _params.text(params, "customer")
    source = _params.text(params, "source")
    if customer_id is not None:
        customer = ctx.get("customers", customer_id, param="customer")
        if customer.get("deleted"):
            raise invalid(f"No such customer: '{customer_id}'", param="customer", status=404)
        if source is None:
            source = customer["default_source"]
            if source is None:
                raise StripeError(
                    404,
                    "card_error",
                    "Cannot charge a customer that has no active card",
                    code="missing",
                    param="card",
                )
    elif source is None:
        for name in ("source", "customer"):
            if params.get(name) == "":
                raise empty(name)
        raise invalid("Must provide source or customer.", code="parameter_missing")
    capture = _params.boolean(params, "capture", default=True)
    description = _params.text(params, "description")
    metadata = _params.metadata(params) or {}
    receipt_email = _params.text(params, "receipt_email")
    descriptor = _params.text(params, "statement_descriptor", max_length=22)
    paying = instrument(ctx, source, customer=customer_id, param="source")
    if paying.spec.three_d_secure:
        decline: Decline | None = AUTH_REQUIRED
    else:
        decline = None
    charge, failed = attempt(
        ctx,
        paying,
        amount=amount,
        currency=currency,
        capture=bool(capture),
        customer=customer_id,
        description=description,
        metadata=metadata,
        receipt_email=receipt_email,
        statement_descriptor=descriptor,
        decline=decline,
    )
    if failed is not None:
        raise decline_error(charge, failed)
    return charge


def retrieve(ctx: Ctx, charge_id: str, params: dict[str, Any]) -> dict[str, Any]:
    """``GET /v1/charges/:id``."""
    _params.allow(params, ())
    return ctx.get("charges", charge_id)


def update(ctx: Ctx, charge_id: str, params: dict[str, Any]) -> dict[str, Any]:
    """``POST /v1/charges/:id`` (description, metadata, receipt_email, customer if none)."""
    _params.allow(params, {"description", "metadata", "receipt_email", "customer", "shipping",
                           "fraud_details", "transfer_group"})  # fmt: skip
    charge = ctx.get("charges", charge_id)
    previous: dict[str, Any] = {}
    for name in ("description", "receipt_email"):
        if name in params:
            previous[name] = charge[name]
            charge[name] = _params.text(params, name)
    metadata = _params.metadata(params, current=charge["metadata"])
    if metadata is not None:
        previous["metadata"] = charge["metadata"]
        charge["metadata"] = metadata
    customer = _params.text(params, "customer")
    if customer is not None:
        if charge["customer"] not in (None, customer):
            raise invalid(
                f"Charge {charge_id} already belongs to customer {charge['customer']}; a "
                "charge's customer can only be set when it has none.",
                param="customer",
            )
        ctx.get("customers", customer, param="customer")
        previous["customer"] = charge["customer"]
        charge["customer"] = customer
    ctx.save("charges", charge)
    if previous:
        ctx.emit("charge.updated", charge, previous)
    return charge


def capture_charge(ctx: Ctx, charge: dict[str, Any], amount: int | None) -> dict[str, Any]:
    """Capture an authorised charge, fully or partly (the rest is released as a refund)."""
    charge_id = charge["id"]
    if charge["status"] == "failed":
        raise state_error(
            f"Charge {charge_id} has a status of failed and cannot be captured.",
            code="charge_not_capturable",
        )
    if charge["captured"]:
        raise state_error(
            f"Charge {charge_id} has already been captured.", code="charge_already_captured"
        )
    if charge["refunded"]:
        raise state_error(
            f"Charge {charge_id} has already been refunded.", code="charge_already_refunded"
        )
    if ctx.now > charge["created"] + CAPTURE_WINDOW:
        raise state_error(
            f"Charge {charge_id} has expired and can no longer be captured.",
            code="charge_expired_for_capture",
        )
    amount = charge["amount"] if amount is None else amount
    if amount > charge["amount"]:
        raise invalid(
            f"The amount to capture ({amount}) is greater than the authorised amount "
            f"({charge['amount']}) of charge {charge_id}.",
            param="amount",
            code="amount_too_large",
        )
    _money_rules.check_amount(amount, charge["currency"])
    paying = paying_instrument(ctx, charge)
    charge["captured"] = True
    charge["amount_captured"] = amount
    charge["payment_method_details"]["card"]["capture_before"] = None
    charge["balance_transaction"] = _book(ctx, charge, paying)
    if amount < charge["amount"]:
        _refunds.release(ctx, charge, charge["amount"] - amount)
    ctx.save("charges", charge)
    ctx.emit("charge.captured", charge)
    if paying.spec.dispute is not None:
        _disputes.open_dispute(ctx, charge, paying.spec.dispute)
    return charge


def capture(ctx: Ctx, charge_id: str, params: dict[str, Any]) -> dict[str, Any]:
    """``POST /v1/charges/:id/capture``."""
    _params.allow(params, {"amount", "receipt_email", "statement_descriptor",
                           "statement_descriptor_suffix", "application_fee_amount"})  # fmt: skip
    charge = ctx.get("charges", charge_id)
    amount = _params.integer(params, "amount", minimum=1)
    return capture_charge(ctx, charge, amount)


def list_charges(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    """``GET /v1/charges`` with ``customer``, ``payment_intent``, ``created``."""
    _params.allow(params, _params.LIST_PARAMS | {"customer", "payment_intent", "transfer_group"})
    where = _lists.Where()
    where.equal("customer", _lists.existing(ctx.conn, params, "customer", "customers"))
    where.equal("payment_intent",
                _lists.existing(ctx.conn, params, "payment_intent", "payment_intents"))  # fmt: skip
    if _params.text(params, "transfer_group") is not None:
        where.add("0")  # the sandbox has no transfers
    return _lists.run(ctx.conn, "charges", "/v1/charges", params, where)


def list_charge_refunds(ctx: Ctx, charge_id: str, params: dict[str, Any]) -> dict[str, Any]:
    """``GET /v1/charges/:id/refunds``."""
    _params.allow(params, _params.LIST_PARAMS)
    ctx.get("charges", charge_id, param="charge")
    where = _lists.Where()
    where.equal("charge", charge_id)
    return _lists.run(ctx.conn, "refunds", f"/v1/charges/{charge_id}/refunds", params, where)
