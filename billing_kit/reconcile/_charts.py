"""The month-end report's charts: daily gross and net per currency, and the payouts that arrived.

Each chart is a :class:`matplotlib.figure.Figure` built without ``pyplot`` (no global state, no
display needed) and embedded in the HTML report as a ``data:image/png;base64`` URI, so the report
is one file that opens offline. The same frames give the same bytes: no timestamp is written into
the PNG. Amounts are drawn as floats because a pixel cannot hold a cent; every figure the reader
can copy stays an exact decimal in the report's tables.
"""

from __future__ import annotations

import base64

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from billing_kit.widgets.charts import to_png

__all__ = ["month_charts"]

_GROSS, _NET, _PAYOUT = "#1f5f8b", "#2e8b57", "#d98c00"


def _amounts(values: pd.Series) -> list[float]:
    return [float(v) for v in values]


def _chart(currency: str, days: pd.DataFrame, payouts: pd.DataFrame, tz: str) -> Figure:
    """One currency: gross and net per day on top, payout amounts by arrival day below."""
    fig = Figure(figsize=(8.0, 5.0), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True)
    code = currency.upper()
    top.plot(days["day"], _amounts(days["gross"]), marker="o", color=_GROSS, label="gross")
    top.plot(days["day"], _amounts(days["net"]), marker="o", color=_NET, label="net")
    top.set_title(f"{code}: daily activity ({tz})", loc="left", fontweight="bold")
    top.legend(frameon=False)
    paid = payouts["automatic_payout_effective_at"].dt.tz_localize(None).dt.floor("D")
    bottom.bar(paid, _amounts(payouts["amount"]), color=_PAYOUT, width=0.8)
    bottom.set_title(f"{code}: automatic payouts by arrival day", loc="left", fontweight="bold")
    for ax in (top, bottom):
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
        ax.grid(axis="y", alpha=0.3)
    fig.autofmt_xdate()
    return fig


def month_charts(daily: pd.DataFrame, payouts: pd.DataFrame, tz: str) -> dict[str, str]:
    """Currency -> a PNG data URI of its chart (see :func:`_chart`), currencies in order.

    ``daily`` is :func:`billing_kit.reconcile._reports.daily_activity`'s frame and ``payouts``
    the payout tie-out (``PayoutReconciliation.summary``), both of the same month.
    """
    currencies = sorted(set(daily["currency"].astype(str)) | set(payouts["currency"].astype(str)))
    charts = {}
    for currency in currencies:
        days = daily[daily["currency"].astype(str) == currency]
        paid = payouts[payouts["currency"].astype(str) == currency]
        png = to_png(_chart(currency, days, paid, tz))
        charts[currency] = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    return charts
