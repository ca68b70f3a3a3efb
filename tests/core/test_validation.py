"""Bad input on the client side (issue 9, items 8-12, connect()): refused, named, nothing sent."""

from __future__ import annotations

import logging
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest

import billing_kit
from billing_kit import Client, InvalidAmount, InvalidArgument
from billing_kit._exceptions import ConfigurationError
from billing_kit.sandbox import start
from tests.support import TEST_KEY

from .conftest import all_charges, all_customers, all_payment_intents


def _nothing_made(client: Client) -> None:
    assert all_charges(client) == [] and all_payment_intents(client) == []
    assert client.ledger.rows() == []


# Item 8: ids never reach a URL path unchecked -------------------------------------------------


def test_attach_with_a_path_in_the_customer_id_creates_no_charge(client: Client) -> None:
    with pytest.raises(InvalidArgument, match="customer=") as caught:
        client.attach_payment_method("cus_x/../../charges?amount=100&currency=usd", "tok_visa")
    assert "letters, digits and '_'" in str(caught.value)
    _nothing_made(client)


def test_refund_of_a_path_is_refused_not_a_key_error(client: Client) -> None:
    with pytest.raises(InvalidArgument, match="charge="):
        client.refund("ch_x/../../customers")
    _nothing_made(client)


@pytest.mark.parametrize(
    "method", ["pm_card_visa?customer=cus_x", "pm_card_visa/../../customers", "pm_card visa"]
)
def test_payment_method_with_a_query_or_path_is_refused(client: Client, method: str) -> None:
    customer = client.find_or_create_customer("pm@example.com")
    with pytest.raises(InvalidArgument, match="payment_method="):
        client.attach_payment_method(customer, method)
    with pytest.raises(InvalidArgument, match="payment_method="):
        client.charge(customer, 5, "usd", payment_method=method)
    _nothing_made(client)


# Item 9: amounts, flags, metadata -------------------------------------------------------------


@pytest.mark.parametrize("amount", ["12_50", "1_000", "9" * 400, 10**30, Decimal("1E+40")])
def test_amounts_with_underscores_or_too_large_are_refused(client: Client, amount: object) -> None:
    with pytest.raises(InvalidAmount, match="Amount"):
        client.charge("u@example.com", amount, "usd", payment_method="pm_card_visa")
    _nothing_made(client)
    assert all_customers(client) == []


@pytest.mark.parametrize(
    ("flag", "value"),
    [("capture", "false"), ("capture", 0), ("allow_duplicate", "no"), ("allow_duplicate", None)],
)
def test_non_boolean_flags_are_refused(client: Client, flag: str, value: object) -> None:
    with pytest.raises(InvalidArgument, match=f"{flag}="):
        client.charge("f@example.com", 5, "usd", payment_method="pm_card_visa", **{flag: value})
    _nothing_made(client)


def test_allow_duplicate_no_does_not_charge_twice(client: Client) -> None:
    client.charge("d@example.com", 5, "usd", payment_method="pm_card_visa")
    with pytest.raises(InvalidArgument, match="allow_duplicate="):
        client.charge(
            "d@example.com", 5, "usd", payment_method="pm_card_visa", allow_duplicate="no"
        )  # type: ignore[arg-type]
    assert len(all_charges(client)) == 1


def test_refund_allow_duplicate_must_be_a_bool(client: Client) -> None:
    made = client.charge("r@example.com", 5, "usd", payment_method="pm_card_visa")
    with pytest.raises(InvalidArgument, match="allow_duplicate="):
        client.refund(made, allow_duplicate="yes")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "value", [{"a": 1}, [1, 2], None, 1.5, True, Decimal("NaN"), b"bytes", "x" * 501]
)
def test_metadata_values_must_be_strings_or_numbers(client: Client, value: object) -> None:
    with pytest.raises(InvalidArgument, match="metadata\\['note'\\]"):
        client.charge(
            "m@example.com", 5, "usd", payment_method="pm_card_visa", metadata={"note": value}
        )
    _nothing_made(client)


# Item 10: card numbers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["4242424242424242", "paid by 4242 4242 4242 4242", "card 3782-822463-10005"]
)
def test_card_numbers_in_description_or_metadata_are_refused(client: Client, text: str) -> None:
    for options in ({"description": text}, {"metadata": {"note": text}}):
        with pytest.raises(InvalidArgument, match="card number") as caught:
            client.charge("c@example.com", 5, "usd", payment_method="pm_card_visa", **options)  # type: ignore[arg-type]
        digits = text.replace(" ", "").replace("-", "")[-12:]
        assert digits not in str(caught.value).replace(" ", "").replace("-", "")
    _nothing_made(client)


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.charge("4242424242424242", 5, "usd", payment_method="pm_card_visa"),
        lambda c: c.charge("c@example.com", 5, "usd", payment_method="4242424242424242"),
        lambda c: c.charge("c@example.com", "4242424242424242", "usd"),
        lambda c: c.refund("4242424242424242"),
        lambda c: c.capture("4242 4242 4242 4242"),
        lambda c: c.attach_payment_method("c@example.com", "4242-4242-4242-4242"),
        lambda c: c.find_or_create_customer("4242424242424242@example.com"),
    ],
)
def test_card_number_where_an_id_belongs_is_masked(
    client: Client, call: Callable[[Client], object], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG), pytest.raises(InvalidArgument) as caught:
        call(client)
    message = str(caught.value) + repr(caught.value) + caplog.text
    assert "4242…4242" in str(caught.value)
    assert "424242424242" not in message.replace(" ", "").replace("-", "")
    _nothing_made(client)
    assert all_customers(client) == []


# Item 12: exact major amounts -----------------------------------------------------------------


def test_isk_major_amounts_are_exact() -> None:
    assert billing_kit.to_major(4050, "isk") == Decimal("40.50")
    assert billing_kit.Money(4050, "isk").major == Decimal("40.50")
    assert billing_kit.format_amount(4050, "isk") == "40.50 ISK"
    assert billing_kit.format_amount(-4050, "ugx") == "-40.50 UGX"
    assert billing_kit.to_major(500, "isk") == Decimal("5")


# connect(): options and the silent sandbox ----------------------------------------------------


@pytest.mark.parametrize("rate", [float("nan"), float("inf"), 0, -1, True, "5"])
def test_connect_refuses_unusable_rate_limits(rate: object, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="rate_limit="):
        billing_kit.connect(TEST_KEY, api_base="http://127.0.0.1:9", home=tmp_path, rate_limit=rate)  # type: ignore[arg-type]


@pytest.mark.parametrize("option", ["backoff", "max_backoff", "timeout"])
def test_connect_refuses_nan_seconds(option: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=option):
        billing_kit.connect(
            TEST_KEY, api_base="http://127.0.0.1:9", home=tmp_path, **{option: float("nan")}
        )


def test_connect_refuses_a_home_that_is_a_file(tmp_path: Path) -> None:
    home = tmp_path / "notes.txt"
    home.write_text("mine")
    with pytest.raises(ConfigurationError, match="home=") as caught:
        billing_kit.connect(TEST_KEY, api_base="http://127.0.0.1:9", home=home)
    assert "folder" in str(caught.value)
    assert home.read_text() == "mine"


def test_connect_refuses_a_string_allow_live(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="allow_live="):
        billing_kit.connect(TEST_KEY, home=tmp_path, allow_live="false")  # type: ignore[arg-type]


@pytest.mark.parametrize("near_miss", ["STRIPE_SECRET_KEY", "STRIPE_KEY", "STRIPE_API_TOKEN"])
def test_no_key_says_sandbox_and_names_the_misnamed_variable(
    near_miss: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    secret = "sk_test_" + "Q7rT" * 6
    monkeypatch.setenv(near_miss, secret)
    with start(db=":memory:") as server, caplog.at_level(logging.INFO, logger="billing_kit"):
        billing_kit.connect(api_base=server.url, home=tmp_path).close()
    info = [r for r in caplog.records if r.levelno == logging.INFO and "sandbox" in r.message]
    assert len(info) == 1 and server.url in info[0].message and "mode=sandbox" in info[0].message
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert near_miss in warnings[0] and "STRIPE_API_KEY" in warnings[0]
    assert secret not in caplog.text and secret[-12:] not in caplog.text


def test_a_configured_key_logs_no_sandbox_line(
    caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    with caplog.at_level(logging.INFO, logger="billing_kit"):
        billing_kit.connect(TEST_KEY, api_base="http://127.0.0.1:9", home=tmp_path).close()
    assert "sandbox" not in caplog.text
