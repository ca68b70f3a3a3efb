"""Object ids and request ids in Stripe's format (``ch_`` + 24 base62 characters, ``req_`` + 14).

Ids only need to be unique: list order comes from the store's ``(created, seq)`` columns, never from
the id, so a bulk writer can mint ids in any order.
"""

from __future__ import annotations

import secrets

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

#: Prefix for every object type the sandbox stores, keyed by the ``object`` field.
PREFIXES: dict[str, str] = {
    "balance_transaction": "txn_",
    "card": "card_",
    "charge": "ch_",
    "customer": "cus_",
    "dispute": "dp_",
    "event": "evt_",
    "payment_intent": "pi_",
    "payment_method": "pm_",
    "payout": "po_",
    "refund": "re_",
    "token": "tok_",
}


def random_chars(count: int) -> str:
    """Return ``count`` random base62 characters from the OS generator."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(count))


def new_id(kind: str) -> str:
    """Return a fresh id for an object of type ``kind`` (a key of :data:`PREFIXES`).

    Examples
    --------
    >>> new_id("charge").startswith("ch_") and len(new_id("charge")) == 27
    True
    """
    return PREFIXES[kind] + random_chars(24)


def request_id() -> str:
    """Return a fresh ``Request-Id`` value such as ``req_a1B2c3D4e5F6g7``."""
    return "req_" + random_chars(14)


def seeded_id(kind: str, number: int, salt: int = 0) -> str:
    """Return a deterministic id for bulk writers: the same ``(kind, number, salt)`` gives the same
    id.

    The 24 characters encode ``number`` and ``salt`` in base62, so distinct numbers never collide.

    Examples
    --------
    >>> seeded_id("charge", 7) == seeded_id("charge", 7) != seeded_id("charge", 8)
    True
    """
    if number < 0 or salt < 0:
        raise ValueError(f"seeded ids need non-negative numbers, got {number!r} and {salt!r}")
    value = (salt << 80) | number
    chars: list[str] = []
    for _ in range(24):
        value, digit = divmod(value, 62)
        chars.append(_ALPHABET[digit])
    # A leading "s" makes seeded ids easy to tell apart when reading a database by eye.
    return PREFIXES[kind] + "s" + "".join(reversed(chars))[1:]
