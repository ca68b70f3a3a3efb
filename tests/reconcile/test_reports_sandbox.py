"""Stripe's reports computed from a hand-made sandbox history, against hand-built frames.

The history (clock fixed, so every figure is known in advance; fees are 2.9% + 0.30 USD, plus 1%
for a converted charge, https://stripe.com/pricing):

Monday 2026-11-02 10:00 UTC
    A 100.00 USD (fee 3.20), refunded 10.00; B 50.00 EUR settled at 1.08 = 54.00 USD (fee 2.41),
    refunded in full; C 80.00 USD authorized, 60.00 captured (fee 2.04); D 40.00 USD refunded,
    the refund fails (refund_failure +40.00); E 30.00 USD disputed and won (fee 1.17, dispute
    -30.00 - 15.00, reversal +30.00); F 20.00 USD disputed and lost (fee 0.88).
Wednesday 2026-11-04 06:00 UTC
    automatic payout P1 of 178.84 (arrival 2026-11-04); G 200.00 USD available at once (fee
    6.10); a manual payout of 100.00.
Thursday 2026-11-05 06:00 UTC
    automatic payout P2 of 93.90 (G net 193.90 - the manual payout), arrival 2026-11-05.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

import billing_kit
from billing_kit.history import InvalidOption
from tests.support import TEST_KEY

DEC = pd.ArrowDtype(pa.decimal128(18, 3))
STR = pd.ArrowDtype(pa.string())
MONDAY = 1_793_577_600 + 10 * 3600  # 2026-11-02 10:00 UTC
WEDNESDAY = MONDAY + 2 * 86_400 - 4 * 3600  # 2026-11-04 06:00 UTC


def _dec(values: list[str]) -> Any:
    return pd.array([Decimal(v) for v in values], dtype=DEC)


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from billing_kit.sandbox import start

    server = start(db=":memory:")
    home = tmp_path_factory.mktemp("bk-home")
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("BILLING_KIT_HOME", str(home))
            with billing_kit.connect(TEST_KEY, api_base=server.url) as client:
                ids = _make_history(client)
                yield client, ids
    finally:
        server.stop()


def _clock(client: Any, now: int) -> None:
    client.stripe.raw_request("post", "/v1/_sandbox/clock", now=now)


def _sweep(client: Any) -> str:
    made = client.stripe.raw_request("post", "/v1/_sandbox/payouts/sweep")
    (payout,) = client.stripe.deserialize(made, api_mode="V1").data
    return str(payout.id)


def _make_history(client: Any) -> dict[str, str]:
    _clock(client, MONDAY)
    ana = client.find_or_create_customer("ana@example.com", name="Ana")
    visa = "pm_card_visa"
    a = client.charge(ana, "100.00", "usd", payment_method=visa, metadata={"order_id": "A-1"})
    b = client.charge(ana, "50.00", "eur", payment_method=visa)
    c = client.charge(ana, "80.00", "usd", payment_method=visa, capture=False)
    client.capture(c, "60.00")
    d = client.charge(ana, "40.00", "usd", payment_method="pm_card_refundFail")
    e = client.charge(ana, "30.00", "usd", payment_method="pm_card_createDispute")
    f = client.charge(ana, "20.00", "usd", payment_method="pm_card_createDispute")
    client.refund(a, "10.00")
    client.refund(b)
    client.refund(d)
    for charge, evidence in ((e, "winning_evidence"), (f, "losing_evidence")):
        dispute = client.stripe.v1.disputes.list({"charge": charge.id}).data[0]
        client.stripe.v1.disputes.update(dispute.id, {"evidence": {"uncategorized_text": evidence}})
    _clock(client, WEDNESDAY)
    p1 = _sweep(client)
    g = client.charge(ana, "200.00", "usd", payment_method="pm_card_bypassPending")
    _clock(client, WEDNESDAY + 60)  # a minute later: rows made in one second sort by id
    manual = client.stripe.v1.payouts.create({"amount": 10_000, "currency": "usd"})
    _clock(client, WEDNESDAY + 86_400)
    p2 = _sweep(client)
    return {"p1": p1, "p2": p2, "g": g.id, "manual": manual.id,
            "customer": ana.id, "a": a.id}  # fmt: skip


def _summary(currency: str, values: list[str]) -> pd.DataFrame:
    cats = ["starting_balance", "activity_gross", "activity_fee", "activity", "payouts",
            "ending_balance"]  # fmt: skip
    descs = ["Starting balance", "Activity before fees", "Less fees",
             "Net balance change from activity", "Total payouts", "Ending balance"]  # fmt: skip
    return pd.DataFrame(
        {
            "category": cats,
            "currency": [currency] * 6,
            "description": pd.array(descs, dtype=STR),
            "net_amount": _dec(values),
        }
    )


def test_balance_summary_rolls_forward_in_utc(story: Any) -> None:
    client, _ = story
    frame = client.balance_summary("2026-11-01", "2026-11-05")
    # 504.00 gross of charges - 104.00 refunds + 40.00 refund failure - 50.00 disputed + 30.00
    # reinstated - 100.00 manual payout = 320.00; fees 17.26 + 30.00 dispute fees.
    expected = _summary("usd", ["0", "320.00", "-47.26", "272.74", "-178.84", "93.90"])
    pd.testing.assert_frame_equal(frame, expected)


def test_time_zone_moves_the_payout_that_arrives_at_midnight_utc(story: Any) -> None:
    client, _ = story
    # P2 counts at 2026-11-05 00:00 UTC, which is 2026-11-04 19:00 in New York: inside.
    frame = client.balance_summary("2026-11-01", "2026-11-05", tz="America/New_York")
    expected = _summary("usd", ["0", "320.00", "-47.26", "272.74", "-272.74", "0"])
    pd.testing.assert_frame_equal(frame, expected)
    # Consecutive periods chain: the ending balance is the next starting balance.
    after = client.balance_summary("2026-11-05", "2026-11-06")
    assert after["net_amount"].iloc[0] == Decimal("93.90")
    assert after["net_amount"].iloc[5] == Decimal("0")


def test_activity_by_reporting_category(story: Any) -> None:
    client, _ = story
    frame = client.balance_activity("2026-11-01", "2026-11-05")
    expected = pd.DataFrame(
        {
            "reporting_category": [
                "charge",
                "dispute",
                "dispute_reversal",
                "payout",
                "refund",
                "refund_failure",
            ],
            "currency": ["usd"] * 6,
            "count": [7, 2, 1, 1, 3, 1],
            "gross": _dec(["504.00", "-50.00", "30.00", "-100.00", "-104.00", "40.00"]),
            "fee": _dec(["17.26", "30.00", "0", "0", "0", "0"]),
            "net": _dec(["486.74", "-80.00", "30.00", "-100.00", "-104.00", "40.00"]),
        }
    )
    pd.testing.assert_frame_equal(frame, expected)


def test_itemized_activity_links_charges_customers_and_metadata(story: Any) -> None:
    client, ids = story
    frame = client.balance_activity("2026-11-01", "2026-11-05", tz="Europe/Paris", itemized=True)
    assert len(frame) == 15
    assert frame["net"].sum() == Decimal("272.74")
    refund_a = frame[(frame["charge_id"] == ids["a"]) & (frame["reporting_category"] == "refund")]
    assert list(refund_a["payment_metadata[order_id]"]) == ["A-1"]
    assert list(refund_a["customer_id"]) == [ids["customer"]]
    assert list(refund_a["customer_facing_amount"]) == [Decimal("10.00")]
    eur = frame[frame["customer_facing_currency"] == "eur"]
    assert sorted(eur["gross"]) == [Decimal("-54.00"), Decimal("54.00")]
    assert set(eur["customer_facing_amount"]) == {Decimal("50.00")}
    assert str(frame["created"].dt.tz) == "Europe/Paris"
    assert (frame["created"] == frame["created_utc"]).all()
    partial = frame[frame["gross"] == Decimal("60.00")]
    assert list(partial["customer_facing_amount"]) == [Decimal("60.00")]
    assert set(frame.loc[frame["reporting_category"] == "dispute", "dispute_reason"]) == {
        "fraudulent"
    }


def test_payout_reconciliation_ties_each_automatic_payout(story: Any) -> None:
    client, ids = story
    result = client.payout_reconciliation("2026-11-01", "2026-11-06")
    wednesday = pd.Timestamp("2026-11-04", tz="UTC")
    thursday = pd.Timestamp("2026-11-05", tz="UTC")
    expected = pd.DataFrame(
        {
            "automatic_payout_id": pd.array([ids["p1"], ids["p2"]], dtype=STR),
            "currency": pd.Categorical(["usd", "usd"]),
            "automatic_payout_effective_at_utc": pd.DatetimeIndex([wednesday, thursday]).as_unit(
                "ns"
            ),
            "automatic_payout_effective_at": pd.DatetimeIndex([wednesday, thursday]).as_unit("ns"),
            "status": pd.Categorical(["paid", "paid"]),
            "reconciliation_status": pd.Categorical(["completed", "completed"]),
            "trace_id": pd.array([None, None], dtype=STR),
            "count": [13, 2],
            "gross": _dec(["220.00", "100.00"]),
            "fee": _dec(["41.16", "6.10"]),
            "net": _dec(["178.84", "93.90"]),
            "amount": _dec(["178.84", "93.90"]),
            "difference": _dec(["0", "0"]),
            "reason": pd.array([None, None], dtype=STR),
        }
    )
    pd.testing.assert_frame_equal(result.summary, expected, check_index_type=False)
    items = result.frame
    assert dict(items.groupby("automatic_payout_id", observed=True)["net"].sum()) == {
        ids["p1"]: Decimal("178.84"), ids["p2"]: Decimal("93.90")}  # fmt: skip
    # Items come in payout order (by effective time), then by creation.
    assert list(items["automatic_payout_id"]) == [ids["p1"]] * 13 + [ids["p2"]] * 2
    # The manual payout cannot be attributed; its transaction reduces the next automatic payout.
    manual = items[items["source_id"] == ids["manual"]]
    assert list(manual["automatic_payout_id"]) == [ids["p2"]]
    assert list(manual["reporting_category"]) == ["payout"]


def test_ending_balance_lists_what_is_not_paid_out(story: Any) -> None:
    client, ids = story
    frame = client.ending_balance_reconciliation("2026-11-05")
    picked = frame[["source_id", "reporting_category", "gross", "fee", "net"]]
    expected = pd.DataFrame(
        {
            "source_id": pd.array([ids["g"], ids["manual"]], dtype=STR),
            "reporting_category": pd.Categorical(["charge", "payout"]),
            "gross": _dec(["200.00", "-100.00"]),
            "fee": _dec(["6.10", "0"]),
            "net": _dec(["193.90", "-100.00"]),
        }
    )
    pd.testing.assert_frame_equal(picked.reset_index(drop=True), expected)
    # At the next cut-off P2 has arrived: nothing is left.
    assert client.ending_balance_reconciliation("2026-11-06").empty


@pytest.mark.parametrize(
    ("start", "end", "tz", "fix"),
    [
        ("2026-11-05", "2026-11-01", "UTC", "swap them"),
        ("yesterday-ish", "2026-11-01", "UTC", "YYYY-MM-DD"),
        ("2026-11-01", "2026-11-05", "Mars/Olympus", "IANA name"),
        ("2026-11-01", "2026-11-05", "America", "IANA name"),  # a folder of zones, not a zone
        ("2026-11-01", "2026-11-05", "x" * 300, "IANA name"),
        (None, "2026-11-05", "UTC", "a report needs both ends"),
    ],
)
def test_bad_periods_are_refused_before_any_request(
    start: Any, end: Any, tz: str, fix: str
) -> None:
    client = billing_kit.connect(TEST_KEY, api_base="http://127.0.0.1:9")  # nothing listens
    with pytest.raises(InvalidOption, match=fix):
        client.balance_summary(start, end, tz=tz)


def _run_report(client: Any, report_type: str, **parameters: Any) -> list[dict[str, str]]:
    """Run a report through the official library and read its CSV as Stripe serves it."""
    import csv
    import io

    import requests

    run = client.stripe.v1.reporting.report_runs.create(
        {"report_type": report_type, "parameters": parameters}
    )
    assert (run.status, run.result) == ("pending", None)
    done = client.stripe.v1.reporting.report_runs.retrieve(run.id)
    assert done.status == "succeeded" and done.result.purpose == "finance_report_run"
    path = f"/v1/files/{done.result.id}/contents"
    answer = requests.get(client.api_base + path, auth=(TEST_KEY, ""), timeout=10)
    assert answer.headers["content-type"].startswith("text/csv")
    assert int(done.result.size) == len(answer.content)
    return list(csv.DictReader(io.StringIO(answer.text)))


def test_the_sandbox_reporting_api_agrees_with_the_computed_reports(story: Any) -> None:
    client, _ = story
    # Inside the data Stripe says it has: from the first transaction's day (UTC) to the clock's.
    since, until = "2026-11-02T00:00:00-05:00", "2026-11-05T00:00:00Z"
    start, end = (int(pd.Timestamp(t).timestamp()) for t in (since, until))
    zone = {"interval_start": start, "interval_end": end, "timezone": "America/New_York"}
    types = client.stripe.v1.reporting.report_types.list().data
    assert {t.id for t in types} == {
        "balance.summary.1", "balance_change_from_activity.summary.1",
        "payout_reconciliation.itemized.5", "ending_balance_reconciliation.itemized.4"}  # fmt: skip
    summary = _run_report(client, "balance.summary.1", **zone)
    mine = client.balance_summary(since, until, tz="America/New_York")
    assert [(r["category"], r["currency"], Decimal(r["net_amount"])) for r in summary] == list(
        zip(mine["category"], mine["currency"], mine["net_amount"], strict=True)
    )
    activity = _run_report(client, "balance_change_from_activity.summary.1", **zone)
    mine = client.balance_activity(since, until, tz="America/New_York")
    assert [(r["reporting_category"], int(r["count"]), Decimal(r["net"])) for r in activity] == (
        list(zip(mine["reporting_category"], mine["count"], mine["net"], strict=True))
    )
    payouts = _run_report(client, "payout_reconciliation.itemized.5", **zone)
    mine = client.payout_reconciliation(since, until, tz="America/New_York").frame
    assert [(r["balance_transaction_id"], r["automatic_payout_id"]) for r in payouts] == list(
        zip(mine["balance_transaction_id"], mine["automatic_payout_id"], strict=True)
    )
    assert payouts[0]["automatic_payout_effective_at"] == "2026-11-03 19:00:00"
    ending = _run_report(client, "ending_balance_reconciliation.itemized.4", interval_end=end)
    mine = client.ending_balance_reconciliation("2026-11-05")
    assert [r["balance_transaction_id"] for r in ending] == list(mine["balance_transaction_id"])


@pytest.mark.parametrize(
    ("report_type", "parameters", "param"),
    [
        ("balance.summary.9", {"interval_end": MONDAY}, "report_type"),
        ("balance.summary.1", {"interval_end": MONDAY}, "parameters[interval_start]"),
        ("balance.summary.1", {"interval_start": 0, "interval_end": MONDAY},
         "parameters[interval_start]"),
        ("balance.summary.1", {"interval_start": MONDAY, "interval_end": 2**40},
         "parameters[interval_end]"),
        ("ending_balance_reconciliation.itemized.4",
         {"interval_end": MONDAY, "timezone": "Mars/Olympus"}, "parameters[timezone]"),
        ("ending_balance_reconciliation.itemized.4",
         {"interval_end": MONDAY, "timezone": "America"}, "parameters[timezone]"),
    ],
)  # fmt: skip
def test_report_runs_refuse_bad_parameters(
    story: Any, report_type: str, parameters: dict[str, Any], param: str
) -> None:
    import stripe

    client, _ = story
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.stripe.v1.reporting.report_runs.create(
            {"report_type": report_type, "parameters": parameters}
        )
    assert refused.value.param == param


def test_compare_with_stripe_finds_no_difference_with_the_sandbox(story: Any) -> None:
    client, _ = story
    since, until, zone = "2026-11-02T00:00:00-05:00", "2026-11-05T00:00:00Z", "America/New_York"
    frames = [
        client.balance_summary(since, until, tz=zone, compare_with_stripe=True),
        client.balance_activity(since, until, tz=zone, compare_with_stripe=True),
        client.balance_activity(since, until, tz=zone, itemized=True, compare_with_stripe=True),
        client.payout_reconciliation(since, until, tz=zone, compare_with_stripe=True).frame,
        client.ending_balance_reconciliation(until, tz=zone, compare_with_stripe=True),
    ]
    for frame in frames:
        found = frame.attrs["compare_with_stripe"]
        assert found.empty, found


def test_differences_name_each_disagreeing_row() -> None:
    from billing_kit.reconcile._compare import differences

    ours = pd.DataFrame(
        {
            "category": ["starting_balance", "activity", "payouts"],
            "currency": ["usd", "usd", "usd"],
            "net_amount": _dec(["0", "12.340", "-5"]),
        }
    )
    theirs = pd.DataFrame(
        {
            "category": ["starting_balance", "activity", "ending_balance"],
            "currency": ["usd", "usd", "usd"],
            "net_amount": ["0.00", "12.35", "7.34"],
        }
    )
    expected = pd.DataFrame(
        {
            "category": ["activity", "ending_balance", "payouts"],
            "currency": ["usd", "usd", "usd"],
            "net_amount_ours": ["12.34", None, "-5"],
            "net_amount_stripe": ["12.35", "7.34", None],
            "where": ["differs", "only_stripe", "only_ours"],
        }
    )
    found = differences(ours, theirs, "balance.summary.1")
    pd.testing.assert_frame_equal(found, expected, check_dtype=False)
