"""The month-end report: Stripe's four reports, orders and bank for one month, and their tie-out.

:func:`month_end` computes every frame once (from the same client, so they agree) and lists what
fails to tie: a roll-forward that does not add up, an ``unreconciled`` balance, an automatic
payout whose items do not net to its amount, and order or bank exceptions. The same
:class:`MonthEnd` writes the Excel workbook (:mod:`._workbook`) and the HTML report, so the two
files never disagree. Money stays in exact decimals throughout.
"""

from __future__ import annotations

import datetime as dt
import html
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from billing_kit._exceptions import UnknownCurrency
from billing_kit._money import currency_info
from billing_kit.history._options import InvalidOption, check_timezone
from billing_kit.reconcile import _reports
from billing_kit.reconcile._api import _live_balance, _period
from billing_kit.reconcile._bank import reconcile_bank
from billing_kit.reconcile._charts import month_charts
from billing_kit.reconcile._inputs import History, gather
from billing_kit.reconcile._orders import reconcile_orders
from billing_kit.reconcile._result import MatchResult
from billing_kit.reconcile._workbook import write_workbook

if TYPE_CHECKING:
    from billing_kit._client import Client

__all__ = ["SHEETS", "MonthEnd", "check_currency", "month_end", "month_figures"]

SHEETS = (
    "Summary",
    "Roll-forward",
    "Activity",
    "Payouts",
    "Payout items",
    "Ending balance",
    "Orders",
    "Bank",
)
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
# Classes that are findings to explain, not failures: a refund or a dispute is real activity,
# a deposit a few business days late still arrived with the right amount.
_ORDER_OK = frozenset({"matched", "refunded", "partially_refunded", "disputed", "failed",
                       "uncaptured", "suggested"})  # fmt: skip
_BANK_OK = frozenset({"matched", "late"})
_REFUNDS_AND_DISPUTES = ("refund", "refund_failure", "dispute", "dispute_reversal")


@dataclass(frozen=True)
class MonthEnd:
    """Every frame of one month-end, and what fails to tie.

    Attributes
    ----------
    header
        ``account``, ``mode``, ``period`` (``[start, end)``), ``tz``, ``currency`` (one code, or
        ``all``) and ``pulled_at`` (UTC).
    roll_forward, activity, payouts, payout_items, ending_balance
        :meth:`Client.balance_summary`, ``balance_activity``, ``payout_reconciliation``
        (``.summary`` and ``.frame``) and ``ending_balance_reconciliation`` for the month.
    daily
        The activity per day in ``tz`` and currency (``day``, ``currency``, ``count``, ``gross``,
        ``fee``, ``net``), drawn in the HTML report's charts.
    orders, bank
        :class:`MatchResult` of the order list and the bank statement, or ``None`` when not given.
    failures
        One sentence per thing that does not tie; empty when everything ties.
    """

    header: dict[str, str]
    roll_forward: pd.DataFrame
    activity: pd.DataFrame
    payouts: pd.DataFrame
    payout_items: pd.DataFrame
    ending_balance: pd.DataFrame
    daily: pd.DataFrame
    orders: MatchResult | None = None
    bank: MatchResult | None = None
    failures: list[str] = field(default_factory=list)

    @property
    def stem(self) -> str:
        """The file name both files share: ``month-end-YYYY-MM``, plus ``-usd`` for one currency."""
        month = self.header["period"][1:8]
        currency = self.header["currency"]
        return f"month-end-{month}" + ("" if currency == "all" else f"-{currency}")

    @property
    def ties(self) -> bool:
        """True when nothing fails to tie."""
        return not self.failures

    def summary(self) -> pd.DataFrame:
        """The ``Summary`` sheet: the header, then one row per failure (or ``ties: yes``)."""
        rows = list(self.header.items())
        rows.append(("ties", "yes" if self.ties else "NO"))
        rows += [("failure", text) for text in self.failures]
        return pd.DataFrame(rows, columns=["item", "value"])

    def sheets(self) -> dict[str, pd.DataFrame]:
        """Sheet name -> frame, in :data:`SHEETS` order (an empty sheet for a missing input)."""
        empty = pd.DataFrame({"note": ["not given"]})
        return dict(zip(SHEETS, (
            self.summary(), self.roll_forward, self.activity, self.payouts, self.payout_items,
            self.ending_balance,
            self.orders.frame if self.orders is not None else empty,
            self.bank.frame if self.bank is not None else empty,
        ), strict=True))  # fmt: skip

    def to_excel(self, path: str | os.PathLike[str]) -> Path:
        """Write the workbook (sheets :data:`SHEETS`) to ``path``; see :mod:`._workbook`."""
        currencies: dict[str, str] = {}
        for result in (self.orders, self.bank):
            if result is not None:
                currencies.update(result.currencies)
        return write_workbook(path, self.sheets(), tz=self.header["tz"], currencies=currencies)

    def to_html(self, path: str | os.PathLike[str]) -> Path:
        """Write the HTML report to ``path`` (written whole, then renamed into place)."""
        target = Path(path)
        temporary = target.with_name(f".{target.name}.tmp")
        temporary.write_text(_html(self), encoding="utf-8")
        os.replace(temporary, target)
        return target


def _bounds(month: str) -> tuple[str, str]:
    found = _MONTH.match(str(month))
    if not found:
        raise InvalidOption(f"month={month!r}: write the month as YYYY-MM, e.g. month='2026-11'")
    year, number = int(found[1]), int(found[2])
    after = (year + 1, 1) if number == 12 else (year, number + 1)
    return f"{year:04d}-{number:02d}-01", f"{after[0]:04d}-{after[1]:02d}-01"


def check_currency(currency: str | None) -> str | None:
    """Return ``currency`` as Stripe writes it (lower case), or ``None`` for every currency.

    Raises
    ------
    billing_kit.history.InvalidOption
        Not a currency Stripe charges in.
    """
    if currency is None:
        return None
    try:
        return currency_info(currency).code
    except UnknownCurrency:
        raise InvalidOption(
            f"currency={currency!r}: not a currency Stripe charges in; pass a three-letter ISO "
            "code such as 'usd' or 'eur', or leave it out to report every currency"
        ) from None


def _only(frame: pd.DataFrame, currency: str) -> pd.DataFrame:
    return frame[(frame["currency"].astype(object) == currency).to_numpy(bool)].reset_index(
        drop=True
    )


def _only_result(result: MatchResult | None, currency: str) -> MatchResult | None:
    """``result`` cut to the rows in ``currency``: the first known of its currency columns (the
    order's or payout's, else the charge's or bank line's), as its summary counts them."""
    if result is None:
        return None
    columns = list(dict.fromkeys(result.currencies.values()))
    code = result.frame[columns[0]].astype(object)
    for column in columns[1:]:
        code = code.where(code.notna(), result.frame[column].astype(object))
    keep = (code.fillna("") == currency).to_numpy(bool)
    return replace(result, frame=result.frame[keep].reset_index(drop=True),
                   summary=_only(result.summary, currency))  # fmt: skip


def month_figures(
    history: History,
    start: int,
    end: int,
    tz: str,
    *,
    live: dict[str, int] | None = None,
    currency: str | None = None,
) -> dict[str, pd.DataFrame]:
    """Every report frame of ``[start, end)`` (Unix seconds) from one :class:`History`.

    Keys ``roll_forward``, ``activity``, ``payouts``, ``payout_items``, ``ending_balance`` and
    ``daily`` (the :class:`MonthEnd` attributes); ``live`` as for
    :func:`._reports.balance_summary`; ``currency`` (lower case) keeps that currency's rows only,
    as Stripe's report runs do with their ``currency`` parameter
    (https://docs.stripe.com/reports/api).
    """
    payouts = _reports.payout_reconciliation(history, start, end, tz)
    frames = {
        "roll_forward": _reports.balance_summary(history, start, end, live=live),
        "activity": _reports.balance_activity(history, start, end, tz, itemized=False),
        "payouts": payouts.summary,
        "payout_items": payouts.frame,
        "ending_balance": _reports.ending_balance_reconciliation(history, end, tz),
        "daily": _reports.daily_activity(history, start, end, tz),
    }
    if currency is None:
        return frames
    return {name: _only(frame, currency) for name, frame in frames.items()}


def _roll_forward_failures(frame: pd.DataFrame) -> list[str]:
    failures = []
    for currency, rows in frame.groupby(frame["currency"].astype(str), sort=True):
        amounts = dict(zip(rows["category"].astype(str), rows["net_amount"], strict=True))
        if "unreconciled" in amounts:
            failures.append(f"{currency}: ending balance differs from Stripe's balance by "
                            f"{amounts['unreconciled']} {currency.upper()}")  # fmt: skip
        parts = [amounts.get(k, 0) for k in ("starting_balance", "activity", "payouts")]
        if sum(parts) != amounts.get("ending_balance", 0):
            failures.append(f"{currency}: starting + activity + payouts = {sum(parts)} but the "
                            f"ending balance is {amounts.get('ending_balance', 0)}")  # fmt: skip
    return failures


def _payout_failures(summary: pd.DataFrame) -> list[str]:
    untied = summary[summary["difference"] != 0]
    failures = []
    for row in untied.to_dict("records"):
        reason = row["reason"] if isinstance(row["reason"], str) else "no reason known"
        failures.append(f"payout {row['automatic_payout_id']}: items net {row['net']} but the "
                        f"payout is {row['amount']} {str(row['currency']).upper()} (difference "
                        f"{row['difference']}; {reason})")  # fmt: skip
    return failures


def _match_failures(name: str, result: MatchResult | None, fine: frozenset[str]) -> list[str]:
    if result is None:
        return []
    return [f"{name}: {count} row(s) {match}"
            for match, count in result.counts().items() if match not in fine]  # fmt: skip


def month_end(
    client: Client,
    month: str = "2026-11",
    tz: str = "UTC",
    orders: object = None,
    bank: object = None,
    currency: str | None = None,
) -> MonthEnd:
    """Compute the month-end of ``month`` (``YYYY-MM``, the period ``[1st, next 1st)`` in ``tz``).

    ``orders`` (a frame or a .csv/.xlsx path, see :func:`reconcile_orders`) and ``bank`` (a
    .csv/.xlsx/.ofx statement, see :func:`reconcile_bank`) are optional. ``currency`` (e.g.
    ``"usd"``) limits every frame, and what must tie, to that currency; ``None``: all of them.
    The history is pulled once (see :func:`.gather`) and every report computed from it.

    Raises
    ------
    billing_kit.history.InvalidOption
        A month not written ``YYYY-MM``, an unknown zone or currency.
    """
    zone = check_timezone(tz) or "UTC"
    code = check_currency(currency)
    start, end = _bounds(month)
    lo, hi, _ = _period(start, end, zone)
    pulled = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    frames = month_figures(
        gather(client, hi), lo, hi, zone, live=_live_balance(client, hi), currency=code
    )
    matched_orders = None
    if orders is not None:
        matched_orders = reconcile_orders(client, orders, since=start, until=end, tz=zone)
    matched_bank = None
    if bank is not None:
        matched_bank = reconcile_bank(client, bank, since=start, until=end, tz=zone)
    if code is not None:
        matched_orders = _only_result(matched_orders, code)
        matched_bank = _only_result(matched_bank, code)
    failures = [
        *_roll_forward_failures(frames["roll_forward"]),
        *_payout_failures(frames["payouts"]),
        *_match_failures("orders", matched_orders, _ORDER_OK),
        *_match_failures("bank", matched_bank, _BANK_OK),
    ]
    header = {
        "account": f"{client.api_base} ({client.masked_key})",
        "mode": str(client.mode),
        "period": f"[{start}, {end})",
        "tz": zone,
        "currency": "all" if code is None else code,
        "pulled_at": pulled,
    }
    return MonthEnd(header, **frames, orders=matched_orders, bank=matched_bank,
                    failures=failures)  # fmt: skip


def _table(frame: pd.DataFrame) -> str:
    if frame.empty:
        return "<p>None.</p>"
    return frame.to_html(index=False, na_rep="", border=0, classes="report")


def _html(report: MonthEnd) -> str:
    activity = report.activity
    category = activity["reporting_category"].astype(str)
    fees = activity.loc[:, ["reporting_category", "currency", "count", "fee"]]
    sections = [
        ("Roll-forward", _table(report.roll_forward)),
        ("Activity by category", _table(activity)),
        ("Fees", _table(fees[fees["fee"] != 0])),
        ("Refunds and disputes", _table(activity[category.isin(_REFUNDS_AND_DISPUTES)])),
        ("Payouts with tie-out", _table(report.payouts)),
        ("Ending balance", f"<p>{len(report.ending_balance)} transaction(s) not yet paid out.</p>"),
    ]
    exceptions = []
    for name, result in (("Orders", report.orders), ("Bank", report.bank)):
        body = "<p>Not given.</p>" if result is None else _table(result.summary)
        exceptions.append(f"<h3>{name}</h3>{body}")
    sections.append(("Exceptions by class", "".join(exceptions)))
    charts = month_charts(report.daily, report.payouts, report.header["tz"])
    figures = "".join(
        f"<figure class='chart' data-currency='{code}'><img alt='{code.upper()}: daily gross and "
        f"net, automatic payouts' src='{uri}'></figure>"
        for code, uri in charts.items()
    )
    sections.append(("Charts", figures or "<p>No activity or payouts this month.</p>"))
    verdict = (
        "<p class='ties'>Everything ties.</p>"
        if report.ties
        else "<ul class='failures'>"
        + "".join(f"<li>{html.escape(text)}</li>" for text in report.failures)
        + "</ul>"
    )
    header = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
        for k, v in report.header.items()
    )
    body = "".join(f"<h2>{title}</h2>{content}" for title, content in sections)
    style = ("body{font-family:sans-serif;margin:2em}table.report{border-collapse:collapse}"
             "table.report td,table.report th{padding:2px 8px;border-bottom:1px solid #ddd}"
             ".failures{color:#b00}")  # fmt: skip
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Month-end "
            f"{html.escape(report.header['period'])}</title><style>{style}</style></head><body>"
            f"<h1>Month-end report</h1><table class='header'>{header}</table>"
            f"<h2>Tie-out</h2>{verdict}{body}</body></html>")  # fmt: skip
