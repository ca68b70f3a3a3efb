"""Headline figures of a charges frame: gross, refunded, fees, net and decline rate, per currency.

Pure functions over the frame returned by ``Client.charges_frame`` (columns declared in
``billing_kit.history._schema``), so the numbers are tested without any widget. Amounts are
summed in minor units (integers) per currency; money in different currencies is never added
together."""

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


def headline(frame: pd.DataFrame) -> pd.DataFrame:
    """Return one row per currency with the headline figures, amounts in minor units.

    ``gross`` sums successful charges; ``refunded`` what was refunded of them; ``fees`` the Stripe
    fees of their balance transactions; ``net`` is gross minus refunded minus fees (fees are counted
    in the charge currency, which is the settlement currency for every account billing_kit
    targets); ``decline_rate`` is failed charges over succeeded plus failed (``NaN`` when there
    were none).

    Examples
    --------
    >>> frame = pd.DataFrame({
    ...     "status": ["succeeded", "failed", "succeeded"], "currency": ["usd", "usd", "usd"],
    ...     "amount_minor": [1000, 500, 2000], "amount_refunded_minor": [0, 0, 500],
    ...     "fee_minor": [59, None, 88]})
    >>> headline(frame).loc["usd", ["gross", "refunded", "fees", "net"]].tolist()
    [3000, 500, 147, 2353]
    """
    rows: dict[str, dict[str, float | int]] = {}
    if frame.empty:
        return pd.DataFrame(columns=list(HEADLINE_COLUMNS)).rename_axis("currency")
    currencies = frame["currency"].astype("string")
    for currency in sorted(currencies.dropna().unique()):
        part = frame[currencies == currency]
        status = part["status"].astype("string")
        ok = part[status == "succeeded"]
        succeeded, failed = len(ok), int((status == "failed").sum())
        gross = int(_minor(ok, "amount_minor").sum())
        refunded = int(_minor(ok, "amount_refunded_minor").sum())
        fees = int(_minor(ok, "fee_minor").sum())
        attempts = succeeded + failed
        rows[str(currency)] = {
            "charges": len(part),
            "succeeded": succeeded,
            "failed": failed,
            "gross": gross,
            "refunded": refunded,
            "fees": fees,
            "net": gross - refunded - fees,
            "decline_rate": failed / attempts if attempts else float("nan"),
        }
    result = pd.DataFrame.from_dict(rows, orient="index", columns=list(HEADLINE_COLUMNS))
    return result.rename_axis("currency")


def headline_html(figures: pd.DataFrame) -> str:
    """Render :func:`headline` as big, readable HTML cards, one row per currency."""
    if figures.empty:
        return "<i>No charges in this range.</i>"
    cells = []
    for currency, row in figures.iterrows():
        code = str(currency)
        rate = row["decline_rate"]
        rate_text = "—" if pd.isna(rate) else f"{rate:.1%}"
        parts = [
            ("Gross", format_amount(int(row["gross"]), code)),
            ("Refunded", format_amount(int(row["refunded"]), code)),
            ("Fees", format_amount(int(row["fees"]), code)),
            ("Net", format_amount(int(row["net"]), code)),
            (
                "Declined",
                f"{rate_text} ({int(row['failed'])} of {int(row['succeeded'] + row['failed'])})",
            ),
        ]
        boxes = "".join(
            "<div style='display:inline-block;min-width:120px;margin:4px 10px 4px 0'>"
            f"<div style='color:#666;font-size:11px'>{label}</div>"
            f"<div style='font-size:18px;font-weight:bold'>{value}</div></div>"
            for label, value in parts
        )
        cells.append(
            f"<div class='bk-headline'><b>{code.upper()}</b> · {int(row['charges'])} charges"
            f"<br>{boxes}</div>"
        )
    return "".join(cells)
