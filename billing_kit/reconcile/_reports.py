"""Stripe's report types computed from the history (pure: frames in, frames out).

The report types, their columns and period rules are Stripe's
(https://docs.stripe.com/reports/report-types, categories from
https://docs.stripe.com/reports/reporting-categories): periods are half-open ``[start, end)``,
each transaction placed by the timestamp its report uses (see :mod:`._ledger`). Sums are taken in
integer minor units per currency and only then turned into exact major-unit decimals.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from billing_kit.history._schema import MAJOR_DTYPE, TIMESTAMP_DTYPE
from billing_kit.reconcile._inputs import History
from billing_kit.reconcile._items import itemize, major, strings
from billing_kit.reconcile._ledger import ledger

__all__ = [
    "PayoutReconciliation",
    "balance_activity",
    "balance_summary",
    "daily_activity",
    "ending_balance_reconciliation",
    "payout_reconciliation",
]

_SUMMARY_ROWS = (
    ("starting_balance", "Starting balance"),
    ("activity_gross", "Activity before fees"),
    ("activity_fee", "Less fees"),
    ("activity", "Net balance change from activity"),
    ("payouts", "Total payouts"),
    ("ending_balance", "Ending balance"),
)


def _stamp(unix: int) -> pd.Timestamp:
    return pd.Timestamp(unix, unit="s", tz="UTC")


def _window(frame: pd.DataFrame, column: str, start: int, end: int) -> pd.Series:
    return (frame[column] >= _stamp(start)) & (frame[column] < _stamp(end))


def _money_frame(columns: dict[str, list[object]], money: dict[str, list[int]]) -> pd.DataFrame:
    """A frame of ``columns`` plus ``money`` (minor ints) as exact decimals by ``currency``."""
    frame = pd.DataFrame(columns)
    for name, values in money.items():
        frame[name] = pd.array(major(values, columns["currency"]), dtype=MAJOR_DTYPE)
    return frame


def balance_summary(
    history: History, start: int, end: int, *, live: dict[str, int] | None = None
) -> pd.DataFrame:
    """``balance.summary.1``: per currency, starting balance, activity, payouts, ending balance.

    Rows of ``category`` ``starting_balance``, ``activity_gross``, ``activity_fee``,
    ``activity``, ``payouts`` (negative: money leaving the balance), ``ending_balance``; so
    ``starting_balance + activity + payouts == ending_balance``.

    ``live`` (minor units per currency, Stripe's ``GET /v1/balance`` available + pending, for a
    period ending now) is an independent sum of the same money: a currency whose ending balance
    differs from it gets an ``unreconciled`` row with the difference and why.
    """
    rows = ledger(history)
    before = rows[rows["placed_at"] < _stamp(start)]
    until = rows[rows["placed_at"] < _stamp(end)]
    inside = rows[_window(rows, "placed_at", start, end)]
    activity = inside[~inside["automatic"]]
    paid = inside[inside["automatic"]]
    cats: list[object] = []
    curs: list[object] = []
    descs: list[object] = []
    nets: list[int] = []
    currencies = set(until["currency"].dropna()) | set(live or {})
    for currency in sorted(currencies):
        parts = (("before", before), ("activity", activity), ("paid", paid), ("until", until))
        of = {name: frame[frame["currency"] == currency] for name, frame in parts}
        values = {
            "starting_balance": int(of["before"]["net_minor"].sum()),
            "activity_gross": int(of["activity"]["amount_minor"].sum()),
            "activity_fee": -int(of["activity"]["fee_minor"].sum()),
            "activity": int(of["activity"]["net_minor"].sum()),
            "payouts": int(of["paid"]["net_minor"].sum()),
            "ending_balance": int(of["until"]["net_minor"].sum()),
        }
        for category, description in _SUMMARY_ROWS:
            cats.append(category)
            curs.append(currency)
            descs.append(description)
            nets.append(values[category])
        if live is not None and live.get(currency, 0) != values["ending_balance"]:
            cats.append("unreconciled")
            curs.append(currency)
            descs.append(
                "Stripe's balance (available + pending) differs from the ending balance by this "
                "amount: transactions are missing from the history, or were created after it "
                "was pulled; pull again (refresh=True) and rerun"
            )
            nets.append(live.get(currency, 0) - values["ending_balance"])
    frame = _money_frame({"category": cats, "currency": curs}, {"net_amount": nets})
    frame.insert(2, "description", strings(descs))
    return frame


def balance_activity(
    history: History, start: int, end: int, tz: str, *, itemized: bool
) -> pd.DataFrame:
    """``balance_change_from_activity.summary.1`` or, with ``itemized``, ``.itemized.3``.

    Activity is every transaction created in the window except automatic payouts and their
    reversals (those are the summary's ``payouts``).
    """
    rows = ledger(history)
    inside = rows[_window(rows, "placed_at", start, end) & ~rows["automatic"]]
    if itemized:
        ordered = inside.sort_values(["created", "id"], kind="stable")
        return itemize(ordered, history, tz, payouts=False)
    grouped = (
        inside.assign(reporting_category=inside["reporting_category"].astype(object))
        .groupby(["reporting_category", "currency"], sort=True)
        .agg(
            count=("id", "size"),
            gross=("amount_minor", "sum"),
            fee=("fee_minor", "sum"),
            net=("net_minor", "sum"),
        )
        .reset_index()
    )
    return _money_frame(
        {
            "reporting_category": list(grouped["reporting_category"]),
            "currency": list(grouped["currency"]),
            "count": list(grouped["count"].astype("int64")),
        },
        {name: [int(v) for v in grouped[name]] for name in ("gross", "fee", "net")},
    )


def daily_activity(history: History, start: int, end: int, tz: str) -> pd.DataFrame:
    """The rows of :func:`balance_activity` summed per day in ``tz`` and ``currency``.

    Columns ``day`` (the local date, ``datetime64``), ``currency``, ``count``, ``gross``, ``fee``
    and ``net`` (exact decimals); a day without activity has no row.
    """
    rows = ledger(history)
    inside = rows[_window(rows, "placed_at", start, end) & ~rows["automatic"]]
    grouped = (
        inside.assign(day=inside["placed_at"].dt.tz_convert(tz).dt.tz_localize(None).dt.floor("D"))
        .groupby(["day", "currency"], sort=True)
        .agg(count=("id", "size"), gross=("amount_minor", "sum"), fee=("fee_minor", "sum"),
             net=("net_minor", "sum"))
        .reset_index()
    )  # fmt: skip
    frame = _money_frame(
        {"currency": list(grouped["currency"]), "count": list(grouped["count"].astype("int64"))},
        {name: [int(v) for v in grouped[name]] for name in ("gross", "fee", "net")},
    )
    frame.insert(0, "day", grouped["day"].astype("datetime64[ns]"))
    return frame


@dataclass(frozen=True)
class PayoutReconciliation:
    """The result of :func:`payout_reconciliation`.

    Attributes
    ----------
    frame
        ``payout_reconciliation.itemized.5``: one row per transaction settled by an automatic
        payout effective in the window.
    summary
        One row per such payout: its items' ``count``, ``gross``, ``fee`` and ``net``, the payout
        ``amount``, ``difference = net - amount`` (zero when it ties) and ``reason`` (why not, or
        what else to know: a failed payout, a list not yet final).
    """

    frame: pd.DataFrame
    summary: pd.DataFrame


def _reason(difference: int, status: str, reconciliation: str, absent: int) -> str | None:
    notes = []
    if absent:
        notes.append(f"{absent} listed transaction(s) are missing from the balance history")
    if reconciliation == "in_progress":
        notes.append("reconciliation_status is in_progress: Stripe's list is not final yet")
    if difference and not notes:
        notes.append("the listed transactions do not add up to the payout amount")
    if status in ("failed", "canceled"):
        notes.append(f"payout {status}: its amount returned to the balance (payout_reversal)")
    return "; ".join(notes) or None


def payout_reconciliation(history: History, start: int, end: int, tz: str) -> PayoutReconciliation:
    """``payout_reconciliation.itemized.5`` and a per-payout tie-out, for automatic payouts
    effective (arriving) in ``[start, end)``.
    """
    rows = ledger(history)
    settled = rows[_window(rows, "automatic_payout_effective_at", start, end)]
    items = settled[~settled["is_payout_row"]].sort_values(
        ["automatic_payout_effective_at", "automatic_payout_id", "created", "id"], kind="stable"
    )
    frame = itemize(items, history, tz, payouts=True)
    fields = ["amount_minor", "currency", "status", "reconciliation_status", "trace_id"]
    payouts = history.payouts.set_index(history.payouts["id"].astype(object))[fields]
    own = settled[settled["is_payout_row"]]
    effective = dict(zip(own["automatic_payout_id"].astype(object),
                         own["automatic_payout_effective_at"], strict=True))  # fmt: skip
    listed = history.links.groupby(history.links["automatic_payout_id"].astype(object)).size()
    sums = items.groupby(items["automatic_payout_id"].astype(object)).agg(
        count=("id", "size"), gross=("amount_minor", "sum"), fee=("fee_minor", "sum"),
        net=("net_minor", "sum"),
    )  # fmt: skip
    chosen = sorted(effective, key=lambda p: (effective[p], p))
    records = payouts.reindex(chosen).to_dict("index")
    columns: dict[str, list[object]] = {k: [] for k in (
        "automatic_payout_id", "currency", "effective", "status", "reconciliation_status",
        "trace_id", "count", "reason")}  # fmt: skip
    money: dict[str, list[int]] = {k: [] for k in ("gross", "fee", "net", "amount", "difference")}
    for payout_id in chosen:
        payout = records[payout_id]
        count, gross, fee, net = (
            (int(v) for v in sums.loc[payout_id]) if payout_id in sums.index else (0, 0, 0, 0)
        )
        amount = int(payout["amount_minor"])
        absent = int(listed.get(payout_id, 0)) - count
        status = str(payout["status"])
        reconciliation = str(payout["reconciliation_status"])
        values = {"automatic_payout_id": payout_id, "currency": str(payout["currency"]),
                  "effective": effective[payout_id], "status": status,
                  "reconciliation_status": reconciliation,
                  "trace_id": None if pd.isna(payout["trace_id"]) else str(payout["trace_id"]),
                  "count": count,
                  "reason": _reason(net - amount, status, reconciliation, absent)}  # fmt: skip
        for key, value in values.items():
            columns[key].append(value)
        for key, number in (("gross", gross), ("fee", fee), ("net", net), ("amount", amount),
                            ("difference", net - amount)):  # fmt: skip
            money[key].append(number)
    effective_utc = pd.to_datetime(pd.Series(columns.pop("effective"), dtype=object), utc=True)
    summary = _money_frame(columns, money)
    summary.insert(2, "automatic_payout_effective_at_utc", effective_utc.astype(TIMESTAMP_DTYPE))
    summary.insert(3, "automatic_payout_effective_at", summary.iloc[:, 2].dt.tz_convert(tz))
    for name in ("automatic_payout_id", "trace_id", "reason"):
        summary[name] = strings(summary[name])
    for name in ("status", "reconciliation_status", "currency"):
        summary[name] = summary[name].astype("category")
    summary["count"] = summary["count"].astype("int64")
    order = ["automatic_payout_id", "currency", "automatic_payout_effective_at_utc",
             "automatic_payout_effective_at", "status", "reconciliation_status", "trace_id",
             "count", "gross", "fee", "net", "amount", "difference", "reason"]  # fmt: skip
    return PayoutReconciliation(frame=frame, summary=summary[order])


def ending_balance_reconciliation(history: History, end: int, tz: str) -> pd.DataFrame:
    """``ending_balance_reconciliation.itemized.4``: what is in the balance at ``end`` and not
    yet settled by an automatic payout effective before ``end``.

    Its ``net`` sums per currency to the balance summary's ending balance whenever every
    automatic payout before ``end`` ties.
    """
    rows = ledger(history)
    placed = rows[rows["placed_at"] < _stamp(end)]
    effective = placed["automatic_payout_effective_at"]
    settled = effective.notna() & (effective < _stamp(end))
    open_rows = placed[~settled].sort_values(["created", "id"], kind="stable")
    return itemize(open_rows, history, tz, payouts=False)
