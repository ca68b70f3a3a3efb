"""Typed results: :class:`Money`, :class:`Customer`, :class:`Charge`, :class:`Refund`.

Plain frozen dataclasses built from Stripe's JSON, so notebooks get attributes and reprs instead of
raw dicts. Times are timezone-aware UTC; amounts are :class:`Money` in minor units.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from billing_kit._money import currency_info, format_amount, to_major

__all__ = ["Charge", "Customer", "Money", "Refund"]


@dataclass(frozen=True, slots=True)
class Money:
    """An amount in a currency's minor unit.

    >>> m = Money(1234, "usd")
    >>> m.major, str(m), str(Money(500, "JPY"))
    (Decimal('12.34'), '$12.34', '¥500')
    """

    minor: int
    currency: str

    def __post_init__(self) -> None:
        # Normalised once here so equality does not depend on how the caller spelled the code.
        object.__setattr__(self, "currency", currency_info(self.currency).code)

    @property
    def major(self) -> Decimal:
        """The amount in major units (dollars, yen, dinars) as an exact Decimal."""
        return to_major(self.minor, self.currency)

    def __str__(self) -> str:
        return format_amount(self.minor, self.currency)


@dataclass(frozen=True, slots=True)
class Customer:
    """A Stripe customer (``cus_…``)."""

    id: str
    email: str | None
    name: str | None

    @classmethod
    def from_stripe(cls, data: Mapping[str, Any]) -> Customer:
        """Build from a Stripe customer object."""
        return cls(id=data["id"], email=data.get("email"), name=data.get("name"))


_LEGACY_BRANDS = {
    "American Express": "amex",
    "Diners Club": "diners",
    "MasterCard": "mastercard",
    "UnionPay": "unionpay",
    "Cartes Bancaires": "cartes_bancaires",
    "Eftpos Australia": "eftpos_au",
}


def _utc(timestamp: int | None) -> datetime:
    return datetime.fromtimestamp(timestamp or 0, tz=UTC)


def _id_of(value: object) -> str | None:
    """Return the id of an expandable field (a plain id, an expanded object, or None)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        found = value.get("id")
        return found if isinstance(found, str) else None
    return None


@dataclass(frozen=True, slots=True)
class Charge:
    """A charge attempt (``ch_…``), successful, declined or authorised for later capture.

    ``status`` is Stripe's charge status (``"succeeded"``, ``"failed"``, ``"pending"``);
    ``captured`` is ``False`` for an auth-only charge until :meth:`billing_kit.Client.capture`.
    """

    id: str
    status: str
    amount: Money
    customer: str | None
    payment_intent: str | None
    brand: str | None
    last4: str | None
    failure_code: str | None
    decline_code: str | None
    failure_reason: str | None
    created: datetime
    refunded_amount: Money
    description: str | None
    captured: bool = True
    disputed: bool = False

    @property
    def succeeded(self) -> bool:
        """``True`` when the money was charged or authorised."""
        return self.status == "succeeded"

    @classmethod
    def from_stripe(cls, data: Mapping[str, Any]) -> Charge:
        """Build from a Stripe charge object (legacy, or a PaymentIntent's latest_charge)."""
        currency = data["currency"]
        brand: str | None = None
        last4: str | None = None
        details = data.get("payment_method_details") or {}
        card = details.get("card") if isinstance(details, Mapping) else None
        if isinstance(card, Mapping):
            brand, last4 = card.get("brand"), card.get("last4")
        else:
            source = data.get("source")
            if isinstance(source, Mapping):
                brand, last4 = source.get("brand"), source.get("last4")
                # Legacy card objects spell brands for display ("American Express"); use the
                # PaymentMethod spelling so both APIs give the same value.
                brand = _LEGACY_BRANDS.get(brand, brand.lower()) if brand else None
        outcome = data.get("outcome") or {}
        decline_code = None
        if data.get("status") == "failed" and isinstance(outcome, Mapping):
            decline_code = outcome.get("reason")
        return cls(
            id=data["id"],
            status=data["status"],
            amount=Money(int(data["amount"]), currency),
            customer=_id_of(data.get("customer")),
            payment_intent=_id_of(data.get("payment_intent")),
            brand=brand,
            last4=last4,
            failure_code=data.get("failure_code"),
            decline_code=decline_code,
            failure_reason=data.get("failure_message"),
            created=_utc(data.get("created")),
            refunded_amount=Money(int(data.get("amount_refunded") or 0), currency),
            description=data.get("description"),
            captured=bool(data.get("captured", True)),
            disputed=bool(data.get("disputed", False)),
        )


@dataclass(frozen=True, slots=True)
class Refund:
    """A refund (``re_…``) of all or part of a charge."""

    id: str
    charge: str | None
    amount: Money
    status: str | None
    reason: str | None

    @classmethod
    def from_stripe(cls, data: Mapping[str, Any]) -> Refund:
        """Build from a Stripe refund object."""
        return cls(
            id=data["id"],
            charge=_id_of(data.get("charge")),
            amount=Money(int(data["amount"]), data["currency"]),
            status=data.get("status"),
            reason=data.get("reason"),
        )
