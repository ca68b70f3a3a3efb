"""Money: the one table of currency exponents, Stripe's limits, and parsing/formatting of amounts.

Amounts are integers in the currency's minor unit everywhere inside billing_kit. The exponent comes
from :data:`CURRENCIES` and nowhere else; a float never touches money.

Facts (https://docs.stripe.com/currencies):

- zero-decimal currencies (JPY, KRW, …) are sent in whole units;
- ISK and UGX are zero-decimal for people, but Stripe takes them as two-decimal values ending
  in ``00``; an amount read back from Stripe that does not end in ``00`` (``4050`` ISK) is still
  shown exactly (``40.50``), never rounded;
- three-decimal currencies (BHD, JOD, KWD, OMR, TND) are sent in thousandths whose last digit
  is ``0``;
- each settlement currency has a minimum charge (USD 0.50, GBP 0.30, JPY 50, …) and Stripe caps
  amounts at eight digits (``99999999`` minor units) except where a longer limit is documented.

Examples
--------
>>> parse_amount("1,234.50", "usd")
123450
>>> parse_amount(500, "JPY")
500
>>> parse_amount("5.120", "kwd")
5120
>>> parse_amount(1999, "eur", minor=True)
1999
>>> format_amount(123450, "usd")
'$1,234.50'
>>> format_amount(500, "jpy")
'¥500'
>>> to_major(5120, "kwd")
Decimal('5.120')
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import MAX_EMAX, MIN_EMIN, Context, Decimal, InvalidOperation

from billing_kit._exceptions import InvalidAmount, UnknownCurrency
from billing_kit._pan import safe_repr
from billing_kit._validation import check_flag

__all__ = [
    "CURRENCIES",
    "CurrencyInfo",
    "currency_exponent",
    "currency_info",
    "format_amount",
    "parse_amount",
    "to_major",
]


@dataclass(frozen=True, slots=True)
class CurrencyInfo:
    """What Stripe needs to know about one currency.

    Attributes
    ----------
    code
        Lower-case ISO 4217 code, as Stripe writes it.
    exponent
        Decimal places of the minor unit *as sent to Stripe* (2 for USD, 0 for JPY, 3 for KWD).
    decimals
        Decimal places people write (differs from ``exponent`` only for ISK and UGX).
    step
        Every amount in minor units must be a multiple of this (10 for KWD, 100 for ISK).
    minimum
        Stripe's minimum charge in minor units, or ``None`` where none is documented.
    maximum
        Stripe's maximum amount in minor units.
    """

    code: str
    exponent: int
    decimals: int
    step: int
    minimum: int | None
    maximum: int


_EIGHT_DIGITS = 99_999_999

_ZERO_DECIMAL = "bif clp djf gnf jpy kmf krw mga pyg rwf vnd vuv xaf xof xpf"
_THREE_DECIMAL = "bhd jod kwd omr tnd"
# Zero-decimal to people, but Stripe wants two decimals that are always "00".
_WHOLE_UNITS_AS_TWO_DECIMAL = "isk ugx"
_TWO_DECIMAL = (
    "usd aed afn all amd ang aoa ars aud awg azn bam bbd bdt bgn bmd bnd bob brl bsd bwp byn bzd"
    " cad cdf chf cny cop crc cve czk dkk dop dzd egp etb eur fjd fkp gbp gel gip gmd gtq gyd hkd"
    " hnl htg huf idr ils inr jmd kes kgs khr kyd kzt lak lbp lkr lrd lsl mad mdl mkd mmk mnt mop"
    " mur mvr mwk mxn myr mzn nad ngn nio nok npr nzd pab pen pgk php pkr pln qar ron rsd rub sar"
    " sbd scr sek sgd shp sle sos srd std szl thb tjs top try ttd twd tzs uah uyu uzs wst xcd yer"
    " zar zmw"
)

# Minimum charge amounts in minor units (settlement currency;
# https://docs.stripe.com/currencies#minimum-and-maximum-charge-amounts).
_MINIMUMS: dict[str, int] = {
    "usd": 50, "eur": 50, "gbp": 30, "aud": 50, "cad": 50, "chf": 50, "nzd": 50, "sgd": 50,
    "brl": 50, "inr": 50, "jpy": 50, "krw": 50, "mxn": 1000, "aed": 200, "myr": 200, "nok": 300,
    "sek": 300, "czk": 1500, "pln": 200, "ron": 200, "dkk": 250, "thb": 1000, "hkd": 400,
    "huf": 17500, "bgn": 100, "ars": 50, "cop": 50, "idr": 50, "ils": 50, "php": 50, "rub": 50,
    "zar": 50,
}  # fmt: skip

# Longer card limits documented for a few currencies (2025 currencies page); eight digits otherwise.
_MAXIMUMS: dict[str, int] = {
    "idr": 999_999_999_999,
    "lbp": 99_999_999_999,
    "cop": 9_999_999_999,
    "huf": 9_999_999_999,
    "jpy": 9_999_999_999,
    "inr": 999_999_999,
}

_SYMBOLS: dict[str, str] = {
    "usd": "$", "eur": "€", "gbp": "£", "jpy": "¥", "krw": "₩", "inr": "₹", "cny": "CN¥",
    "aud": "A$", "cad": "CA$", "nzd": "NZ$", "hkd": "HK$", "sgd": "SGD ", "chf": "CHF ",
    "brl": "R$", "mxn": "MX$", "ils": "₪", "vnd": "₫", "php": "₱", "thb": "฿", "try": "₺",
}  # fmt: skip


def _build_table() -> dict[str, CurrencyInfo]:
    table: dict[str, CurrencyInfo] = {}
    groups = [
        (_TWO_DECIMAL, 2, 2, 1),
        (_ZERO_DECIMAL, 0, 0, 1),
        (_THREE_DECIMAL, 3, 3, 10),
        (_WHOLE_UNITS_AS_TWO_DECIMAL, 2, 0, 100),
    ]
    for codes, exponent, decimals, step in groups:
        for code in codes.split():
            table[code] = CurrencyInfo(
                code=code,
                exponent=exponent,
                decimals=decimals,
                step=step,
                minimum=_MINIMUMS.get(code),
                maximum=_MAXIMUMS.get(code, _EIGHT_DIGITS),
            )
    return table


CURRENCIES: dict[str, CurrencyInfo] = _build_table()
"""Every currency billing_kit accepts, keyed by lower-case ISO code."""

# No Stripe maximum has more digits than this in minor units (the longest, IDR, has 12).
_TOO_MANY_DIGITS = 15

# "1234", "1234.5", "1,234.50", "-3" — thousands separators only in groups of three.
_NUMBER = re.compile(r"^[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?$")


def currency_info(currency: str) -> CurrencyInfo:
    """Return the :class:`CurrencyInfo` for ``currency`` (any case).

    Raises
    ------
    UnknownCurrency
        When the code is not a currency Stripe charges in.
    """
    if not isinstance(currency, str):
        raise UnknownCurrency(
            f"Currency must be a three-letter ISO code such as 'usd', got {currency!r}."
        )
    code = currency.strip().lower()
    try:
        return CURRENCIES[code]
    except KeyError:
        raise UnknownCurrency(
            f"Unknown currency {currency!r}: use a three-letter ISO code Stripe supports, "
            "such as 'usd', 'eur', 'gbp' or 'jpy' (see billing_kit.CURRENCIES)."
        ) from None


def currency_exponent(currency: str) -> int:
    """Return the number of decimal places of ``currency``'s minor unit as sent to Stripe.

    >>> currency_exponent("usd"), currency_exponent("JPY"), currency_exponent("kwd")
    (2, 0, 3)
    """
    return currency_info(currency).exponent


def to_major(minor: int, currency: str) -> Decimal:
    """Return ``minor`` units of ``currency`` as a :class:`~decimal.Decimal` in major units.

    Exact: ISK and UGX are written in whole units, but an amount in Stripe's minor units that
    does not end in ``00`` keeps its decimals instead of being rounded.

    >>> to_major(1234, "usd"), to_major(500, "jpy"), to_major(500, "isk"), to_major(4050, "isk")
    (Decimal('12.34'), Decimal('500'), Decimal('5'), Decimal('40.50'))
    """
    info = currency_info(currency)
    value = Decimal(minor).scaleb(-info.exponent)
    written = value.quantize(Decimal(1).scaleb(-info.decimals), context=_EXACT)
    return written if written == value else value


# Enough precision for any int a caller can pass through the amount checks, and wide exponents, so
# quantize never raises InvalidOperation for a large amount (the default context has 28 digits).
_EXACT = Context(prec=1000, Emax=MAX_EMAX, Emin=MIN_EMIN)


def format_amount(minor: int, currency: str) -> str:
    """Return ``minor`` units of ``currency`` formatted for people, with thousands separators.

    >>> format_amount(-250, "gbp"), format_amount(1234500, "kwd"), format_amount(99, "chf")
    ('-£2.50', '1,234.500 KWD', 'CHF 0.99')
    >>> format_amount(4050, "isk"), format_amount(500, "isk")
    ('40.50 ISK', '5 ISK')
    """
    info = currency_info(currency)
    major = to_major(abs(minor), info.code)
    places = max(info.decimals, -int(major.as_tuple().exponent))
    number = f"{major:,.{places}f}"
    sign = "-" if minor < 0 else ""
    symbol = _SYMBOLS.get(info.code)
    if symbol is None:
        return f"{sign}{number} {info.code.upper()}"
    return f"{sign}{symbol}{number}"


def _to_decimal(value: object, original: object) -> Decimal:
    """Turn a user value into a finite Decimal, or say precisely why it is not a number."""
    if isinstance(value, bool | float):
        hint = (
            "floats cannot hold money exactly; pass a string such as '12.34', a Decimal, or an int"
        )
        kind = "a bool" if isinstance(value, bool) else "a float"
        raise InvalidAmount(f"Amount {safe_repr(original)} is {kind}: {hint}.")
    if isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise InvalidAmount(f"Amount {safe_repr(original)} is not a number; pass e.g. '12.34'.")
        number = value
    elif isinstance(value, str):
        text = value.strip()
        if "_" in text:
            # Decimal("12_50") is 1250: Python's digit grouping, which no one means in an amount.
            raise InvalidAmount(
                f"Amount {safe_repr(original)} contains '_': write it without underscores, with "
                "a decimal point for cents (e.g. '12.50') and commas for thousands ('1,250')."
            )
        if not _NUMBER.match(text):
            raise InvalidAmount(
                f"Amount {safe_repr(original)} is not a number: write it like '12', '12.34' or "
                "'1,234.50' (digits, optional thousands commas and one decimal point, no "
                "currency symbol)."
            )
        try:
            number = Decimal(text.replace(",", ""))
        except InvalidOperation:  # pragma: no cover - the pattern admits only valid literals
            raise InvalidAmount(f"Amount {safe_repr(original)} is not a number.") from None
    else:
        raise InvalidAmount(
            f"Amount {safe_repr(original)} has type {type(value).__name__}; pass an int, a "
            "Decimal or a string such as '12.34'."
        )
    if number.adjusted() >= _TOO_MANY_DIGITS:
        # Far above every maximum: refused here, before arithmetic in the default decimal
        # context (28 digits) could round it or raise InvalidOperation.
        raise InvalidAmount(
            f"Amount {safe_repr(original)} has more than {_TOO_MANY_DIGITS} digits, far beyond "
            "Stripe's maximum charge in any currency; check it, or split it into several charges."
        )
    return number


def parse_amount(value: object, currency: str, *, minor: bool = False, minimum: bool = True) -> int:
    """Parse a user amount into an integer number of ``currency``'s minor units.

    Parameters
    ----------
    value
        ``5``, ``"5"``, ``"5.00"``, ``"1,234.50"`` or ``Decimal("5.00")`` in major units, or an
        int / integer string already in minor units when ``minor=True``. Floats are refused.
    currency
        ISO code, any case.
    minor
        ``True`` when ``value`` is already in minor units (cents, yen, fils).
    minimum
        ``False`` skips Stripe's minimum *charge* amount, for partial refunds and captures.

    Returns
    -------
    int
        The amount in minor units, as Stripe expects it.

    Raises
    ------
    InvalidAmount
        Not a number, too many decimals for the currency, a KWD-style amount not ending in 0,
        negative, zero, below Stripe's minimum or above its maximum.
    UnknownCurrency
        ``currency`` is not one Stripe charges in.

    Examples
    --------
    >>> parse_amount("12.34", "usd"), parse_amount(Decimal("0.5"), "usd"), parse_amount(5, "isk")
    (1234, 50, 500)
    >>> parse_amount("12.345", "usd")
    Traceback (most recent call last):
    ...
    billing_kit._exceptions.InvalidAmount: Amount '12.345' has more decimals than USD allows (2): \
round it, e.g. '12.34' or '12.35'.
    """
    minor = check_flag("minor", minor)
    minimum = check_flag("minimum", minimum)
    info = currency_info(currency)
    code = info.code.upper()
    number = _to_decimal(value, value)
    shown = safe_repr(value)
    if minor:
        if number != number.to_integral_value():
            raise InvalidAmount(
                f"Amount {shown} was given as minor units (minor=True) but is not a whole "
                f"number; pass an int of the smallest {code} unit, or drop minor=True."
            )
        units = number
    else:
        units = number.scaleb(info.exponent)
        written = number.scaleb(info.decimals)  # ISK/UGX: whole units, though sent with "00"
        if written != written.to_integral_value():
            step = Decimal(1).scaleb(-info.decimals)
            low = number.quantize(step, rounding="ROUND_FLOOR")
            high = low + step
            raise InvalidAmount(
                f"Amount {shown} has more decimals than {code} allows ({info.decimals}): "
                f"round it, e.g. '{low}' or '{high}'."
            )
    amount = int(units)
    if amount < 0:
        raise InvalidAmount(
            f"Amount {shown} is negative; charge a positive amount, and use refund() to give "
            "money back."
        )
    if amount == 0:
        raise InvalidAmount(
            f"Amount {shown} is zero; Stripe only charges positive amounts (at least "
            f"{_describe_minimum(info)})."
        )
    if amount % info.step:
        below = amount - amount % info.step
        raise InvalidAmount(
            f"Amount {shown} is not a valid {code} amount: Stripe takes {code} in steps of "
            f"{format_amount(info.step, info.code)}, so round it to "
            f"{format_amount(below, info.code)} or {format_amount(below + info.step, info.code)}."
        )
    if minimum and info.minimum is not None and amount < info.minimum:
        raise InvalidAmount(
            f"Amount {shown} ({format_amount(amount, info.code)}) is below Stripe's minimum "
            f"charge of {format_amount(info.minimum, info.code)} for {code}; charge at least that."
        )
    if amount > info.maximum:
        raise InvalidAmount(
            f"Amount {shown} ({format_amount(amount, info.code)}) is above Stripe's maximum of "
            f"{format_amount(info.maximum, info.code)} for {code}; split it into several charges."
        )
    return amount


def _describe_minimum(info: CurrencyInfo) -> str:
    if info.minimum is None:
        return format_amount(info.step, info.code)
    return format_amount(info.minimum, info.code)
