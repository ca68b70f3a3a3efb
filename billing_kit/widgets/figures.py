"""Headline figures of a charges frame: gross, refunded, fees, net and decline rate, per currency.

Pure functions over the frame returned by ``billing_kit.history.charges_frame`` (columns declared in
``billing_kit.history._schema``), so the numbers are tested without any widget. Amounts are summed
in minor units (integers) per currency; money in different currencies is never added together.

Two currencies meet here. A charge is *presented* in one currency (what the customer paid: gross,
refunded, declines) and *settles* in another (what reaches the balance: Stripe's fee and the net).
A EUR charge on a USD account adds to the EUR gross and to the USD fees and net.
"""

from __future__ import annotations

import pandas as pd

from billing_kit._money import format_amount

HEADLINE_COLUMNS = (
    "charges",
    "succeeded",
    "failed",
    "gross",
    "refunded",
    "fees",
    "net",
    "decline_rate",
)


def _minor(frame: pd.DataFrame, column: str) -> pd.Series:
    return frame[column].astype("Int64").fillna(0).astype("int64")


def _settled_refunds(ok: pd.DataFrame) -> pd.Series:
    """Refunds in the settlement currency: as is when it is the charge currency, else at the
    charge's own rate ((net + fee) / amount), rounded to the minor unit."""
    refunded = _minor(ok, "amount_refunded_minor")
    same = ok["currency"].astype("string") == ok["settlement_currency"].astype("string")
    settled = _minor(ok, "net_minor") + _minor(ok, "fee_minor")
    rate = settled / _minor(ok, "amount_minor").where(lambda s: s > 0)
    converted = (refunded * rate).round().fillna(0).astype("int64")
    return refunded.where(same, converted)


def headline(frame: pd.DataFrame) -> pd.DataFrame:
    """Return one row per currency with the headline figures, amounts in minor units.

    ``gross`` sums successful charges presented in the currency and ``refunded`` what was refunded
    of them; ``decline_rate`` is failed over succeeded plus failed (``NaN`` with no attempts).
    ``fees`` and ``net`` count money that *settled* in the currency: Stripe's fees, and the
    balance transactions' net minus refunds (a refund of a converted charge is converted at that
    charge's rate). They are ``<NA>`` for a currency nothing settled in.

    Examples
    --------
    >>> frame = pd.DataFrame({
    ...     "status": ["succeeded", "failed", "succeeded"], "currency": ["usd", "usd", "usd"],
    ...     "amount_minor": [1000, 500, 2000], "amount_refunded_minor": [0, 0, 500],
    ...     "settlement_currency": ["usd", None, "usd"], "fee_minor": [59, None, 88],
    ...     "net_minor": [941, None, 1912]})
    >>> headline(frame).loc["usd", ["gross", "refunded", "fees", "net"]].tolist()
    [3000, 500, 147, 2353]
    """
    if frame.empty:
        empty = pd.DataFrame(columns=list(HEADLINE_COLUMNS))
        return empty.rename_axis("currency")
    status = frame["status"].astype("string")
    currency = frame["currency"].astype("string")
    ok = frame[status == "succeeded"]
    settle = ok["settlement_currency"].astype("string")
    refunds_settled = _settled_refunds(ok)
    codes = sorted(set(currency.dropna()) | set(settle.dropna()))
    rows: dict[str, dict[str, object]] = {}
    for code in codes:
        mine = currency == code
        succeeded = int((mine & (status == "succeeded")).sum())
        failed = int((mine & (status == "failed")).sum())
        attempts = succeeded + failed
        landed = settle == code
        rows[code] = {
            "charges": int(mine.sum()),
            "succeeded": succeeded,
            "failed": failed,
            "gross": int(_minor(ok[ok["currency"].astype("string") == code], "amount_minor").sum()),
            "refunded": int(
                _minor(ok[ok["currency"].astype("string") == code], "amount_refunded_minor").sum()
            ),
            "fees": int(_minor(ok[landed], "fee_minor").sum()) if landed.any() else pd.NA,
            "net": (
                int(_minor(ok[landed], "net_minor").sum() - refunds_settled[landed].sum())
                if landed.any()
                else pd.NA
            ),
            "decline_rate": failed / attempts if attempts else float("nan"),
        }
    result = pd.DataFrame.from_dict(rows, orient="index", columns=list(HEADLINE_COLUMNS))
    for column in ("charges", "succeeded", "failed", "gross", "refunded", "fees", "net"):
        result[column] = result[column].astype("Int64")
    result["decline_rate"] = result["decline_rate"].astype("float64")
    return result.rename_axis("currency")


def _table(css_class: str, heads: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    cell = "padding:2px 14px 2px 0;text-align:right"
    head = "".join(
        f"<th style='{cell};color:#666;font-size:11px;font-weight:normal'>{h}</th>" for h in heads
    )
    body = "".join(
        "<tr>" + "".join(f"<td style='{cell};font-size:17px'>{v}</td>" for v in row) + "</tr>"
        for row in rows
    )
    return f"<table class='{css_class}'><tr>{head}</tr>{body}</table>"


def headline_html(figures: pd.DataFrame) -> str:
    """Render :func:`headline` as two tables, so that no row mixes the two bases.

    *What customers paid* has a row per presentment currency (charges, gross, refunded,
    declines); *what settled* a row per settlement currency (Stripe's fees and the net to the
    balance). A EUR charge on a USD account is in the EUR row of the first and the USD row of
    the second.
    """
    if figures.empty:
        return "<i>No charges in this range.</i>"
    paid: list[tuple[str, ...]] = []
    settled: list[tuple[str, ...]] = []
    for currency, row in figures.iterrows():
        code = str(currency)
        if int(row["charges"]):
            rate = row["decline_rate"]
            attempts = int(row["succeeded"]) + int(row["failed"])
            declined = (
                "—"
                if pd.isna(rate)
                else f"{rate:.1%} <small>({int(row['failed'])} of {attempts})</small>"
            )
            paid.append(
                (
                    f"<b>{code.upper()}</b>",
                    str(int(row["charges"])),
                    format_amount(int(row["gross"]), code),
                    format_amount(int(row["refunded"]), code),
                    declined,
                )
            )
        if not pd.isna(row["fees"]):
            settled.append(
                (
                    f"<b>{code.upper()}</b>",
                    format_amount(int(row["fees"]), code),
                    format_amount(int(row["net"]), code),
                )
            )
    parts = [
        "<div style='font-weight:bold;margin-top:4px'>What customers paid "
        "<small style='font-weight:normal;color:#666'>(by the currency they paid in)</small></div>",
        _table("bk-headline bk-paid", ("", "Charges", "Gross", "Refunded", "Declined"), paid),
    ]
    if settled:
        parts += [
            "<div style='font-weight:bold;margin-top:6px'>What settled "
            "<small style='font-weight:normal;color:#666'>(by the currency it reached the "
            "balance in; net is after fees and refunds)</small></div>",
            _table("bk-headline bk-settled", ("", "Fees", "Net to balance"), settled),
        ]
    return "".join(parts)
