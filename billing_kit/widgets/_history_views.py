"""What the history browser shows of each kind of object, apart from the widgets.

One :class:`View` per kind (charges, refunds, disputes, payouts): how to load it, which columns
the table shows, which columns the search looks in, and how a page is made readable. Pure
functions over the history frames, so they are tested without a browser."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import ipywidgets as W
import pandas as pd

from billing_kit import history
from billing_kit._money import format_amount
from billing_kit.history import ProgressUpdate
from billing_kit.history._schema import STATUS_VALUES
from billing_kit.widgets._form import esc
from billing_kit.widgets._refund_form import reason_words

#: Time zones offered by the browser (any IANA name can be passed to ``HistoryBrowser(tz=...)``).
ZONES = (
    "UTC", "America/New_York", "America/Chicago", "America/Los_Angeles", "Europe/London",
    "Europe/Paris", "Europe/Berlin", "Asia/Tokyo", "Asia/Singapore", "Australia/Sydney",
)  # fmt: skip


@dataclass(frozen=True)
class View:
    """How the browser loads and shows one kind of object."""

    kind: str
    title: str
    load: Callable[..., pd.DataFrame]
    columns: tuple[str, ...]
    searched: tuple[str, ...]

    @property
    def statuses(self) -> list[tuple[str, str]]:
        """The status filter's options: ("All", "") and each status in words."""
        values = STATUS_VALUES.get(self.kind) or ()  # type: ignore[call-overload]
        return [("All", "")] + [(v.replace("_", " ").capitalize(), v) for v in values]


VIEWS: dict[str, View] = {
    "charges": View(
        "charges", "Charges", history.charges_frame,
        ("created", "id", "status", "amount", "refunded", "fee", "customer", "card",
         "decline_code", "description"),
        ("id", "customer", "customer_email", "description"),
    ),
    "refunds": View(
        "refunds", "Refunds", history.refunds_frame,
        ("created", "id", "status", "amount", "charge", "reason", "failure_reason", "description"),
        ("id", "charge", "reason", "description"),
    ),
    "disputes": View(
        "disputes", "Disputes", history.disputes_frame,
        ("created", "id", "status", "reason", "amount", "charge", "evidence_due_by"),
        ("id", "charge", "reason"),
    ),
    "payouts": View(
        "payouts", "Payouts", history.payouts_frame,
        ("created", "id", "status", "amount", "arrival_date", "method", "type", "description"),
        ("id", "description", "destination"),
    ),
}  # fmt: skip


def with_emails(frame: pd.DataFrame, emails: dict[str, str]) -> pd.DataFrame:
    """Add ``customer_email`` after ``customer`` (people know customers by email)."""
    if "customer" not in frame.columns:
        return frame
    out = frame.copy()
    column = [None if pd.isna(c) else emails.get(str(c)) for c in out["customer"]]
    where = list(out.columns).index("customer") + 1
    out.insert(where, "customer_email", pd.Series(column, index=out.index, dtype="string"))
    return out


def in_zone(frame: pd.DataFrame, tz: str) -> pd.DataFrame:
    """Return ``frame`` with every timestamp column shown in ``tz``."""
    out = frame.copy()
    for name in out.columns:
        if isinstance(out[name].dtype, pd.DatetimeTZDtype):
            out[name] = out[name].dt.tz_convert(tz)
    return out


def search(frame: pd.DataFrame, text: str, columns: tuple[str, ...]) -> pd.DataFrame:
    """Rows where any of ``columns`` contains ``text`` (case-insensitive, literal).

    Examples
    --------
    >>> frame = pd.DataFrame({"id": ["ch_1", "ch_2"], "description": ["Invoice 7", None]})
    >>> search(frame, "invoice", ("id", "description"))["id"].tolist()
    ['ch_1']
    """
    needle = text.strip().lower()
    if not needle or frame.empty:
        return frame
    hit = pd.Series(False, index=frame.index)
    for name in columns:
        if name in frame.columns:
            values = frame[name].astype("string").str.lower()
            hit |= values.str.contains(needle, regex=False).fillna(False).astype(bool)
    return frame[hit]


def readable_page(page: pd.DataFrame, emails: dict[str, str] | None = None) -> pd.DataFrame:
    """Format one page for people: amounts with their currency, times to the minute.

    Adds the display columns ``refunded`` (from ``amount_refunded_minor``) and ``card`` (brand and
    last four digits); customers show as their email where known, refund reasons in words.
    Sorting happens before, on the raw columns.
    """
    out = page.copy()
    for name in out.columns:
        if isinstance(out[name].dtype, pd.DatetimeTZDtype):
            out[name] = out[name].dt.strftime("%Y-%m-%d %H:%M")
    money = (
        ("amount", "amount_minor", "currency"),
        ("refunded", "amount_refunded_minor", "currency"),
        ("fee", "fee_minor", "settlement_currency"),
    )
    for column, minor, currency in money:
        if minor in out.columns and currency in out.columns:
            out[column] = [
                "" if pd.isna(m) or pd.isna(c) else format_amount(int(m), str(c))
                for m, c in zip(out[minor], out[currency], strict=True)
            ]
    if "brand" in out.columns and "last4" in out.columns:
        out["card"] = [
            "" if pd.isna(brand) else f"{brand} ····{'' if pd.isna(last4) else last4}"
            for brand, last4 in zip(out["brand"], out["last4"], strict=True)
        ]
    if emails is not None and "customer" in out.columns:
        out["customer"] = [
            "" if pd.isna(c) else emails.get(str(c), str(c)) for c in out["customer"]
        ]
    if "reason" in out.columns:  # refund and dispute reasons are codes; people read words
        out["reason"] = [reason_words(None if pd.isna(r) else str(r)) for r in out["reason"]]
    return out


def totals_html(frame: pd.DataFrame, title: str) -> str:
    """Count and total per currency of refunds, disputes or payouts (exact, minor units)."""
    if frame.empty:
        return f"<i>No {esc(title.lower())} in this range.</i>"
    cell = "padding:2px 14px 2px 0;text-align:right"
    rows = []
    grouped = frame.groupby(frame["currency"].astype("string"), sort=True)
    for code, part in grouped:
        total = int(part["amount_minor"].astype("Int64").fillna(0).sum())
        values = (f"<b>{esc(str(code).upper())}</b>", str(len(part)), format_amount(total, code))
        rows.append("<tr>" + "".join(f"<td style='{cell};font-size:17px'>{v}</td>"
                                     for v in values) + "</tr>")  # fmt: skip
    heads = "".join(
        f"<th style='{cell};color:#666;font-size:11px;font-weight:normal'>{h}</th>"
        for h in ("", esc(title), "Total")
    )
    return f"<table class='bk-headline bk-totals'><tr>{heads}</tr>{''.join(rows)}</table>"


class ProgressSlot:
    """Feeds the loader's progress reports into an ``IntProgress`` and a label inside the form.

    The loader pulls time slices in parallel and reports which share of the date range is done;
    the bar shows that share (0-100 %), the label the rows and pages so far.
    """

    def __init__(self, bar: W.IntProgress, label: W.Label) -> None:
        self.bar, self.label = bar, label
        self.reports = 0
        self.noun = "charges"

    def start(self, noun: str = "charges") -> None:
        """Reset the bar for a new load of ``noun`` ("charges", "refunds" …)."""
        self.reports, self.noun = 0, noun
        self.bar.value, self.bar.max, self.bar.bar_style = 0, 100, "info"
        self.label.value = "starting…"

    def __call__(self, update: ProgressUpdate) -> None:
        """Show one :class:`~billing_kit.history.ProgressUpdate` from the loader."""
        self.reports += 1
        self.bar.value = round(100 * update.covered)
        estimate = update.estimated_total
        about = f" of about {estimate}" if estimate is not None and not update.done else ""
        self.label.value = f"{update.rows}{about} {self.noun} · {update.pages} pages"

    def finish(self, rows: int) -> None:
        """Show the load as done with ``rows`` rows."""
        self.bar.value = self.bar.max
        self.bar.bar_style = "success"
        self.label.value = f"done: {rows} {self.noun}"
