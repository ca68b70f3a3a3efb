"""Tokens (``tok_``), PaymentMethods (``pm_``), legacy cards (``card_``) and what a charge pays
with.

Magic ids (``tok_visa``, ``pm_card_visa``) mint a fresh object on every use, as Stripe does; tokens
the caller created are single-use. Issuer-decline cards cannot be attached to a customer
(https://docs.stripe.com/testing#declined-payments).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from billing_kit.sandbox import _lists, _params
from billing_kit.sandbox._cards import (
    MAGIC_PAYMENT_METHODS,
    MAGIC_TOKENS,
    CardSpec,
    spec_for_fingerprint,
    spec_for_number,
)
from billing_kit.sandbox._context import Ctx
from billing_kit.sandbox._errors import (
    card_error,
    invalid,
    no_such,
    state_error,
    unknown_param,
)
from billing_kit.sandbox._ids import new_id
from billing_kit.sandbox._shapes import (
    billing_details,
    card_info,
    legacy_card,
    payment_method_body,
    token_body,
)

_CARD_PARAMS = frozenset(
    {"number", "exp_month", "exp_year", "cvc", "token", "name", "address_line1", "address_zip",
     "address_city", "address_state", "address_country", "address_line2", "currency", "networks"}
)  # fmt: skip


@dataclass(frozen=True)
class Instrument:
    """What a charge is paid with: a ``pm_`` or ``card_`` id, its card facts and behaviour."""

    id: str
    info: dict[str, Any]
    spec: CardSpec
    customer: str | None
    legacy: dict[str, Any] | None = None  # the card object, for charge.source
    #: The PaymentMethod's ``billing_details``: a charge keeps "billing information associated
    #: with the payment method at the time of the transaction"
    #: (https://docs.stripe.com/api/charges/object#charge_object-billing_details).
    billing: dict[str, Any] | None = None


def spec_of(info: dict[str, Any]) -> CardSpec:
    """Return the behaviour of stored card facts (a plain success unless a test card)."""
    known = spec_for_fingerprint(info.get("fingerprint"))
    if known is not None:
        return known
    return CardSpec(
        str(info.get("fingerprint")),
        "000000000000" + str(info["last4"]),
        str(info["brand"]),
        str(info["funding"]),
        str(info["country"]),
    )


def card_from_params(
    ctx: Ctx, card: Any, *, prefix: str = "card"
) -> tuple[CardSpec, dict[str, Any]]:
    """Validate raw card fields (``card[number]`` ...) and return ``(spec, card facts)``."""
    if not isinstance(card, dict):
        raise invalid(f"Invalid {prefix}: pass card[number], card[exp_month] ...", param=prefix)
    for name in card:
        if name not in _CARD_PARAMS:
            raise unknown_param(f"{prefix}[{name}]")
    number = _params.text(card, "number")
    if number is None:
        raise _params.absent(card, "number", param=f"{prefix}[number]")
    spec = spec_for_number(number, param=f"{prefix}[number]")
    if card.get("exp_month") in (None, ""):
        raise _params.absent(card, "exp_month", param=f"{prefix}[exp_month]")
    if card.get("exp_year") in (None, ""):
        raise _params.absent(card, "exp_year", param=f"{prefix}[exp_year]")
    month = _params.to_int(card["exp_month"], f"{prefix}[exp_month]")
    year = _params.to_int(card["exp_year"], f"{prefix}[exp_year]")
    if year < 100:
        year += 2000
    if not 1 <= month <= 12:
        raise card_error(
            "Your card's expiration month is invalid.",
            code="invalid_expiry_month",
            param="exp_month",
        )
    today = dt.datetime.fromtimestamp(ctx.now, dt.UTC)
    if year < today.year or (year == today.year and month < today.month) or year > today.year + 50:
        raise card_error(
            "Your card's expiration year is invalid.",
            code="invalid_expiry_year",
            param="exp_year",
        )
    cvc = card.get("cvc")
    if cvc not in (None, ""):
        wanted = 4 if spec.brand == "amex" else 3
        if not isinstance(cvc, str) or not cvc.isdigit() or len(cvc) != wanted:
            raise card_error(
                "Your card's security code is invalid.", code="invalid_cvc", param="cvc"
            )
    info = card_info(spec, exp_month=month, exp_year=year, cvc_given=cvc not in (None, ""))
    return spec, info


def _magic_info(spec: CardSpec, now: int) -> dict[str, Any]:
    year = dt.datetime.fromtimestamp(now, dt.UTC).year + 1
    return card_info(spec, exp_month=12, exp_year=year)


# -- tokens ------------------------------------------------------------------------------------


def create_token(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    """``POST /v1/tokens`` with ``card[...]``."""
    _params.allow(params, {"card", "customer"})
    if params.get("card") in (None, ""):
        raise _params.absent(params, "card")
    _spec, info = card_from_params(ctx, params["card"])
    card = legacy_card(new_id("card"), info, customer=None)
    return ctx.insert("tokens", token_body(new_id("token"), ctx.now, card))


def retrieve_token(ctx: Ctx, token_id: str, params: dict[str, Any]) -> dict[str, Any]:
    """``GET /v1/tokens/:id`` (magic tokens answer with a fresh token)."""
    _params.allow(params, ())
    if token_id in MAGIC_TOKENS:
        spec = MAGIC_TOKENS[token_id]
        card = legacy_card(new_id("card"), _magic_info(spec, ctx.now), customer=None)
        return token_body(token_id, ctx.now, card)
    return ctx.get("tokens", token_id)


def use_token(ctx: Ctx, token_id: str, *, param: str = "source") -> dict[str, Any]:
    """Consume a token and return its card (a fresh card for magic tokens)."""
    if token_id in MAGIC_TOKENS:
        spec = MAGIC_TOKENS[token_id]
        return legacy_card(new_id("card"), _magic_info(spec, ctx.now), customer=None)
    token = ctx.get("tokens", token_id, param=param)
    if token["used"]:
        raise invalid(
            f"You cannot use a Stripe token more than once: {token_id}.",
            param=param,
            code="token_already_used",
        )
    token["used"] = True
    ctx.save("tokens", token)
    card: dict[str, Any] = dict(token["card"])
    return card


def info_of_card(card: dict[str, Any]) -> dict[str, Any]:
    """Return card facts from a legacy card object."""
    brand = {"Visa": "visa", "MasterCard": "mastercard", "American Express": "amex",
             "Discover": "discover", "Diners Club": "diners", "JCB": "jcb",
             "UnionPay": "unionpay"}.get(card["brand"], "unknown")  # fmt: skip
    return {
        "brand": brand,
        "country": card["country"],
        "exp_month": card["exp_month"],
        "exp_year": card["exp_year"],
        "fingerprint": card["fingerprint"],
        "funding": card["funding"],
        "last4": card["last4"],
        "checks": {
            "address_line1_check": card["address_line1_check"],
            "address_postal_code_check": card["address_zip_check"],
            "cvc_check": card["cvc_check"],
        },
    }


def refuse_declined(facts: dict[str, Any]) -> None:
    """Raise the 402 an issuer-decline card gets when attached to a customer.

    See https://docs.stripe.com/testing#declined-payments.
    """
    spec = spec_of(facts)
    if spec.attach_decline is not None:
        raise spec.attach_decline.error()


def attach_card(ctx: Ctx, card: dict[str, Any], customer_id: str) -> dict[str, Any]:
    """Store ``card`` as a source of ``customer_id``; issuer-decline cards are refused (402)."""
    refuse_declined(info_of_card(card))
    card = {**card, "customer": customer_id}
    return ctx.insert("cards", card)


# -- payment methods ---------------------------------------------------------------------------


def create_payment_method(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    """``POST /v1/payment_methods`` (type card, from ``card[number]`` or ``card[token]``)."""
    _params.allow(params, {"type", "card", "billing_details", "metadata", "allow_redisplay"})
    kind = _params.text(params, "type")
    if kind is None:
        raise _params.absent(params, "type")
    if kind != "card":
        raise invalid(
            f"Invalid type: the sandbox supports payment methods of type 'card' (got {kind!r}).",
            param="type",
        )
    card = params.get("card")
    if card in (None, ""):
        raise _params.absent(params, "card")
    if isinstance(card, dict) and "token" in card:
        info = info_of_card(use_token(ctx, str(card["token"]), param="card[token]"))
    else:
        _spec, info = card_from_params(ctx, card)
    body = payment_method_body(
        new_id("payment_method"),
        ctx.now,
        info,
        billing=billing_details(_params.mapping(params, "billing_details")),
        metadata=_params.metadata(params) or {},
    )
    return ctx.insert("payment_methods", body)


def magic_payment_method(ctx: Ctx, pm_id: str) -> dict[str, Any]:
    """Mint the PaymentMethod behind a ``pm_card_*`` id (a new ``pm_`` each time)."""
    spec = MAGIC_PAYMENT_METHODS[pm_id]
    body = payment_method_body(new_id("payment_method"), ctx.now, _magic_info(spec, ctx.now))
    return ctx.insert("payment_methods", body)


def get_payment_method(ctx: Ctx, pm_id: str, *, param: str = "payment_method") -> dict[str, Any]:
    """Return a stored PaymentMethod (minting one for ``pm_card_*``); 404 when unknown."""
    if pm_id in MAGIC_PAYMENT_METHODS:
        return magic_payment_method(ctx, pm_id)
    return ctx.get("payment_methods", pm_id, param=param)


def retrieve_payment_method(ctx: Ctx, pm_id: str, params: dict[str, Any]) -> dict[str, Any]:
    """``GET /v1/payment_methods/:id``."""
    _params.allow(params, ())
    return get_payment_method(ctx, pm_id, param="id")


def update_payment_method(ctx: Ctx, pm_id: str, params: dict[str, Any]) -> dict[str, Any]:
    """``POST /v1/payment_methods/:id`` (metadata, billing_details, card expiry)."""
    _params.allow(params, {"metadata", "billing_details", "card", "allow_redisplay"})
    body = ctx.get("payment_methods", pm_id)
    metadata = _params.metadata(params, current=body["metadata"])
    if metadata is not None:
        body["metadata"] = metadata
    details = _params.mapping(params, "billing_details")
    if details is not None:
        body["billing_details"] = billing_details({**body["billing_details"], **details})
    card = _params.mapping(params, "card")
    if card is not None:
        for name in ("exp_month", "exp_year"):
            if name in card:
                body["card"][name] = _params.to_int(card[name], f"card[{name}]")
    return ctx.save("payment_methods", body)


def attach_payment_method(ctx: Ctx, pm_id: str, params: dict[str, Any]) -> dict[str, Any]:
    """``POST /v1/payment_methods/:id/attach``; issuer-decline cards fail here with 402."""
    _params.allow(params, {"customer"})
    customer_id = _params.text(params, "customer", required=True)
    assert customer_id is not None
    ctx.get("customers", customer_id, param="customer")
    body = get_payment_method(ctx, pm_id, param="payment_method")
    return attach_to(ctx, body, customer_id)


def refuse_detached(ctx: Ctx, body: dict[str, Any], *, param: str) -> None:
    """Refuse a PaymentMethod that was detached from a customer.

    "After a PaymentMethod is detached, it can no longer be used for a payment or re-attached to
    a Customer." (https://docs.stripe.com/api/payment_methods/detach). Its
    ``payment_method.detached`` event is the record that it was.
    """
    if body["customer"] is not None:
        return
    row = ctx.conn.execute(
        "SELECT 1 FROM events WHERE type = 'payment_method.detached'"
        " AND json_extract(body, '$.data.object.id') = ? LIMIT 1",
        (body["id"],),
    ).fetchone()
    if row is not None:
        raise invalid(
            f"The PaymentMethod {body['id']} was detached from a Customer, and may not be used "
            "again. Create a new PaymentMethod (or attach one to the customer) and use that.",
            param=param,
        )


def attach_to(ctx: Ctx, body: dict[str, Any], customer_id: str) -> dict[str, Any]:
    """Attach a PaymentMethod body to a customer (shared with ``customers.create``)."""
    if body["customer"] == customer_id:
        return body
    if body["customer"] is not None:
        raise state_error(
            f"The payment method you provided has already been attached to a customer "
            f"({body['customer']}). Detach it first.",
            param="payment_method",
        )
    refuse_detached(ctx, body, param="payment_method")
    refuse_declined(body["card"])
    body["customer"] = customer_id
    ctx.save("payment_methods", body)
    ctx.emit("payment_method.attached", body)
    return body


def detach_payment_method(ctx: Ctx, pm_id: str, params: dict[str, Any]) -> dict[str, Any]:
    """``POST /v1/payment_methods/:id/detach``."""
    _params.allow(params, ())
    body = ctx.get("payment_methods", pm_id, param="payment_method")
    if body["customer"] is None:
        raise state_error(
            f"The payment method {pm_id} is not attached to a customer so detachment is "
            "impossible.",
            param="payment_method",
        )
    body["customer"] = None
    ctx.save("payment_methods", body)
    ctx.emit("payment_method.detached", body)
    return body


def list_payment_methods(
    ctx: Ctx, params: dict[str, Any], *, customer: str | None = None
) -> dict[str, Any]:
    """``GET /v1/payment_methods`` (``customer``, ``type``) and
    ``/v1/customers/:id/payment_methods``.
    """
    _params.allow(params, _params.LIST_PARAMS | {"customer", "type", "allow_redisplay"})
    if customer is not None:
        ctx.get("customers", customer, param="customer")
    customer = customer or _lists.existing(ctx.conn, params, "customer", "customers")
    kind = _params.text(params, "type")
    if kind not in (None, "card"):
        return {"object": "list", "data": [], "has_more": False, "url": "/v1/payment_methods"}
    where = _lists.Where()
    where.equal("customer", customer)
    url = f"/v1/customers/{customer}/payment_methods" if customer else "/v1/payment_methods"
    return _lists.run(ctx.conn, "payment_methods", url, params, where)


# -- what a charge pays with -------------------------------------------------------------------


def instrument(ctx: Ctx, value: str, *, customer: str | None, param: str) -> Instrument:
    """Resolve ``source``/``payment_method`` (tok_, card_, pm_, magic ids) to an instrument."""
    if value.startswith("tok_"):
        card = use_token(ctx, value, param=param)
        info = info_of_card(card)
        return Instrument(card["id"], info, spec_of(info), None, legacy=card)
    if value.startswith(("card_", "src_")):
        card = ctx.get("cards", value, param=param)
        if customer is not None and card["customer"] != customer:
            raise no_such("source", value, param=param)
        info = info_of_card(card)
        return Instrument(card["id"], info, spec_of(info), card["customer"], legacy=card)
    if value.startswith("pm_"):
        body = get_payment_method(ctx, value, param=param)
        refuse_detached(ctx, body, param=param)
        info = {
            k: body["card"][k]
            for k in (
                "brand",
                "country",
                "exp_month",
                "exp_year",
                "fingerprint",
                "funding",
                "last4",
                "checks",
            )
        }
        return Instrument(
            body["id"], info, spec_of(info), body["customer"], billing=body["billing_details"]
        )
    raise no_such("source" if param == "source" else "PaymentMethod", value, param=param)
