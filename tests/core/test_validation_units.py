"""Units of the argument checks: path escaping, metadata limits, card-number detection."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing_kit import InvalidAmount, InvalidArgument, format_amount, parse_amount
from billing_kit._money import currency_info
from billing_kit._pan import find_card_number, luhn_valid, mask_card_numbers, safe_repr
from billing_kit._validation import api_path, check_id, check_metadata


def test_api_path_escapes_every_segment() -> None:
    assert api_path("charges", "ch_1/../customers?x=1", "capture") == (
        "/v1/charges/ch_1%2F..%2Fcustomers%3Fx%3D1/capture"
    )


def test_metadata_limits_follow_stripe() -> None:
    assert check_metadata({"n": 7, "d": Decimal("1.50")}) == {"n": "7", "d": "1.50"}
    with pytest.raises(InvalidArgument, match="at most 49"):
        check_metadata({f"k{i}": "v" for i in range(50)})
    for key in ("k" * 41, "a[b]", "", 5):
        with pytest.raises(InvalidArgument, match="metadata key"):
            check_metadata({key: "v"})


def _luhn_complete(body: str) -> str:
    """Return ``body`` plus the check digit that makes it Luhn-valid."""
    return next(body + d for d in "0123456789" if luhn_valid(body + d))


@given(
    body=st.text("0123456789", min_size=12, max_size=18),
    separator=st.sampled_from(["", " ", "-"]),
    before=st.text("abc :", max_size=5),
)
def test_every_luhn_valid_number_is_found_and_masked(
    body: str, separator: str, before: str
) -> None:
    number = _luhn_complete(body)
    written = separator.join(number[i : i + 4] for i in range(0, len(number), 4))
    text = f"{before}{written} thanks"
    assert find_card_number(text) == number
    masked = mask_card_numbers(text)
    assert number not in masked.replace(" ", "").replace("-", "")
    assert f"{number[:4]}…{number[-4:]}" in masked


@given(st.text("0123456789", min_size=12, max_size=18))
def test_a_number_failing_luhn_is_not_a_card(body: str) -> None:
    wrong = next(body + d for d in "0123456789" if not luhn_valid(body + d))
    assert find_card_number(wrong) is None


def test_short_long_and_embedded_runs_are_not_cards() -> None:
    assert find_card_number("424242424242") is None  # 12 digits
    assert find_card_number("4" + "4242424242424242" + "4242") is None  # inside a 21-digit run
    assert safe_repr("x" * 500).endswith("characters)")


def test_ids_follow_stripes_alphabet() -> None:
    assert check_id("customer", "cus_NffrFeUfNV2Hib", ("cus_",), example="cus_1") == (
        "cus_NffrFeUfNV2Hib"
    )
    for bad in ("cus_", "cus_a b", "cus_a/b", "cus_a?b", "cus_a%2F", "cus_é", "cus_" + "a" * 300):
        with pytest.raises(InvalidArgument, match="customer="):
            check_id("customer", bad, ("cus_",), example="cus_1")


AMOUNT_TEXT = st.text(alphabet="0123456789_,.-+eE $ \u0660\u00a0", max_size=40)


@given(
    value=st.one_of(
        AMOUNT_TEXT,
        st.integers(min_value=-(10**40), max_value=10**40),
        st.decimals(allow_nan=True, allow_infinity=True),
        st.floats(),
        st.booleans(),
        st.none(),
    ),
    currency=st.sampled_from(["usd", "jpy", "kwd", "isk", "idr"]),
    minor=st.booleans(),
)
def test_parse_amount_returns_a_valid_amount_or_raises_invalid_amount(
    value: object, currency: str, minor: bool
) -> None:
    # Item 9: no decimal.InvalidOperation, no OverflowError, no underscore ever read as a digit.

    info = currency_info(currency)
    try:
        amount = parse_amount(value, currency, minor=minor)
    except InvalidAmount:
        return
    assert isinstance(amount, int) and 0 < amount <= info.maximum and amount % info.step == 0
    assert not (isinstance(value, str) and "_" in value)
    assert format_amount(amount, currency)
