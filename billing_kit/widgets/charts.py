"""Matplotlib charts of a charges frame, readable at a glance.

Each function takes the frame from ``Client.charges_frame`` and returns a
:class:`matplotlib.figure.Figure` built without ``pyplot`` (no global state, works in any
backend). :func:`to_png` renders a figure for an ``ipywidgets.Image``; a notebook can also
display the figure directly."""

from __future__ import annotations

import io

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from billing_kit._money import currency_exponent

_SIZE = (8.0, 3.4)


def _major(frame: pd.DataFrame, column: str) -> pd.Series:
    """Amounts of ``column`` (minor units) as floats in major units, for plotting only."""
    minor = frame[column].astype("Int64").fillna(0).astype("int64")
    exponents = frame["currency"].astype("string").map(currency_exponent).astype("int64")
    return minor / (10.0**exponents)


def _empty(fig: Figure, title: str) -> Figure:
    ax = fig.subplots()
    ax.set_title(title, loc="left", fontweight="bold")
    ax.text(0.5, 0.5, "no data in this range", ha="center", va="center", color="#666")
    ax.set_axis_off()
    return fig


def daily_volume(frame: pd.DataFrame, *, tz: str = "UTC") -> Figure:
    """Bar chart of successful volume per day, one panel-colour per currency (major units)."""
    fig = Figure(figsize=_SIZE, layout="constrained")
    title = "Daily volume of successful charges"
    ok = frame[frame["status"].astype("string") == "succeeded"] if not frame.empty else frame
    if ok.empty:
        return _empty(fig, title)
    days = ok["created"].dt.tz_convert(tz).dt.floor("D").dt.tz_localize(None)
    table = (
        pd.DataFrame(
            {
                "day": days,
                "currency": ok["currency"].astype("string").str.upper(),
                "amount": _major(ok, "amount_minor"),
            }
        )
        .pivot_table(index="day", columns="currency", values="amount", aggfunc="sum", fill_value=0)
        .sort_index()
    )
    ax = fig.subplots()
    table.plot.bar(ax=ax, width=0.8)
    ax.set_xticklabels([f"{d:%b %d}" for d in table.index], rotation=45, ha="right")
    _thin_labels(ax, len(table.index))
    ax.set_title(title + f" ({tz})", loc="left", fontweight="bold")
    ax.set_xlabel("")
    ax.set_ylabel("amount (major units)")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.legend(title="currency", frameon=False)
    ax.grid(axis="y", alpha=0.3)
    return fig


def decline_reasons(frame: pd.DataFrame) -> Figure:
    """Horizontal bar chart: how many charges failed for each reason, most common on top."""
    fig = Figure(figsize=_SIZE, layout="constrained")
    title = "Why charges were declined"
    failed = frame[frame["status"].astype("string") == "failed"] if not frame.empty else frame
    if failed.empty:
        return _empty(fig, title)
    reason = failed["decline_code"].astype("string")
    reason = reason.fillna(failed["failure_code"].astype("string")).fillna("unknown")
    counts = reason.str.replace("_", " ").value_counts().sort_values()
    ax = fig.subplots()
    bars = ax.barh(counts.index, counts.to_numpy(), color="#b00020")
    ax.bar_label(bars, padding=3)
    ax.set_title(title + f" ({len(failed)} declines)", loc="left", fontweight="bold")
    ax.set_xlabel("declined charges")
    ax.grid(axis="x", alpha=0.3)
    return fig


def fees_over_time(frame: pd.DataFrame, *, tz: str = "UTC") -> Figure:
    """Line chart of Stripe fees per day and currency (major units)."""
    fig = Figure(figsize=_SIZE, layout="constrained")
    title = "Stripe fees per day"
    has_fee = frame[frame["fee_minor"].notna()] if not frame.empty else frame
    if has_fee.empty:
        return _empty(fig, title)
    days = has_fee["created"].dt.tz_convert(tz).dt.floor("D").dt.tz_localize(None)
    table = (
        pd.DataFrame(
            {
                "day": days,
                "currency": has_fee["currency"].astype("string").str.upper(),
                "fee": _major(has_fee, "fee_minor"),
            }
        )
        .pivot_table(index="day", columns="currency", values="fee", aggfunc="sum", fill_value=0)
        .sort_index()
    )
    ax = fig.subplots()
    for currency in table.columns:
        ax.plot(table.index, table[currency], marker="o", label=currency)
    ax.set_title(title + f" ({tz})", loc="left", fontweight="bold")
    ax.set_ylabel("fees (major units)")
    ax.legend(title="currency", frameon=False)
    ax.grid(alpha=0.3)
    fig.autofmt_xdate()
    return fig


def _thin_labels(ax: object, count: int, *, most: int = 15) -> None:
    """Show at most ``most`` day labels so they stay readable on long ranges."""
    step = max(1, -(-count // most))
    for index, label in enumerate(ax.get_xticklabels()):  # type: ignore[attr-defined]
        label.set_visible(index % step == 0)


def to_png(fig: Figure, *, dpi: int = 100) -> bytes:
    """Render a figure as PNG bytes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()
