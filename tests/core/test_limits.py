"""connect(max_amount=...): a per-charge limit per currency, exact, enforced before any request."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

import billing_kit
from billing_kit import Client, ConfigurationError, InvalidAmount
from billing_kit._limits import check_limit, parse_limits
from billing_kit.widgets import ChargeForm
from tests.core.conftest import all_charges, all_customers


def test_a_charge_above_the_limit_is_refused_before_anything_is_sent(
    connect_to: Callable[..., Client],
) -> None:
    client = connect_to(max_amount={"usd": "500", "JPY": 20000})
    assert client.max_amount == {"usd": 50000, "jpy": 20000}
    with pytest.raises(InvalidAmount) as caught:
        client.charge("ana@example.com", "500.01", "usd", payment_method="pm_card_visa")
    message = str(caught.value)
    assert "$500.01" in message and "limit of $500.00 per USD charge" in message
    assert "max_amount" in message and "Nothing was sent" in message
    assert all_charges(client) == [] and all_customers(client) == [], "nothing created"
    assert client.ledger.rows() == [], "nothing recorded"
    # At the limit, and in a currency without one, charging works.
    assert client.charge(
        "ana@example.com", "500.00", "usd", payment_method="pm_card_visa"
    ).succeeded
    assert client.charge("ana@example.com", "900", "eur", payment_method="pm_card_visa").succeeded
    with pytest.raises(InvalidAmount, match="limit of ¥20,000"):
        client.charge("ana@example.com", 20001, "jpy", payment_method="pm_card_visa")


def test_no_limit_by_default(client: Client) -> None:
    assert client.max_amount == {}


@pytest.mark.parametrize(
    ("max_amount", "says"),
    [
        (500, "must be a mapping of currency to amount"),
        ({"usd": "abc"}, "max_amount['usd'] = 'abc' is not a usable limit"),
        ({"usd": "5.001"}, "more decimals than USD allows"),
        ({"usd": 1.5}, "is a float"),
        ({"usd": "-5"}, "negative"),
        ({"xyz": "5"}, "max_amount['xyz']"),
    ],
)
def test_a_bad_limit_is_a_configuration_error(
    connect_to: Callable[..., Client], max_amount: object, says: str
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        connect_to(max_amount=max_amount)
    assert says in str(caught.value)


@given(
    limit=st.integers(min_value=1, max_value=10**10),
    amount=st.integers(min_value=1, max_value=10**10),
    currency=st.sampled_from(["usd", "jpy", "kwd", "eur"]),
)
def test_limit_allows_exactly_up_to_itself(limit: int, amount: int, currency: str) -> None:
    if amount <= limit:
        check_limit({currency: limit}, amount, currency)
    else:
        with pytest.raises(InvalidAmount):
            check_limit({currency: limit}, amount, currency)
    check_limit({"gbp": limit}, amount, currency)  # another currency's limit never applies


@given(cents=st.integers(min_value=1, max_value=99_999_999))
def test_limits_parse_exactly(cents: int) -> None:
    text = str(Decimal(cents).scaleb(-2))
    assert parse_limits({"usd": text}) == {"usd": cents}


def test_the_charge_form_refuses_above_the_limit(connect_to: Callable[..., Client]) -> None:
    client = connect_to(max_amount={"usd": "500"})
    form = ChargeForm(client)
    form.customer.value = "ana@example.com"
    form.amount.value = "600"
    assert "above the limit of $500.00 per USD charge" in form.problems_area.value
    form.review_button.click()
    assert form.review_box.layout.display == "none"
    form.currency.value = "eur"
    assert form.problems_area.value == "", "EUR has no limit"
    form.currency.value = "usd"
    form.amount.value = "500"
    form.review_button.click()
    form.confirm_button.click()
    assert form.last_charge is not None and len(all_charges(client)) == 1


def test_connect_documents_max_amount() -> None:
    assert "max_amount" in (billing_kit.connect.__doc__ or "")
