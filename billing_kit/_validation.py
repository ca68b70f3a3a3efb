"""Checking arguments before anything is sent or stored: ids, flags, text, metadata, API paths.

Every public write calls these first, so a bad argument raises :class:`InvalidArgument` naming the
field, the bad value (card numbers masked, see :mod:`billing_kit._pan`) and the fix, with no request
sent and no ledger row written. :func:`api_path` is the one place an id becomes part of a URL.

Examples
--------
>>> check_id("payment_method", "pm_card_visa", ("pm_",), example="pm_card_visa")
'pm_card_visa'
>>> api_path("payment_methods", "pm_card_visa", "attach")
'/v1/payment_methods/pm_card_visa/attach'
>>> check_flag("capture", "false")
Traceback (most recent call last):
...
billing_kit._exceptions.InvalidArgument: capture='false' is not a bool: pass capture=True or \
capture=False (any non-empty string, even 'false', would count as True).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import TypeGuard
from urllib.parse import quote

from billing_kit._exceptions import BillingKitError, InvalidArgument
from billing_kit._pan import find_card_number, safe_repr

__all__ = [
    "MAX_IDEMPOTENCY_KEY",
    "api_path",
    "check_flag",
    "check_id",
    "check_idempotency_key",
    "check_metadata",
    "check_text",
    "is_finite_number",
    "is_stripe_id",
]

# Stripe object ids are a prefix and letters, digits and underscores ("cus_NffrFeUfNV2Hib",
# test-mode magic ids such as "pm_card_visa"); anything else cannot name an object and could
# change the request's path or query if it reached the URL.
_ID = re.compile(r"[A-Za-z0-9_]+")
_MAX_ID = 255

# https://docs.stripe.com/api/idempotent_requests: "Keys can be up to 255 characters long."
MAX_IDEMPOTENCY_KEY = 255

# https://docs.stripe.com/api/metadata: "up to 50 keys, with key names up to 40 characters long
# and values up to 500 characters long", and keys cannot contain square brackets.
_METADATA_KEYS = 50
_METADATA_KEY_LENGTH = 40
_METADATA_VALUE_LENGTH = 500
_RESERVED_KEY = "bk_attempt"


def _card_refusal(field: str, text: str, where: str) -> InvalidArgument | None:
    """The error for a card number found in ``text``, or ``None`` when there is none."""
    digits = find_card_number(text)
    if digits is None:
        return None
    return InvalidArgument(
        f"{field} holds what looks like a card number ({digits[:4]}…{digits[-4:]}); Stripe forbids "
        f"card data {where} (https://docs.stripe.com/api/metadata). Remove it; nothing was sent."
    )


def is_stripe_id(value: object, prefixes: tuple[str, ...]) -> bool:
    """Return ``True`` when ``value`` is shaped like a Stripe id with one of ``prefixes``.

    >>> is_stripe_id("cus_NffrFeUfNV2Hib", ("cus_",)), is_stripe_id("cus_x/../charges", ("cus_",))
    (True, False)
    """
    return (
        isinstance(value, str)
        and any(value.startswith(p) and len(value) > len(p) for p in prefixes)
        and len(value) <= _MAX_ID
        and _ID.fullmatch(value) is not None
    )


def check_id(field: str, value: object, prefixes: tuple[str, ...], *, example: str) -> str:
    """Return ``value`` if it is a Stripe id starting with one of ``prefixes``.

    Raises
    ------
    InvalidArgument
        Naming ``field``, with the value shown masked if it holds a card number.
    """
    wanted = " or ".join(f"'{p}…'" for p in prefixes)
    if isinstance(value, str) and find_card_number(value) is not None:
        raise InvalidArgument(
            f"{field}={safe_repr(value)} looks like a card number, not a {wanted} id. Never pass "
            f"card numbers to billing_kit; pass an id such as {example!r} (test mode), or collect "
            "cards with Stripe Elements or Checkout."
        )
    if not isinstance(value, str) or not is_stripe_id(value, prefixes):
        raise InvalidArgument(
            f"{field}={safe_repr(value)} is not a valid {wanted} id (letters, digits and '_' "
            f"after the prefix); pass e.g. {example!r}."
        )
    return value


def api_path(*segments: str) -> str:
    """Return ``/v1/<segment>/…`` with every segment percent-escaped.

    Ids are checked before they get here; escaping as well means an id read back from the
    ledger or a response can never add a path segment or a query string either.
    """
    return "/v1/" + "/".join(quote(segment, safe="") for segment in segments)


def is_finite_number(value: object) -> TypeGuard[int | float]:
    """True for an int or float that is a real number: not a bool, NaN or infinity.

    >>> is_finite_number(2.5), is_finite_number(float("nan")), is_finite_number(True)
    (True, False, False)
    """
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def check_flag(
    field: str, value: object, *, error: type[BillingKitError] = InvalidArgument
) -> bool:
    """Return ``value`` if it is a bool; refuse ``"false"``, ``0``, ``None`` …, naming ``field``.

    ``error`` is the class to raise (configuration and history options have their own).
    """
    if not isinstance(value, bool):
        raise error(
            f"{field}={safe_repr(value)} is not a bool: pass {field}=True or {field}=False (any "
            "non-empty string, even 'false', would count as True)."
        )
    return value


def check_text(field: str, value: object) -> str | None:
    """Return ``value`` (a string or ``None``) if it holds no card number, e.g. a description."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidArgument(
            f"{field} must be a string or None, got {safe_repr(value)}; pass e.g. "
            f"{field}='Invoice 7'."
        )
    refusal = _card_refusal(field, value, f"in the {field}")
    if refusal is not None:
        raise refusal
    return value


def check_idempotency_key(value: object) -> str | None:
    """Return a caller's idempotency key (or ``None``) if Stripe would accept it."""
    if value is None:
        return None
    if not isinstance(value, str) or not value or len(value) > MAX_IDEMPOTENCY_KEY:
        raise InvalidArgument(
            f"idempotency_key={safe_repr(value)} is not usable: pass a non-empty string of at "
            f"most {MAX_IDEMPOTENCY_KEY} characters (https://docs.stripe.com/api/idempotent_requests)"
            ", or None to let billing_kit choose."
        )
    refusal = _card_refusal("idempotency_key", value, "in a request")
    if refusal is not None:
        raise refusal
    return value


def _metadata_value(key: str, value: object) -> str:
    number = isinstance(value, int) and not isinstance(value, bool)
    if isinstance(value, str):
        text = value
    elif number or (isinstance(value, Decimal) and value.is_finite()):
        text = str(value)
    else:
        raise InvalidArgument(
            f"metadata[{key!r}]={safe_repr(value)} is not a string or number; Stripe stores "
            "metadata values as strings: pass a str, an int or a Decimal (json.dumps a "
            "structure yourself if you mean to store one)."
        )
    if len(text) > _METADATA_VALUE_LENGTH:
        raise InvalidArgument(
            f"metadata[{key!r}] is {len(text)} characters; Stripe allows "
            f"{_METADATA_VALUE_LENGTH} (https://docs.stripe.com/api/metadata): shorten it."
        )
    refusal = _card_refusal(f"metadata[{key!r}]", text, "in metadata")
    if refusal is not None:
        raise refusal
    return text


def check_metadata(metadata: object) -> dict[str, str]:
    """Return ``metadata`` as Stripe stores it (str to str), within Stripe's limits.

    One key is reserved: billing_kit adds ``bk_attempt`` to every write, so 49 are left.

    >>> check_metadata({"order_id": 6735, "note": "first order"})
    {'order_id': '6735', 'note': 'first order'}
    """
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping):
        raise InvalidArgument(
            f"metadata must be a dict of str to str, got {safe_repr(metadata)}; pass e.g. "
            "metadata={'order_id': '6735'}."
        )
    if len(metadata) > _METADATA_KEYS - 1:
        raise InvalidArgument(
            f"metadata has {len(metadata)} keys; Stripe allows {_METADATA_KEYS} and billing_kit "
            f"uses one ({_RESERVED_KEY!r}), so pass at most {_METADATA_KEYS - 1}."
        )
    checked: dict[str, str] = {}
    for key, value in metadata.items():
        if (
            not isinstance(key, str)
            or not key
            or len(key) > _METADATA_KEY_LENGTH
            or "[" in key
            or "]" in key
        ):
            raise InvalidArgument(
                f"metadata key {safe_repr(key)} is invalid: use a non-empty string of at most "
                f"{_METADATA_KEY_LENGTH} characters without '[' or ']' "
                "(https://docs.stripe.com/api/metadata)."
            )
        if key == _RESERVED_KEY:
            raise InvalidArgument(
                f"metadata key {_RESERVED_KEY!r} is reserved for billing_kit; rename it."
            )
        refusal = _card_refusal(f"metadata key {key[:4]!r}…", key, "in metadata")
        if refusal is not None:
            raise refusal
        checked[key] = _metadata_value(key, value)
    return checked
