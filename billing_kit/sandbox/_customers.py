"""Customers (https://docs.stripe.com/api/customers): CRUD, list by email, legacy sources from
tokens, PaymentMethods.

``sources`` is not part of the body (not auto-expanded since 2020-08-27); expanding it lists the
customer's cards. Deleting leaves the ``{"id", "object", "deleted": true}`` stub Stripe returns.
"""

from __future__ import annotations

from typing import Any

from billing_kit.sandbox import _lists, _params
from billing_kit.sandbox._context import Ctx
from billing_kit.sandbox._errors import invalid, no_such, unknown_param
from billing_kit.sandbox._ids import new_id
from billing_kit.sandbox._payment_methods import (
    attach_card,
    attach_to,
    get_payment_method,
    info_of_card,
    refuse_declined,
    use_token,
)
from billing_kit.sandbox._shapes import customer_body

_FIELDS = ("email", "name", "description", "phone")
_CREATE = frozenset(
    {*_FIELDS, "metadata", "source", "payment_method", "invoice_settings", "address", "shipping",
     "balance", "preferred_locales", "tax_exempt", "test_clock", "invoice_prefix"}
)  # fmt: skip


def _live(ctx: Ctx, customer_id: str, *, param: str = "id") -> dict[str, Any]:
    body = ctx.get("customers", customer_id, param=param)
    if body.get("deleted"):
        raise no_such("customer", customer_id, param=param)
    return body


def _token_card(ctx: Ctx, token: str) -> dict[str, Any]:
    if not token.startswith("tok_"):
        raise invalid(
            f"Invalid source {token!r}: pass a token id such as tok_visa.", param="source"
        )
    return use_token(ctx, token)


def _add_source(
    ctx: Ctx, customer: dict[str, Any], token: str, card: dict[str, Any] | None = None
) -> dict[str, Any]:
    card = attach_card(ctx, card or _token_card(ctx, token), customer["id"])
    if customer["default_source"] is None:
        customer["default_source"] = card["id"]
    return card


def _apply_settings(ctx: Ctx, customer: dict[str, Any], params: dict[str, Any]) -> None:
    settings = _params.mapping(params, "invoice_settings")
    if settings is None:
        return
    for key, value in settings.items():
        if key == "default_payment_method":
            pm = ctx.get("payment_methods", value, param="invoice_settings[default_payment_method]")
            if pm["customer"] != customer["id"]:
                raise invalid(
                    f"PaymentMethod {value} is not attached to customer {customer['id']}; attach "
                    "it first.",
                    param="invoice_settings[default_payment_method]",
                )
            customer["invoice_settings"]["default_payment_method"] = value
        elif key in ("footer", "custom_fields", "rendering_options"):
            customer["invoice_settings"][key] = value or None
        else:
            raise unknown_param(f"invoice_settings[{key}]")


def create(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    """``POST /v1/customers``; ``source`` and ``payment_method`` attach at once (402 on decline)."""
    _params.allow(params, _CREATE)
    values = {name: _params.text(params, name, max_length=512) for name in _FIELDS}
    customer = customer_body(
        new_id("customer"),
        ctx.now,
        metadata=_params.metadata(params) or {},
        address=_params.mapping(params, "address"),
        shipping=_params.mapping(params, "shipping"),
        **values,
    )
    balance = _params.integer(params, "balance")
    if balance is not None:
        customer["balance"] = balance
    source = _params.text(params, "source")
    pm_id = _params.text(params, "payment_method")
    # Refuse declined cards before storing anything: a 402 here must not leave a customer behind.
    card = _token_card(ctx, source) if source is not None else None
    if card is not None:
        refuse_declined(info_of_card(card))
    method = get_payment_method(ctx, pm_id) if pm_id is not None else None
    if method is not None:
        refuse_declined(method["card"])
    ctx.insert("customers", customer)
    if source is not None and card is not None:
        _add_source(ctx, customer, source, card)
    if method is not None:
        attach_to(ctx, method, customer["id"])
    _apply_settings(ctx, customer, params)
    ctx.save("customers", customer)
    ctx.emit("customer.created", customer)
    return customer


def retrieve(ctx: Ctx, customer_id: str, params: dict[str, Any]) -> dict[str, Any]:
    """``GET /v1/customers/:id`` (the deleted stub for deleted customers)."""
    _params.allow(params, ())
    return ctx.get("customers", customer_id)


def update(ctx: Ctx, customer_id: str, params: dict[str, Any]) -> dict[str, Any]:
    """``POST /v1/customers/:id``."""
    _params.allow(params, _CREATE | {"default_source"})
    customer = _live(ctx, customer_id)
    previous: dict[str, Any] = {}
    for name in _FIELDS:
        if name in params:
            previous[name] = customer[name]
            customer[name] = _params.text(params, name, max_length=512)
    metadata = _params.metadata(params, current=customer["metadata"])
    if metadata is not None:
        previous["metadata"] = customer["metadata"]
        customer["metadata"] = metadata
    for name in ("address", "shipping"):
        if name in params:
            previous[name] = customer[name]
            customer[name] = _params.mapping(params, name)
    source = _params.text(params, "source")
    if source is not None:
        previous["default_source"] = customer["default_source"]
        card = _add_source(ctx, customer, source)
        customer["default_source"] = card["id"]
    default = _params.text(params, "default_source")
    if default is not None:
        card = ctx.get("cards", default, param="default_source")
        if card["customer"] != customer_id:
            raise no_such("source", default, param="default_source")
        previous["default_source"] = customer["default_source"]
        customer["default_source"] = default
    _apply_settings(ctx, customer, params)
    ctx.save("customers", customer)
    ctx.emit("customer.updated", customer, previous)
    return customer


def delete(ctx: Ctx, customer_id: str, params: dict[str, Any]) -> dict[str, Any]:
    """``DELETE /v1/customers/:id``."""
    _params.allow(params, ())
    customer = _live(ctx, customer_id)
    stub = {
        "id": customer_id,
        "object": "customer",
        "deleted": True,
        "created": customer["created"],
    }
    ctx.save("customers", stub, email=None)
    ctx.emit("customer.deleted", customer)
    return {"id": customer_id, "object": "customer", "deleted": True}


def list_customers(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    """``GET /v1/customers`` with ``email`` (exact, case-sensitive as Stripe) and ``created``."""
    _params.allow(params, _params.LIST_PARAMS | {"email", "test_clock"})
    where = _lists.Where()
    where.equal("email", _params.text(params, "email", max_length=512))
    # Deleted customers keep their row (for retrieve) but leave lists.
    where.add("email IS NOT NULL OR json_extract(body, '$.deleted') IS NULL")
    page = _lists.run(ctx.conn, "customers", "/v1/customers", params, where)
    return page


def create_source(ctx: Ctx, customer_id: str, params: dict[str, Any]) -> dict[str, Any]:
    """``POST /v1/customers/:id/sources`` with ``source=tok_...``."""
    _params.allow(params, {"source", "metadata", "validate"})
    customer = _live(ctx, customer_id)
    token = _params.text(params, "source")
    if token is None:
        raise _params.absent(params, "source")
    had_default = customer["default_source"]
    card = _add_source(ctx, customer, token)
    if had_default is None:
        ctx.save("customers", customer)
        ctx.emit("customer.updated", customer, {"default_source": None})
    return card


def list_sources(ctx: Ctx, customer_id: str, params: dict[str, Any]) -> dict[str, Any]:
    """``GET /v1/customers/:id/sources`` (cards)."""
    _params.allow(params, _params.LIST_PARAMS | {"object"})
    _live(ctx, customer_id)
    where = _lists.Where()
    where.equal("customer", customer_id)
    return _lists.run(ctx.conn, "cards", f"/v1/customers/{customer_id}/sources", params, where)


def retrieve_source(
    ctx: Ctx, customer_id: str, card_id: str, params: dict[str, Any]
) -> dict[str, Any]:
    """``GET /v1/customers/:id/sources/:card``."""
    _params.allow(params, ())
    card = ctx.get("cards", card_id)
    if card["customer"] != customer_id:
        raise no_such("source", card_id)
    return card


def delete_source(
    ctx: Ctx, customer_id: str, card_id: str, params: dict[str, Any]
) -> dict[str, Any]:
    """``DELETE /v1/customers/:id/sources/:card``: detach a card."""
    _params.allow(params, ())
    customer = _live(ctx, customer_id)
    card = retrieve_source(ctx, customer_id, card_id, {})
    ctx.conn.execute("DELETE FROM cards WHERE id = ?", (card_id,))
    if customer["default_source"] == card_id:
        row = ctx.conn.execute(
            "SELECT id FROM cards WHERE customer = ? ORDER BY created DESC, seq DESC LIMIT 1",
            (customer_id,),
        ).fetchone()
        customer["default_source"] = row[0] if row else None
        ctx.save("customers", customer)
    return {"id": card["id"], "object": "card", "deleted": True}
