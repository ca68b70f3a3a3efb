"""Property test of the payout matcher: planted bank lines give the planted classes."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from billing_kit.history._schema import STRING_DTYPE
from billing_kit.reconcile._bank import build_result, match_payouts

# What the bank did with each payout: booked it on a business day within the tolerance, booked
# it late, booked another amount, or never booked it.
FATES = {
    "on_time": "matched",
    "late": "late",
    "short": "amount_mismatch",
    "lost": "missing_deposit",
}
MONDAY = pd.Timestamp("2026-11-02", tz="UTC")


@settings(max_examples=40)
@given(
    plan=st.lists(
        st.tuples(
            st.sampled_from(sorted(FATES)),
            st.integers(min_value=1, max_value=10**9),
            st.sampled_from(["usd", "eur", "jpy"]),
        ),
        min_size=1,
        max_size=25,
    ),
    strays=st.integers(min_value=0, max_value=3),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
)
def test_planted_statement_lines_give_the_planted_classes(
    plan: list[tuple[str, int, str]], strays: int, seed: int
) -> None:
    # Payouts arrive on distinct business days far enough apart (3 weeks) that no line can be
    # confused with a neighbour's, and amounts differ, so the expected classes are unambiguous.
    arrivals = [
        pd.Timestamp(np.busday_offset(MONDAY.date(), 15 * i, roll="forward"), tz="UTC")
        for i in range(len(plan))
    ]
    payouts = pd.DataFrame(
        {
            "id": pd.array([f"po_{i}" for i in range(len(plan))], dtype=STRING_DTYPE),
            "status": pd.Categorical(["paid"] * len(plan)),
            "automatic": pd.array([True] * len(plan), dtype="boolean"),
            "arrival_date": pd.Series(arrivals, dtype="datetime64[ns, UTC]"),
            "currency": pd.Categorical([c for *_, c in plan]),
            "amount_minor": pd.array([a for _, a, _ in plan], dtype="int64[pyarrow]"),
        }
    )
    lines: list[tuple[pd.Timestamp, int, str]] = []
    expected: dict[str, int] = {}
    for (fate, amount, currency), arrival in zip(plan, arrivals, strict=True):
        expected[FATES[fate]] = expected.get(FATES[fate], 0) + 1
        day = arrival.date()
        if fate == "on_time":
            lines.append((pd.Timestamp(np.busday_offset(day, 1), tz="UTC"), amount, currency))
        elif fate == "late":
            lines.append((pd.Timestamp(np.busday_offset(day, 4), tz="UTC"), amount, currency))
        elif fate == "short":
            lines.append((pd.Timestamp(day, tz="UTC"), amount + 7, currency))
    for j in range(strays):  # deposits no payout explains, long after the last payout
        when = arrivals[-1] + pd.Timedelta(days=60 + j)
        lines.append((when, 11 + j, "usd"))
    expected["unexpected_deposit"] = strays
    order = np.random.default_rng(seed).permutation(len(lines))
    statement = pd.DataFrame(
        {
            "line": pd.array(np.arange(len(lines)) + 2, dtype="Int64"),
            "date": pd.Series([lines[i][0] for i in order], dtype="datetime64[ns, UTC]"),
            "minor": np.array([lines[i][1] for i in order], dtype=np.int64),
            "currency": pd.array([lines[i][2] for i in order], dtype=STRING_DTYPE),
            "description": pd.array(["STRIPE"] * len(lines), dtype=STRING_DTYPE),
            "reference": pd.array([None] * len(lines), dtype=STRING_DTYPE),
        }
    )

    pairs = match_payouts(payouts, statement, tolerance=1, late_limit=5)
    result = build_result(pairs, payouts, statement, tz="UTC", holidays=())

    assert result.counts() == {k: v for k, v in expected.items() if v}
    # Each payout and each line appears exactly once.
    assert sorted(pairs.loc[pairs["payout"] >= 0, "payout"]) == list(range(len(plan)))
    assert sorted(pairs.loc[pairs["line"] >= 0, "line"]) == list(range(len(lines)))
    # A matched or late pair always has the payout's amount; the summary adds every row.
    paired = result.frame[result.frame["match"].isin(["matched", "late"])]
    assert (paired["payout_amount"] == paired["bank_amount"]).all()
    assert int(result.summary["count"].sum()) == len(result.frame)
