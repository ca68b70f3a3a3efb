"""Each history frame from the real sandbox through the real client, against hand-built frames."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

import billing_kit
from billing_kit import history
from billing_kit.history import ProgressUpdate
from tests.support import TEST_KEY

DEC = pd.ArrowDtype(pa.decimal128(18, 3))
STR = pd.ArrowDtype(pa.string())
BOOL = pd.ArrowDtype(pa.bool_())
UTC = pd.DatetimeTZDtype("ns", "UTC")
INT = pd.ArrowDtype(pa.int64())


@pytest.fixture
def client(sandbox: Any) -> Any:
    with billing_kit.connect(TEST_KEY, api_base=sandbox.url) as connected:
        yield connected


def _cat(values: list[Any], categories: list[str]) -> pd.Categorical:
    return pd.Categorical(values, categories=categories)


def _official(client: Any, charge_id: str) -> dict[str, Any]:
    """The charge as the official library returns it (an independent path to the same facts)."""
    charge = client.stripe.v1.charges.retrieve(charge_id, {"expand": ["balance_transaction"]})
    return dict(charge.to_dict())


def test_charges_frame_matches_hand_built_frame(client: Any) -> None:
    ana = client.find_or_create_customer("ana@example.com", name="Ana")
    usd = client.charge(
        ana, "12.34", "usd", payment_method="pm_card_visa", metadata={"order_id": "A-1"}
    )
    jpy = client.charge(ana, "500", "jpy", payment_method="pm_card_mastercard")
    kwd = client.charge(ana, "1.230", "kwd", payment_method="pm_card_visa")
    with pytest.raises(billing_kit.CardDeclined) as declined:
        client.charge(
            ana, "9.99", "usd", payment_method="pm_card_visa_chargeDeclinedInsufficientFunds"
        )
    failed_id = declined.value.charge_id
    ids = [usd.id, jpy.id, kwd.id, failed_id]
    o = {i: _official(client, i) for i in ids}
    bt = {i: o[i]["balance_transaction"] or {} for i in ids}
    # Newest first; charges made within one second keep Stripe's order (last made first).
    order = sorted(ids, key=lambda i: (o[i]["created"], i), reverse=True)

    def col(values: dict[str, Any]) -> list[Any]:
        return [values[i] for i in order]

    settle = sorted({bt[i]["currency"] for i in ids if bt[i]})
    expected = pd.DataFrame(
        {
            "id": pd.array(order, dtype=STR),
            "created": pd.to_datetime(
                col({i: o[i]["created"] for i in ids}), unit="s", utc=True
            ).astype(UTC),
            "status": _cat(
                col(
                    {
                        usd.id: "succeeded",
                        jpy.id: "succeeded",
                        kwd.id: "succeeded",
                        failed_id: "failed",
                    }
                ),
                ["succeeded", "pending", "failed"],
            ),
            "currency": _cat(
                col({usd.id: "usd", jpy.id: "jpy", kwd.id: "kwd", failed_id: "usd"}),
                ["jpy", "kwd", "usd"],
            ),
            "amount_minor": pd.array(
                col({usd.id: 1234, jpy.id: 500, kwd.id: 1230, failed_id: 999}),
                dtype="int64[pyarrow]",
            ),
            "amount": pd.array(
                col(
                    {
                        usd.id: Decimal("12.34"),
                        jpy.id: Decimal(500),
                        kwd.id: Decimal("1.230"),
                        failed_id: Decimal("9.99"),
                    }
                ),
                dtype=DEC,
            ),
            "amount_captured_minor": pd.array(
                col({usd.id: 1234, jpy.id: 500, kwd.id: 1230, failed_id: 0}), dtype="int64[pyarrow]"
            ),
            "amount_captured": pd.array(
                col(
                    {
                        usd.id: Decimal("12.34"),
                        jpy.id: Decimal(500),
                        kwd.id: Decimal("1.230"),
                        failed_id: Decimal(0),
                    }
                ),
                dtype=DEC,
            ),
            "amount_refunded_minor": pd.array([0, 0, 0, 0], dtype="int64[pyarrow]"),
            "amount_refunded": pd.array([Decimal(0)] * 4, dtype=DEC),
            "captured": pd.array(
                col({usd.id: True, jpy.id: True, kwd.id: True, failed_id: False}), dtype=BOOL
            ),
            "paid": pd.array(
                col({usd.id: True, jpy.id: True, kwd.id: True, failed_id: False}), dtype=BOOL
            ),
            "refunded": pd.array([False] * 4, dtype=BOOL),
            "disputed": pd.array([False] * 4, dtype=BOOL),
            "settlement_currency": _cat(col({i: bt[i].get("currency") for i in ids}), settle),
            "fee_minor": pd.array(col({i: bt[i].get("fee") for i in ids}), dtype="int64[pyarrow]"),
            "fee": pd.array(col({i: _major(bt[i], "fee") for i in ids}), dtype=DEC),
            "net_minor": pd.array(col({i: bt[i].get("net") for i in ids}), dtype="int64[pyarrow]"),
            "net": pd.array(col({i: _major(bt[i], "net") for i in ids}), dtype=DEC),
            "customer": pd.array([ana.id] * 4, dtype=STR),
            "payment_intent": pd.array(col({i: o[i]["payment_intent"] for i in ids}), dtype=STR),
            "payment_method": pd.array(col({i: o[i]["payment_method"] for i in ids}), dtype=STR),
            "balance_transaction": pd.array(col({i: bt[i].get("id") for i in ids}), dtype=STR),
            "description": pd.array(col({i: o[i]["description"] for i in ids}), dtype=STR),
            "brand": _cat(
                col({usd.id: "visa", jpy.id: "mastercard", kwd.id: "visa", failed_id: "visa"}),
                ["mastercard", "visa"],
            ),
            "last4": _cat(
                col({usd.id: "4242", jpy.id: "4444", kwd.id: "4242", failed_id: "9995"}),
                ["4242", "4444", "9995"],
            ),
            "card_country": _cat(["US"] * 4, ["US"]),
            "exp_month": pd.array(
                col({i: o[i]["payment_method_details"]["card"]["exp_month"] for i in ids}),
                dtype="int8[pyarrow]",
            ),
            "exp_year": pd.array(
                col({i: o[i]["payment_method_details"]["card"]["exp_year"] for i in ids}),
                dtype="int16[pyarrow]",
            ),
            "funding": _cat(
                col({i: o[i]["payment_method_details"]["card"]["funding"] for i in ids}),
                sorted({o[i]["payment_method_details"]["card"]["funding"] for i in ids}),
            ),
            "failure_code": _cat(
                col({usd.id: None, jpy.id: None, kwd.id: None, failed_id: "card_declined"}),
                ["card_declined"],
            ),
            "failure_message": _cat(
                col({i: o[i]["failure_message"] for i in ids}), [o[failed_id]["failure_message"]]
            ),
            "decline_code": _cat(
                col({usd.id: None, jpy.id: None, kwd.id: None, failed_id: "insufficient_funds"}),
                ["insufficient_funds"],
            ),
            "outcome_type": _cat(
                col(
                    {
                        usd.id: "authorized",
                        jpy.id: "authorized",
                        kwd.id: "authorized",
                        failed_id: "issuer_declined",
                    }
                ),
                ["authorized", "manual_review", "issuer_declined", "blocked", "invalid"],
            ),
            "outcome_reason": _cat(
                col({usd.id: None, jpy.id: None, kwd.id: None, failed_id: "insufficient_funds"}),
                ["insufficient_funds"],
            ),
            "network_status": _cat(
                col(
                    {
                        usd.id: "approved_by_network",
                        jpy.id: "approved_by_network",
                        kwd.id: "approved_by_network",
                        failed_id: "declined_by_network",
                    }
                ),
                ["approved_by_network", "declined_by_network"],
            ),
            "risk_level": _cat(
                ["normal"] * 4, ["normal", "elevated", "highest", "not_assessed", "unknown"]
            ),
            "risk_score": pd.array(
                col({i: o[i]["outcome"]["risk_score"] for i in ids}), dtype="int8[pyarrow]"
            ),
            "seller_message": _cat(
                col({i: o[i]["outcome"]["seller_message"] for i in ids}),
                sorted({o[i]["outcome"]["seller_message"] for i in ids}),
            ),
            "metadata.order_id": pd.array(
                col({usd.id: "A-1", jpy.id: None, kwd.id: None, failed_id: None}), dtype=STR
            ),
        }
    )
    frame = history.charges_frame(client, metadata=["order_id"], progress=False)
    pd.testing.assert_frame_equal(frame, expected)


def _major(txn: dict[str, Any], field: str) -> Decimal | None:
    if not txn:
        return None
    exponent = billing_kit._money.currency_exponent(txn["currency"])
    return Decimal(txn[field]).scaleb(-exponent)


def test_exact_sums_across_zero_two_and_three_decimal_currencies(client: Any) -> None:
    bo = client.find_or_create_customer("bo@example.com")
    sent = {
        "jpy": ["50", "999", "12345"],
        "usd": ["0.50", "0.60", "19.99", "1.11"],
        "kwd": ["0.500", "1.230", "7.770"],
    }
    for currency, amounts in sent.items():
        for amount in amounts:
            client.charge(bo, amount, currency, payment_method="pm_card_visa", allow_duplicate=True)
    frame = history.charges_frame(client, progress=False)
    totals = frame.groupby("currency", observed=True)["amount"].sum()
    for currency, amounts in sent.items():
        assert totals[currency] == sum(Decimal(a) for a in amounts)
    # The minor units are what Stripe holds; the decimals are exactly those, scaled per currency.
    minor = frame.groupby("currency", observed=True)["amount_minor"].sum()
    assert minor["jpy"] == 13394 and minor["usd"] == 2220 and minor["kwd"] == 9500


def test_refunds_frame_matches_hand_built_frame(client: Any) -> None:
    cy = client.find_or_create_customer("cy@example.com")
    charge = client.charge(cy, "1000", "jpy", payment_method="pm_card_visa")
    refund = client.refund(charge, "300", reason="requested_by_customer")
    official = client.stripe.v1.refunds.retrieve(refund.id).to_dict()
    expected = pd.DataFrame(
        {
            "id": pd.array([refund.id], dtype=STR),
            "created": pd.to_datetime([official["created"]], unit="s", utc=True).astype(UTC),
            "status": _cat(
                ["succeeded"], ["pending", "requires_action", "succeeded", "failed", "canceled"]
            ),
            "currency": _cat(["jpy"], ["jpy"]),
            "amount_minor": pd.array([300], dtype="int64[pyarrow]"),
            "amount": pd.array([Decimal(300)], dtype=DEC),
            "charge": pd.array([charge.id], dtype=STR),
            "payment_intent": pd.array([official["payment_intent"]], dtype=STR),
            "reason": _cat(["requested_by_customer"], ["requested_by_customer"]),
            "failure_reason": _cat([None], []),
            "balance_transaction": pd.array([official["balance_transaction"]], dtype=STR),
            "description": pd.array([official.get("description")], dtype=STR),
        }
    )
    pd.testing.assert_frame_equal(history.refunds_frame(client, progress=False), expected)
    charges = history.charges_frame(client, progress=False)
    assert charges.loc[0, "amount_refunded"] == Decimal(300)
    assert not charges.loc[0, "refunded"]


def test_balance_transactions_customers_disputes_and_status_filters(client: Any) -> None:
    dee = client.find_or_create_customer("dee@example.com", name="Dee")
    ok = client.charge(dee, "20.00", "usd", payment_method="pm_card_visa")
    disputed = client.charge(dee, "30.00", "usd", payment_method="pm_card_createDispute")
    txns = history.balance_transactions_frame(client, progress=False)
    charge_txn = txns[txns["source"] == ok.id].iloc[0]
    official = client.stripe.v1.balance_transactions.retrieve(str(charge_txn["id"])).to_dict()
    assert charge_txn["amount_minor"] == official["amount"] == 2000
    assert charge_txn["fee"] == Decimal(official["fee"]).scaleb(-2)
    assert charge_txn["net_minor"] == official["net"]
    customers = history.customers_frame(client, progress=False)
    assert customers[["id", "email", "name"]].values.tolist() == [
        [dee.id, "dee@example.com", "Dee"]
    ]
    assert customers["deleted"].tolist() == [False]
    disputes = history.disputes_frame(client, progress=False)
    assert disputes["charge"].tolist() == [disputed.id]
    assert disputes.loc[0, "amount"] == Decimal("30.00")
    charges = history.charges_frame(client, progress=False)
    assert charges.set_index("id").loc[disputed.id, "disputed"]
    succeeded = history.charges_frame(client, status="succeeded", progress=False, refresh=False)
    assert set(succeeded["id"]) == {ok.id, disputed.id}
    assert history.charges_frame(client, status=["failed"], progress=False, refresh=False).empty


def test_payouts_frame(client: Any, sandbox: Any) -> None:
    eve = client.find_or_create_customer("eve@example.com")
    client.charge(eve, "50.00", "usd", payment_method="pm_card_bypassPending")
    client.stripe.raw_request("post", "/v1/_sandbox/payouts/sweep")
    payouts = history.payouts_frame(client, progress=False)
    official = client.stripe.v1.payouts.list({"limit": 100}).to_dict()["data"]
    assert payouts["id"].tolist() == [p["id"] for p in official]
    assert payouts["amount_minor"].tolist() == [p["amount"] for p in official]
    assert list(payouts.columns) == list(history.dtypes("payouts"))


def test_time_zone_customer_filter_progress_callback_and_cached_reads(client: Any) -> None:
    fay = client.find_or_create_customer("fay@example.com")
    gus = client.find_or_create_customer("gus@example.com")
    mine = client.charge(fay, "5.00", "usd", payment_method="pm_card_visa")
    client.charge(gus, "6.00", "usd", payment_method="pm_card_visa")
    updates: list[ProgressUpdate] = []
    only = history.charges_frame(client, customer=fay, progress=updates.append)
    assert only["id"].tolist() == [mine.id]
    assert updates and updates[-1].done and updates[-1].rows >= 1
    tokyo = history.charges_frame(client, tz="Asia/Tokyo", progress=False)
    assert str(tokyo["created"].dtype) == "datetime64[ns, Asia/Tokyo]"
    # A settled window (older than the consistency margin) is read from the cache alone.
    settled = history.charges_frame(client, until=time.time() - 600, progress=False, refresh=False)
    assert settled.attrs["pull"]["requests"] == 0
    late = client.charge(gus, "7.00", "usd", payment_method="pm_card_visa")
    # "Up to now" is never settled: without a refresh the tail is still read (one request) and
    # the charge made since the last pull shows.
    cached = history.charges_frame(client, progress=False, refresh=False)
    assert cached.attrs["pull"]["requests"] == 1
    assert len(cached) == 3 and late.id in set(cached["id"])
    by_customer = history.charges_frame(client, customer=gus.id, progress=False, refresh=False)
    assert by_customer.attrs["pull"]["requests"] == 1
    assert by_customer["customer"].tolist() == [gus.id, gus.id]


def test_progress_drives_a_given_tqdm_bar(client: Any) -> None:
    import io

    from tqdm import tqdm

    lee = client.find_or_create_customer("lee@example.com")
    for amount in ("1.00", "2.00", "3.00"):
        client.charge(lee, amount, "usd", payment_method="pm_card_visa", allow_duplicate=True)
    out = io.StringIO()
    bar = tqdm(file=out, disable=False, unit=" rows")
    frame = history.charges_frame(client, progress=bar)
    assert bar.n == len(frame) == 3
    assert "requests=" in out.getvalue()
    bar.close()


def test_client_methods_delegate_to_the_history_functions(client: Any) -> None:
    mo = client.find_or_create_customer("mo@example.com")
    charge = client.charge(mo, "4.00", "usd", payment_method="pm_card_visa")
    client.refund(charge)
    frames = {
        "charges": client.charges_frame(progress=False),
        "refunds": client.refunds_frame(progress=False),
        "balance_transactions": client.balance_transactions_frame(progress=False),
        "payouts": client.payouts_frame(progress=False),
        "disputes": client.disputes_frame(progress=False),
        "customers": client.customers_frame(progress=False),
    }
    for kind, frame in frames.items():
        assert list(frame.columns) == list(history.dtypes(kind)), kind
    assert frames["charges"]["refunded"].tolist() == [True]
    assert frames["refunds"]["charge"].tolist() == [charge.id]
    assert len(frames["balance_transactions"]) == 2
