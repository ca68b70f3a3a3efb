"""Stripe fees (https://stripe.com/pricing) and settlement (https://docs.stripe.com/payouts): a US
account that settles in USD.

Charges in other currencies are converted at fixed, illustrative sandbox rates (not market rates;
they only need to be stable so fees and balances are reproducible) and pay the 1% conversion fee;
cards issued outside the US pay the 1.5% international fee. All arithmetic is integer, rounding half
up.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from billing_kit.sandbox._money_rules import exponent

SETTLEMENT_CURRENCY = "usd"
BASE_BPS = 290  # 2.9%
FIXED_FEE = 30  # 30 cents
INTERNATIONAL_BPS = 150
CONVERSION_BPS = 100
DISPUTE_FEE = 1500
#: Standard payout timing: funds become available two days after the charge, at 00:00 UTC.
AVAILABLE_AFTER_DAYS = 2
_DAY = 86_400

#: USD per one major unit of each currency (fixed sandbox rates, for reproducible settlement).
USD_PER_UNIT: dict[str, str] = {
    "usd": "1", "eur": "1.08", "gbp": "1.27", "cad": "0.73", "aud": "0.66", "nzd": "0.61",
    "chf": "1.13", "jpy": "0.0067", "krw": "0.00075", "sgd": "0.74", "hkd": "0.128",
    "sek": "0.095", "nok": "0.094", "dkk": "0.145", "pln": "0.25", "czk": "0.044",
    "huf": "0.0028", "ron": "0.22", "bgn": "0.55", "brl": "0.2", "mxn": "0.058", "inr": "0.012",
    "aed": "0.272", "myr": "0.21", "thb": "0.028", "ars": "0.0011", "cop": "0.00025",
    "idr": "0.000064", "ils": "0.27", "php": "0.018", "rub": "0.011", "zar": "0.054",
    "twd": "0.031", "try": "0.031", "sar": "0.267", "qar": "0.275", "egp": "0.021",
    "ngn": "0.00066", "kes": "0.0077", "pen": "0.27", "clp": "0.00107", "uah": "0.024",
    "vnd": "0.00004", "pkr": "0.0036", "bdt": "0.0084", "lkr": "0.0033", "lbp": "0.000011",
    "isk": "0.0072", "ugx": "0.00027", "bhd": "2.65", "jod": "1.41", "kwd": "3.25",
    "omr": "2.6", "tnd": "0.32", "bif": "0.00035", "djf": "0.0056", "gnf": "0.000116",
    "kmf": "0.0022", "mga": "0.00022", "pyg": "0.000133", "rwf": "0.00075", "vuv": "0.0084",
    "xaf": "0.00165", "xof": "0.00165", "xpf": "0.009",
}  # fmt: skip


def _half_up(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def settle(amount: int, currency: str) -> tuple[int, float | None]:
    """Return ``(amount in USD cents, exchange_rate or None)`` for a presentment amount.

    Examples
    --------
    >>> settle(1000, "usd"), settle(1000, "eur"), settle(500, "jpy")
    ((1000, None), (1080, 1.08), (335, 0.0067))
    """
    if currency == SETTLEMENT_CURRENCY:
        return amount, None
    rate = Decimal(USD_PER_UNIT.get(currency, "1"))
    major = Decimal(amount) / (Decimal(10) ** exponent(currency))
    return _half_up(major * rate * 100), float(rate)


def charge_fee(settled: int, *, international: bool, converted: bool) -> int:
    """Return the Stripe fee in USD cents for a charge of ``settled`` USD cents.

    Examples
    --------
    >>> charge_fee(3340, international=False, converted=False)  # observed: 127
    127
    >>> charge_fee(65400, international=False, converted=False)
    1927
    >>> charge_fee(100, international=False, converted=False)
    33
    """
    bps = (
        BASE_BPS
        + (INTERNATIONAL_BPS if international else 0)
        + (CONVERSION_BPS if converted else 0)
    )
    return _half_up(Decimal(settled) * bps / 10_000) + FIXED_FEE


def fee_details(fee: int, description: str = "Stripe processing fees") -> list[dict[str, Any]]:
    """Return the ``fee_details`` list for a Stripe fee (empty when the fee is 0)."""
    if not fee:
        return []
    return [
        {
            "amount": fee,
            "application": None,
            "currency": SETTLEMENT_CURRENCY,
            "description": description,
            "type": "stripe_fee",
        }
    ]


def available_on(created: int, *, immediately: bool = False) -> int:
    """Return when funds from a transaction created at ``created`` become available (00:00 UTC).

    Examples
    --------
    >>> available_on(86_400 * 10 + 5)
    1036800
    """
    if immediately:
        return created
    return (created // _DAY + AVAILABLE_AFTER_DAYS) * _DAY
