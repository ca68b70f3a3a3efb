"""Parsing and checking what an analyst types into a form, kept apart from the widgets.

Each checker returns the parsed value or raises :class:`ValueError` whose message is shown in
the form as it is, so every message says what was wrong (with the bad value) and what to do
instead."""

from __future__ import annotations

import re

from billing_kit._money import format_amount, parse_amount
from billing_kit._pan import find_card_number, safe_repr

# Stripe's metadata limits (docs.stripe.com/api/metadata).
MAX_METADATA_KEYS = 50
MAX_METADATA_KEY_LENGTH = 40
MAX_METADATA_VALUE_LENGTH = 500

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_CUSTOMER_ID = re.compile(r"^cus_[A-Za-z0-9]+$")
_CHARGE_ID = re.compile(r"^(ch|py)_[A-Za-z0-9]+$")
_PAYMENT_METHOD = re.compile(r"^(pm|card|src)_[A-Za-z0-9_]+$")


def check_customer(text: str) -> str:
    """Return the customer reference (an email or a ``cus_`` id), stripped of blanks.

    Examples
    --------
    >>> check_customer(" ana@example.com ")
    'ana@example.com'
    """
    value = text.strip()
    if not value:
        raise ValueError("Enter the customer's email, or pick an existing customer.")
    if _EMAIL.match(value) or _CUSTOMER_ID.match(value):
        return value
    raise ValueError(
        f"Customer {safe_repr(value)} is neither an email address nor a customer id (cus_…); "
        "type an email like ana@example.com or pick an existing customer."
    )


def check_amount(
    text: str, currency: str, *, refund: bool = False, limit: int | None = None
) -> int:
    """Return the amount in minor units for ``currency``, using the core's money rules.

    The message of the core's ``InvalidAmount`` (wrong number of decimals for the currency, too
    large, ...) is passed on; a negative amount gets the form's own words, since the core's
    points at ``refund()``, a function a form user never calls.

    Parameters
    ----------
    refund
        The amount of a partial refund: Stripe's minimum *charge* does not apply.
    limit
        Largest amount allowed, in minor units (the client's ``max_amount`` for the currency).

    Examples
    --------
    >>> check_amount("12.34", "usd")
    1234
    >>> check_amount("-5", "usd")
    Traceback (most recent call last):
    ...
    ValueError: Amount '-5' is negative; type a positive amount (to give money back, use the \
refund form).
    """
    value = text.strip()
    if not value:
        raise ValueError(f"Enter an amount in {currency.upper()}, for example 12.50.")
    if value.startswith("-"):
        hint = "." if refund else " (to give money back, use the refund form)."
        raise ValueError(f"Amount {safe_repr(value)} is negative; type a positive amount{hint}")
    try:
        minor = parse_amount(value, currency, minimum=not refund)
    except (ArithmeticError, ValueError, TypeError) as exc:
        raise ValueError(str(exc)) from exc
    if minor <= 0:
        raise ValueError(f"Amount {safe_repr(value)} must be more than zero.")
    if limit is not None and minor > limit:
        raise ValueError(
            f"Amount {format_amount(minor, currency)} is above the limit of "
            f"{format_amount(limit, currency)} per {currency.upper()} charge set for this "
            "session (connect(max_amount=...)); check the amount, or split it."
        )
    return minor


def check_metadata(text: str) -> dict[str, str]:
    """Parse ``key=value`` lines into a metadata dict; blank lines are ignored.

    Examples
    --------
    >>> check_metadata("order=1234\\nteam = finance")
    {'order': '1234', 'team': 'finance'}
    """
    metadata: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        key, sep, value = line.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key:
            raise ValueError(
                f"Metadata line {number} {safe_repr(line)} is not key=value; write one pair per "
                "line, like order_id=1234."
            )
        if "[" in key or "]" in key:
            raise ValueError(f"Metadata key {key!r} (line {number}) may not contain brackets.")
        if len(key) > MAX_METADATA_KEY_LENGTH:
            raise ValueError(
                f"Metadata key {key!r} (line {number}) is longer than "
                f"{MAX_METADATA_KEY_LENGTH} characters; shorten it."
            )
        if len(value) > MAX_METADATA_VALUE_LENGTH:
            raise ValueError(
                f"Metadata value for {key!r} (line {number}) is longer than "
                f"{MAX_METADATA_VALUE_LENGTH} characters; shorten it."
            )
        if find_card_number(line) is not None:
            raise ValueError(
                f"Metadata line {number} holds what looks like a card number; Stripe forbids card "
                "data in metadata (docs.stripe.com/api/metadata): remove it."
            )
        if key in metadata:
            raise ValueError(f"Metadata key {key!r} appears twice (line {number}); keep one.")
        metadata[key] = value
    if len(metadata) > MAX_METADATA_KEYS:
        raise ValueError(
            f"{len(metadata)} metadata keys given; Stripe allows at most {MAX_METADATA_KEYS}."
        )
    return metadata


def check_charge_id(text: str) -> str:
    """Return a charge id (``ch_…`` or ``py_…``) stripped of blanks.

    Examples
    --------
    >>> check_charge_id(" ch_123 ")
    'ch_123'
    """
    value = text.strip()
    if not value:
        raise ValueError("Pick a recent charge or type a charge id (ch_…).")
    if not _CHARGE_ID.match(value):
        raise ValueError(f"{safe_repr(value)} is not a charge id; charge ids look like ch_3Nq…")
    return value


def check_payment_method(text: str) -> str | None:
    """Return a saved payment method id (``pm_…``, ``card_…``, ``src_…``), or ``None`` when blank.

    Blank means "the customer's default payment method".

    Examples
    --------
    >>> check_payment_method(" pm_1Abc "), check_payment_method("")
    ('pm_1Abc', None)
    """
    value = text.strip()
    if not value:
        return None
    if _PAYMENT_METHOD.match(value):
        return value
    raise ValueError(
        f"Payment method {safe_repr(value)} is not a saved payment method id; use the "
        "customer's pm_… id, or leave it blank to use their default card. Never type card "
        "numbers here."
    )
