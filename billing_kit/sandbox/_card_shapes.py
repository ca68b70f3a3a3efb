"""Canonical bodies of cards, tokens, PaymentMethods and customers.

Shapes: https://docs.stripe.com/api/payment_methods/object,
https://docs.stripe.com/api/cards/object; test cards: https://docs.stripe.com/testing.

Pure functions shared by the live API and the bulk seeder; :mod:`._shapes` re-exports them.
"""

from __future__ import annotations

from typing import Any

from billing_kit.sandbox._cards import LEGACY_BRANDS, CardSpec


def card_info(
    spec: CardSpec, *, exp_month: int = 12, exp_year: int = 2034, cvc_given: bool = True
) -> dict[str, Any]:
    """Return the card facts the sandbox stores for a card: brand, last4, checks, fingerprint."""
    return {
        "brand": spec.brand,
        "country": spec.country,
        "exp_month": exp_month,
        "exp_year": exp_year,
        "fingerprint": spec.fingerprint,
        "funding": spec.funding,
        "last4": spec.last4,
        "checks": {
            "address_line1_check": spec.line1_check if spec.line1_check != "pass" else None,
            "address_postal_code_check": spec.postal_check if spec.postal_check != "pass" else None,
            "cvc_check": spec.cvc_check if cvc_given else None,
        },
    }


def pm_card(info: dict[str, Any]) -> dict[str, Any]:
    """Return ``payment_method.card`` for stored card facts."""
    return {
        "brand": info["brand"],
        "checks": dict(info["checks"]),
        "country": info["country"],
        "display_brand": info["brand"],
        "exp_month": info["exp_month"],
        "exp_year": info["exp_year"],
        "fingerprint": info["fingerprint"],
        "funding": info["funding"],
        "generated_from": None,
        "last4": info["last4"],
        "networks": {"available": [info["brand"]], "preferred": None},
        "regulated_status": "unregulated",
        "three_d_secure_usage": {"supported": True},
        "wallet": None,
    }


def legacy_card(card_id: str, info: dict[str, Any], *, customer: str | None) -> dict[str, Any]:
    """Return a legacy ``card`` object (tokens and ``customer.sources``; brand in title case)."""
    checks = info["checks"]
    return {
        "id": card_id,
        "object": "card",
        "address_city": None,
        "address_country": None,
        "address_line1": None,
        "address_line1_check": checks["address_line1_check"],
        "address_line2": None,
        "address_state": None,
        "address_zip": None,
        "address_zip_check": checks["address_postal_code_check"],
        "brand": LEGACY_BRANDS.get(info["brand"], "Unknown"),
        "country": info["country"],
        "customer": customer,
        "cvc_check": checks["cvc_check"],
        "dynamic_last4": None,
        "exp_month": info["exp_month"],
        "exp_year": info["exp_year"],
        "fingerprint": info["fingerprint"],
        "funding": info["funding"],
        "last4": info["last4"],
        "metadata": {},
        "name": None,
        "tokenization_method": None,
        "wallet": None,
    }


def billing_details(params: dict[str, Any] | None = None) -> dict[str, Any]:
    """Return ``billing_details`` with every field present (null when not given)."""
    given = params or {}
    address = given.get("address") if isinstance(given.get("address"), dict) else {}
    assert isinstance(address, dict)
    return {
        "address": {
            key: address.get(key)
            for key in ("city", "country", "line1", "line2", "postal_code", "state")
        },
        "email": given.get("email"),
        "name": given.get("name"),
        "phone": given.get("phone"),
        "tax_id": given.get("tax_id"),
    }


def payment_method_body(
    pm_id: str,
    created: int,
    info: dict[str, Any],
    *,
    customer: str | None = None,
    billing: dict[str, Any] | None = None,
    metadata: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Return a ``payment_method`` object of type card."""
    return {
        "id": pm_id,
        "object": "payment_method",
        "allow_redisplay": "unspecified",
        "billing_details": billing or billing_details(),
        "card": pm_card(info),
        "created": created,
        "customer": customer,
        "livemode": False,
        "metadata": metadata or {},
        "type": "card",
    }


def token_body(token_id: str, created: int, card: dict[str, Any]) -> dict[str, Any]:
    """Return a card ``token`` object wrapping a legacy card."""
    return {
        "id": token_id,
        "object": "token",
        "card": card,
        "client_ip": "127.0.0.1",
        "created": created,
        "livemode": False,
        "type": "card",
        "used": False,
    }


def customer_body(
    customer_id: str,
    created: int,
    *,
    email: str | None = None,
    name: str | None = None,
    description: str | None = None,
    phone: str | None = None,
    metadata: dict[str, str] | None = None,
    address: dict[str, Any] | None = None,
    shipping: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Return a ``customer`` object."""
    return {
        "id": customer_id,
        "object": "customer",
        "address": address,
        "balance": 0,
        "created": created,
        "currency": None,
        "default_source": None,
        "delinquent": False,
        "description": description,
        "discount": None,
        "email": email,
        "invoice_prefix": customer_id[-8:].upper(),
        "invoice_settings": {
            "custom_fields": None,
            "default_payment_method": None,
            "footer": None,
            "rendering_options": None,
        },
        "livemode": False,
        "metadata": metadata or {},
        "name": name,
        "next_invoice_sequence": 1,
        "phone": phone,
        "preferred_locales": [],
        "shipping": shipping,
        "tax_exempt": "none",
        "test_clock": None,
    }
