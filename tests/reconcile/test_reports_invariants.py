"""Invariants of the reports on a seeded history (property tests over periods, cut-offs, zones).

The seeded history (``billing_kit.sandbox.seed``) has automatic payouts every business day, one
failed payout and its reversal, a manual payout, a refund failure, an FX refund at a later rate,
disputes won and lost, and payouts still in transit at its end. The history is pulled once; the
reports are then computed for many periods from the same frames.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import billing_kit
from billing_kit.reconcile import _reports, gather
from billing_kit.sandbox.seed import seed
from tests.support import TEST_KEY

UNTIL = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
END = int(UNTIL.timestamp())
DAYS = 75
START = END - DAYS * 86_400
ZONES = ("UTC", "America/New_York", "Asia/Tokyo", "Pacific/Kiritimati", "Europe/Paris")
MONTHS = ("2026-08-01", "2026-09-01", "2026-10-01", "2026-11-01", "2026-12-01")


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from billing_kit.sandbox import start

    folder = tmp_path_factory.mktemp("seeded")
    seed(folder / "history.db", charges=3_000, days=DAYS, seed=11, until=UNTIL)
    server = start(db=folder / "history.db")
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("BILLING_KIT_HOME", str(folder / "home"))
            with billing_kit.connect(TEST_KEY, api_base=server.url) as client:
                balance = client.stripe.v1.balance.retrieve()
                live = sum(e.amount for e in [*balance.available, *balance.pending])
                yield gather(client, END + 30 * 86_400), live
    finally:
        server.stop()


def _unix(day: str, tz: str) -> int:
    return int(pd.Timestamp(day, tz=tz).timestamp())


def _values(frame: pd.DataFrame) -> dict[str, Decimal]:
    return dict(zip(frame["category"], frame["net_amount"], strict=True))


def test_the_seeded_history_has_every_special_case(seeded: Any) -> None:
    history, _ = seeded
    categories = set(history.transactions["reporting_category"].astype(str))
    assert categories == {"charge", "refund", "refund_failure", "dispute", "dispute_reversal",
                          "payout", "payout_reversal"}  # fmt: skip
    payouts = history.payouts
    assert set(payouts["status"].astype(str)) == {"paid", "failed", "in_transit"}
    assert (~payouts["automatic"]).sum() == 1
    assert set(payouts["reconciliation_status"].astype(str)) == {
        "completed", "in_progress", "not_applicable"}  # fmt: skip
    paid = payouts[payouts["status"] == "paid"]
    assert paid["trace_id"].notna().all()
    # The FX refund went back at another rate than its charge came in at.
    refunds = history.transactions[history.transactions["reporting_category"] == "refund"]
    rates = {round(float(r), 6) for r in refunds["exchange_rate"].dropna()}
    assert any(round(r / 0.98, 6) in rates for r in rates)


def test_the_whole_history_ends_at_the_live_balance(seeded: Any) -> None:
    history, live = seeded
    # The sandbox's /v1/balance (available + pending) is an independent sum of the same money.
    summary = _reports.balance_summary(
        history, START - 86_400, END + 30 * 86_400, live={"usd": live}
    )
    assert set(summary["category"]) == {"starting_balance", "activity_gross", "activity_fee",
                                        "activity", "payouts", "ending_balance"}  # fmt: skip
    assert _values(summary)["ending_balance"] == Decimal(live) / 100


def test_a_history_missing_a_transaction_says_where_and_why(seeded: Any) -> None:
    history, live = seeded
    txns = history.transactions
    lost = txns[txns["reporting_category"] == "refund_failure"]
    partial = replace(history, transactions=txns.drop(lost.index))
    summary = _reports.balance_summary(
        partial, START - 86_400, END + 30 * 86_400, live={"usd": live}
    )
    row = summary[summary["category"] == "unreconciled"]
    assert list(row["net_amount"]) == list(lost["net"])
    assert "missing from the history" in row["description"].iloc[0]
    # The payout that listed it no longer ties, and says why.
    payouts = _reports.payout_reconciliation(partial, START, END + 30 * 86_400, "UTC").summary
    broken = payouts[payouts["difference"] != Decimal(0)]
    assert list(broken["difference"]) == [-lost["net"].iloc[0]]
    assert "1 listed transaction(s) are missing" in broken["reason"].iloc[0]


@pytest.mark.parametrize("tz", ZONES)
def test_months_roll_forward_and_chain(seeded: Any, tz: str) -> None:
    history, _ = seeded
    previous = None
    for first, last in itertools.pairwise(MONTHS):
        summary = _reports.balance_summary(history, _unix(first, tz), _unix(last, tz))
        values = _values(summary)
        assert "unreconciled" not in values
        assert (
            values["starting_balance"] + values["activity"] + values["payouts"]
            == values["ending_balance"]
        )
        assert values["activity_gross"] + values["activity_fee"] == values["activity"]
        if previous is not None:
            assert values["starting_balance"] == previous
        previous = values["ending_balance"]


def test_every_completed_automatic_payout_ties(seeded: Any) -> None:
    history, _ = seeded
    result = _reports.payout_reconciliation(history, START, END + 30 * 86_400, "UTC")
    summary = result.summary
    done = summary[summary["reconciliation_status"] == "completed"]
    assert len(done) >= 45
    assert (done["difference"] == Decimal(0)).all()
    assert (done["net"] == done["amount"]).all()
    failed = summary[summary["status"] == "failed"]
    assert len(failed) == 1 and "failed" in failed["reason"].iloc[0]
    in_transit = summary[summary["reconciliation_status"] == "in_progress"]
    assert len(in_transit) >= 1 and in_transit["reason"].str.contains("not final").all()
    by_payout = result.frame.groupby("automatic_payout_id", observed=True)["net"].sum()
    assert dict(by_payout) == dict(zip(summary["automatic_payout_id"], summary["amount"],
                                       strict=True))  # fmt: skip


@settings(max_examples=15)
@given(
    cut=st.integers(min_value=START - 86_400, max_value=END + 5 * 86_400),
    tz=st.sampled_from(ZONES),
)
def test_every_transaction_is_paid_out_or_in_the_ending_balance(
    seeded: Any, cut: int, tz: str
) -> None:
    history, _ = seeded
    items = _reports.payout_reconciliation(history, START - 30 * 86_400, cut, tz).frame
    ending = _reports.ending_balance_reconciliation(history, cut, tz)
    paid_ids = set(items["balance_transaction_id"])
    open_ids = set(ending["balance_transaction_id"])
    assert not paid_ids & open_ids
    txns = history.transactions
    own = set(history.payouts.loc[history.payouts["automatic"], "balance_transaction"])
    placed = txns["created"].where(~txns["id"].isin(own), txns["available_on"])
    expected = set(txns.loc[placed < pd.Timestamp(cut, unit="s", tz="UTC"), "id"]) - own
    assert paid_ids | open_ids == expected
    assert len(items) == len(paid_ids) and len(ending) == len(open_ids)
    summary = _reports.balance_summary(history, START - 86_400, cut)
    total = ending["net"].sum() if len(ending) else Decimal(0)
    assert total == _values(summary).get("ending_balance", Decimal(0))
