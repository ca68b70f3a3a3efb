"""Per-currency amount rules (https://docs.stripe.com/currencies): exponents, minimum and maximum
charge amounts.

The sandbox keeps its own table instead of importing the client's money module: the sandbox stands
in for Stripe, so it must not share a bug with the client it is testing.
"""

from __future__ import annotations

from billing_kit.sandbox._errors import empty, invalid, missing

ZERO_DECIMAL = frozenset(
    [
        "bif",
        "clp",
        "djf",
        "gnf",
        "jpy",
        "kmf",
        "krw",
        "mga",
        "pyg",
        "rwf",
        "vnd",
        "vuv",
        "xaf",
        "xof",
        "xpf",
    ]
)
# ISK and UGX are zero-decimal at the bank but the API takes them as two-decimal amounts whose last
# two
# digits are 00 (https://docs.stripe.com/currencies#special-cases; the special-case text governs
# API amounts).
WHOLE_HUNDREDS = frozenset({"isk", "ugx"})
THREE_DECIMAL = frozenset({"bhd", "jod", "kwd", "omr", "tnd"})

#: Minimum charge in minor units
#: (https://docs.stripe.com/currencies#minimum-and-maximum-charge-amounts). Currencies not listed
#: need at least 1 minor unit.
MINIMUMS: dict[str, int] = {
    "usd": 50, "eur": 50, "gbp": 30, "aud": 50, "cad": 50, "chf": 50, "nzd": 50, "sgd": 50,
    "brl": 50, "inr": 50, "aed": 200, "czk": 1500, "dkk": 250, "hkd": 400, "jpy": 50,
    "krw": 50, "mxn": 1000, "myr": 200, "nok": 300, "sek": 300, "pln": 200, "ron": 200,
    "thb": 1000, "huf": 17500, "bgn": 100, "ars": 50, "cop": 50, "idr": 50, "ils": 50,
    "php": 50, "rub": 50, "zar": 50,
}  # fmt: skip

#: Largest amount in minor units: eight digits unless listed
#: (https://docs.stripe.com/currencies#minimum-and-maximum-charge-amounts; 2025 card figures).
MAXIMUMS: dict[str, int] = {
    "idr": 999_999_999_999, "inr": 999_999_999, "lbp": 99_999_999_999,
    "cop": 9_999_999_999, "huf": 9_999_999_999, "jpy": 9_999_999_999,
}  # fmt: skip
DEFAULT_MAXIMUM = 99_999_999

SUPPORTED = frozenset(
    set(MINIMUMS) | ZERO_DECIMAL | WHOLE_HUNDREDS | THREE_DECIMAL
    | {"twd", "lbp", "try", "sar", "qar", "egp", "ngn", "kes", "pen", "uah", "pkr", "bdt", "lkr"}
)  # fmt: skip

_SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£", "jpy": "¥", "cad": "$", "aud": "$", "inr": "₹"}


def exponent(currency: str) -> int:
    """Return the number of minor-unit digits the API uses for ``currency``.

    Examples
    --------
    >>> exponent("usd"), exponent("jpy"), exponent("kwd"), exponent("isk")
    (2, 0, 3, 2)
    """
    if currency in ZERO_DECIMAL:
        return 0
    if currency in THREE_DECIMAL:
        return 3
    return 2


def format_minor(amount: int, currency: str) -> str:
    """Return ``amount`` (minor units) as Stripe writes it in messages, e.g. ``$0.50``.

    Examples
    --------
    >>> format_minor(99999999, "usd"), format_minor(50, "jpy"), format_minor(5120, "kwd")
    ('$999,999.99', '¥50', '5.120')
    """
    digits = exponent(currency)
    sign = "-" if amount < 0 else ""
    whole, frac = divmod(abs(amount), 10**digits) if digits else (abs(amount), 0)
    text = f"{whole:,}" + (f".{frac:0{digits}d}" if digits else "")
    return f"{sign}{_SYMBOLS.get(currency, '')}{text}"


def check_currency(value: str | None, *, param: str = "currency") -> str:
    """Return the lowercase currency code, or raise the 400 Stripe gives for an unknown one."""
    if value is None:
        raise missing(param)
    if value == "":
        raise empty(param)
    currency = value.lower()
    if currency not in SUPPORTED:
        raise invalid(
            f"Invalid currency: {value}. The sandbox supports these currencies: "
            f"{', '.join(sorted(SUPPORTED))}.",
            param=param,
            code="parameter_invalid_string",
        )
    return currency


def check_amount(amount: int, currency: str, *, param: str = "amount") -> None:
    """Raise Stripe's 400 when ``amount`` breaks ``currency``'s rules (minimum, maximum, digits)."""
    minimum = MINIMUMS.get(currency, 1)
    if amount < minimum:
        raise invalid(
            f"Amount must be at least {format_minor(minimum, currency)} {currency}",
            param=param,
            code="amount_too_small",
        )
    maximum = MAXIMUMS.get(currency, DEFAULT_MAXIMUM)
    if amount > maximum:
        raise invalid(
            f"Amount must be no more than {format_minor(maximum, currency)}",
            param=param,
            code="amount_too_large",
        )
    if currency in THREE_DECIMAL and amount % 10:
        raise invalid(
            f"Invalid amount {amount} for {currency.upper()}: three-decimal amounts must end in 0 "
            f"(round to the nearest ten, e.g. {amount - amount % 10}).",
            param=param,
            code="invalid_charge_amount",
        )
    if currency in WHOLE_HUNDREDS and amount % 100:
        raise invalid(
            f"Invalid amount {amount} for {currency.upper()}: send whole units as two-decimal "
            f"amounts ending in 00 (e.g. {amount - amount % 100}).",
            param=param,
            code="invalid_charge_amount",
        )
