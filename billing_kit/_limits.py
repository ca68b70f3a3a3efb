"""Live-mode safety: an optional largest amount per charge, per currency.

``connect(max_amount={"usd": "500"})`` turns a typo such as ``50000`` instead of ``500.00`` into
an :class:`~billing_kit.InvalidAmount` raised before anything is sent. Limits are parsed with the
money rules of :func:`~billing_kit.parse_amount`, so they are exact minor units like the charges
they are compared with; a currency without a limit has none.
"""

from __future__ import annotations

from collections.abc import Mapping

from billing_kit._exceptions import ConfigurationError, InvalidAmount
from billing_kit._money import currency_info, format_amount, parse_amount
from billing_kit._pan import safe_repr

__all__ = ["check_limit", "parse_limits"]


def parse_limits(max_amount: object) -> dict[str, int]:
    """Return ``max_amount`` as ``{currency: limit in minor units}``; ``None`` means no limits.

    Raises
    ------
    ConfigurationError
        Not a mapping, an unknown currency, or an amount the money rules refuse.

    Examples
    --------
    >>> parse_limits({"USD": "500", "jpy": 20000})
    {'usd': 50000, 'jpy': 20000}
    """
    if max_amount is None:
        return {}
    if not isinstance(max_amount, Mapping):
        raise ConfigurationError(
            f"max_amount must be a mapping of currency to amount such as {{'usd': '500'}}, got "
            f"{safe_repr(max_amount)}."
        )
    limits: dict[str, int] = {}
    for currency, amount in max_amount.items():
        try:
            code = currency_info(str(currency)).code
            limits[code] = parse_amount(amount, code, minimum=False)
        except InvalidAmount as exc:
            raise ConfigurationError(
                f"max_amount[{safe_repr(currency)}] = {safe_repr(amount)} is not a usable limit: "
                f"{exc} Pass e.g. max_amount={{'usd': '500'}}."
            ) from exc
    return limits


def check_limit(limits: Mapping[str, int], minor: int, currency: str) -> None:
    """Raise :class:`~billing_kit.InvalidAmount` when ``minor`` is above the currency's limit.

    Examples
    --------
    >>> check_limit({"usd": 50000}, 50000, "usd")
    >>> check_limit({"usd": 50000}, 50001, "usd")
    Traceback (most recent call last):
    ...
    billing_kit._exceptions.InvalidAmount: Amount $500.01 is above this client's limit of \
$500.00 per USD charge (connect(max_amount=...)). Nothing was sent; check the amount, or split \
it into several charges.
    """
    limit = limits.get(currency)
    if limit is not None and minor > limit:
        raise InvalidAmount(
            f"Amount {format_amount(minor, currency)} is above this client's limit of "
            f"{format_amount(limit, currency)} per {currency.upper()} charge "
            "(connect(max_amount=...)). Nothing was sent; check the amount, or split it into "
            "several charges."
        )
