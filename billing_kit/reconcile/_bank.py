"""Payouts against the bank: pair each payout with the deposit it made on the bank statement.

A payout (https://docs.stripe.com/api/payouts/object) lands as one bank line of its ``amount`` in
its ``currency`` on its ``arrival_date`` — Stripe already moves that date past weekends and
holidays, but banks book ACH and SEPA transfers a day or more later
(https://docs.stripe.com/payouts). Pairs are chosen in this order, nearest date first, each
payout and each line used once:

1. the line's reference equals the payout's trace id (``trace_id``, when the payouts frame has
   it; https://docs.stripe.com/payouts/trace-id), whatever the amount or date;
2. same currency and amount, booked within ``tolerance`` business days of the arrival date:
   ``matched``;
3. same currency and amount, booked later but within ``late_limit`` business days: ``late``;
4. same currency, a different amount, booked within ``tolerance`` business days:
   ``amount_mismatch``.

Paid and in-transit payouts left over are ``missing_deposit``; Stripe lines left over are
``unexpected_deposit``. A line is a Stripe line when its description contains the payout's
statement descriptor, or ``descriptor`` (``"STRIPE"``, Stripe's default:
https://docs.stripe.com/payouts/statement-descriptors); every line counts when the statement has
no description column, or with ``descriptor=None``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from billing_kit._exceptions import InvalidArgument
from billing_kit.history._options import check_timezone, check_window
from billing_kit.history._schema import STRING_DTYPE
from billing_kit.reconcile._result import MatchResult, major, pick, summarise
from billing_kit.reconcile._statement import read_statement

if TYPE_CHECKING:
    from billing_kit._client import Client

__all__ = ["BANK_CLASSES", "match_payouts", "reconcile_bank"]

BANK_CLASSES: tuple[str, ...] = (
    "matched",
    "late",
    "amount_mismatch",
    "missing_deposit",
    "unexpected_deposit",
)

#: Payout statuses that put (or will put) money in the bank.
_EXPECTED = ("paid", "in_transit")


def _days(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidArgument(f"{name} must be a whole number of business days ≥ 0, got {value!r}.")
    return value


def match_payouts(
    payouts: pd.DataFrame,
    lines: pd.DataFrame,
    *,
    tolerance: int = 1,
    late_limit: int = 10,
    holidays: Any = (),
) -> pd.DataFrame:
    """Pair payouts (the payouts frame's columns) with typed statement lines; return ``payout``,
    ``line`` positions (-1: none) and ``match``. Pure; the pairs' order is not significant."""
    p = pd.DataFrame(
        {
            "payout": np.arange(len(payouts)),
            "currency": payouts["currency"].astype(object).to_numpy(),
            "p_minor": payouts["amount_minor"].astype("Int64").to_numpy(np.int64, na_value=0),
            "arrival": _day(payouts["arrival_date"]),
            "trace": (
                payouts["trace_id"].astype(object).to_numpy()
                if "trace_id" in payouts.columns
                else np.full(len(payouts), None, dtype=object)
            ),
        }
    )
    b = pd.DataFrame(
        {
            "line": np.arange(len(lines)),
            "currency": lines["currency"].astype(object).to_numpy(),
            "b_minor": lines["minor"].to_numpy(np.int64),
            "booked": _day(lines["date"]),
            "reference": lines["reference"].astype(object).to_numpy(),
        }
    )
    pairs = p.merge(b, on="currency")
    gap = np.busday_count(
        pairs["arrival"].to_numpy("datetime64[D]"),
        pairs["booked"].to_numpy("datetime64[D]"),
        holidays=list(holidays),
    )
    same = (pairs["p_minor"] == pairs["b_minor"]).to_numpy(bool)
    traced = (pairs["trace"].notna() & (pairs["trace"] == pairs["reference"])).to_numpy(bool)
    near = np.abs(gap) <= tolerance
    late = (gap > tolerance) & (gap <= late_limit)
    tier = np.select([traced, same & near, same & late, near], [0, 1, 2, 3], default=-1)
    label = np.select(
        [same & near, same & (gap > tolerance)], ["matched", "late"], default="amount_mismatch"
    )
    pairs = pairs.assign(tier=tier, gap=np.abs(gap), label=label)[tier >= 0]
    pairs = pairs.assign(diff=(pairs["b_minor"] - pairs["p_minor"]).abs())
    pairs = pairs.sort_values(["tier", "gap", "diff", "payout", "line"], kind="stable")
    chosen: list[pd.DataFrame] = []
    while len(pairs):
        best = pairs.drop_duplicates("payout").drop_duplicates("line")
        chosen.append(best[["payout", "line", "label"]])
        pairs = pairs[~pairs["payout"].isin(best["payout"]) & ~pairs["line"].isin(best["line"])]
    paired = (
        pd.concat(chosen, ignore_index=True).rename(columns={"label": "match"})
        if chosen
        else pd.DataFrame({"payout": [], "line": [], "match": []})
    )
    missing = np.setdiff1d(p["payout"], paired["payout"])
    unexpected = np.setdiff1d(b["line"], paired["line"])
    out = pd.concat(
        [
            paired,
            pd.DataFrame({"payout": missing, "line": -1, "match": "missing_deposit"}),
            pd.DataFrame({"payout": -1, "line": unexpected, "match": "unexpected_deposit"}),
        ],
        ignore_index=True,
    )
    return out.astype({"payout": np.int64, "line": np.int64, "match": object})


def _day(times: pd.Series) -> Any:
    """Calendar days (UTC) of a timestamp column, as ``datetime64[D]``."""
    return times.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[D]")


def _stripe_lines(lines: pd.DataFrame, payouts: pd.DataFrame, descriptor: str | None) -> Any:
    """Which lines look like Stripe payouts (see the module docstring)."""
    text = lines["description"]
    if descriptor is None or text.isna().all():
        return np.ones(len(lines), dtype=bool)
    words = {descriptor.upper()} | {
        str(d).upper() for d in payouts["statement_descriptor"].dropna().unique()
    }
    upper = text.fillna("").str.upper()
    found = np.zeros(len(lines), dtype=bool)
    for word in words:
        found |= upper.str.contains(word, regex=False).to_numpy(bool)
    return found


def build_result(
    pairs: pd.DataFrame, payouts: pd.DataFrame, lines: pd.DataFrame, *, tz: str, holidays: Any
) -> MatchResult:
    """The user-facing frame and summary of :func:`match_payouts`' pairs."""
    rank = {name: i for i, name in enumerate(BANK_CLASSES)}
    arrival = _day(payouts["arrival_date"])
    order = np.where(
        pairs["payout"] >= 0,
        arrival[np.maximum(pairs["payout"], 0)] if len(payouts) else np.datetime64("NaT"),
        _day(lines["date"])[np.maximum(pairs["line"], 0)] if len(lines) else np.datetime64("NaT"),
    )
    pairs = pairs.assign(_when=order, _rank=pairs["match"].map(rank))
    pairs = pairs.sort_values(["_when", "_rank", "payout", "line"], kind="stable")
    pairs = pairs.reset_index(drop=True)
    po, li = pairs["payout"].to_numpy(), pairs["line"].to_numpy()

    def p(name: str) -> pd.Series:
        return pick(payouts[name], po)

    def b(name: str) -> pd.Series:
        return pick(lines[name], li)

    p_ccy, b_ccy = p("currency").astype(object), b("currency").astype(object)
    p_minor, b_minor = p("amount_minor").astype("Int64"), b("minor").astype("Int64")
    arrived, booked = p("arrival_date"), b("date")
    both = pd.Series((po >= 0) & (li >= 0))
    days = pd.array([None] * len(pairs), dtype="Int64")
    if both.any():
        days[both.to_numpy()] = np.busday_count(
            _day(arrived[both]), _day(booked[both]), holidays=list(holidays)
        )
    frame = pd.DataFrame(
        {
            "match": pd.Categorical(pairs["match"], categories=list(BANK_CLASSES)),
            "payout": p("id").astype(STRING_DTYPE),
            "payout_status": p("status").astype(STRING_DTYPE),
            "automatic": p("automatic").astype("boolean"),
            "arrival_date": arrived.dt.tz_convert(tz),
            "payout_currency": p_ccy.astype(STRING_DTYPE),
            "payout_amount": major(p_minor, p_ccy),
            "line": pick(lines["line"], li),
            "bank_date": booked.dt.tz_convert(tz),
            "bank_currency": b_ccy.astype(STRING_DTYPE),
            "bank_amount": major(b_minor, b_ccy),
            "description": b("description").astype(STRING_DTYPE),
            "reference": b("reference").astype(STRING_DTYPE),
            "business_days": days,
            "difference": major((b_minor - p_minor).where(both, None), p_ccy),
        }
    )
    summary = summarise(
        pd.DataFrame(
            {
                "match": pairs["match"],
                "minor": p_minor.fillna(b_minor),
                "currency": p_ccy.where(p_ccy.notna(), b_ccy),
            }
        ),
        BANK_CLASSES,
        minor="minor",
        currency="currency",
    )
    return MatchResult(frame=frame, summary=summary, tz=tz, currencies={
        "payout_amount": "payout_currency", "bank_amount": "bank_currency",
        "difference": "payout_currency"})  # fmt: skip


def reconcile_bank(
    client: Client | None,
    statement: object,
    *,
    since: Any = None,
    until: Any = None,
    tz: str = "UTC",
    tolerance: int = 1,
    late_limit: int = 10,
    holidays: Any = (),
    descriptor: str | None = "STRIPE",
    date: str | None = None,
    amount: str | None = None,
    currency: str | None = None,
    description: str | None = None,
    reference: str | None = None,
    statement_currency: str | None = None,
    payouts: pd.DataFrame | None = None,
) -> MatchResult:
    """Match a bank statement (.csv/.xlsx export or .ofx/.qfx file) against the payouts.

    Parameters
    ----------
    statement
        A path, or a DataFrame; CSV/XLSX columns are found by their usual names (``date``,
        ``amount``, ``currency``, ``description``, ``reference``, …) or named by the
        options of the same names.
    since, until
        Window ``[since, until)`` on the payouts' arrival date and the lines' booking date.
    tz
        Zone of ``since``/``until`` without an offset and of the result's time columns.
    tolerance
        Business days a deposit may be booked from the arrival date and still match.
    late_limit
        Business days after the arrival date within which a deposit of the same amount is
        ``late`` rather than missing.
    holidays
        Bank holidays (dates) that are not business days.
    descriptor
        Text that marks a bank line as a Stripe payout (``None``: every line is one).
    statement_currency
        The currency of every line, for a CSV/XLSX statement without a currency column.
    payouts
        A payouts history frame to match instead of pulling it; then ``client`` may be ``None``.

    Returns
    -------
    billing_kit.reconcile.MatchResult
        ``match`` classes ``matched``, ``late``, ``amount_mismatch``, ``missing_deposit``,
        ``unexpected_deposit``; ``.summary``; ``.to_excel(path)``.

    Raises
    ------
    InvalidArgument
        An unknown layout (naming what is missing), or bad cells (each by line and column).
    """
    check_timezone(tz)
    tolerance = _days(tolerance, "tolerance")
    late_limit = _days(late_limit, "late_limit")
    window = check_window(since, until, tz=tz)
    lines = read_statement(
        statement,
        date=date,
        amount=amount,
        currency=currency,
        description=description,
        reference=reference,
        statement_currency=statement_currency,
    )
    if payouts is None:
        if client is None:
            raise InvalidArgument("give a client, or a payouts frame to match against.")
        # A payout is created a few days before it arrives: pull from well before the window.
        start = None if window.since is None else window.since - 31 * 86_400
        payouts = client.payouts_frame(start, None, progress=False)
    payouts = payouts[payouts["status"].isin(_EXPECTED)]
    arrival = payouts["arrival_date"]
    inside = pd.Series(True, index=payouts.index)
    booked = pd.Series(True, index=lines.index)
    if window.since is not None:
        start_ts = pd.Timestamp(window.since, unit="s", tz="UTC").normalize()
        inside &= arrival >= start_ts
        booked &= lines["date"] >= start_ts
    if window.until is not None:
        end_ts = pd.Timestamp(window.until, unit="s", tz="UTC")
        inside &= arrival < end_ts
        booked &= lines["date"] < end_ts
    payouts = payouts[inside].reset_index(drop=True)
    lines = lines[booked.to_numpy() & _stripe_lines(lines, payouts, descriptor)]
    lines = lines.reset_index(drop=True)
    pairs = match_payouts(
        payouts, lines, tolerance=tolerance, late_limit=late_limit, holidays=holidays
    )
    return build_result(pairs, payouts, lines, tz=tz, holidays=holidays)
