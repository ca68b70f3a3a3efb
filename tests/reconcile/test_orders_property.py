"""Property tests of the order matcher: shuffled, perturbed order lists give the planted classes."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from billing_kit import InvalidAmount, parse_amount
from billing_kit.history._schema import BOOL_DTYPE, STRING_DTYPE
from billing_kit.reconcile import _tables
from billing_kit.reconcile._orders import build_result, match_orders

# What happens to each charge's order: kept as is, dropped, amount changed, listed twice, id
# removed (found again by a suggestion), currency changed, paid after a failed first attempt.
FATES = ("keep", "drop", "amount", "twice", "keyless", "currency", "retried")
EXPECTED = {
    "keep": ["matched"],
    "drop": ["missing_in_orders"],
    "amount": ["amount_mismatch"],
    "twice": ["duplicate_in_orders", "duplicate_in_orders"],
    "keyless": ["suggested"],
    "currency": ["currency_mismatch"],
    "retried": ["matched", "failed"],
}


def _charges(amounts: list[int], currencies: list[str]) -> pd.DataFrame:
    n = len(amounts)
    created = pd.Timestamp("2026-11-01", tz="UTC") + pd.to_timedelta(np.arange(n), unit="h")
    return pd.DataFrame(
        {
            "id": pd.array([f"ch_{i}" for i in range(n)], dtype=STRING_DTYPE),
            "created": created,
            "status": pd.Categorical(
                ["succeeded"] * n, categories=["succeeded", "pending", "failed"]
            ),
            "currency": pd.Categorical(currencies),
            "amount_minor": pd.array(amounts, dtype="int64[pyarrow]"),
            "amount_captured_minor": pd.array(amounts, dtype="int64[pyarrow]"),
            "amount_refunded_minor": pd.array([0] * n, dtype="int64[pyarrow]"),
            "captured": pd.array([True] * n, dtype=BOOL_DTYPE),
            "disputed": pd.array([False] * n, dtype=BOOL_DTYPE),
            # One customer per charge, so a suggestion can only find its own charge.
            "customer": pd.array([f"cus_{i}" for i in range(n)], dtype=STRING_DTYPE),
            "key": pd.array([f"O-{i}" for i in range(n)], dtype=STRING_DTYPE),
        }
    )


# Each example runs the whole matcher (tens of pandas operations): 30 examples keep it ~20 s.
@settings(max_examples=30)
@given(
    plan=st.lists(
        st.tuples(
            st.sampled_from(FATES),
            st.integers(min_value=50, max_value=10**8),
            st.sampled_from(["usd", "jpy", "kwd"]),
        ),
        min_size=1,
        max_size=40,
    ),
    strays=st.integers(min_value=0, max_value=3),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
)
def test_shuffled_and_perturbed_orders_give_the_planted_classes(
    plan: list[tuple[str, int, str]], strays: int, seed: int
) -> None:
    amounts = [a * 10 if c == "kwd" else a for _, a, c in plan]  # KWD steps of 10
    currencies = [c for _, _, c in plan]
    charges = _charges(amounts, currencies)
    # Each retried order also has a failed attempt under the same key.
    retried = [i for i, (fate, _, _) in enumerate(plan) if fate == "retried"]
    failures = charges.iloc[retried].assign(
        id=pd.array([f"ch_failed_{i}" for i in retried], dtype=STRING_DTYPE),
        status=pd.Categorical(["failed"] * len(retried), categories=["succeeded", "failed"]),
        amount_captured_minor=pd.array([0] * len(retried), dtype="int64[pyarrow]"),
        captured=pd.array([False] * len(retried), dtype=BOOL_DTYPE),
    )
    charges = pd.concat([charges, failures], ignore_index=True)
    rows: list[dict[str, Any]] = []
    expected: dict[str, int] = {}
    for i, (fate, _, _) in enumerate(plan):
        for name in EXPECTED[fate]:
            expected[name] = expected.get(name, 0) + 1
        if fate == "drop":
            continue
        row = {"key": f"O-{i}", "minor": amounts[i], "currency": currencies[i],
               "date": charges["created"][i], "email": f"c{i}@example.com"}  # fmt: skip
        if fate == "amount":
            row["minor"] += 10
        if fate == "currency":
            row["currency"] = "eur" if currencies[i] != "eur" else "usd"
        if fate == "keyless":
            row["key"] = None
        rows.extend([row, dict(row)] if fate == "twice" else [row])
    for j in range(strays):  # orders Stripe never saw
        rows.append(
            {
                "key": f"X-{j}",
                "minor": 100,
                "currency": "usd",
                "date": pd.Timestamp("2026-11-01", tz="UTC"),
                "email": None,
            }
        )
    expected["missing_in_stripe"] = strays
    orders = (
        pd.DataFrame(rows, columns=["key", "minor", "currency", "date", "email"])
        .sample(frac=1, random_state=seed % 2**32)
        .reset_index(drop=True)
    )
    orders = orders.astype({"key": STRING_DTYPE, "minor": np.int64, "email": STRING_DTYPE})
    orders["date"] = pd.to_datetime(orders["date"], utc=True)
    emails = pd.Series([f"c{i}@example.com" for i in range(len(plan))],
                       index=[f"cus_{i}" for i in range(len(plan))])  # fmt: skip

    pairs = match_orders(orders, charges, tolerance=pd.Timedelta(days=1), emails=emails)
    result = build_result(pairs, orders, pd.RangeIndex(len(orders)), charges, tz="UTC")

    assert result.counts() == {k: v for k, v in expected.items() if v}
    # Every order and every charge appears; a suggestion is never counted as matched.
    assert set(pairs.loc[pairs["order"] >= 0, "order"]) == set(range(len(orders)))
    assert set(pairs.loc[pairs["charge"] >= 0, "charge"]) == set(range(len(charges)))
    keyless = result.frame["order_key"].isna() & result.frame["order_row"].notna()
    assert set(result.frame.loc[keyless, "match"]) <= {"suggested", "missing_in_stripe"}
    assert int(result.summary["count"].sum()) == len(result.frame)


@settings(max_examples=100)
@given(
    cells=st.lists(
        st.tuples(
            st.one_of(
                st.decimals(min_value=-10, max_value=10**9, places=4, allow_nan=False).map(str),
                st.from_regex(r"\A[+-]?[0-9,]{0,9}(\.[0-9]{0,5})?\Z"),
                st.text(max_size=6),
            ),
            st.sampled_from(["usd", "jpy", "kwd", "isk", "idr"]),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_vectorised_amounts_read_exactly_what_parse_amount_reads(
    cells: list[tuple[str, str]],
) -> None:
    table = _tables.read_table(
        pd.DataFrame({"amount": [a for a, _ in cells], "currency": [c for _, c in cells]}),
        what="orders",
    )
    bad = _tables.BadRows(table)
    codes = _tables.currencies(table, "currency", bad)
    minor = _tables.amounts(table, "amount", codes, bad)
    flagged = {row for row, _, _ in bad.problems}
    for i, (amount, currency) in enumerate(cells):
        try:
            expected: int | None = parse_amount(amount.strip() or None, currency, minimum=False)
        except InvalidAmount:
            expected = None
        if expected is None:
            assert i in flagged, (amount, currency)
        else:
            assert i not in flagged and minor[i] == expected, (amount, currency)
