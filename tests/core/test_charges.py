"""Charging against the sandbox: PaymentIntents, legacy Charges, auth/capture, refunds, declines,
bad input (nothing created), the duplicate guard, the ledger and masked logs."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

import billing_kit
from billing_kit import (
    AuthenticationFailed,
    CardDeclined,
    Charge,
    Client,
    DuplicateCharge,
    DuplicateRefund,
    InvalidAmount,
    InvalidArgument,
    InvalidRequest,
    Money,
    Refund,
    ResourceNotFound,
    UnknownCurrency,
)

from .conftest import TEST_KEY, all_charges, all_customers, all_payment_intents

VISA = {"payment_method": "pm_card_visa"}


def test_charge_with_payment_intents(client: Client) -> None:
    charge = client.charge(
        "ada@example.com",
        "12.50",
        "usd",
        payment_method="pm_card_visa",
        description="Invoice 7",
        metadata={"invoice": 7},
    )
    assert isinstance(charge, Charge)
    assert charge.status == "succeeded" and charge.succeeded and charge.captured
    assert charge.amount == Money(1250, "usd") and str(charge.amount) == "$12.50"
    assert (charge.brand, charge.last4) == ("visa", "4242")
    assert charge.payment_intent is not None and charge.payment_intent.startswith("pi_")
    assert charge.customer == client.customers(email="ada@example.com")[0].id
    assert charge.refunded_amount == Money(0, "usd") and charge.description == "Invoice 7"
    assert charge.created.tzinfo is not None
    intent = client.stripe.v1.payment_intents.retrieve(charge.payment_intent)
    assert intent.metadata["invoice"] == "7"
    assert intent.metadata["bk_attempt"].startswith("bk-charge-")
    row = client.ledger.rows()[-1]
    assert (row.kind, row.outcome, row.charge_id, row.stripe_id) == (
        "charge",
        "succeeded",
        charge.id,
        charge.payment_intent,
    )
    assert row.idempotency_key == intent.metadata["bk_attempt"]


def test_zero_and_three_decimal_currencies(client: Client) -> None:
    yen = client.charge("jp@example.com", 500, "jpy", payment_method="pm_card_jcb")
    assert yen.amount == Money(500, "jpy") and str(yen.amount) == "¥500"
    dinar = client.charge("kw@example.com", "5.120", "kwd", payment_method="pm_card_visa")
    assert dinar.amount.minor == 5120 and dinar.amount.major == Decimal("5.120")


def test_charge_uses_default_payment_method(client: Client) -> None:
    customer = client.find_or_create_customer("default@example.com")
    client.attach_payment_method(customer, "pm_card_mastercard")
    charge = client.charge(customer, 20, "eur")
    assert charge.brand == "mastercard" and charge.amount == Money(2000, "eur")


def test_charge_without_any_payment_method_is_refused_locally(client: Client) -> None:
    customer = client.find_or_create_customer("nopm@example.com")
    with pytest.raises(InvalidArgument, match="no default payment method"):
        client.charge(customer, 20, "usd")
    assert all_payment_intents(client) == [] and client.ledger.rows() == []


def test_legacy_charges_api_with_token(client: Client) -> None:
    charge = client.charge(
        "legacy@example.com", "9.99", "usd", source="tok_amex", api="charges", description="old"
    )
    assert charge.status == "succeeded" and charge.payment_intent is None
    assert charge.brand == "amex" and charge.id.startswith("ch_")
    assert client.ledger.rows()[-1].stripe_id == charge.id


def test_legacy_charge_on_customer_default_source(client: Client) -> None:
    customer = client.find_or_create_customer("src@example.com")
    client.attach_payment_method(customer, "tok_visa")
    charge = client.charge(customer, 30, "usd", api="charges")
    assert charge.last4 == "4242" and charge.customer == customer.id


@pytest.mark.parametrize("api", ["payment_intents", "charges"])
def test_auth_only_then_capture(client: Client, api: str) -> None:
    method = {"payment_method": "pm_card_visa"} if api == "payment_intents" else {}
    source = {"source": "tok_visa"} if api == "charges" else {}
    held = client.charge("hold@example.com", 40, "usd", capture=False, api=api, **method, **source)  # type: ignore[arg-type]
    assert held.captured is False and held.status == "succeeded"
    assert client.ledger.rows()[-1].status == "requires_capture"
    captured = client.capture(held, "25.00")
    assert captured.id == held.id and captured.captured
    assert captured.refunded_amount == Money(1500, "usd")  # the uncaptured rest is released
    capture_row = client.ledger.rows()[-1]
    assert (capture_row.kind, capture_row.outcome) == ("capture", "succeeded")


def test_full_capture_by_id(client: Client) -> None:
    held = client.charge(
        "hold2@example.com", 40, "usd", payment_method="pm_card_visa", capture=False
    )
    assert client.capture(held.id).captured
    with pytest.raises(InvalidRequest):
        client.capture(held.id)  # already captured: Stripe says so, we pass it on


def test_refunds_partial_then_rest_with_reason(client: Client) -> None:
    charge = client.charge("refund@example.com", 50, "usd", payment_method="pm_card_visa")
    part = client.refund(charge, "0.10", reason="requested_by_customer")
    assert isinstance(part, Refund)
    assert part.amount == Money(10, "usd") and part.charge == charge.id
    assert part.status == "succeeded" and part.reason == "requested_by_customer"
    rest = client.refund(charge.id)
    assert rest.amount == Money(4990, "usd")
    assert client.get_charge(charge.id).refunded_amount == Money(5000, "usd")
    kinds = [(r.kind, r.amount) for r in client.ledger.rows()]
    assert kinds == [("charge", 5000), ("refund", 10), ("refund", 5000)]


def test_refund_duplicate_guard_and_bad_reason(client: Client) -> None:
    charge = client.charge("refund2@example.com", 50, "usd", payment_method="pm_card_visa")
    first = client.refund(charge, 5)
    with pytest.raises(DuplicateRefund) as caught:
        client.refund(charge, 5)
    assert caught.value.previous.id == first.id and "allow_duplicate=True" in str(caught.value)
    client.refund(charge, 5, allow_duplicate=True)
    with pytest.raises(InvalidArgument, match="'oops'"):
        client.refund(charge, 1, reason="oops")
    with pytest.raises(InvalidRequest, match="greater than"):
        client.refund(charge, 100)
    assert len(client.stripe.v1.refunds.list({"charge": charge.id}).data) == 2


def test_refund_of_unknown_charge(client: Client) -> None:
    with pytest.raises(ResourceNotFound, match="ch_missing"):
        client.refund("ch_missing")
    with pytest.raises(InvalidArgument, match="not a Charge"):
        client.refund(12)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("method", "decline_code"),
    [
        ("pm_card_chargeCustomerFail", "generic_decline"),
        ("pm_card_visa_chargeDeclinedInsufficientFunds", "insufficient_funds"),
        ("pm_card_chargeDeclinedExpiredCard", "expired_card"),
        ("pm_card_radarBlock", "fraudulent"),
    ],
)
def test_declines_carry_code_reason_and_failed_charge(
    client: Client, method: str, decline_code: str
) -> None:
    with pytest.raises(CardDeclined) as caught:
        client.charge("decline@example.com", 10, "usd", payment_method=method)
    error = caught.value
    assert error.decline_code == decline_code and error.reason in str(error)
    assert error.charge_id is not None and error.charge_id.startswith("ch_")
    assert error.payment_intent_id is not None and error.http_status == 402
    failed = client.get_charge(error.charge_id)
    assert failed.status == "failed" and not failed.succeeded
    row = client.ledger.rows()[-1]
    assert (row.outcome, row.decline_code, row.charge_id) == (
        "declined",
        decline_code,
        error.charge_id,
    )
    # A decline does not block trying again (another card, or the same after a call to the bank).
    retry = client.charge("decline@example.com", 10, "usd", payment_method="pm_card_visa")
    assert retry.succeeded


@pytest.mark.parametrize(
    "method",
    ["pm_card_chargeCustomerFail", "pm_card_visa_chargeDeclinedInsufficientFunds"],
)
def test_declined_payment_intent_is_cancelled(client: Client, method: str) -> None:
    # A decline leaves the PaymentIntent in requires_payment_method; the kit never confirms it
    # again (a re-run is a new attempt), so it is cancelled instead of piling up in Stripe.
    with pytest.raises(CardDeclined) as caught:
        client.charge("open@example.com", 10, "usd", payment_method=method)
    intents = all_payment_intents(client)
    assert [i.id for i in intents] == [caught.value.payment_intent_id]
    assert intents[0].status == "canceled"
    assert client.ledger.rows()[-1].outcome == "declined"


def test_saved_card_needing_authentication_is_charged_off_session(client: Client) -> None:
    # From a notebook the customer is never there to authenticate: the PaymentIntent is sent with
    # off_session=True, so Stripe declines at once (authentication_required, with a failed
    # charge) instead of leaving an intent waiting in requires_action; that intent is cancelled.
    customer = client.find_or_create_customer("offsession@example.com")
    saved = client.attach_payment_method(customer, "pm_card_authenticationRequired")
    with pytest.raises(CardDeclined) as caught:
        client.charge(customer, 10, "usd", description="monthly")
    error = caught.value
    assert error.decline_code == "authentication_required" and "Checkout" in str(error)
    assert error.charge_id is not None
    failed = client.get_charge(error.charge_id)
    assert failed.status == "failed" and failed.failure_code == "authentication_required"
    intents = all_payment_intents(client)
    assert [(i.status, i.payment_method) for i in intents] == [("canceled", saved)]
    # A card that needs no authentication goes through off-session as before.
    client.attach_payment_method(customer, "pm_card_visa")
    assert client.charge(customer, 10, "usd", description="monthly").succeeded


def test_legacy_decline(client: Client) -> None:
    with pytest.raises(CardDeclined) as caught:
        client.charge("ld@example.com", 10, "usd", source="tok_chargeCustomerFail", api="charges")
    assert caught.value.charge_id is not None


@pytest.mark.parametrize(
    ("amount", "currency", "kwargs", "error", "fragment"),
    [
        ("12.345", "usd", {}, InvalidAmount, "more decimals"),
        ("-5", "usd", {}, InvalidAmount, "negative"),
        (0, "usd", {}, InvalidAmount, "zero"),
        ("0.49", "usd", {}, InvalidAmount, "below Stripe's minimum"),
        ("1000000", "usd", {}, InvalidAmount, "above Stripe's maximum"),
        ("five", "usd", {}, InvalidAmount, "not a number"),
        (5, "usdd", {}, UnknownCurrency, "Unknown currency"),
        ("5.125", "kwd", {}, InvalidAmount, "steps of"),
        (5, "usd", {"api": "paypal"}, InvalidArgument, "'paypal'"),
        (5, "usd", {"source": "tok_visa"}, InvalidArgument, "legacy Charges API"),
        (5, "usd", {"api": "charges", "payment_method": "pm_card_visa"}, InvalidArgument, "api="),
        (5, "usd", {"payment_method": "4242424242424242"}, InvalidArgument, "4242…4242"),
        (5, "usd", {"metadata": {"k" * 41: "v"}}, InvalidArgument, "metadata key"),
        (5, "usd", {"metadata": {"bk_attempt": "x"}}, InvalidArgument, "reserved"),
        (5, "usd", {"metadata": "x"}, InvalidArgument, "dict of str"),
    ],
)
def test_bad_input_creates_nothing(
    client: Client,
    amount: object,
    currency: str,
    kwargs: dict[str, object],
    error: type[Exception],
    fragment: str,
) -> None:
    options = dict(kwargs)
    if not {"source", "payment_method", "api"} & options.keys():
        options["payment_method"] = "pm_card_visa"
    with pytest.raises(error, match=fragment):
        client.charge("bad@example.com", amount, currency, **options)  # type: ignore[arg-type]
    # Rejected before anything was sent: no customer, no PaymentIntent, no charge, no ledger row.
    assert all_customers(client) == [] and all_payment_intents(client) == []
    assert all_charges(client) == [] and client.ledger.rows() == []


def test_rerun_cell_is_refused_as_duplicate(client: Client) -> None:
    first = client.charge(
        "dup@example.com", 25, "usd", payment_method="pm_card_visa", description="June"
    )
    with pytest.raises(DuplicateCharge) as caught:
        client.charge(
            "DUP@example.com", "25.00", "usd", payment_method="pm_card_visa", description="June"
        )
    error = caught.value
    assert error.previous.id == first.id and error.previous.amount == first.amount
    message = str(error)
    assert first.id in message and "allow_duplicate=True" in message and "$25.00" in message
    assert "Nothing was sent" in message
    assert len(all_charges(client)) == 1
    # Another card does not make it a different charge: the guard is customer/amount/currency/text.
    with pytest.raises(DuplicateCharge):
        client.charge(
            "dup@example.com", 25, "usd", payment_method="pm_card_mastercard", description="June"
        )
    # Different description, amount or an explicit override are new charges with new keys.
    client.charge("dup@example.com", 25, "usd", payment_method="pm_card_visa", description="July")
    client.charge("dup@example.com", 26, "usd", payment_method="pm_card_visa", description="June")
    again = client.charge(
        "dup@example.com",
        25,
        "usd",
        payment_method="pm_card_visa",
        description="June",
        allow_duplicate=True,
    )
    assert again.id != first.id
    assert len(all_charges(client)) == 4
    keys = [row.idempotency_key for row in client.ledger.rows()]
    assert len(keys) == len(set(keys)) == 4


def test_duplicate_window_is_configurable(connect_to: Callable[..., Client]) -> None:
    client = connect_to(duplicate_window=timedelta(0))
    client.charge("w@example.com", 25, "usd", payment_method="pm_card_visa")
    client.charge("w@example.com", 25, "usd", payment_method="pm_card_visa")
    assert len(all_charges(client)) == 2


def test_same_cell_in_two_threads_charges_once(client: Client) -> None:
    barrier = threading.Barrier(2)
    results: list[object] = []
    customer = client.find_or_create_customer("twice@example.com")

    def run() -> None:
        barrier.wait()
        try:
            results.append(client.charge(customer, 15, "usd", payment_method="pm_card_visa"))
        except DuplicateCharge as exc:
            results.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(results) == 2
    assert len(all_charges(client)) == 1
    ids = {r.id if isinstance(r, Charge) else r.previous.id for r in results}  # type: ignore[union-attr]
    assert len(ids) == 1


def test_recent_charges_newest_first(client: Client) -> None:
    made = [
        client.charge("r@example.com", 10 + i, "usd", payment_method="pm_card_visa")
        for i in range(3)
    ]
    recent = client.recent_charges(limit=2)
    assert [c.id for c in recent] == [made[2].id, made[1].id]
    with pytest.raises(InvalidArgument):
        client.recent_charges(limit=0)


def test_ledger_frame_after_a_session(client: Client) -> None:
    ok = client.charge("f@example.com", 10, "usd", payment_method="pm_card_visa")
    with pytest.raises(CardDeclined):
        client.charge("f@example.com", 11, "usd", payment_method="pm_card_chargeCustomerFail")
    client.refund(ok, 2)
    frame = client.ledger.frame()
    assert frame["kind"].tolist() == ["charge", "charge", "refund"]
    assert frame["outcome"].tolist() == ["succeeded", "declined", "succeeded"]
    assert frame["amount"].tolist() == [1000, 1100, 200]
    assert frame["mode"].unique().tolist() == ["test"]
    assert (frame["http_attempts"] == 1).all() and (frame["replays"] == 0).all()
    assert frame["params"].str.contains("pm_card_visa").iloc[0]
    assert str(frame["created_at"].dtype) == "datetime64[ns, UTC]"


def test_key_never_in_logs_during_real_requests(
    sandbox: Any, client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    sandbox.configure(fault_rate=0.5, fault_seed=11)  # so retries are logged as well
    with caplog.at_level(logging.DEBUG):
        charge = client.charge("log@example.com", 10, "usd", payment_method="pm_card_visa")
        client.refund(charge)
    sandbox.configure(fault_rate=0.0)
    names = {record.name for record in caplog.records}
    assert "stripe" in names  # stripe-python's own request/response records were captured
    assert client.stats.retries > 0 and "billing_kit" in names  # our retry log lines too
    assert TEST_KEY not in caplog.text
    for record in caplog.records:
        assert TEST_KEY not in record.getMessage()


def test_rejected_key_is_masked(sandbox: object) -> None:
    live = "rk_live_" + "Zq" * 12
    url = sandbox.url  # type: ignore[attr-defined]
    with (
        billing_kit.connect(live, api_base=url, allow_live=True, backoff=0) as client,
        pytest.raises(AuthenticationFailed) as caught,
    ):
        client.find_or_create_customer("auth@example.com")
    error = caught.value
    assert error.http_status == 401
    for text in (str(error), repr(error), str(error.args)):
        assert live not in text


def test_a_new_explicit_key_still_meets_the_duplicate_guard(client: Client) -> None:
    # A form passes one fresh key per confirmed intent; a second confirmed intent for the same
    # customer, amount, currency and description must still be questioned, not charged.
    first = client.charge("twice@example.com", 10, "usd", idempotency_key="form-1", **VISA)
    with pytest.raises(billing_kit.DuplicateCharge) as caught:
        client.charge("twice@example.com", 10, "usd", idempotency_key="form-2", **VISA)
    assert caught.value.previous.id == first.id
    assert client.ledger.get("form-2") is None
    assert len(all_charges(client)) == 1
    again = client.charge(
        "twice@example.com", 10, "usd", idempotency_key="form-2", allow_duplicate=True, **VISA
    )
    assert again.id != first.id and len(all_charges(client)) == 2


def test_explicit_idempotency_key(client: Client) -> None:
    first = client.charge("key@example.com", 10, "usd", idempotency_key="invoice-42", **VISA)
    # The same key and details again (say, another kernel): Stripe replays, no second charge.
    again = client.charge(
        "key@example.com", 10, "usd", idempotency_key="invoice-42", allow_duplicate=True, **VISA
    )
    row = client.ledger.get("invoice-42")
    assert again.id == first.id and row is not None and row.replays == 1
    with pytest.raises(billing_kit.IdempotencyConflict, match="'invoice-42' was already used"):
        client.charge("key@example.com", 11, "usd", idempotency_key="invoice-42", **VISA)
    assert len(all_charges(client)) == 1
    assert client.ledger.get("invoice-42").outcome == "succeeded"  # type: ignore[union-attr]
