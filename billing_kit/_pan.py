"""Card numbers (PANs): found in free text, masked for display, never sent or stored by billing_kit.

Stripe forbids card data in descriptions and metadata (https://docs.stripe.com/api/metadata:
"Don't store any sensitive information (bank account numbers, card details, and so on) as
metadata or in the description parameter"), and a card number pasted where an id belongs must not
be echoed back into an error message, a log or the ledger. A card number here is what card networks
issue: 13 to 19 digits passing the Luhn check, written plain or in groups separated by single spaces
or dashes.

Examples
--------
>>> find_card_number("paid with 4242 4242 4242 4242 thanks")
'4242424242424242'
>>> find_card_number("order 4242424242424241") is None  # fails the Luhn check
True
>>> mask_card_numbers("card 4000-0566-5566-5556 declined")
'card 4000…5556 declined'
>>> safe_repr("4242424242424242")
"'4242…4242'"
"""

from __future__ import annotations

import re

__all__ = ["find_card_number", "luhn_valid", "mask_card_numbers", "safe_repr"]

# A run of 13-19 digits, single spaces or dashes allowed between digits, not inside a longer run.
_CANDIDATE = re.compile(r"(?<![0-9])[0-9](?:[ -]?[0-9]){12,18}(?![0-9])")

_REPR_LIMIT = 80


def luhn_valid(digits: str) -> bool:
    """Return ``True`` when the digit string passes the Luhn (mod 10) check.

    >>> luhn_valid("4242424242424242"), luhn_valid("4242424242424241")
    (True, False)
    """
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char)
        if position % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def _card_numbers(text: str) -> list[re.Match[str]]:
    found = []
    for match in _CANDIDATE.finditer(text):
        digits = re.sub(r"[ -]", "", match.group(0))
        if 13 <= len(digits) <= 19 and luhn_valid(digits):
            found.append(match)
    return found


def find_card_number(text: str) -> str | None:
    """Return the digits of the first card number in ``text``, or ``None`` when there is none."""
    for match in _card_numbers(text):
        return re.sub(r"[ -]", "", match.group(0))
    return None


def _mask(match: re.Match[str]) -> str:
    digits = re.sub(r"[ -]", "", match.group(0))
    return f"{digits[:4]}…{digits[-4:]}"


def mask_card_numbers(text: str) -> str:
    """Return ``text`` with every card number shown as its first and last four digits."""
    matches = _card_numbers(text)
    for match in reversed(matches):
        text = text[: match.start()] + _mask(match) + text[match.end() :]
    return text


def safe_repr(value: object) -> str:
    """Return ``repr(value)`` for an error message: card numbers masked, at most ~80 characters."""
    text = mask_card_numbers(repr(value))
    if len(text) > _REPR_LIMIT:
        text = f"{text[: _REPR_LIMIT - 12]}… ({len(text)} characters)"
    return text
