"""Money: the currency table, parse_amount's accepted forms and each rejection, formatting."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing_kit import (
    CURRENCIES,
    InvalidAmount,
    Money,
    UnknownCurrency,
    currency_exponent,
    format_amount,
    parse_amount,
    to_major,
)


@pytest.mark.parametrize(
    ("value", "currency", "expected"),
    [
        (5, "usd", 500),
        ("5", "usd", 500),
        ("5.00", "usd", 500),
        ("5.5", "usd", 550),
        (" 1,234.50 ", "USD", 123450),
        ("1234.50", "eur", 123450),
        (Decimal("0.50"), "usd", 50),
        (Decimal("12.3"), "gbp", 1230),
        (500, "jpy", 500),
        ("1,000", "krw", 1000),
        ("5.120", "kwd", 5120),
        ("5.12", "kwd", 5120),
        (7, "bhd", 7000),
        (5, "isk", 500),
        ("12", "ugx", 1200),
        ("99,999,999", "jpy", 99_999_999),
    ],
)
def test_parse_major_units(value: object, currency: str, expected: int) -> None:
    assert parse_amount(value, currency) == expected


@pytest.mark.parametrize(
    ("value", "currency", "expected"),
    [(1999, "usd", 1999), ("1999", "usd", 1999), (500, "jpy", 500), (5120, "kwd", 5120)],
)
def test_parse_minor_units(value: object, currency: str, expected: int) -> None:
    assert parse_amount(value, currency, minor=True) == expected


@pytest.mark.parametrize(
    ("value", "currency", "kwargs", "fragments"),
    [
        ("12.345", "usd", {}, ["'12.345'", "more decimals than USD allows (2)", "'12.34'"]),
        ("5.5", "jpy", {}, ["'5.5'", "more decimals than JPY allows (0)", "'5' or '6'"]),
        ("5.1234", "kwd", {}, ["'5.1234'", "more decimals than KWD allows (3)"]),
        ("5.125", "kwd", {}, ["'5.125'", "steps of", "5.120 KWD or 5.130 KWD"]),
        (5125, "kwd", {"minor": True}, ["5125", "steps of"]),
        ("5.5", "isk", {}, ["'5.5'", "more decimals than ISK allows (0)"]),
        ("-5", "usd", {}, ["'-5'", "negative", "refund()"]),
        (0, "usd", {}, ["0", "zero", "$0.50"]),
        ("0.00", "eur", {}, ["'0.00'", "zero"]),
        ("0.49", "usd", {}, ["'0.49'", "below Stripe's minimum", "$0.50"]),
        ("0.29", "gbp", {}, ["below Stripe's minimum", "£0.30"]),
        (49, "jpy", {}, ["below Stripe's minimum", "¥50"]),
        ("9.99", "mxn", {}, ["below Stripe's minimum", "MX$10.00"]),
        ("1,000,000.00", "usd", {}, ["above Stripe's maximum", "$999,999.99", "split"]),
        ("abc", "usd", {}, ["'abc'", "not a number"]),
        ("$5", "usd", {}, ["'$5'", "not a number", "no currency symbol"]),
        ("1,23.00", "usd", {}, ["'1,23.00'", "not a number"]),
        ("", "usd", {}, ["''", "not a number"]),
        (Decimal("NaN"), "usd", {}, ["Decimal('NaN')", "not a number"]),
        (5.0, "usd", {}, ["5.0", "float", "'12.34'"]),
        (True, "usd", {}, ["True", "bool"]),
        (None, "usd", {}, ["None", "NoneType"]),
        ([5], "usd", {}, ["[5]", "list"]),
        ("5.5", "usd", {"minor": True}, ["'5.5'", "minor=True", "not a whole number"]),
    ],
)
def test_each_bad_amount_is_named(
    value: object, currency: str, kwargs: dict[str, bool], fragments: list[str]
) -> None:
    with pytest.raises(InvalidAmount) as caught:
        parse_amount(value, currency, **kwargs)
    for fragment in fragments:
        assert fragment in str(caught.value)


@pytest.mark.parametrize("currency", ["xyz", "US", "", "dollars"])
def test_unknown_currency(currency: str) -> None:
    with pytest.raises(UnknownCurrency, match=f"Unknown currency {currency!r}"):
        parse_amount(5, currency)


def test_unknown_currency_is_an_invalid_amount_and_a_value_error() -> None:
    with pytest.raises(ValueError, match="Unknown currency"):
        parse_amount(5, "zzz")
    assert issubclass(UnknownCurrency, InvalidAmount)


def test_minimum_can_be_skipped_for_refunds() -> None:
    assert parse_amount("0.10", "usd", minimum=False) == 10
    with pytest.raises(InvalidAmount, match="zero"):
        parse_amount(0, "usd", minimum=False)


def test_table_shape() -> None:
    assert {c for c, i in CURRENCIES.items() if i.exponent == 0} >= {"jpy", "krw", "vnd", "clp"}
    assert {c for c, i in CURRENCIES.items() if i.exponent == 3} == {
        "bhd",
        "jod",
        "kwd",
        "omr",
        "tnd",
    }
    assert all(CURRENCIES[c].step == 10 for c in ("bhd", "jod", "kwd", "omr", "tnd"))
    assert CURRENCIES["isk"].exponent == 2 and CURRENCIES["isk"].decimals == 0
    assert CURRENCIES["usd"].minimum == 50 and CURRENCIES["usd"].maximum == 99_999_999
    assert all(code == code.lower() and len(code) == 3 for code in CURRENCIES)


def test_exponent_and_major() -> None:
    assert [currency_exponent(c) for c in ("usd", "JPY", "kwd", "isk")] == [2, 0, 3, 2]
    assert to_major(123450, "usd") == Decimal("1234.50")
    assert to_major(5120, "kwd") == Decimal("5.120")


@pytest.mark.parametrize(
    ("minor", "currency", "text"),
    [
        (1234, "usd", "$12.34"),
        (123456789, "usd", "$1,234,567.89"),
        (500, "jpy", "¥500"),
        (-250, "gbp", "-£2.50"),
        (5120, "kwd", "5.120 KWD"),
        (500, "isk", "5 ISK"),
        (1999, "eur", "€19.99"),
    ],
)
def test_format(minor: int, currency: str, text: str) -> None:
    assert format_amount(minor, currency) == text
    assert str(Money(minor, currency)) == text


def test_money_normalises_currency_and_round_trips() -> None:
    money = Money(1234, "USD")
    assert money == Money(1234, "usd")
    assert money.major == Decimal("12.34")
    assert parse_amount(money.major, money.currency) == money.minor
    with pytest.raises(UnknownCurrency):
        Money(1, "nope")
